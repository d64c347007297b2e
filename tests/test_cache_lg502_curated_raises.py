"""The run-wide curated-raises fact (`analysis/raised_texts.py`, LG502): a `try` whose
caught `ValueError` can only be one the run's own helpers raise with their own message
is silent; a warm run gives the cold run's findings when the helper, in another file,
starts or stops raising it with a library's text, and a run of the route's file alone
reports what the whole run reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.engine import check
from leakguard.testing import finding_places, make_config, warm_and_cold, write_package

ROUTES = """\
from fastapi import FastAPI, HTTPException

from app.rules import check_rule

app = FastAPI()


@app.post("/rules")
async def add_rule(rule: dict):
    try:
        check_rule(rule)
    except ValueError as e:
        raise HTTPException(status_code=400, detail=str(e))
    return {}
"""
CURATED = """\
from app.limits import within_limits


def check_rule(rule: dict) -> None:
    if not rule.get("name"):
        raise ValueError("A rule needs a name.")
    within_limits(rule)
"""
# The message is now a library's error text.
WRAPPED = """\
import sqlite3

from app.limits import within_limits


def check_rule(rule: dict) -> None:
    try:
        sqlite3.connect(rule["db"]).close()
    except sqlite3.Error as err:
        raise ValueError(str(err)) from err
    within_limits(rule)
"""
LIMITS = """\
def within_limits(rule: dict) -> None:
    if len(rule) > 20:
        raise ValueError("A rule has at most 20 fields.")
"""
# The helper two calls away opens a file: its ValueError may name anything.
OPENS = """\
def within_limits(rule: dict) -> None:
    if len(rule) > 20:
        raise ValueError("A rule has at most 20 fields.")
    open(rule["path"]).close()
"""
# Makes the helper's message from another exception's text, handed as its parameter.
HANDS = """\
from app.rules import check_rule


def job() -> None:
    try:
        open("/var/lib/app/state").close()
    except OSError as exc:
        check_rule({"name": str(exc)})
"""
FAILS = """\
from app.limits import within_limits


def fail(reason: str) -> None:
    raise ValueError(reason)


def check_rule(rule: dict) -> None:
    if not rule.get("name"):
        fail("A rule needs a name.")
    within_limits(rule)
"""
HANDS_FAIL = HANDS.replace('check_rule({"name": str(exc)})', "fail(str(exc))").replace(
    "import check_rule", "import fail"
)


def _package(root: Path, rules: str, limits: str = LIMITS, other: str | None = None) -> Path:
    files = {"routes.py": ROUTES, "rules.py": rules, "limits.py": limits, "other.py": other}
    return write_package(root, files)


LEAK = [("routes.py", 13)]


@pytest.mark.parametrize(
    ("rules", "limits", "other", "found"),
    [
        (CURATED, LIMITS, None, []),
        (WRAPPED, LIMITS, None, LEAK),
        (CURATED, OPENS, None, LEAK),
        (FAILS, LIMITS, None, []),
        (FAILS, LIMITS, HANDS_FAIL, LEAK),
    ],
    ids=["curated", "wrapped", "opens", "fail_curated", "fail_handed_text"],
)
def test_whole_run(
    tmp_path: Path, rules: str, limits: str, other: str | None, found: list[tuple[str, int]]
) -> None:
    _package(tmp_path, rules, limits, other)
    config = make_config(tmp_path, select=["LG502"])
    assert finding_places(check([tmp_path], config, jobs=1, use_cache=False)) == found


@pytest.mark.parametrize(("limits", "found"), [(LIMITS, []), (OPENS, LEAK)], ids=["quiet", "opens"])
def test_partial_run_reports_the_whole_runs(
    tmp_path: Path, limits: str, found: list[tuple[str, int]]
) -> None:
    # A run of the route's file alone reads the project's other files as context
    # (`project_context`): the helper two calls away decides, as in the whole run.
    package = _package(tmp_path, CURATED, limits)
    config = make_config(tmp_path, select=["LG502"])
    assert finding_places(check([package / "routes.py"], config, jobs=1, use_cache=False)) == found


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ((CURATED, LIMITS), (WRAPPED, LIMITS)),
        ((WRAPPED, LIMITS), (CURATED, LIMITS)),
        ((CURATED, LIMITS), (CURATED, OPENS)),
        ((CURATED, OPENS), (CURATED, LIMITS)),
    ],
    ids=["wrapped_in", "wrapped_out", "opens_in", "opens_out"],
)
def test_warm_equals_cold(tmp_path: Path, before: tuple[str, str], after: tuple[str, str]) -> None:
    _package(tmp_path, *before)
    config = make_config(tmp_path, select=["LG502"])
    first, cold = warm_and_cold(tmp_path, config, lambda: _package(tmp_path, *after))
    for run, state in ((first, before), (cold, after)):
        leaking = state[0] == WRAPPED or state[1] == OPENS
        assert finding_places(run) == (LEAK if leaking else [])


@pytest.mark.parametrize(("before", "after"), [(None, HANDS), (HANDS, None)], ids=["in", "out"])
def test_handed_text_warm_equals_cold(
    tmp_path: Path, before: str | None, after: str | None
) -> None:
    _package(tmp_path, CURATED, LIMITS, before)
    config = make_config(tmp_path, select=["LG502"])
    warm_and_cold(tmp_path, config, lambda: _package(tmp_path, CURATED, LIMITS, after))
