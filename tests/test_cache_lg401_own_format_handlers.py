"""A warm run gives the cold run's LG401 findings when another module starts or stops
calling a format pair's loader, from a route or not (`integrity.own_format_round_trip`
keeps a load a request handler of the run reaches, or that another module calls: what
it hands over is not read): the callers in other modules are part of what the load's
finding depends on. A run of the loader's file alone proves no silence."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.engine import check
from leakguard.testing import (
    finding_places,
    make_config,
    warm_and_cold,
    write_or_remove,
    write_package,
)

STORE = """\
import os
import pickle

MODEL_FILE = "model.pkl"


def save_model(model, model_dir):
    with open(os.path.join(model_dir, MODEL_FILE), "wb") as f:
        pickle.dump(model, f)


def load_model(model_dir):
    with open(os.path.join(model_dir, MODEL_FILE), "rb") as f:
        return pickle.load(f)
"""
ROUTE = """\
from fastapi import FastAPI

from app.store import load_model

app = FastAPI()


@app.post("/models/load")
def load(model_dir: str):
    return {"loaded": str(load_model(model_dir))}
"""
CALLED = """\
from huggingface_hub import snapshot_download

from app.store import load_model


def load_from_hub(repo_id):
    return load_model(snapshot_download(repo_id))
"""
UNRELATED = """\
def warm_up(model_dir):
    return model_dir
"""
# (other module before, after): None = the file does not exist
EDITS = {
    "route_added": (None, ROUTE),
    "route_removed": (ROUTE, None),
    "route_made": (UNRELATED, ROUTE),
    "route_unmade": (ROUTE, UNRELATED),
    "call_added": (UNRELATED, CALLED),
    "call_removed": (CALLED, UNRELATED),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_warm_equals_cold(tmp_path: Path, edit: str) -> None:
    before, after = EDITS[edit]
    pkg = write_package(tmp_path, {"store.py": STORE, "service.py": before})
    config = make_config(tmp_path, select=["LG401"])
    first, cold = warm_and_cold(
        tmp_path, config, lambda: write_or_remove(pkg / "service.py", after)
    )
    for run, other in ((first, before), (cold, after)):
        expected = [("store.py", 14)] if other in (ROUTE, CALLED) else []
        assert finding_places(run) == expected


def test_partial_run_keeps_firing(tmp_path: Path) -> None:
    """The loader's file checked alone (the route beside it not in the run) proves no
    silence: the finding stays."""
    pkg = write_package(tmp_path, {"store.py": STORE, "service.py": ROUTE})
    config = make_config(tmp_path, select=["LG401"])
    alone = check([pkg / "store.py"], config, jobs=1)
    assert finding_places(alone) == [("store.py", 14)]
