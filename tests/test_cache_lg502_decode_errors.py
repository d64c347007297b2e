"""Decode error classes (`analysis/decode_errors.py`, LG502): `except jwt.InvalidTokenError`
carries no internals unless a call of the run makes one from another exception's text,
which may sit in another file; a warm run gives the cold run's findings when that file
starts or stops doing so."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.engine import check
from leakguard.testing import finding_places, make_config, warm_and_cold, write_package

ROUTES = """\
import jwt
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from app.keys import signing_key

app = FastAPI()


@app.post("/logout")
async def logout(token: str):
    try:
        claims = jwt.decode(token, signing_key(), algorithms=["RS256"])
    except jwt.InvalidTokenError as e:
        return JSONResponse(status_code=400, content={"error": str(e)})
    return {"sub": claims["sub"]}
"""
# Refuses with a text of its own.
OWN_TEXT = """\
import jwt


def signing_key() -> str:
    try:
        return open("/etc/app/jwt.pem").read()
    except OSError:
        raise jwt.InvalidTokenError("no signing key")
"""
# Same lines: the refusal carries the OSError's text (the server's path).
WRAPS = OWN_TEXT.replace('("no signing key")', "(str(exc))").replace(
    "except OSError:", "except OSError as exc:"
)


def _package(root: Path, keys: str | None) -> None:
    write_package(root, {"routes.py": ROUTES, "keys.py": keys})


@pytest.mark.parametrize(("keys", "found"), [(OWN_TEXT, []), (WRAPS, [("routes.py", 15)])])
def test_whole_run(tmp_path: Path, keys: str, found: list[tuple[str, int]]) -> None:
    _package(tmp_path, keys)
    config = make_config(tmp_path, select=["LG502"])
    assert finding_places(check([tmp_path], config, jobs=1, use_cache=False)) == found


def test_partial_run_proves_nothing(tmp_path: Path) -> None:
    # Without the package's `__init__.py` and `keys.py` (which makes the class from an
    # OSError's text) the run cannot tell that no construction carries other text.
    _package(tmp_path, WRAPS)
    config = make_config(tmp_path, select=["LG502"])
    named = [tmp_path / "app" / "routes.py"]
    assert finding_places(check(named, config, jobs=1, use_cache=False)) == [("routes.py", 15)]


@pytest.mark.parametrize(
    ("before", "after"),
    [(OWN_TEXT, WRAPS), (WRAPS, OWN_TEXT), (None, WRAPS)],
    ids=["wraps_edited_in", "wraps_edited_out", "added"],
)
def test_warm_equals_cold(tmp_path: Path, before: str | None, after: str | None) -> None:
    _package(tmp_path, before)
    config = make_config(tmp_path, select=["LG502"])
    first, cold = warm_and_cold(tmp_path, config, lambda: _package(tmp_path, after))
    for run, keys in ((first, before), (cold, after)):
        assert finding_places(run) == ([("routes.py", 15)] if keys == WRAPS else [])


# The run's own subclass of the caught class, and a helper of the run making the caught
# class from its parameter: each refuses with a text of its own, or with the OSError's.
SUBCLASS_OWN_TEXT = """\
import jwt


class KeyLookupError(jwt.InvalidTokenError):
    pass


def signing_key() -> str:
    try:
        return open("/etc/app/jwt.pem").read()
    except OSError:
        raise KeyLookupError("no signing key")
"""
SUBCLASS_WRAPS = SUBCLASS_OWN_TEXT.replace('("no signing key")', "(str(exc))").replace(
    "except OSError:", "except OSError as exc:"
)
HELPER_OWN_TEXT = """\
import jwt


def reject(reason: str) -> None:
    raise jwt.InvalidTokenError(reason)


def signing_key() -> str:
    try:
        return open("/etc/app/jwt.pem").read()
    except OSError:
        reject("no signing key")
        raise
"""
HELPER_WRAPS = HELPER_OWN_TEXT.replace('("no signing key")', "(str(exc))").replace(
    "except OSError:", "except OSError as exc:"
)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (SUBCLASS_OWN_TEXT, SUBCLASS_WRAPS),
        (SUBCLASS_WRAPS, SUBCLASS_OWN_TEXT),
        (HELPER_OWN_TEXT, HELPER_WRAPS),
        (HELPER_WRAPS, HELPER_OWN_TEXT),
        (OWN_TEXT, SUBCLASS_WRAPS),
    ],
    ids=[
        "subclass_wraps_edited_in",
        "subclass_wraps_edited_out",
        "helper_wraps_edited_in",
        "helper_wraps_edited_out",
        "subclass_added",
    ],
)
def test_subclass_and_helper_warm_equals_cold(tmp_path: Path, before: str, after: str) -> None:
    _package(tmp_path, before)
    config = make_config(tmp_path, select=["LG502"])
    first, cold = warm_and_cold(tmp_path, config, lambda: _package(tmp_path, after))
    for run, keys in ((first, before), (cold, after)):
        wraps = keys in (SUBCLASS_WRAPS, HELPER_WRAPS)
        assert finding_places(run) == ([("routes.py", 15)] if wraps else [])
