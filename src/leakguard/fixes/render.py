"""Turn a rule's `Rewrite` into text edits, and apply edits to text.

The rewrite is applied to the whole module with LibCST (nodes replaced by identity,
imports added with `AddImportsVisitor`, which merges into existing `from` imports and
skips those already present), the module's code is regenerated, and the edits are the
differences between old and new text. Everything LibCST did not touch comes out byte
for byte, so the edits are as small as the change.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import re
from collections.abc import Iterable, Sequence

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from leakguard.fixes import Edit, Fix, FixPlan, Rewrite

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


class _Replacer(cst.CSTTransformer):
    def __init__(self, replacements: dict[int, cst.CSTNode | cst.RemovalSentinel]) -> None:
        super().__init__()
        self._replacements = replacements

    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel:
        return self._replacements.get(id(original_node), updated_node)


def rewritten_code(module: cst.Module, rewrite: Rewrite) -> str:
    replacements = {id(old): new for old, new in rewrite.replacements}
    updated = module.visit(_Replacer(replacements))
    if not isinstance(updated, cst.Module):  # pragma: no cover - a module is never removed
        return module.code
    if rewrite.imports:
        codemod = CodemodContext()
        for needed in rewrite.imports:
            AddImportsVisitor.add_needed_import(codemod, needed.module, needed.name, needed.asname)
        updated = AddImportsVisitor(codemod).transform_module(updated)
    return updated.code


def parses(text: str, for_libcst: str | None = None) -> bool:
    """Whether both LibCST and CPython accept `text` (a fix must never break a file);
    LibCST may be given an equivalent text to judge instead (`fixes.sliced`)."""
    try:
        cst.parse_module(text if for_libcst is None else for_libcst)
        ast.parse(text)
    except Exception:  # LibCST and CPython raise several types for bad input
        return False
    return True


def render(module: cst.Module, source: str, plan: FixPlan) -> Fix | None:
    """The plan's edits against `source` (the text `module` was parsed from), or None
    when the plan does not apply or its result would not parse."""
    rewrite = plan.build()
    if rewrite is None:
        return None
    fixed = rewritten_code(module, rewrite)
    if fixed == source or not parses(fixed):
        return None
    return Fix(plan.message, plan.applicability, tuple(diff_edits(source, fixed)))


def split_lines(text: str) -> list[str]:
    """Lines with their endings; only \\r\\n, \\r and \\n end a line in Python source."""
    return _LINE.findall(text)


class LineIndex:
    """Offsets <-> (1-based line, 1-based code-point column) for one text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        for line in split_lines(text):
            self.starts.append(self.starts[-1] + len(line))
        if len(self.starts) > 1 and self.starts[-1] == len(text) and not _ends_line(text):
            self.starts.pop()

    def position(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index] + 1

    def offset(self, line: int, column: int) -> int:
        if line - 1 >= len(self.starts):
            return len(self.text)
        return min(len(self.text), self.starts[line - 1] + column - 1)


def _ends_line(text: str) -> bool:
    return text.endswith(("\n", "\r"))


def diff_edits(old: str, new: str) -> list[Edit]:
    """Minimal-ish edits turning `old` into `new`: changed line blocks, trimmed to the
    characters that differ."""
    old_lines, new_lines = split_lines(old), split_lines(new)
    index = LineIndex(old)
    line_starts = [0]
    for text in old_lines:
        line_starts.append(line_starts[-1] + len(text))
    edits: list[Edit] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed, inserted = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        prefix = _common_prefix(removed, inserted)
        removed, inserted = removed[prefix:], inserted[prefix:]
        suffix = _common_suffix(removed, inserted)
        if suffix:
            removed, inserted = removed[:-suffix], inserted[:-suffix]
        offset = line_starts[i1] + prefix
        (line, column) = index.position(offset)
        (end_line, end_column) = index.position(offset + len(removed))
        edits.append(Edit(line, column, end_line, end_column, inserted))
    return edits


def _common_prefix(a: str, b: str) -> int:
    limit = min(len(a), len(b))
    n = 0
    while n < limit and a[n] == b[n]:
        n += 1
    return n


def _common_suffix(a: str, b: str) -> int:
    limit = min(len(a), len(b))
    n = 0
    while n < limit and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


class OverlappingEdits(ValueError):
    pass


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """`text` with `edits` applied; they must not overlap (identical edits count once)."""
    index = LineIndex(text)
    spans = sorted(
        {
            (index.offset(e.line, e.column), index.offset(e.end_line, e.end_column), e.content)
            for e in edits
        }
    )
    parts: list[str] = []
    cursor = 0
    for start, end, content in spans:
        if start < cursor:
            raise OverlappingEdits(f"edits overlap at offset {start}")
        parts.append(text[cursor:start])
        parts.append(content)
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)


def compatible(taken: Sequence[Edit], candidate: Sequence[Edit], text: str) -> bool:
    """Whether `candidate`'s edits can be applied together with `taken` ones: no range
    touches another, except an identical edit (two fixes adding the same import)."""
    index = LineIndex(text)

    def span(e: Edit) -> tuple[int, int]:
        return index.offset(e.line, e.column), index.offset(e.end_line, e.end_column)

    for new in candidate:
        if new in taken:
            continue
        start, end = span(new)
        for old in taken:
            other_start, other_end = span(old)
            if start <= other_end and other_start <= end:
                return False
    return True
