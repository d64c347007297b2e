"""A warm run gives the cold run's LG104 findings when another module starts or stops
calling a function whose start is exempt only as start-up code
(`entrypoints.process_startup`): who calls the module's functions from other modules
is part of what its findings depend on (37c7b91), added, edited or removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.testing import (
    finding_places,
    make_config,
    warm_and_cold,
    write_or_remove,
    write_package,
)

STARTUP = """\
import tracemalloc

from app import envs


def enable_tracing() -> None:
    if envs.DEBUG_ENABLE_TRACEMALLOC:
        if not tracemalloc.is_tracing():
            tracemalloc.start()


def boot() -> None:
    enable_tracing()


def main() -> None:
    boot()
"""
HANDLER = """\
from flask import Flask

from app import startup

app = Flask(__name__)


@app.get("/work")
def work() -> dict:
    startup.enable_tracing()
    return {}
"""
JOB = """\
from app.startup import enable_tracing


def job() -> None:
    enable_tracing()
"""
UNRELATED = """\
def job() -> None:
    return None
"""
# (other module before, after): None = the file does not exist
EDITS = {
    "handler_added": (None, HANDLER),
    "handler_removed": (HANDLER, None),
    "caller_added": (None, JOB),
    "call_added": (UNRELATED, JOB),
    "call_removed": (JOB, UNRELATED),
    "handler_edited_in": (UNRELATED, HANDLER),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_warm_equals_cold(tmp_path: Path, edit: str) -> None:
    before, after = EDITS[edit]
    files = {"envs.py": "DEBUG_ENABLE_TRACEMALLOC = False\n", "startup.py": STARTUP}
    pkg = write_package(tmp_path, {**files, "other.py": before})
    config = make_config(tmp_path, select=["LG104"])
    first, cold = warm_and_cold(tmp_path, config, lambda: write_or_remove(pkg / "other.py", after))
    for run, other in ((first, before), (cold, after)):
        called = other in (HANDLER, JOB)
        expected = [("startup.py", 9)] if called else []
        assert finding_places(run) == expected
