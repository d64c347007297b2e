"""Run parts: which modules of the run may meet, so a run-wide fact stays within them.

    leakguard check gpustack-2.3.0/ mlflow-skinny-3.17.2/

checks two unrelated projects in one run. A fact matched across the run by a short
name (`curated_exceptions`: a `json.JSONDecodeError` made from another exception's
text, `raise json.JSONDecodeError(f"bad hook input: {e}", ...)` in mlflow) must not
reach a module that can never run that code (gpustack's `except json.JSONDecodeError`
around its own `json.load`): a finding must not depend on which other projects share
the run.

Each module has an *import root*: the folder above its top-level package, the shortest
dotted prefix of its name that is a module of the run (a package's `__init__`, or the
module itself for a loose script). `src.gpustack-2.3.0.gpustack.routes.worker.filesystem`
has the root `src.gpustack-2.3.0` and the top-level name `gpustack`. A root *reaches*
another when one of its modules imports (absolutely, by its first name) a top-level name
of that root, directly or through roots in between: `import fastapi` in gpustack reaches
a FastAPI source tree of the run, whose code gpustack's calls may run.

Two modules are *linked* (`RunParts.linked`) when their roots are one or either reaches
the other: code of one may call code of the other (a caller into a library, a library
calling back a handler it was given). Not transitive: gpustack and mlflow both import
FastAPI, yet neither calls the other. Standard-library names link nothing (an import of
`json` is the standard library's, as for `summaries`' resolution). Collected per file
from the source text (collector `run_parts`: the first names of its absolute imports;
a line in a docstring that reads like an import only adds a link, never removes one).
A collector whose run-wide view asks `linked` brings these facts along
(`registry._BROUGHT`): without them no root would reach another.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping

from leakguard.analysis.project import FactCollector, ProjectIndex, register_collector
from leakguard.analysis.run_modules import COLLECTOR as MODULES

COLLECTOR = "run_parts"
_STDLIB = frozenset(sys.stdlib_module_names)
# `import a.b as c, d` / `from a.b import c` at the start of a line (any indentation:
# imports inside functions and `try` blocks count too).
_IMPORT = re.compile(r"^[ \t]*(?:import[ \t]+([^\n#;]+)|from[ \t]+([A-Za-z_]\w*))", re.MULTILINE)
_HEAD = re.compile(r"[ \t(]*([A-Za-z_]\w*)")


def collect_source(text: str, display: str) -> list[str] | None:
    """The sorted first names of the modules the file imports absolutely (relative
    imports stay in its own root), standard library's left out; None when none."""
    heads: set[str] = set()
    for match in _IMPORT.finditer(text):
        if match.group(2) is not None:
            heads.add(match.group(2))
            continue
        for item in match.group(1).split(","):
            head = _HEAD.match(item)
            if head is not None:
                heads.add(head.group(1))
    found = sorted(h for h in heads if h not in _STDLIB)
    return found or None


def import_root(module: str, modules: Mapping[str, object] | frozenset[str]) -> tuple[str, str]:
    """(root, top-level name) of `module`: the root is the dotted prefix above the
    shortest prefix of its name that is a module of the run (see the docstring)."""
    parts = module.split(".")
    for cut in range(1, len(parts) + 1):
        if ".".join(parts[:cut]) in modules:
            return ".".join(parts[: cut - 1]), parts[cut - 1]
    return ".".join(parts[:-1]), parts[-1]


class RunParts:
    """The import roots of the run's modules and which roots reach which."""

    def __init__(self, modules: Iterable[str], imports: Mapping[str, object]) -> None:
        names = frozenset(modules)
        self.roots: dict[str, str] = {}
        roots_of_top: dict[str, set[str]] = {}
        for module in names:
            root, top = import_root(module, names)
            self.roots[module] = root
            roots_of_top.setdefault(top, set()).add(root)
        edges: dict[str, set[str]] = {}
        for module, heads in imports.items():
            if not isinstance(heads, list):
                continue
            for head in heads:
                edges.setdefault(self.root(module), set()).update(roots_of_top.get(str(head), ()))
        self._edges = edges
        self._reach: dict[str, frozenset[str]] = {}

    def root(self, module: str) -> str:
        known = self.roots.get(module)
        return known if known is not None else import_root(module, self.roots)[0]

    def reach(self, root: str) -> frozenset[str]:
        """`root` and every root its imports reach, directly or through others."""
        found = self._reach.get(root)
        if found is None:
            seen = {root}
            pending = [root]
            while pending:
                for target in self._edges.get(pending.pop(), ()):
                    if target not in seen:
                        seen.add(target)
                        pending.append(target)
            found = frozenset(seen)
            self._reach[root] = found
        return found

    def linked(self, first: str, second: str) -> bool:
        """Whether code of module `first` may call code of module `second` or be called
        by it: one root, or either root reaches the other."""
        return self.roots_linked(self.root(first), self.root(second))

    def roots_linked(self, one: str, other: str) -> bool:
        """`linked` for two roots."""
        return one == other or other in self.reach(one) or one in self.reach(other)


def run_parts(project: ProjectIndex) -> RunParts:
    """The run's parts (built once per process)."""
    found = project.derived.get(COLLECTOR)
    if not isinstance(found, RunParts):
        found = RunParts(project.of(MODULES), project.of(COLLECTOR))
        project.derived[COLLECTOR] = found
    return found


register_collector(FactCollector(COLLECTOR, ("import",), from_source=collect_source))
