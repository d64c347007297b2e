"""Fixtures shared by several test modules."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def load_bench_script() -> Callable[[str, str], ModuleType]:
    """Import a script of `bench/` (not a package) by its path under the project root,
    registered under `name` so that dataclasses and pickling inside it work."""

    def load(relative: str, name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(name, _ROOT / relative)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope="session", autouse=True)
def _analyser_tables_built_before_workers_fork() -> None:
    """Analyse one positive fixture of every rule in this process before any test runs.

    Every engine run forks its workers afresh (`leakguard.supervisor`), and the analyser
    builds its per-process tables (the walker's field kinds and walk plans, per node type
    and rule) on the first file a process analyses: ~0.15 CPU s, paid by both workers of
    every run of every test (thousands of runs). Built here once, in the process the
    workers are forked from, every worker inherits them. What a run finds does not
    depend on it (the tables are the same whenever they are built); runs of the
    command line in subprocesses still start cold."""
    from leakguard.engine import check_text
    from leakguard.testing import make_config

    rules = _ROOT / "tests" / "fixtures" / "rules"
    config = make_config(rules)
    for folder in sorted(rules.iterdir()):
        first = next(iter(sorted(folder.glob("pos_*.py"))), None)
        if first is not None:
            check_text(first.read_text(encoding="utf-8"), first.name, config)
