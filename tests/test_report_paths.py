"""`relocate` rebases each folder once and composes its files' paths from it; every
path must come out as `rebase_path` gives it alone, also for files in folders above,
beside or below the new base, and for SARIF's absolute paths outside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.engine import RunResult
from leakguard.finding import FileError, FileResult
from leakguard.report.paths import rebase_path, relocate

PATHS = [
    "app/x.py",
    "app/core/y.py",
    "top.py",
    "../sibling/z.py",
    "../sibling/deep/w.py",
    "/elsewhere/v.py",
    "app/./dot.py",
    "app/sub/../up.py",
]


@pytest.mark.parametrize("cwd", ["app", "app/core", "other", "..", "../sibling/deep"])
@pytest.mark.parametrize("absolute_outside", [False, True])
def test_each_path_is_rebased_as_alone(tmp_path: Path, cwd: str, absolute_outside: bool) -> None:
    root = tmp_path / "project"
    new_base = (root / cwd).resolve()
    run = RunResult(
        [FileResult(p, errors=[FileError(p, "problem")]) for p in PATHS],
    )
    moved = relocate(run, root, new_base, absolute_outside=absolute_outside)
    expected = [
        rebase_path(p, root.resolve(), new_base, absolute_outside=absolute_outside) for p in PATHS
    ]
    assert [r.path for r in moved.results] == expected
    assert [e.path for e in moved.errors] == expected


def test_relocating_keeps_what_each_result_says(tmp_path: Path) -> None:
    """Only the paths change: a skipped file's warning stays a warning (it was reported
    as an error when the report was written from another folder than the
    configuration's), and the result's counts stay."""
    skipped = FileError("app/big.py", "skipped: file is 3,000,000 bytes", warning=True)
    result = FileResult("app/big.py", errors=[skipped], lines=7, parsed=True, parsed_lines=5)
    moved = relocate(RunResult([result]), tmp_path, tmp_path / "app").results[0]
    assert moved.errors == [skipped._replace(path="big.py")]
    assert (moved.lines, moved.parsed, moved.parsed_lines) == (7, True, 5)
