"""A warm run gives the cold run's LG502 findings when another module changes the body
of a helper a route hands the exception to (`detail=format_error(e)`): the helper's
facts (`analysis.constant_callables`) are part of what the route's findings depend on,
whichever way it is imported and whichever way the edit goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.testing import make_config, warm_and_cold

ROUTE = """\
from fastapi import FastAPI, HTTPException
{imports}

app = FastAPI()


@app.get("/items")
async def items(key: str):
    try:
        return {{"key": key}}
    except Exception as e:
        raise HTTPException(500, detail={call})


def sync_items(key: str):
    try:
        return {{"key": key}}
    except Exception:
        raise HTTPException(500, detail={trace})
"""
IMPORTS = {
    "relative": ("from .errors import format_error, trace_text", "format_error(e)", "trace_text()"),
    "module": ("from . import errors", "errors.format_error(e)", "errors.trace_text()"),
    "absolute": (
        "import app.errors",
        "app.errors.format_error(e)",
        "app.errors.trace_text()",
    ),
}
LEAKING = """\
import traceback


def format_error(e):
    return f"Error: {e}"


def trace_text():
    return traceback.format_exc()
"""
GENERIC = """\
import logging
import traceback

logger = logging.getLogger(__name__)


def format_error(e):
    logger.error("failed: %s", e)
    return "Internal error"


def trace_text():
    traceback.print_exc()
    return "Internal error"
"""
RENAMED = LEAKING.replace("def format_error", "def format_failure").replace(
    "def trace_text", "def trace_lines"
)
EDITS = {
    "leaking_to_generic": (LEAKING, GENERIC),
    "generic_to_leaking": (GENERIC, LEAKING),
    "renamed": (LEAKING, RENAMED),
    "renamed_back": (RENAMED, LEAKING),
}


@pytest.mark.parametrize("imports", sorted(IMPORTS))
@pytest.mark.parametrize("edit", sorted(EDITS))
def test_warm_equals_cold(tmp_path: Path, imports: str, edit: str) -> None:
    line, call, trace = IMPORTS[imports]
    before, after = EDITS[edit]
    pkg = tmp_path / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "routes.py").write_text(ROUTE.format(imports=line, call=call, trace=trace))
    (pkg / "errors.py").write_text(before)
    config = make_config(tmp_path, select=["LG502"])
    first, cold = warm_and_cold(tmp_path, config, lambda: (pkg / "errors.py").write_text(after))
    leaking = cold if after == LEAKING else first
    assert [(Path(f.path).name, f.line) for f in leaking.findings] == [
        ("routes.py", 12),
        ("routes.py", 19),
    ]
    assert not (first if after == LEAKING else cold).findings
