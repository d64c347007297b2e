"""A handler registered only for a curated class (`analysis/exceptions.py`, LG502) is
handed only its text, unless another file registers it for other classes (an app
factory's `register_error_handler(Exception, handle_error)`): a warm run gives the cold
run's findings when that registration is edited in or out, and a run without the other
files proves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.engine import check
from leakguard.testing import finding_places, make_config, warm_and_cold, write_package

QUOTA = """\
class QuotaExceeded(Exception):
    pass


def charge(used: int, limit: int) -> None:
    if used > limit:
        raise QuotaExceeded("Monthly quota exceeded; upgrade your plan.")
"""
ERRORS = """\
from flask import Blueprint, jsonify

from billing.quota import QuotaExceeded

errors = Blueprint("errors", __name__)


@errors.app_errorhandler(QuotaExceeded)
def handle_error(exc: Exception):
    return jsonify(error=str(exc)), 500
"""
# The app factory: registers the blueprint only, or the handler for every exception too.
BLUEPRINT_ONLY = """\
from flask import Flask

from billing.errors import errors, handle_error


def create_app() -> Flask:
    app = Flask(__name__)
    app.register_blueprint(errors)
    return app
"""
EVERY_EXCEPTION = BLUEPRINT_ONLY.replace(
    "    return app", "    app.register_error_handler(Exception, handle_error)\n    return app"
)
FOUND = [("errors.py", 10)]


def _package(root: Path, app: str | None) -> None:
    write_package(root, {"quota.py": QUOTA, "errors.py": ERRORS, "app.py": app}, "billing")


@pytest.mark.parametrize(("app", "found"), [(BLUEPRINT_ONLY, []), (EVERY_EXCEPTION, FOUND)])
def test_whole_run(tmp_path: Path, app: str, found: list[tuple[str, int]]) -> None:
    _package(tmp_path, app)
    config = make_config(tmp_path, select=["LG502"])
    assert finding_places(check([tmp_path], config, jobs=1, use_cache=False)) == found


def test_partial_run_proves_nothing(tmp_path: Path) -> None:
    # Without the package's `__init__.py` and `app.py` the run cannot tell that no
    # other file registers the handler.
    _package(tmp_path, EVERY_EXCEPTION)
    config = make_config(tmp_path, select=["LG502"])
    named = [tmp_path / "billing" / "errors.py", tmp_path / "billing" / "quota.py"]
    assert finding_places(check(named, config, jobs=1, use_cache=False)) == FOUND


@pytest.mark.parametrize(
    ("before", "after"),
    [(BLUEPRINT_ONLY, EVERY_EXCEPTION), (EVERY_EXCEPTION, BLUEPRINT_ONLY), (None, EVERY_EXCEPTION)],
    ids=["registration_edited_in", "registration_edited_out", "added"],
)
def test_warm_equals_cold(tmp_path: Path, before: str | None, after: str | None) -> None:
    _package(tmp_path, before)
    config = make_config(tmp_path, select=["LG502"])
    first, cold = warm_and_cold(tmp_path, config, lambda: _package(tmp_path, after))
    for run, app in ((first, before), (cold, after)):
        assert finding_places(run) == (FOUND if app == EVERY_EXCEPTION else [])
