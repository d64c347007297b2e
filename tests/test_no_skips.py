"""The suite's skip policy (conftest.py): a skipped test fails the run unless allowed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SAMPLE = """
import pytest

def test_runs():
    pass

def test_skips_at_run_time():
    pytest.skip("tool missing")

@pytest.mark.allow_skip("documented exception")
def test_allowed():
    pytest.skip("allowed")

@pytest.mark.xfail(strict=True)
def test_expected_failure():
    assert False
"""


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_skip_fails_the_run_unless_allowed(tmp_path: Path) -> None:
    shutil.copy(PROJECT_ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_sample.py").write_text(SAMPLE, encoding="utf-8")

    strict = _pytest(tmp_path)
    assert strict.returncode == 1, strict.stdout
    assert "FAILED test_sample.py::test_skips_at_run_time" in strict.stdout
    assert "tool missing" in strict.stdout
    assert "1 failed, 1 passed, 1 skipped, 1 xfailed" in strict.stdout

    allowed = _pytest(tmp_path, "--allow-skips")
    assert allowed.returncode == 0, allowed.stdout
    assert "1 passed, 2 skipped, 1 xfailed" in allowed.stdout


def test_a_skip_fails_the_run_under_the_suites_own_workers(tmp_path: Path) -> None:
    # The suite runs under pytest-xdist (pyproject addopts): the policy must hold in workers.
    shutil.copy(PROJECT_ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_sample.py").write_text(SAMPLE, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1, run.stdout
    assert "FAILED test_sample.py::test_skips_at_run_time" in run.stdout
    assert "1 failed, 1 passed, 1 skipped, 1 xfailed" in run.stdout
