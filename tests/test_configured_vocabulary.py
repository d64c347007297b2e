"""LG202 honours the user's configuration of LG201's lists (issue 16): a blocking call or
method added to LG201 is evidence for LG202, directly and through helper functions of the
run; one removed is not. The configuration is a real `.leakguard.yaml` in a project
directory, read as a run reads it."""

from __future__ import annotations

from pathlib import Path

from leakguard.config import load_config
from leakguard.engine import check

HELPERS = """\
import time

from myservice import storage


def fetch(key):
    return storage.download(key)


def settle():
    time.sleep(0.1)


def crunch(model, rows):
    return model.infer(rows)
"""

ROUTES = """\
import time

from myservice import storage

from . import helpers


async def direct(key):
    return storage.download(key)


async def through_helper(key):
    return helpers.fetch(key)


async def sleeps():
    time.sleep(1)


async def sleeps_through_helper():
    helpers.settle()


async def custom_method(model, rows):
    return helpers.crunch(model, rows)
"""


def _project(root: Path, config: str) -> None:
    package = root / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(HELPERS)
    (package / "routes.py").write_text(ROUTES)
    (root / ".leakguard.yaml").write_text(config)


def _lg202(root: Path) -> dict[int, str]:
    config = load_config([root])
    result = check([root / "app"], config, jobs=1, use_cache=False)
    assert not result.errors
    return {f.line: f.message for f in result.findings if f.rule == "LG202"}


def test_bundled_lists_without_configuration(tmp_path: Path) -> None:
    _project(tmp_path, "select: [LG202]\n")
    found = _lg202(tmp_path)
    # `storage.download` and `model.infer` are nobody's blocking calls by default.
    assert sorted(found) == [16, 20]
    assert "`time.sleep`" in found[16] and "`settle()`" in found[20]


def test_calls_added_to_lg201_are_evidence_directly_and_through_helpers(tmp_path: Path) -> None:
    # LG201 itself is not even selected: LG202 still reads its configured lists.
    _project(
        tmp_path,
        "select: [LG202]\n"
        "rules:\n"
        "  LG201:\n"
        "    extend_blocking_calls: [myservice.storage.download]\n"
        "    extend_blocking_methods: [infer]\n",
    )
    found = _lg202(tmp_path)
    assert sorted(found) == [8, 12, 16, 20, 24]
    assert "`myservice.storage.download` (line 9)" in found[8]
    assert "`myservice.storage.download`" in found[12] and "helpers.py" in found[12]
    assert "`model.infer()`" in found[24] and "helpers.py:15" in found[24]


def test_calls_removed_from_lg201_are_no_evidence(tmp_path: Path) -> None:
    _project(
        tmp_path,
        "select: [LG201, LG202]\nrules:\n  LG201:\n    blocking_calls: [requests.get]\n",
    )
    assert _lg202(tmp_path) == {}


def test_the_built_in_loader_list_agrees_with_the_rules_lists() -> None:
    """`analysis/model_loads.MODEL_LOADERS` is the one built-in list (summaries, LG201's
    receivers, the estimator defaults); the rules' YAML lists, which users edit, start
    from the same names."""
    from leakguard.analysis.estimators import DEFAULT_ESTIMATOR_CLASSES
    from leakguard.analysis.model_loads import FITTED_MODEL_LOADERS, MODEL_LOADERS
    from leakguard.config import bundled_rule_specs

    specs = bundled_rule_specs()
    lg110 = specs["LG110"].options
    known = {*lg110["loaders"], *lg110["generic_loaders"], *lg110["keyword_loaders"]}
    in_memory = {"pickle.loads", "cloudpickle.loads"}  # LG110: loads from disk or a hub
    assert set(MODEL_LOADERS) - in_memory <= known
    for rule in ("LG101", "LG201"):
        assert set(FITTED_MODEL_LOADERS) <= set(specs[rule].options["estimator_classes"])
    assert set(FITTED_MODEL_LOADERS) <= set(DEFAULT_ESTIMATOR_CLASSES)
