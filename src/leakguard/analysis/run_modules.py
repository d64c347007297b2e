"""The modules of the run: every file the facts pass was given, facts of its own or not.

Checks that hold only when the run sees a whole package ask it: a run of some of a
package's files, named one by one, does not see the callers, subclasses or
constructions in the others (`startup.StartupIndex.whole`, `curated_exceptions`'s
`_Curation.whole`). Each collector used to record every file for this alone (facts of
`("",)` tokens on every file, computed in full for files that had none of their own);
this collector costs no parse, and lets theirs skip the files they have nothing for.

A rule that asks `whole`/`in_run` must list `COLLECTOR` in its `PROJECT_FACTS` (the
digest of these facts, the run's file set, is then part of its cache key).
"""

from __future__ import annotations

from collections.abc import Mapping

from leakguard.analysis.asyncio_facts import is_test_file
from leakguard.analysis.project import FactCollector, ProjectIndex, register_collector

COLLECTOR = "modules"
# The value recorded per module: test code (`asyncio_facts.is_test_file` of its path)
# is in the run but calls nothing that production code runs.
CODE = "code"
TEST = "test"


def collect_source(text: str, display: str) -> str:
    return TEST if is_test_file(display) else CODE


def run_modules(project: ProjectIndex) -> Mapping[str, str]:
    """Module name -> `CODE` or `TEST` for every file of the run (empty when no enabled
    rule asked for this collector)."""
    return project.of(COLLECTOR)


def holds_package(modules: Mapping[str, str], module: str) -> bool:
    """The run (`modules`) holds `module` and a package above it (an `__init__.py`: its
    own, or an ancestor's when its directories have none, as open-webui's `routers/`): a
    run of files named one by one does not see what the others construct or store."""
    parts = module.split(".")
    if module not in modules:
        return False
    return len(parts) == 1 or any(".".join(parts[:cut]) in modules for cut in range(1, len(parts)))


def production_modules(project: ProjectIndex) -> frozenset[str]:
    """The modules of the run that are not test code."""
    found = project.derived.get("modules:code")
    if not isinstance(found, frozenset):
        found = frozenset(m for m, kind in run_modules(project).items() if kind == CODE)
        project.derived["modules:code"] = found
    return found


register_collector(FactCollector(COLLECTOR, ("",), from_source=collect_source))
