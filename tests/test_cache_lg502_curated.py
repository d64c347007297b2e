"""The run-wide curated-exception fact (`analysis/curated_exceptions.py`, LG502): a partial
run proves nothing (a construction from another exception's text may sit in a file it
leaves out), and a warm run gives the cold run's findings when another module starts or
stops making the caught class (or a subclass of it) from another exception's text."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.engine import check
from leakguard.testing import finding_places, make_config, warm_and_cold, write_package

ERRORS = """\
class AppError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
"""
ROUTES = """\
from fastapi import FastAPI, HTTPException

from app.errors import AppError
from app.store import save

app = FastAPI()


@app.post("/rows")
async def add_row(row: dict):
    try:
        save(row)
    except AppError as e:
        raise HTTPException(status_code=400, detail=str(e))
    return {}
"""
STORE = """\
from app.errors import AppError


def save(row: dict) -> None:
    if not row:
        raise AppError("A row needs values.")
"""
UNRELATED = """\
from app.errors import AppError


def job() -> None:
    return None
"""
# Makes the caught class from an OSError's text.
BUILDS = """\
from app.errors import AppError


def job() -> None:
    try:
        open("/var/lib/app/state").close()
    except OSError as exc:
        raise AppError(str(exc)) from exc
"""
# Same lines: a class made from an OSError's text, first unrelated, then a subclass of
# the caught class (only the summaries' base changes, not where anything is made).
OWN_CLASS = """\
from app.errors import AppError


class ProbeError(Exception):
    pass


def job() -> None:
    try:
        open("/var/lib/app/state").close()
    except OSError as exc:
        raise ProbeError(str(exc)) from exc
"""
SUBCLASS = OWN_CLASS.replace("class ProbeError(Exception)", "class ProbeError(AppError)")
# A module of bare classes (no method, no function): known to the run all the same.
BARE_ERRORS = """\
class AppError(Exception):
    pass
"""


def _package(root: Path, other: str | None, errors: str = ERRORS) -> Path:
    files = {"errors.py": errors, "routes.py": ROUTES, "store.py": STORE, "other.py": other}
    return write_package(root, files)


@pytest.mark.parametrize(("other", "found"), [(UNRELATED, []), (BUILDS, [("routes.py", 14)])])
def test_whole_run(tmp_path: Path, other: str, found: list[tuple[str, int]]) -> None:
    _package(tmp_path, other)
    config = make_config(tmp_path, select=["LG502"])
    assert finding_places(check([tmp_path], config, jobs=1, use_cache=False)) == found


@pytest.mark.parametrize(("other", "found"), [(UNRELATED, []), (BUILDS, [("routes.py", 14)])])
def test_bare_class_module(tmp_path: Path, other: str, found: list[tuple[str, int]]) -> None:
    _package(tmp_path, other, BARE_ERRORS)
    config = make_config(tmp_path, select=["LG502"])
    assert finding_places(check([tmp_path], config, jobs=1, use_cache=False)) == found


@pytest.mark.parametrize(("before", "after"), [(UNRELATED, BUILDS), (BUILDS, UNRELATED)])
def test_bare_class_module_warm_equals_cold(tmp_path: Path, before: str, after: str) -> None:
    _package(tmp_path, before, BARE_ERRORS)
    config = make_config(tmp_path, select=["LG502"])
    first, cold = warm_and_cold(tmp_path, config, lambda: _package(tmp_path, after, BARE_ERRORS))
    for run, other in ((first, before), (cold, after)):
        assert finding_places(run) == ([("routes.py", 14)] if other == BUILDS else [])


def test_partial_run_proves_nothing(tmp_path: Path) -> None:
    # Without the package's `__init__.py` (and `other.py`, which makes the class from an
    # OSError's text) the run cannot tell that every construction is curated.
    package = _package(tmp_path, BUILDS)
    config = make_config(tmp_path, select=["LG502"])
    named = [package / "routes.py", package / "errors.py", package / "store.py"]
    assert finding_places(check(named, config, jobs=1, use_cache=False)) == [("routes.py", 14)]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (UNRELATED, BUILDS),
        (BUILDS, UNRELATED),
        (None, BUILDS),
        (BUILDS, None),
        (OWN_CLASS, SUBCLASS),
        (SUBCLASS, OWN_CLASS),
    ],
    ids=["builds_edited_in", "builds_edited_out", "added", "removed", "rebased", "unrebased"],
)
def test_warm_equals_cold(tmp_path: Path, before: str | None, after: str | None) -> None:
    _package(tmp_path, before)
    config = make_config(tmp_path, select=["LG502"])
    first, cold = warm_and_cold(tmp_path, config, lambda: _package(tmp_path, after))
    for run, other in ((first, before), (cold, after)):
        leaking = other in (BUILDS, SUBCLASS)
        assert finding_places(run) == ([("routes.py", 14)] if leaking else [])


# The caught class kept in a name -> class table (`error_types = {"app": AppError}`): it
# is made where the table is called, judged as any construction; any other use of the
# table (from a file without a word of exceptions in it, too) may build it from anything.
TABLE_ERRORS = ERRORS + '\n\nerror_types = {"app": AppError}\n'
# A peer's client rebuilding the class from the message the peer sent.
PEER_CLIENT = """\
from app import errors


def rebuild(body: dict) -> object:
    if body["kind"] in errors.error_types:
        return errors.error_types[body["kind"]](body["message"])
    return None
"""
# The table called with an OSError's text.
TABLE_TEXT = """\
from app import errors


def rebuild(path: str) -> object:
    try:
        open(path).close()
    except OSError as exc:
        return errors.error_types["app"](str(exc))
    return None
"""
# The table handed to a function, which may build its classes from anything.
TABLE_HANDED = """\
from app import errors


def rebuild(register: object) -> object:
    if register is None:
        return errors.error_types["app"]("No register given.")
    return register(errors.error_types)
"""
# Called in a function that a caller hands an OSError's text.
TABLE_FORWARDED = """\
from app.errors import error_types


def rebuild(message: str) -> object:
    return error_types.get("app")(message)


def job(path: str) -> object:
    try:
        open(path).close()
    except OSError as exc:
        return rebuild(f"cannot open: {exc}")
    return None
"""


@pytest.mark.parametrize(
    ("other", "found"),
    [
        (PEER_CLIENT, []),
        (TABLE_TEXT, [("routes.py", 14)]),
        (TABLE_HANDED, [("routes.py", 14)]),
        (TABLE_FORWARDED, [("routes.py", 14)]),
        (UNRELATED, [("routes.py", 14)]),  # a table nobody calls is there for others
    ],
    ids=["peer_message", "exception_text", "handed", "forwarded", "never_called"],
)
def test_class_table(tmp_path: Path, other: str, found: list[tuple[str, int]]) -> None:
    _package(tmp_path, other, TABLE_ERRORS)
    config = make_config(tmp_path, select=["LG502"])
    assert finding_places(check([tmp_path], config, jobs=1, use_cache=False)) == found


@pytest.mark.parametrize(
    ("before", "after"),
    [(PEER_CLIENT, TABLE_HANDED), (TABLE_HANDED, PEER_CLIENT), (PEER_CLIENT, TABLE_TEXT)],
    ids=["handed_edited_in", "handed_edited_out", "text_edited_in"],
)
def test_class_table_warm_equals_cold(tmp_path: Path, before: str, after: str) -> None:
    _package(tmp_path, before, TABLE_ERRORS)
    config = make_config(tmp_path, select=["LG502"])
    first, cold = warm_and_cold(tmp_path, config, lambda: _package(tmp_path, after, TABLE_ERRORS))
    for run, other in ((first, before), (cold, after)):
        assert finding_places(run) == ([] if other == PEER_CLIENT else [("routes.py", 14)])
