"""Project-wide facts for cross-file analysis (e.g. pydantic models defined in
`schemas.py` and used as request bodies in `main.py`).

A *collector* extracts JSON-serialisable facts from one parsed file. The engine runs the
collectors that enabled rules ask for (`LintRule.PROJECT_FACTS`) over every file of the
run first, then hands the merged `ProjectIndex` to each file's analysis. Facts are
cached per file content like findings, and the digest of the facts a rule reads is part
of each file's cache key, so editing `schemas.py` re-checks the files that use it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

if TYPE_CHECKING:
    from leakguard.context import FileContext
    from leakguard.triage import TriageTree


def facts_digest(value: Any) -> str:
    """A stable digest of JSON-like facts (what a cache key holds of them)."""
    blob = json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def module_name_for(display_path: str) -> str:
    """`pkg/sub/mod.py` -> `pkg.sub.mod`; `pkg/__init__.py` -> `pkg`."""
    stem = (
        display_path.rsplit(".", 1)[0] if display_path.endswith((".py", ".pyi")) else display_path
    )
    # `..` appears when a target lies outside the run's root; it is no module name.
    parts = [p for p in stem.replace("\\", "/").split("/") if p and p not in (".", "..")]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package_file(display_path: str) -> bool:
    """`pkg/__init__.py`: its module name is the package's, and a relative import
    resolves from the package itself (`from_base`)."""
    name = display_path.replace("\\", "/").rsplit("/", 1)[-1]
    return name in ("__init__.py", "__init__.pyi")


def from_base(module_name: str, module: str, level: int, package: bool = False) -> str:
    """The qualified module of `from <level dots><module> import ...` in `module_name`;
    `package`: the file is the package's `__init__`, so one dot is `module_name` itself
    (`from .x import C` in `pkg/__init__.py` is `pkg.x.C`), not its parent."""
    if level == 0:
        return module
    package_parts = module_name.split(".") if package else module_name.split(".")[:-1]
    if not module_name:
        package_parts = []
    if level - 1 > len(package_parts) and module_name:
        # Above the run's top package (an ImportError at run time): no module of the
        # run, so keep the dots as for an unknown package (never a top-level name).
        return "." * level + module
    if level > 1:
        package_parts = package_parts[: len(package_parts) - (level - 1)]
    parts = [p for p in package_parts if p]
    if module:
        parts.append(module)
    # Unknown package (a file analysed on its own): keep the dots so the name
    # still reads as relative, e.g. ".schemas.Model".
    return ".".join(parts) if parts else "." * level + module


class ModuleIdentity(NamedTuple):
    """What relative imports of a file resolve against (`from_base`)."""

    name: str
    package: bool


def module_identity(display_path: str) -> ModuleIdentity:
    """The module name of a file and whether it is its package's `__init__`."""
    return ModuleIdentity(module_name_for(display_path), is_package_file(display_path))


@dataclass(frozen=True)
class FactCollector:
    name: str
    # A file whose text contains none of these tokens has no facts of this kind.
    tokens: tuple[str, ...]
    # `(context) -> facts` from the file's LibCST tree; a collector with `from_source`
    # needs none (`facts_of` reads the context's source).
    collect: Callable[[FileContext], Any] | None = None
    # When set, the file must also contain one of these: checked before parsing, so a
    # collector that needs two things (`async def` and `Protocol`) costs no parse
    # on files that have only one.
    also_tokens: tuple[str, ...] = ()
    # When set, facts come from the source text alone (`(text, display) -> facts`), so a
    # file whose only collectors have it is never parsed with LibCST in the facts phase.
    from_source: Callable[[str, str], Any] | None = None
    # When set, `(triage tree, text, display) -> facts`, what `from_source` computes, from
    # the `ast` tree the facts pass parses and indexes once for all (the triage's).
    from_tree: Callable[[TriageTree, str, str], Any] | None = None
    # When set, `(index, module) -> value`: the part of the run's facts that the findings
    # of `module` can depend on (for the cache key). Unset: all facts of this collector.
    dependencies: Callable[[ProjectIndex, str], Any] | None = None
    # The structural condition (on CPython's `ast`, see `leakguard.triage`) under which
    # the file can have facts of this kind; must never be False for a file that has
    # some. None: every file that passes the tokens is parsed by LibCST.
    triage: Callable[[TriageTree], bool] | None = None
    # When True, a run needs these facts only if some file of it may be analysed by a
    # rule that reads them (lists the collector in `PROJECT_FACTS`, or one that brings
    # it along, `registry._BROUGHT`): one whose prefilter tokens it holds and whose
    # triage verdict admits it. Otherwise the facts pass skips the collector on every
    # file (`engine._RuleGates`). Only for facts no rule's triage, no run query and no rule
    # that does not list them reads. Listed in `leakguard.rule_index`.
    gated_by_readers: bool = False

    def facts_of(self, context: FileContext) -> Any:
        """This collector's facts of a parsed file."""
        if self.collect is not None:
            return self.collect(context)
        if self.from_source is not None:
            return self.from_source(context.source, context.path)
        raise TypeError(f"fact collector {self.name} has neither collect nor from_source")

    def applies_to(self, text: str) -> bool:
        if not any(token in text for token in self.tokens):
            return False
        return not self.also_tokens or any(token in text for token in self.also_tokens)


COLLECTORS: dict[str, FactCollector] = {}
_V = TypeVar("_V")


def register_collector(collector: FactCollector) -> FactCollector:
    COLLECTORS[collector.name] = collector
    return collector


@dataclass
class ProjectIndex:
    """facts[collector][module_name] -> whatever that collector returned."""

    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Views built lazily from the facts (e.g. the summaries' call graph), per process.
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def of(self, collector: str) -> Mapping[str, Any]:
        return self.facts.get(collector, {})

    def view(self, collector: str, build: Callable[[Mapping[str, Any]], _V]) -> _V | None:
        """`build(facts of collector)`, built once per process; None when no enabled rule
        asked for that collector in this run."""
        if collector not in self.facts:
            return None
        if collector not in self.derived:
            self.derived[collector] = build(self.of(collector))
        return self.derived[collector]  # type: ignore[no-any-return]

    def digest(self, collectors: Iterable[str]) -> str:
        return facts_digest({name: self.facts.get(name, {}) for name in sorted(set(collectors))})

    def digest_for(self, module: str, collectors: Iterable[str]) -> str:
        """Digest of the facts that the findings of `module` may depend on: all facts of
        plain collectors, and for collectors with `dependencies` only that part."""
        names = sorted(set(collectors))
        plain = [n for n in names if COLLECTORS.get(n) is None or not COLLECTORS[n].dependencies]
        key = "digest:" + ",".join(plain)
        shared = self.derived.get(key)
        if shared is None:
            shared = self.digest(plain)
            self.derived[key] = shared
        chosen: dict[str, Any] = {"": shared}
        for name in names:
            collector = COLLECTORS.get(name)
            if collector is not None and collector.dependencies is not None:
                chosen[name] = collector.dependencies(self, module)
        return facts_digest(chosen)

    def __getstate__(self) -> dict[str, Any]:
        # Derived views are rebuilt on demand in each worker; never pickle them.
        return {"facts": self.facts, "derived": {}}

    def module_for(self, collector: str, qualified_module: str) -> str | None:
        """The module of the run that `qualified_module` (as imported) refers to.

        Files are named from their path in the run (`services/api/src/app/schemas`),
        imports from the package root (`app.schemas`), so the longest dotted suffix
        match wins. Relative names keep their leading dots and match by suffix too.
        """
        wanted = qualified_module.lstrip(".")
        if not wanted:
            return None
        best: str | None = None
        for module in self.of(collector):
            matches = module == wanted or module.endswith("." + wanted)
            if matches and (best is None or len(module) < len(best)):
                best = module
        return best
