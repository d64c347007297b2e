"""Run parts (`analysis/run_parts.py`): a finding must not depend on which other projects
share the run. A run of two unrelated projects gives each the findings it has alone; a
project that imports another of the run meets its code (its constructions count)."""

from __future__ import annotations

from pathlib import Path

from leakguard.analysis.run_parts import RunParts, collect_source, import_root
from leakguard.engine import check
from leakguard.testing import finding_places, make_config, warm_and_cold, write_package

# A worker route (the gpustack case): the decode error of the config file the caller
# named says only where it failed to parse.
ROUTES = """\
import json

from fastapi import APIRouter, HTTPException

router = APIRouter()


@router.get("/files/model-config")
async def read_model_config(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise HTTPException(status_code=400, detail=f"Invalid JSON file: {e}")
"""
# Another project (the mlflow case): makes a JSONDecodeError from another exception's
# text, in code no route of the first project can run.
HOOKS = """\
import json
import sys


def read_hook_input() -> dict:
    try:
        data = sys.stdin.read()
        return json.loads(data)
    except Exception as e:
        raise json.JSONDecodeError(f"Failed to parse hook input: {e}", data, 0) from e
"""
# The same project calling a library of the run that does so: its code runs in the route.
ROUTES_CALLING_LIBRARY = ROUTES.replace(
    "import json\n", "import json\n\nfrom hooklib.hooks import read_hook_input\n", 1
).replace("            return json.load(f)", "            return read_hook_input()")


def _places(paths: list[Path], root: Path) -> set[tuple[str, int]]:
    config = make_config(root, select=["LG502"])
    result = check(paths, config, jobs=1, use_cache=False)
    return {(Path(f.path).as_posix(), f.line) for f in result.findings}


def _of(places: set[tuple[str, int]], project: str) -> set[tuple[str, int]]:
    return {p for p in places if p[0].startswith(project + "/")}


def test_unrelated_projects_in_one_run_keep_their_findings_alone(tmp_path: Path) -> None:
    server = tmp_path / "server"
    server.mkdir()
    write_package(server, {"routes.py": ROUTES}, name="worker")
    tools = tmp_path / "tools"
    tools.mkdir()
    write_package(tools, {"hooks.py": HOOKS}, name="hooklib")
    alone = _places([server], tmp_path) | _places([tools], tmp_path)
    together = _places([server, tools], tmp_path)
    assert _of(together, "server") == _of(alone, "server") == set()
    assert together == alone


def test_a_project_importing_another_meets_its_constructions(tmp_path: Path) -> None:
    server = tmp_path / "server"
    server.mkdir()
    write_package(server, {"routes.py": ROUTES_CALLING_LIBRARY}, name="worker")
    tools = tmp_path / "tools"
    tools.mkdir()
    write_package(tools, {"hooks.py": HOOKS}, name="hooklib")
    # The route runs `read_hook_input`, whose JSONDecodeError carries another text.
    assert _of(_places([server, tools], tmp_path), "server") == {("server/worker/routes.py", 16)}


def test_same_project_constructions_still_count(tmp_path: Path) -> None:
    write_package(tmp_path, {"routes.py": ROUTES, "hooks.py": HOOKS}, name="worker")
    assert _places([tmp_path], tmp_path) == {("worker/routes.py", 14)}


def test_import_roots_and_links() -> None:
    modules = {
        "src.gpustack-2.3.0.gpustack": "code",
        "src.gpustack-2.3.0.gpustack.routes.worker.filesystem": "code",
        "src.mlflow-skinny-3.17.2.mlflow": "code",
        "src.mlflow-skinny-3.17.2.mlflow.claude_code.tracing": "code",
        "src.fastapi-0.1.fastapi-0.1.fastapi": "code",
        "src.fastapi-0.1.fastapi-0.1.fastapi.routing": "code",
        "scripts.convert": "code",
    }
    assert import_root("src.gpustack-2.3.0.gpustack.routes.worker.filesystem", modules) == (
        "src.gpustack-2.3.0",
        "gpustack",
    )
    assert import_root("scripts.convert", modules) == ("scripts", "convert")
    imports = {
        "src.gpustack-2.3.0.gpustack.routes.worker.filesystem": ["fastapi", "gpustack"],
        "src.mlflow-skinny-3.17.2.mlflow.claude_code.tracing": ["fastapi"],
    }
    parts = RunParts(modules, imports)
    gpustack = "src.gpustack-2.3.0.gpustack.routes.worker.filesystem"
    mlflow = "src.mlflow-skinny-3.17.2.mlflow.claude_code.tracing"
    fastapi = "src.fastapi-0.1.fastapi-0.1.fastapi.routing"
    assert parts.linked(gpustack, fastapi) and parts.linked(fastapi, mlflow)
    assert not parts.linked(gpustack, mlflow)  # both import FastAPI: not each other
    assert not parts.linked("scripts.convert", gpustack)


def test_collected_import_heads() -> None:
    text = (
        "import os, numpy as np\nfrom fastapi import (\n    APIRouter,\n)\n"
        "from . import sibling\nfrom .models import Model\n"
        "def f():\n    import torch.nn\n    from app.utils import helper\n"
    )
    assert collect_source(text, "app/main.py") == ["app", "fastapi", "numpy", "torch"]
    assert collect_source("import json\nimport os.path\n", "app/x.py") is None


def test_warm_equals_cold_when_a_project_starts_importing_another(tmp_path: Path) -> None:
    server = tmp_path / "server"
    server.mkdir()
    write_package(server, {"routes.py": ROUTES}, name="worker")
    tools = tmp_path / "tools"
    tools.mkdir()
    write_package(tools, {"hooks.py": HOOKS}, name="hooklib")
    config = make_config(tmp_path, select=["LG502"])

    def import_the_library() -> None:
        write_package(server, {"routes.py": ROUTES_CALLING_LIBRARY}, name="worker")

    first, cold = warm_and_cold(tmp_path, config, import_the_library)
    assert finding_places(first) == []
    assert finding_places(cold) == [("routes.py", 16)]
