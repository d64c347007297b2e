"""A warm run gives the cold run's findings when another module changes what makes a
route privileged (analysis/caller_trust): the body of the dependency (an admin check
turned into authentication only, and back) or the status of the exception it raises
(403 turned into 400). The route's file does not change; its findings must."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard import project_context
from leakguard.engine import check
from leakguard.testing import make_config, warm_and_cold, write_package

ROUTE = """\
from fastapi import APIRouter, Depends
from pydantic import BaseModel

from app.auth import get_admin

router = APIRouter()


class Entry(BaseModel):
    id: int


class BatchForm(BaseModel):
    entries: list[Entry]


async def upsert(entry: Entry) -> None:
    return None


@router.post("/batch", dependencies=[Depends(get_admin)])
async def batch(form_data: BatchForm):
    for entry in form_data.entries:
        await upsert(entry)
    return {"ok": True}
"""
ADMIN = """\
from fastapi import Depends, Request

from app.errors import Refused


def get_user(request: Request):
    return request.state.user


def get_admin(user=Depends(get_user)):
    if user.role != "admin":
        raise Refused()
    return user
"""
AUTHENTICATES = ADMIN.replace('user.role != "admin"', "user is None")
FORBIDDEN = """\
from fastapi import HTTPException


class Refused(HTTPException):
    status_code = 403

    def __init__(self) -> None:
        super().__init__(status_code=self.status_code)
"""
BAD_REQUEST = FORBIDDEN.replace("403", "400")
EDITS = {
    "admin_to_authenticates": ((ADMIN, FORBIDDEN), (AUTHENTICATES, FORBIDDEN)),
    "authenticates_to_admin": ((AUTHENTICATES, FORBIDDEN), (ADMIN, FORBIDDEN)),
    "forbidden_to_bad_request": ((ADMIN, FORBIDDEN), (ADMIN, BAD_REQUEST)),
    "bad_request_to_forbidden": ((ADMIN, BAD_REQUEST), (ADMIN, FORBIDDEN)),
}


def _privileged(auth: str, errors: str) -> bool:
    return auth == ADMIN and errors == FORBIDDEN


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_warm_equals_cold(tmp_path: Path, edit: str) -> None:
    before, after = EDITS[edit]
    pkg = write_package(
        tmp_path, {"routes.py": ROUTE, "auth.py": before[0], "errors.py": before[1]}
    )
    config = make_config(tmp_path, select=["LG301", "LG303"])

    def edit() -> None:
        (pkg / "auth.py").write_text(after[0])
        (pkg / "errors.py").write_text(after[1])

    first, cold = warm_and_cold(tmp_path, config, edit)
    for run, files in ((first, before), (cold, after)):
        found = {(f.rule, f.line) for f in run.findings}
        if _privileged(*files):
            assert not found
        else:
            assert {("LG301", 14), ("LG303", 23)} <= found


@pytest.mark.parametrize("context", [True, False], ids=["with_context", "over_the_bound"])
def test_partial_run_without_the_dependency_keeps_firing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, context: bool
) -> None:
    """Checking the route's file alone reads its dependency's file as context
    (`leakguard.project_context`): silent, as the whole run. Over the context bound, the
    dependency's file not in the run proves no privilege: the findings stay."""
    if not context:
        monkeypatch.setattr(project_context, "MAX_PROJECT_FILES", 1)
    pkg = write_package(tmp_path, {"routes.py": ROUTE, "auth.py": ADMIN, "errors.py": FORBIDDEN})
    config = make_config(tmp_path, select=["LG301", "LG303"])
    assert not check([tmp_path], config, jobs=1).findings
    alone = check([pkg / "routes.py"], config, jobs=1)
    found = {(f.rule, f.line) for f in alone.findings}
    if context:
        assert not found
    else:
        assert {("LG301", 14), ("LG303", 23)} <= found
