"""Collectors gated by their readers (`engine._RuleGates`, `rule_index.GATED_BY_READERS`):
a run in which no file may be analysed by a rule reading `collection_work` (LG301) skips
the collector, and one that then gains such a file collects it for the files cached
without it: warm runs give the cold runs' findings, the gate opening or closing, whether
a file's tokens and verdict open it outright or the run's answer to its verdict's
question (`request_models`) does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leakguard.engine import _keeps_ascii, check
from leakguard.testing import make_config, warm_and_cold, write_or_remove

SCHEMAS = """\
from pydantic import BaseModel


class Form(BaseModel):
    ids: list[int] = []
"""
# A FastAPI route: its file holds LG301's tokens and may be a handler (admitted outright).
FASTAPI_ROUTES = """\
from fastapi import FastAPI

from app.other import purge
from app.schemas import Form

app = FastAPI()


@app.post("/items")
def create(form: Form) -> dict:
    purge(form)
    return {}
"""
# A Flask route holds none of LG301's tokens (`Form(` would be one): only the schema's
# file does, and its verdict asks the run whether `Form` is a request model.
FLASK_ROUTES = """\
from flask import Flask, request

from app.other import purge
from app.schemas import Form

app = Flask(__name__)


@app.route("/items", methods=["POST"])
def create():
    form = Form.model_validate(request.get_json())
    purge(form)
    return {}
"""
# Works per entry of `form.ids`, without any of LG301's tokens; `form: Form` so the
# read is the model's own field (a read by name through `object` is no evidence).
LOOPING = """\
from app.db import session
from app.schemas import Form


def delete_all(ids: list[int]) -> None:
    for item_id in ids:
        session.get(item_id)


def purge(form: Form) -> None:
    delete_all(form.ids)
"""


_HELPERS = 16


def _tree(root: Path) -> Path:
    pkg = root / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "db.py").write_text("from sqlalchemy.orm import Session\n\nsession = Session()\n")
    (pkg / "other.py").write_text(LOOPING)
    # enough files that a worker collects many before it meets the one opening a gate
    for number in range(_HELPERS):
        (pkg / f"helper{number}.py").write_text(f"def helper{number}(x):\n    return x\n")
    return pkg


def _lg301(run: object) -> list[tuple[str, int, str]]:
    return [
        (Path(f.path).name, f.line, f.severity.value)
        for f in run.findings  # type: ignore[attr-defined]
        if f.rule == "LG301"
    ]


@pytest.mark.parametrize("routes", [FASTAPI_ROUTES, FLASK_ROUTES])
def test_gate_closed_then_opened(tmp_path: Path, routes: str) -> None:
    pkg = _tree(tmp_path)
    config = make_config(tmp_path, select=["LG301"])

    def add_service() -> None:
        write_or_remove(pkg / "schemas.py", SCHEMAS)
        write_or_remove(pkg / "routes.py", routes)

    first, cold = warm_and_cold(tmp_path, config, add_service)
    assert first.project is not None and "collection_work" not in first.project.facts
    assert first.findings == []
    # `other.py` (no LG301 token, cached without the facts) is where the work is
    assert _lg301(cold) == [("schemas.py", 5, "error")]


@pytest.mark.parametrize("routes", [FASTAPI_ROUTES, FLASK_ROUTES])
def test_gate_opened_then_closed(tmp_path: Path, routes: str) -> None:
    pkg = _tree(tmp_path)
    (pkg / "schemas.py").write_text(SCHEMAS)
    (pkg / "routes.py").write_text(routes)
    config = make_config(tmp_path, select=["LG301"])

    def remove_service() -> None:
        write_or_remove(pkg / "schemas.py", None)
        write_or_remove(pkg / "routes.py", None)

    first, cold = warm_and_cold(tmp_path, config, remove_service)
    assert first.project is not None and "collection_work" in first.project.facts
    assert _lg301(first) == [("schemas.py", 5, "error")]
    assert cold.project is not None and "collection_work" not in cold.project.facts


def test_a_model_no_request_takes_keeps_the_gate_closed(tmp_path: Path) -> None:
    """The schema's tokens wake LG301, but no route takes `Form`: its verdict's question
    is answered no, and the run skips the collector."""
    pkg = _tree(tmp_path)
    (pkg / "schemas.py").write_text(SCHEMAS)
    run = check([tmp_path], make_config(tmp_path, select=["LG301"]), jobs=1, use_cache=False)
    assert run.project is not None and "collection_work" not in run.project.facts
    assert run.findings == []


def test_text_in_an_encoding_without_ascii_opens_every_gate() -> None:
    assert _keeps_ascii(b"class Form(BaseModel): ...\n")
    assert _keeps_ascii("name = 'é'\n".encode())
    assert not _keeps_ascii("name = 'é'\n".encode("latin-1"))
    assert not _keeps_ascii("BaseModel\n".encode("utf-16"))


# Coroutines gathering work: each file wakes `caller_trust` (LG205 reads it) but not
# `collection_work`, which few files wake: most files are collected without it, and
# completed once the route's verdict opens it.
GATHERING = """\
import asyncio


async def helper{number}(jobs):
    return await asyncio.gather(*jobs)
"""


def _tree_with_a_common_gate(root: Path) -> Path:
    pkg = _tree(root)
    for number in range(_HELPERS):
        (pkg / f"helper{number}.py").write_text(GATHERING.format(number=number))
    # `other.py` wakes the common gate too: collected without `collection_work` while
    # the Flask route's verdict waits on the run's answer.
    (pkg / "other.py").write_text("# results are gathered by the caller\n" + LOOPING)
    return pkg


@pytest.mark.parametrize("routes", [FASTAPI_ROUTES, FLASK_ROUTES])
def test_a_gate_few_files_open_is_completed_for_the_others(tmp_path: Path, routes: str) -> None:
    pkg = _tree_with_a_common_gate(tmp_path)
    config = make_config(tmp_path, select=["LG301", "LG205"])
    run = check([tmp_path], config, jobs=1, use_cache=False)
    assert run.project is not None and "collection_work" not in run.project.facts

    def add_service() -> None:
        write_or_remove(pkg / "schemas.py", SCHEMAS)
        write_or_remove(pkg / "routes.py", routes)

    _, cold = warm_and_cold(tmp_path, config, add_service)
    assert _lg301(cold) == [("schemas.py", 5, "error")]
    fresh = check([tmp_path], config, jobs=1, use_cache=False)
    assert _lg301(fresh) == [("schemas.py", 5, "error")]


# Fixtures whose finding (or silence) in the reader's file comes from a gated fact of a
# helper file: (rule, fixture, the files only the reader holds, the collector).
_HELPER_FACTS = [
    ("LG302", "neg_clamped_in_helper", ["notes/routes.py"], "clamped_params"),
    ("LG301", "neg_crossfile_length_checker", ["app/api.py"], "length_refusers"),
    ("LG502", "neg_parse_request_state_body", ["app/gateway.py"], "request_state"),
]


@pytest.mark.parametrize(("rule", "fixture", "readers", "collector"), _HELPER_FACTS)
def test_a_helper_cached_before_its_reader_came_is_completed(
    tmp_path: Path, rule: str, fixture: str, readers: list[str], collector: str
) -> None:
    """The helper's file is checked (and cached) in a run no file of which its readers
    may analyse, so the gate stays closed; then the reader's file comes: the warm run
    collects the helper's facts and gives the cold run's findings."""
    source = Path(__file__).parent / "fixtures" / "rules" / rule / fixture
    held_back = {name: (source / name).read_text() for name in readers}
    shutil.copytree(source, tmp_path, dirs_exist_ok=True)
    for name in readers:
        (tmp_path / name).unlink()
    config = make_config(tmp_path, select=[rule])

    def add_readers() -> None:
        for name, text in held_back.items():
            write_or_remove(tmp_path / name, text)

    first, cold = warm_and_cold(tmp_path, config, add_readers)
    assert first.project is not None and collector not in first.project.facts
    assert cold.project is not None and collector in cold.project.facts
    assert cold.findings == []
