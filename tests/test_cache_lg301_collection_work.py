"""A warm run gives the cold run's LG301 severities when another module starts or stops
working per entry of a field (`analysis/collection_work.py`): whether `Form.ids` is an
error or a note is a fact of the modules that read it, added, edited or removed, and of
the module that made the session they call (an imported value)."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard import project_context
from leakguard.engine import check
from leakguard.testing import make_config, warm_and_cold, write_or_remove, write_package
from leakguard.testing import run as run_once

DB = "from sqlalchemy.orm import Session\n\nsession = Session()\n"
SCHEMAS = """\
from pydantic import BaseModel


class Form(BaseModel):
    ids: list[int] = []
"""
ROUTES = """\
from fastapi import FastAPI

from app.schemas import Form

app = FastAPI()


@app.post("/items")
def create(form: Form) -> dict:
    return form.model_dump()
"""
# `form: Form`: a read by name through an untyped value is no evidence (session 13).
LOOPING = """\
from app.db import session
from app.schemas import Form


def delete_all(ids: list[int]) -> None:
    for item_id in ids:
        session.get(item_id)


def purge(form: Form) -> None:
    delete_all(form.ids)
"""
# A subclass of `Form` resolving each id (a validator of an unrelated class with a
# field `ids` of its own is no evidence about `Form.ids`).
VALIDATING = """\
from pydantic import field_validator

from app.db import session
from app.schemas import Form


class Checked(Form):
    @field_validator("ids")
    @classmethod
    def known(cls, value: list[int]) -> list[int]:
        return [session.merge(i) for i in value]
"""
STORING = """\
def purge(form: object) -> dict:
    return {"ids": form.ids}
"""
# (other module before, after): None = the file does not exist
EDITS = {
    "loop_added": (None, LOOPING),
    "loop_removed": (LOOPING, None),
    "loop_edited_out": (LOOPING, STORING),
    "loop_edited_in": (STORING, LOOPING),
    "validator_added": (STORING, VALIDATING),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_warm_equals_cold(tmp_path: Path, edit: str) -> None:
    before, after = EDITS[edit]
    pkg = write_package(
        tmp_path, {"db.py": DB, "schemas.py": SCHEMAS, "routes.py": ROUTES, "other.py": before}
    )
    config = make_config(tmp_path, select=["LG301"])
    first, cold = warm_and_cold(tmp_path, config, lambda: write_or_remove(pkg / "other.py", after))
    for run, other in ((first, before), (cold, after)):
        works = other in (LOOPING, VALIDATING)
        found = [
            (Path(f.path).name, f.line, f.severity.value)
            for f in run.findings
            if Path(f.path).name == "schemas.py"
        ]
        assert found == [("schemas.py", 5, "error" if works else "note")]


# Another top-level package the routes hand the dumped model to: it never imports `app`
# (it takes a dict), so only the call chain shows its read of `payload["ids"]` is the
# field's (review of 5db7f66).
DUMPING_ROUTES = """\
from fastapi import FastAPI
from workers.tasks import grant_all

from app.schemas import Form

app = FastAPI()


@app.post("/items")
def create(form: Form) -> None:
    grant_all(form.model_dump())
"""
WORKER_LOOPING = """\
from sqlalchemy.orm import Session

session = Session()


def grant_all(payload: dict) -> None:
    for item_id in payload["ids"]:
        session.get(item_id)
"""
WORKER_STORING = """\
def grant_all(payload: dict) -> dict:
    return {"ids": payload["ids"]}
"""


@pytest.mark.parametrize(
    ("before", "after"), [(WORKER_LOOPING, WORKER_STORING), (WORKER_STORING, WORKER_LOOPING)]
)
def test_warm_equals_cold_across_packages(tmp_path: Path, before: str, after: str) -> None:
    for name in ("app", "workers"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "app" / "schemas.py").write_text(SCHEMAS)
    (tmp_path / "app" / "routes.py").write_text(DUMPING_ROUTES)
    worker = tmp_path / "workers" / "tasks.py"
    worker.write_text(before)
    config = make_config(tmp_path, select=["LG301"])
    first, cold = warm_and_cold(tmp_path, config, lambda: worker.write_text(after))
    for run, source in ((first, before), (cold, after)):
        found = [(Path(f.path).name, f.line, f.severity.value) for f in run.findings]
        severity = "error" if source == WORKER_LOOPING else "note"
        assert found == [("schemas.py", 5, severity)]


# The package's own module the routes call (`app.other.purge`): a run checking only the
# routes and the schemas has not read it (a pre-commit run over changed files).
CALLING_ROUTES = """\
from fastapi import FastAPI

from app.other import purge
from app.schemas import Form

app = FastAPI()


@app.post("/items")
def create(form: Form) -> None:
    purge(form.ids)
"""


@pytest.mark.parametrize("context", [True, False], ids=["with_context", "over_the_bound"])
def test_a_partial_run_proves_no_silence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, context: bool
) -> None:
    """A partial run reads `other.py` as context (`leakguard.project_context`): the
    whole run's note. Over the context bound, without `other.py` the run cannot tell
    whether `purge` works per id: the finding keeps `error` as possible work ("may
    drive work"), as with no facts at all, instead of reading the unread call as
    forwarding (a note)."""
    if not context:
        monkeypatch.setattr(project_context, "MAX_PROJECT_FILES", 1)
    files = {"db.py": DB, "schemas.py": SCHEMAS, "routes.py": CALLING_ROUTES}
    pkg = write_package(tmp_path, {**files, "other.py": STORING})
    partial = run_once([pkg / "schemas.py", pkg / "routes.py"], tmp_path, select=["LG301"])
    expected = [("note", False)] if context else [("error", True)]
    assert [(f.severity.value, "may drive work" in f.message) for f in partial.findings] == (
        expected
    )
    whole = run_once([pkg], tmp_path, select=["LG301"])
    assert [f.severity.value for f in whole.findings] == ["note"]


# Session 15: each entry of `Chat.tools` turned into data by a method of its own model,
# defined in a third module: a warm run must see that method start or stop working
# (no call edge records `tool.to_template()`: the run's data models are in every key).
CHAT_SCHEMAS = """\
from pydantic import BaseModel

from app.tools import Tool


class Chat(BaseModel):
    tools: list[Tool] = []
"""
CHAT_ROUTES = """\
from fastapi import FastAPI

from app.schemas import Chat

app = FastAPI()


@app.post("/chat")
def chat(body: Chat) -> list[dict]:
    return [tool.to_template() for tool in body.tools]
"""
TOOL_CHEAP = """\
from pydantic import BaseModel, Field


class Tool(BaseModel):
    name: str = Field(max_length=64)

    def to_template(self) -> dict:
        return {"name": self.name}
"""
TOOL_WORKING = """\
import httpx
from pydantic import BaseModel, Field


class Tool(BaseModel):
    name: str = Field(max_length=64)

    def to_template(self) -> dict:
        return httpx.get(f"http://tools/{self.name}").json()
"""


@pytest.mark.parametrize(
    ("before", "after"), [(TOOL_CHEAP, TOOL_WORKING), (TOOL_WORKING, TOOL_CHEAP)]
)
def test_warm_equals_cold_when_an_entry_method_changes(
    tmp_path: Path, before: str, after: str
) -> None:
    pkg = write_package(
        tmp_path, {"schemas.py": CHAT_SCHEMAS, "routes.py": CHAT_ROUTES, "tools.py": before}
    )
    config = make_config(tmp_path, select=["LG301", "LG303"])
    first, cold = warm_and_cold(tmp_path, config, lambda: (pkg / "tools.py").write_text(after))
    for run, source in ((first, before), (cold, after)):
        works = source == TOOL_WORKING
        found = sorted((f.rule, Path(f.path).name, f.severity.value) for f in run.findings)
        expected = [("LG301", "schemas.py", "error" if works else "note")]
        if works:
            expected.append(("LG303", "routes.py", "error"))
        assert found == sorted(expected)


def test_a_line_added_to_a_models_module_reuses_every_other_module(tmp_path: Path) -> None:
    # the run's data models are in every module's key as judgements, not as summaries
    # (which hold line numbers): a comment above a model re-analyses its own file only
    pkg = write_package(
        tmp_path, {"schemas.py": CHAT_SCHEMAS, "routes.py": CHAT_ROUTES, "tools.py": TOOL_WORKING}
    )
    config = make_config(tmp_path, select=["LG301", "LG303"])
    first = check([tmp_path], config, jobs=1)
    (pkg / "tools.py").write_text("# tools a chat may call\n\n" + TOOL_WORKING)
    warm = check([tmp_path], config, jobs=1)
    assert sorted(Path(r.path).name for r in warm.results if not r.from_cache) == ["tools.py"]
    assert [f.to_json() for f in warm.findings] == [f.to_json() for f in first.findings]
    assert {f.rule for f in warm.findings} == {"LG301", "LG303"}


TOOL_RENDERING = """\
from pydantic import BaseModel, Field

from app.render import render


class Tool(BaseModel):
    name: str = Field(max_length=64)

    def to_template(self) -> dict:
        return render(self.name)
"""
RENDER_CHEAP = "def render(name: str) -> dict:\n    return {'name': name}\n"
RENDER_WORKING = (
    "import httpx\n\n\ndef render(name: str) -> dict:\n"
    "    return httpx.get(f'http://tools/{name}').json()\n"
)


@pytest.mark.parametrize(
    ("before", "after"), [(RENDER_CHEAP, RENDER_WORKING), (RENDER_WORKING, RENDER_CHEAP)]
)
def test_warm_equals_cold_when_what_an_entry_method_calls_changes(
    tmp_path: Path, before: str, after: str
) -> None:
    # the entry method itself is unchanged; the helper it calls, in a fourth module,
    # starts or stops working
    pkg = write_package(
        tmp_path,
        {
            "schemas.py": CHAT_SCHEMAS,
            "routes.py": CHAT_ROUTES,
            "tools.py": TOOL_RENDERING,
            "render.py": before,
        },
    )
    config = make_config(tmp_path, select=["LG301", "LG303"])
    first, cold = warm_and_cold(tmp_path, config, lambda: (pkg / "render.py").write_text(after))
    for run, source in ((first, before), (cold, after)):
        works = source == RENDER_WORKING
        found = sorted((f.rule, Path(f.path).name, f.severity.value) for f in run.findings)
        expected = [("LG301", "schemas.py", "error" if works else "note")]
        if works:
            expected.append(("LG303", "routes.py", "error"))
        assert found == sorted(expected)
