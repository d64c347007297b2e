"""Cross-file analysis (LG301-LG303) through the real engine: the project facts of one
file change the findings of another, with the cache enabled and in a process pool."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.engine import RunResult, check
from leakguard.testing import make_config

RULES = ["LG301", "LG302", "LG303"]

SCHEMAS_UNBOUNDED = """\
from pydantic import BaseModel, Field


class Operation(BaseModel):
    kind: str = Field(max_length=16)


class BatchRequest(BaseModel):
    operations: list[Operation]
    n_clusters: int = 3
"""

SCHEMAS_BOUNDED = """\
from pydantic import BaseModel, Field


class Operation(BaseModel):
    kind: str = Field(max_length=16)


class BatchRequest(BaseModel):
    operations: list[Operation] = Field(max_length=100)
    n_clusters: int = Field(3, ge=1, le=100)
"""

MAIN = """\
from fastapi import FastAPI

from app.schemas import BatchRequest
from app.store import db

app = FastAPI()


def run(kind: str) -> str:
    return db.execute("SELECT ...", kind)


@app.post("/batch")
def batch(request: BatchRequest) -> list[str]:
    results = []
    for operation in request.operations:
        results.append(run(operation.kind) * request.n_clusters)
    return results
"""

MAIN_WITHOUT_ROUTE = """\
from app.schemas import BatchRequest


def describe(request: BatchRequest) -> int:
    return len(request.operations)
"""

FILLER = """\
from pydantic import BaseModel


class Note{n}(BaseModel):
    text: str


def helper_{n}(value: int) -> int:
    return value * {n}
"""


def _project(root: Path, schemas: str = SCHEMAS_UNBOUNDED, fillers: int = 10) -> Path:
    package = root / "app"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "schemas.py").write_text(schemas)
    (package / "main.py").write_text(MAIN)
    for n in range(fillers):  # enough files for the engine to use a process pool
        (package / f"util_{n}.py").write_text(FILLER.format(n=n))
    return package


def _run(root: Path, *, jobs: int = 1, use_cache: bool = True) -> RunResult:
    config = make_config(root, select=RULES)
    return check([root / "app"], config, jobs=jobs, use_cache=use_cache)


def _found(result: RunResult) -> set[tuple[str, int, str]]:
    assert not result.errors, result.errors
    return {(f.path, f.line, f.rule) for f in result.findings}


EXPECTED_UNBOUNDED = {
    ("app/schemas.py", 9, "LG301"),
    ("app/schemas.py", 10, "LG302"),
    ("app/main.py", 16, "LG303"),
}


def test_findings_follow_the_model_into_another_file(tmp_path: Path) -> None:
    _project(tmp_path)
    assert _found(_run(tmp_path, use_cache=False)) == EXPECTED_UNBOUNDED


def test_editing_schemas_invalidates_cached_findings_of_files_that_use_it(tmp_path: Path) -> None:
    package = _project(tmp_path)
    first = _found(_run(tmp_path))
    assert first == EXPECTED_UNBOUNDED
    assert (tmp_path / ".leakguard_cache").is_dir(), "the cache was not written"
    assert _found(_run(tmp_path)) == first  # served from the cache, same answer

    (package / "schemas.py").write_text(SCHEMAS_BOUNDED)
    # main.py did not change, but its loop is now over a bounded field.
    assert _found(_run(tmp_path)) == set()

    (package / "schemas.py").write_text(SCHEMAS_UNBOUNDED)
    assert _found(_run(tmp_path)) == EXPECTED_UNBOUNDED


def test_removing_the_route_invalidates_cached_findings_in_the_model_file(tmp_path: Path) -> None:
    package = _project(tmp_path)
    assert _found(_run(tmp_path)) == EXPECTED_UNBOUNDED
    # schemas.py did not change, but its model is no longer a request body anywhere.
    (package / "main.py").write_text(MAIN_WITHOUT_ROUTE)
    assert _found(_run(tmp_path)) == set()


@pytest.mark.parametrize("use_cache", [False, True])
def test_results_are_the_same_with_one_and_two_jobs(tmp_path: Path, use_cache: bool) -> None:
    _project(tmp_path, fillers=12)
    serial = _run(tmp_path, jobs=1, use_cache=use_cache)
    # A fresh cache for the parallel run when caching, so both runs really analyse.
    if use_cache:
        for entry in sorted((tmp_path / ".leakguard_cache").rglob("*.json"), reverse=True):
            entry.unlink()
    parallel = _run(tmp_path, jobs=2, use_cache=use_cache)
    assert _found(serial) == _found(parallel) == EXPECTED_UNBOUNDED
    assert [f.message for f in serial.findings] == [f.message for f in parallel.findings]
