"""Fixes: what a rule may attach to a finding, in Ruff's model.

A rule reports a node with a `FixPlan`: a message, an applicability and a `build`
callable that returns a `Rewrite` (LibCST nodes to replace, imports to add). Plans are
cheap; `build` runs only when a caller asks for fixes (`--fix`, `--diff`, JSON/SARIF,
the language server), and `leakguard.fixes.render` turns the rewrite into text `Edit`s
by regenerating the module with LibCST, so comments and formatting outside the
rewritten node stay byte for byte. A sliced module (`leakguard.slicing`) renders them
through `leakguard.fixes.sliced`, which sends the file to a whole-file analysis when
its edits would not be the whole module's.

Applicability follows Ruff: a *safe* fix keeps the behaviour that correct code relies
on and is applied by `--fix`; an *unsafe* fix changes behaviour (as intended) and
needs review, so it is applied only with `--unsafe-fixes`.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    # Types only: findings (and so the result cache) import this module, and a run
    # served from the cache (the flake8 plugin's warm run) must not pay for LibCST.
    # (NamedTuples, not dataclasses, for the same reason: `leakguard.finding`.)
    import libcst as cst


class Applicability(str, Enum):
    SAFE = "safe"
    UNSAFE = "unsafe"

    def applies(self, unsafe: bool) -> bool:
        return self is Applicability.SAFE or unsafe


class Edit(NamedTuple):
    """Replace the text from (`line`, `column`) to (`end_line`, `end_column`) with
    `content`. Lines and columns are 1-based, columns count code points, the end is
    exclusive; an insertion has start == end."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "content": self.content,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Edit:
        return cls(**data)


class Fix(NamedTuple):
    """A computed fix: text edits to one file, applied together or not at all."""

    message: str
    applicability: Applicability
    edits: tuple[Edit, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "applicability": self.applicability.value,
            "message": self.message,
            "edits": [e.to_json() for e in self.edits],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fix:
        return cls(
            message=data["message"],
            applicability=Applicability(data["applicability"]),
            edits=tuple(Edit.from_json(e) for e in data["edits"]),
        )


class Import(NamedTuple):
    """An import a rewrite needs: `import module` or `from module import name [as asname]`."""

    module: str
    name: str | None = None
    asname: str | None = None


class Rewrite(NamedTuple):
    """Nodes of the file's module to replace (or remove), plus imports to add."""

    replacements: tuple[tuple[cst.CSTNode, cst.CSTNode | cst.RemovalSentinel], ...]
    imports: tuple[Import, ...] = ()


class FixPlan(NamedTuple):
    """What a rule attaches to a report; `build` is called only when fixes are wanted
    and returns None when the fix turns out not to apply."""

    message: str
    applicability: Applicability
    build: Callable[[], Rewrite | None]


def replace(
    old: cst.CSTNode,
    new: cst.CSTNode | cst.RemovalSentinel,
    *imports: Import,
) -> Rewrite:
    return Rewrite(((old, new),), tuple(imports))


def without_arg(call: cst.Call, arg: cst.Arg) -> cst.Call:
    """`call` without `arg`, keeping the other arguments' commas and layout (the last
    remaining argument takes over the removed one's trailing comma)."""
    args = list(call.args)
    index = next(i for i, a in enumerate(args) if a is arg)
    del args[index]
    if index == len(args) and args:
        args[-1] = args[-1].with_changes(comma=arg.comma)
    return call.with_changes(args=args)
