"""LG301-LG303 options and single-file use (no project index, as the flake8 plugin runs)."""

from __future__ import annotations

import re
from pathlib import Path

import libcst as cst
import pytest

from leakguard.analyzer import analyze_text
from leakguard.config import ConfigError, load_config
from leakguard.testing import make_config, reported, run

SOURCE = """\
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class TrainRequest(BaseModel):
    n_trees: int = 100
    name: str = ""
    weights: dict[str, float] = {}
    rows: list[list[float]] = []


@app.post("/train")
def train(request: TrainRequest) -> int:
    for row in request.rows:
        store(row)
    return sum(range(request.n_trees))
"""


def _write(tmp_path: Path) -> Path:
    target = tmp_path / "app.py"
    target.write_text(SOURCE)
    return target


def test_resource_names_can_be_extended(tmp_path: Path) -> None:
    target = _write(tmp_path)
    default = reported(run([target], tmp_path, select=["LG302"]))
    assert default == set()
    extended = run(
        [target],
        tmp_path,
        select=["LG302"],
        rules={"LG302": {"extend_resource_names": ["n_trees"]}},
    )
    assert reported(extended) == {("app.py", 8, "LG302")}


def test_string_and_dict_key_checks_can_be_turned_off(tmp_path: Path) -> None:
    target = _write(tmp_path)
    everything = run([target], tmp_path, select=["LG301"])
    assert reported(everything) == {
        ("app.py", 9, "LG301"),
        ("app.py", 10, "LG301"),
        ("app.py", 11, "LG301"),
    }
    lenient = run(
        [target],
        tmp_path,
        select=["LG301"],
        rules={"LG301": {"check_strings": False, "check_dict_keys": False}},
    )
    # The dict itself and the nested lists are still unbounded; the `str` field is not reported.
    assert reported(lenient) == {("app.py", 10, "LG301"), ("app.py", 11, "LG301")}
    message = next(f.message for f in lenient.findings if f.line == 10)
    assert "keys" not in message


def test_a_single_file_is_analysed_without_a_project_index(tmp_path: Path) -> None:
    config = make_config(tmp_path, select=["LG301", "LG302", "LG303"])
    result = analyze_text(SOURCE, "app.py", config, project=None, module=cst.parse_module(SOURCE))
    assert {(f.line, f.rule) for f in result.findings} == {
        (9, "LG301"),
        (10, "LG301"),
        (11, "LG301"),
        (16, "LG303"),
    }


SEVERITY_SOURCE = """\
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Note(BaseModel):
    title: str
    tags: list[str] = []
    body: bytes = b""


@app.post("/notes")
def create(note: Note) -> int:
    for tag in note.tags:
        search_index.add_tag(tag)
    return 1
"""


def _severities(tmp_path: Path, **user: object) -> dict[int, str]:
    target = tmp_path / "notes.py"
    target.write_text(SEVERITY_SOURCE)
    result = run([target], tmp_path, select=["LG301"], **user)
    return {f.line: f.severity.value for f in result.findings}


def test_unbounded_strings_are_notes_and_collections_errors(tmp_path: Path) -> None:
    assert _severities(tmp_path) == {8: "note", 9: "error", 10: "note"}


def test_string_severity_option_and_rule_severity_override(tmp_path: Path) -> None:
    options = {"rules": {"LG301": {"string_severity": "warning"}}}
    assert _severities(tmp_path, **options) == {8: "warning", 9: "error", 10: "warning"}
    overridden = {"severity": {"LG301": "warning"}}
    assert _severities(tmp_path, **overridden) == {8: "warning", 9: "warning", 10: "warning"}


STORED_SOURCE = """\
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Note(BaseModel):
    tags: list[str] = []
    meta: dict[str, int] = {}


@app.post("/notes")
def create(note: Note) -> dict[str, object]:
    return note.model_dump()
"""


def test_collections_only_stored_are_notes_unless_configured(tmp_path: Path) -> None:
    target = tmp_path / "stored.py"
    target.write_text(STORED_SOURCE)

    def severities(**user: object) -> dict[int, str]:
        result = run([target], tmp_path, select=["LG301"], **user)
        return {f.line: f.severity.value for f in result.findings}

    assert severities() == {8: "note", 9: "note"}
    restored = {"rules": {"LG301": {"stored_collection_severity": "error"}}}
    assert severities(**restored) == {8: "error", 9: "error"}
    overridden = {"severity": {"LG301": "warning"}}
    assert severities(**overridden) == {8: "warning", 9: "warning"}


def test_a_bad_severity_option_names_the_file_and_the_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.leakguard.rules.LG301]\nstored_collection_severity = "loud"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config([tmp_path], tmp_path / "pyproject.toml")
    message = str(caught.value)
    assert "pyproject.toml" in message
    assert "stored_collection_severity" in message
    assert "loud" in message


_SEVERITY_MARK = re.compile(r"#\s*expect:\s*LG301\s*\((error|note)\)")


@pytest.mark.parametrize(
    "name",
    [
        "pos_crossfile_evidence",
        "pos_evidence_review",
        "pos_evidence_access_path",
        "pos_evidence_review_s11",
        "pos_evidence_typed_paths",
        "pos_evidence_value_flow",
        "pos_evidence_per_item_cost",
        "pos_evidence_instance_methods",
        "pos_evidence_annotation_classes",
        "pos_evidence_entry_methods",
    ],
)
def test_per_entry_work_keeps_error_and_stored_fields_are_notes(name: str) -> None:
    """The fixture marks each finding with the severity its evidence gives it: the
    right cases of the corpus (a row per grant two calls away, a stop list and a logit
    bias handed to generation, a list embedded, one lookup per id, a fan-out) stay
    errors; stored or forwarded fields are notes, and so are fields of a model handed
    whole to another package's call that nothing of the run walks (session 11).
    `pos_evidence_review`: work in a dependency, a validator, through `getattr`, a
    dumped dict, a local copy, a background task, a service or repository of the run.
    `pos_evidence_value_flow`: a same-named key of a web-search response or of an
    internal dict is no work on a stored form's field (session 13); work through a
    helper, a local, a row built from the field, a dump, a dict spread, a second
    handler of the same name still is. `pos_evidence_per_item_cost`: entries only matched
    against a compiled pattern of the module are not worked on (session 14); matched and
    fetched, `sub` with a replacement function, a pattern bound twice, rebound or shadowed
    still are. `pos_evidence_instance_methods`: a method of an object the function built
    (`conv = Conversation(...)`) is judged by its class's summary: appending to a prompt
    is no work; a mailer's send, a class chosen in a branch or made by a factory, an
    inherited method, a client made in `__init__` still are. `pos_evidence_entry_methods`:
    a method of the entry's own data model that only builds data from it (a template
    dict, through a method of a field typed with another model) is no work (session 15);
    embedding, tokenising, inserting, fetching or reading per entry, a method handed the
    collection, an override in a subclass, a plain class or protocol, an inherited method
    still are."""
    fixture = Path(__file__).parent / "fixtures" / "rules" / "LG301" / name
    expected: dict[tuple[str, int], str] = {}
    for file in sorted(fixture.rglob("*.py")):
        for number, line in enumerate(file.read_text().splitlines(), start=1):
            mark = _SEVERITY_MARK.search(line)
            if mark is not None:
                expected[(file.relative_to(fixture.parent).as_posix(), number)] = mark.group(1)
    result = run([fixture], fixture.parent, select=["LG301"])
    found = {(f.path, f.line): f.severity.value for f in result.findings}
    assert found == expected


JUDGED_CALL_SOURCE = """\
import httpx
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Batch(BaseModel):
    urls: list[str]


def normalise(url: str) -> str:
    return url.strip()


def fetch(url: str) -> bytes:
    return httpx.get(url).content


@app.post("/batch")
def run_batch(batch: Batch) -> int:
    total = 0
    for url in batch.urls:
        clean = normalise(url)
        total += len(fetch(clean))
    return total
"""


def test_the_evidence_names_the_call_judged_to_be_work(tmp_path: Path) -> None:
    """A loop whose first call is cheap (`normalise` only strips) and whose second call
    works (`fetch` reaches a server): the finding names `fetch` and its line, the call
    a reviewer must act on, not the loop's first call (session 14)."""
    target = tmp_path / "batch.py"
    target.write_text(JUDGED_CALL_SOURCE)
    result = run([target], tmp_path, select=["LG301"])
    (finding,) = [f for f in result.findings if f.line == 9]
    assert finding.severity.value == "error"
    assert finding.help is not None
    assert "a loop over it calling `fetch` (line 25) per entry in `run_batch`" in finding.help
    assert "normalise" not in finding.help


SAMPLER_SOURCE = """\
from fastapi import FastAPI
from pydantic import BaseModel

from .worker import generate

app = FastAPI()


class ChatRequest(BaseModel):
    messages: list[str]
    temperature: float = 0.7
    top_p: float = 1.0
    tfs_z: float = 1.0
    top_k: int = -1
    corpus_id: str = ""


@app.post("/chat")
def chat(request: ChatRequest) -> str:
    return generate(
        request.messages, temperature=request.temperature, top_p=request.top_p, top_k=request.top_k
    )
"""


@pytest.mark.parametrize(
    ("options", "fires"),
    [
        ({}, False),
        ({"sampling_cutoff_names": []}, True),
        ({"extend_retrieval_field_names": ["corpus_id"]}, True),
        ({"sampling_parameter_names": ["temperature"]}, True),
        ({"sampling_parameter_names": ["temperature", "tfs_z"]}, False),
    ],
)
def test_sampling_cutoff_names_are_configurable(
    tmp_path: Path, options: dict[str, object], fires: bool
) -> None:
    """A sampler's `top_k` (beside two sampling parameters, no retrieval field, handed on
    with them) is silent; the three name lists decide each part (`analysis/sampling`)."""
    target = tmp_path / "app.py"
    target.write_text(SAMPLER_SOURCE)
    result = run([target], tmp_path, select=["LG302"], rules={"LG302": options})
    assert (("app.py", 14, "LG302") in reported(result)) is fires
