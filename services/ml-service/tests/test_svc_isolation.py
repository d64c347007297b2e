"""No shared fitted state, and no unsafe deserialisation anywhere in the package."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import numpy as np

import ml_service
from ml_service.estimators import run_isolation_forest, run_kmeans
from ml_service.schemas import IsolationForestParams, KMeansParams

SIDE_EFFECT_MODULES = {"ml_service.__main__", "ml_service.worker_preload"}
UNSAFE_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "dill",
    "cloudpickle",
    "joblib",
    "shelve",
    "marshal",
}


def _rows(seed: int, scale: float, n: int = 60, d: int = 4) -> list[list[float]]:
    return (np.random.default_rng(seed).normal(size=(n, d)) * scale).tolist()


def test_kmeans_result_does_not_depend_on_previous_requests() -> None:
    data_b = _rows(seed=2, scale=1.0)
    params_b = KMeansParams(algorithm="kmeans", data=data_b, n_clusters=3)
    alone = run_kmeans(params_b).model_dump_json()
    run_kmeans(KMeansParams(algorithm="kmeans", data=_rows(1, scale=1e6), n_clusters=5))
    after_a = run_kmeans(params_b).model_dump_json()
    assert after_a == alone


def test_anomaly_result_does_not_depend_on_previous_requests() -> None:
    params_b = IsolationForestParams(
        algorithm="isolation_forest", data=_rows(4, 1.0), n_estimators=20
    )
    alone = run_isolation_forest(params_b).model_dump_json()
    run_isolation_forest(
        IsolationForestParams(algorithm="isolation_forest", data=_rows(3, 1e6), n_estimators=20)
    )
    assert run_isolation_forest(params_b).model_dump_json() == alone


def test_no_module_holds_a_fitted_estimator() -> None:
    for module_info in pkgutil.walk_packages(ml_service.__path__, "ml_service."):
        if module_info.name in SIDE_EFFECT_MODULES:
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            fitted = not isinstance(value, type) and hasattr(value, "n_features_in_")
            assert not fitted, f"{module_info.name}.{name} holds a fitted estimator"


def test_package_never_imports_pickle_style_serialisers() -> None:
    package_dir = Path(ml_service.__file__).parent
    for source in package_dir.rglob("*.py"):
        tree = ast.parse(source.read_text(), filename=str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not names & UNSAFE_MODULES, f"{source.name} imports {names & UNSAFE_MODULES}"
