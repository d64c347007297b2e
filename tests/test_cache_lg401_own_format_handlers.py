"""A warm run gives the cold run's LG401 findings when another module starts or stops
serving a format pair's loader from a route (`integrity.own_format_round_trip` keeps a
load a request handler of the run reaches): the route in another module is part of what
the load's finding depends on."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.testing import make_config, warm_and_cold, write_or_remove

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
UNROUTED = """\
from app.store import load_model


def warm_up(model_dir):
    return load_model(model_dir)
"""
# (other module before, after): None = the file does not exist
EDITS = {
    "route_added": (None, ROUTE),
    "route_removed": (ROUTE, None),
    "route_made": (UNROUTED, ROUTE),
    "route_unmade": (ROUTE, UNROUTED),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_warm_equals_cold(tmp_path: Path, edit: str) -> None:
    before, after = EDITS[edit]
    pkg = tmp_path / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "store.py").write_text(STORE)
    write_or_remove(pkg / "service.py", before)
    config = make_config(tmp_path, select=["LG401"])
    first, cold = warm_and_cold(
        tmp_path, config, lambda: write_or_remove(pkg / "service.py", after)
    )
    for run, other in ((first, before), (cold, after)):
        expected = [("store.py", 14)] if other == ROUTE else []
        assert [(Path(f.path).name, f.line) for f in run.findings] == expected
