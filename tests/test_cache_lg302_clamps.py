"""A warm run gives the cold run's LG302 findings when another module changes whether a
helper clamps the page size a route hands it (`clamps.COLLECTOR` facts): for a query
parameter (resolved while the rule runs) and for a model field (recorded as
`clamped_via` in the handler's model facts, resolved by the run's model index), either
way the edit goes. A run of the route's file alone proves no clamp."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard import project_context
from leakguard.engine import check
from leakguard.testing import finding_places, make_config, warm_and_cold, write_package

ROUTE = """\
from fastapi import FastAPI
from pydantic import BaseModel

from app.paging import page_rows

app = FastAPI()


class PageForm(BaseModel):
    limit: int = 10


@app.get("/rows")
def rows(limit: int = 10):
    return page_rows(limit)


@app.post("/rows")
def rows_by_form(form: PageForm):
    return page_rows(form.limit)
"""
CLAMPING = """\
ROWS = list(range(10_000))


def page_rows(limit):
    return list(range(min(limit, 100)))
"""
UNCLAMPED = """\
ROWS = list(range(10_000))


def page_rows(limit):
    size = min(limit, 100)
    return list(range(limit)) if size else []
"""
EDITS = {"clamp_removed": (CLAMPING, UNCLAMPED), "clamp_added": (UNCLAMPED, CLAMPING)}
FIRING = [("routes.py", 10), ("routes.py", 14)]


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_warm_equals_cold(tmp_path: Path, edit: str) -> None:
    before, after = EDITS[edit]
    pkg = write_package(tmp_path, {"routes.py": ROUTE, "paging.py": before})
    config = make_config(tmp_path, select=["LG302"])
    first, cold = warm_and_cold(tmp_path, config, lambda: (pkg / "paging.py").write_text(after))
    firing, silent = (cold, first) if after == UNCLAMPED else (first, cold)
    assert finding_places(firing) == FIRING
    assert not silent.findings


@pytest.mark.parametrize("context", [True, False], ids=["with_context", "over_the_bound"])
def test_route_alone_proves_no_clamp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, context: bool
) -> None:
    # With the project as context (`leakguard.project_context`) the route alone is
    # silent, as in the whole run; over the context bound its clamp is not proven.
    if not context:
        monkeypatch.setattr(project_context, "MAX_PROJECT_FILES", 1)
    pkg = write_package(tmp_path, {"routes.py": ROUTE, "paging.py": CLAMPING})
    config = make_config(tmp_path, select=["LG302"])
    assert not check([tmp_path], config, jobs=1).findings
    alone = check([pkg / "routes.py"], config, jobs=1)
    assert finding_places(alone) == ([] if context else FIRING)
