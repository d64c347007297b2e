"""Gates decided by the files' verdicts (`engine._RuleGates`, `engine._left_out`).

The curated-exception facts (`exception_texts`, with `class_table_uses`) are gated by
their reader, LG502: a run where no file's verdict admits LG502 skips them; one where a
file's does collects them for every file, those collected before the gate opened too
(`engine._complete_facts`), cold or warm, in one worker or two, and for a run of one
file. `caller_trust` opens for a file whose rules may read it there
(`LintRule.READS_WHERE`: LG205's fan-out in a request handler), not for a script's."""

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
# The run's only file LG502 may fire in: its text is curated unless another file makes
# `AppError` from another exception's text.
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
# Makes the caught class from an OSError's text; LG502 cannot fire here (no way out to
# a client). Longer than the routes, so a worker collects it first (`engine._weight`),
# before any verdict has opened the gate.
BUILDS = (
    '"""State files.\n\n'
    + "The state file is read once at start-up and never written by this module.\n" * 40
    + '"""\n\nfrom app.errors import AppError\n\n\n'
    + "def job() -> None:\n"
    + "    try:\n"
    + '        open("/var/lib/app/state").close()\n'
    + "    except OSError as exc:\n"
    + "        raise AppError(str(exc)) from exc\n"
)
LEAK = [("routes.py", 14)]


def _package(root: Path, routes: str | None) -> Path:
    files = {"errors.py": ERRORS, "routes.py": routes, "store.py": STORE, "builds.py": BUILDS}
    return write_package(root, files)


def _collected(run: object, module: str) -> bool:
    project = run.project  # type: ignore[attr-defined]
    return project is not None and module in project.facts.get("exception_texts", {})


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_collected_before_the_gate_opened_is_completed(tmp_path: Path, jobs: int) -> None:
    assert len(BUILDS) > len(ROUTES)
    _package(tmp_path, ROUTES)
    config = make_config(tmp_path, select=["LG502"])
    run = check([tmp_path], config, jobs=jobs, use_cache=False)
    # the leak is seen only through `builds.py`'s facts, collected after its verdict
    assert finding_places(run) == LEAK
    assert _collected(run, "app.builds")


def test_no_file_admitting_lg502_keeps_the_gate_closed(tmp_path: Path) -> None:
    _package(tmp_path, None)
    run = check([tmp_path], make_config(tmp_path, select=["LG502"]), jobs=1, use_cache=False)
    assert run.project is not None and "exception_texts" not in run.project.facts
    assert "class_table_uses" not in run.project.facts
    assert run.findings == []


@pytest.mark.parametrize(("before", "after"), [(None, ROUTES), (ROUTES, None)])
def test_warm_equals_cold_as_the_gate_opens_or_closes(
    tmp_path: Path, before: str | None, after: str | None
) -> None:
    _package(tmp_path, before)
    config = make_config(tmp_path, select=["LG502"])
    first, cold = warm_and_cold(tmp_path, config, lambda: _package(tmp_path, after))
    assert finding_places(first) == (LEAK if before else [])
    assert finding_places(cold) == (LEAK if after else [])


def test_a_run_of_one_file_collects_every_collector(tmp_path: Path) -> None:
    routes = ROUTES.replace("from app.errors import AppError\n", "").replace(
        "from app.store import save\n", ""
    )
    one = tmp_path / "service.py"
    one.write_text(ERRORS + BUILDS.split("from app.errors import AppError")[1] + routes)
    run = check([one], make_config(tmp_path, select=["LG502"]), jobs=1, use_cache=False)
    assert [line for _, line in finding_places(run)] == [len(one.read_text().splitlines()) - 1]


def test_a_file_no_parser_accepts_opens_no_gate(tmp_path: Path) -> None:
    """Python 2 code (no verdict: CPython refuses it) holds LG502's tokens; LibCST refuses
    it too, so no rule analyses it and the run reports its syntax error."""
    _package(tmp_path, None)
    (tmp_path / "app" / "legacy.py").write_text(
        "try:\n    pass\nexcept ValueError, exc:\n    print exc\n"
    )
    run = check([tmp_path], make_config(tmp_path, select=["LG502"]), jobs=1, use_cache=False)
    assert run.project is not None and "exception_texts" not in run.project.facts
    assert [Path(e.path).name for e in run.errors] == ["legacy.py"]


# `caller_trust` is read by LG205 and LG502 only of a file's request handlers
# (`LintRule.READS_WHERE`): a script fanning out admits LG205 and opens no gate.
AUTH = """\
from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel


class User(BaseModel):
    id: int
    role: str


def get_current_user(request: Request) -> User:
    user = request.state.user
    if user is None:
        raise HTTPException(status_code=401)
    return user


def get_admin_user(user: User = Depends(get_current_user)) -> User:
    if user.role != "admin":
        raise HTTPException(status_code=403)
    return user
"""
ADMIN_ROUTES = """\
import asyncio

from fastapi import Depends, FastAPI
from pydantic import BaseModel

from app.auth import get_admin_user

app = FastAPI()


class Warmup(BaseModel):
    models: list[str]


async def warm(name: str) -> None:
    await asyncio.sleep(0)


@app.post("/admin/warmup")
async def warmup(body: Warmup, user=Depends(get_admin_user)) -> None:
    await asyncio.gather(*[warm(name) for name in body.models])
"""
USER_ROUTES = ADMIN_ROUTES.replace("get_admin_user", "get_current_user")
# Longer than the routes: collected first, with no request handler to ask trust of.
SCRIPT = (
    '"""Command-line warm-up.\n\n'
    + "Each model named on the command line is loaded once, then the process exits.\n" * 40
    + '"""\n\nimport asyncio\nimport sys\n\n\n'
    + "async def load(name: str) -> str:\n    return name\n\n\n"
    + "async def main(names: list[str]) -> None:\n"
    + "    print(await asyncio.gather(*(load(n) for n in names)))\n\n\n"
    + 'if __name__ == "__main__":\n    asyncio.run(main(sys.argv[1:]))\n'
)


@pytest.mark.parametrize(
    ("routes", "found"), [(None, []), (ADMIN_ROUTES, []), (USER_ROUTES, [("routes.py", 21)])]
)
@pytest.mark.parametrize("jobs", [1, 2])
def test_caller_trust_opens_for_a_route_not_for_a_script(
    tmp_path: Path, routes: str | None, found: list[tuple[str, int]], jobs: int
) -> None:
    write_package(tmp_path, {"auth.py": AUTH, "routes.py": routes, "script.py": SCRIPT})
    config = make_config(tmp_path, select=["LG205"])
    run = check([tmp_path], config, jobs=jobs, use_cache=False)
    assert finding_places(run) == found
    assert run.project is not None
    assert ("caller_trust" in run.project.facts) == (routes is not None)


@pytest.mark.parametrize(("before", "after"), [(None, ADMIN_ROUTES), (ADMIN_ROUTES, None)])
def test_warm_equals_cold_as_a_route_comes_and_goes(
    tmp_path: Path, before: str | None, after: str | None
) -> None:
    files = {"auth.py": AUTH, "script.py": SCRIPT}
    write_package(tmp_path, {**files, "routes.py": before})
    config = make_config(tmp_path, select=["LG205"])
    edit = lambda: write_package(tmp_path, {**files, "routes.py": after})  # noqa: E731
    first, cold = warm_and_cold(tmp_path, config, edit)
    assert first.findings == [] and cold.findings == []
