"""Seconds per cost unit for each estimator, run as a worker runs it (1 BLAS thread).

Usage, from services/ml-service: ``python bench/calibrate_cost.py`` (about a minute).

Each case is a worst case for its algorithm (KMeans forced through every iteration with
``tol=0``, DBSCAN with every row in every neighbourhood), so ``ns/unit`` is an upper
slope. The budgets in ``limits.py`` are chosen so that budget x slope is about 3 s on an
idle core, well inside the 10 s operation timeout.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.cluster import DBSCAN, KMeans  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from ml_service.estimators import (  # noqa: E402
    dbscan_cost,
    isolation_forest_cost,
    kmeans_cost,
)
from ml_service.limits import (  # noqa: E402
    DEFAULT_DBSCAN_MAX_COST,
    DEFAULT_ISOLATION_FOREST_MAX_COST,
    DEFAULT_KMEANS_MAX_COST,
)
from ml_service.schemas import DBSCANParams, IsolationForestParams, KMeansParams  # noqa: E402

KMEANS_CASES = [(20_000, 8, 50, 1, 20), (5_000, 64, 100, 1, 10), (50_000, 2, 10, 2, 50)]
DBSCAN_CASES = [(4_000, 1), (3_000, 16), (1_500, 256)]
FOREST_CASES = [(50_000, 4, 100), (5_000, 200, 200), (2_000, 8, 500)]


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def report(label: str, cost: int, seconds: float, budget: int) -> None:
    slope = seconds / cost
    print(f"{label:44} {cost:10.3g} {seconds:8.3f} {slope * 1e9:8.3f} {budget * slope:9.2f}")


def fit_forest(data: np.ndarray, trees: int) -> None:
    model = make_pipeline(
        StandardScaler(),
        IsolationForest(n_estimators=trees, contamination=0.1, random_state=0, n_jobs=1),
    )
    model.fit(data)
    model.predict(data)
    model.decision_function(data)


def main() -> None:
    rng = np.random.default_rng(0)
    warnings.simplefilter("ignore")
    print(f"{'case':44} {'cost':>10} {'seconds':>8} {'ns/unit':>8} {'budget s':>9}")
    for n, d, k, n_init, max_iter in KMEANS_CASES:
        data = rng.normal(size=(n, d))
        shape = KMeansParams.model_construct(
            data=[[0.0] * d] * n, n_clusters=k, n_init=n_init, max_iter=max_iter
        )
        kmeans = make_pipeline(
            StandardScaler(),
            KMeans(n_clusters=k, n_init=n_init, max_iter=max_iter, tol=0.0, random_state=0),
        )
        seconds = best_of(2, lambda m=kmeans, x=data: m.fit_predict(x))
        label = f"kmeans n={n} d={d} k={k} n_init={n_init} iter={max_iter}"
        report(label, kmeans_cost(shape), seconds, DEFAULT_KMEANS_MAX_COST)
    for n, d in DBSCAN_CASES:
        data = rng.normal(scale=1e-3, size=(n, d))
        dense = DBSCANParams.model_construct(data=[[0.0] * d] * n, eps=1e6, min_samples=5)
        dbscan = make_pipeline(StandardScaler(), DBSCAN(eps=1e6, min_samples=5, n_jobs=1))
        seconds = best_of(2, lambda m=dbscan, x=data: m.fit_predict(x))
        report(f"dbscan dense n={n} d={d}", dbscan_cost(dense), seconds, DEFAULT_DBSCAN_MAX_COST)
    for n, d, trees in FOREST_CASES:
        data = rng.normal(size=(n, d))
        forest = IsolationForestParams.model_construct(data=[[0.0] * d] * n, n_estimators=trees)
        seconds = best_of(2, lambda x=data, t=trees: fit_forest(x, t))
        report(
            f"isolation forest n={n} d={d} trees={trees}",
            isolation_forest_cost(forest),
            seconds,
            DEFAULT_ISOLATION_FOREST_MAX_COST,
        )


if __name__ == "__main__":
    main()
