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
