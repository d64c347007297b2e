"""A warm run gives the cold run's LG401 findings when another module starts or stops
calling a loader gated by a parameter switch off by default
(`integrity.refused_unless_opted_in`): a caller in another module may turn the switch
on, so who calls the gated function is part of what the load's finding depends on."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.testing import (
    finding_places,
    make_config,
    warm_and_cold,
    write_or_remove,
    write_package,
)

ARTIFACTS = """\
import pickle


def load_artifact(path, allow_pickle=False):
    if not allow_pickle:
        raise PermissionError("pass allow_pickle=True")
    with open(path, "rb") as handle:
        return pickle.load(handle)
"""
CALLER = """\
from app.artifacts import load_artifact


def restore(request):
    return load_artifact(request.args["path"], allow_pickle=request.args.get("trusted"))
"""
UNRELATED = """\
def restore(request):
    return None
"""
# (other module before, after): None = the file does not exist
EDITS = {
    "caller_added": (None, CALLER),
    "caller_removed": (CALLER, None),
    "call_added": (UNRELATED, CALLER),
    "call_removed": (CALLER, UNRELATED),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_warm_equals_cold(tmp_path: Path, edit: str) -> None:
    before, after = EDITS[edit]
    pkg = write_package(tmp_path, {"artifacts.py": ARTIFACTS, "service.py": before})
    config = make_config(tmp_path, select=["LG401"])
    first, cold = warm_and_cold(
        tmp_path, config, lambda: write_or_remove(pkg / "service.py", after)
    )
    for run, other in ((first, before), (cold, after)):
        expected = [("artifacts.py", 8)] if other == CALLER else []
        assert finding_places(run) == expected
