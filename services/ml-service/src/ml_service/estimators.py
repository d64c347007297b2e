"""The scikit-learn work. Runs only inside worker processes.

Every call builds a fresh ``Pipeline(StandardScaler(), estimator)`` and lets it go out of
scope when the call returns, so nothing fitted on one request can influence or outlive
another (the original service kept one scaler on ``self`` and re-fit it per request).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.cluster import DBSCAN, KMeans
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ml_service.limits import Limits
from ml_service.schemas import (
    AnomalyResult,
    ClusterResult,
    DBSCANParams,
    IsolationForestParams,
    KMeansParams,
    ModelFitRequest,
)


class OperationRejected(Exception):
    """A well-formed operation this service refuses to run (cost or shape)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


# Squares of 100,000 values this large still sum to a finite float64, so scaling (mean
# and variance) cannot overflow to inf/NaN; larger finite JSON numbers are refused.
MAX_ABS_VALUE = 1e150


def as_matrix(data: list[list[float]]) -> np.ndarray:
    matrix = np.asarray(data, dtype=np.float64)
    if matrix.size and float(np.max(np.abs(matrix))) > MAX_ABS_VALUE:
        raise OperationRejected("value_out_of_range", "Values must lie within +/-1e150")
    return matrix


def _finite(values: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(values)):
        raise _numeric_error()
    return values


# Work units per algorithm, calibrated by ``bench/calibrate_cost.py`` against worst cases
# (KMeans running every iteration, DBSCAN with every row in every neighbourhood).
# The constants are per-row or per-tree overheads expressed in the same unit.
KMEANS_ROW_WEIGHT = 4
DBSCAN_NEIGHBOUR_WEIGHT = 8
ISOLATION_FOREST_TREE_WEIGHT = 8_000


def kmeans_cost(params: KMeansParams) -> int:
    rows, dims = len(params.data), len(params.data[0])
    work = rows * (dims + KMEANS_ROW_WEIGHT) * params.n_clusters
    return work * params.n_init * params.max_iter


def dbscan_cost(params: DBSCANParams) -> int:
    rows, dims = len(params.data), len(params.data[0])
    return rows * rows * (dims + DBSCAN_NEIGHBOUR_WEIGHT)


def isolation_forest_cost(params: IsolationForestParams) -> int:
    rows, dims = len(params.data), len(params.data[0])
    return params.n_estimators * (rows + ISOLATION_FOREST_TREE_WEIGHT) + rows * dims


def check_cost(params: KMeansParams | DBSCANParams | IsolationForestParams, limits: Limits) -> None:
    rows = len(params.data)
    if isinstance(params, KMeansParams):
        if params.n_clusters > rows:
            raise OperationRejected("too_few_rows", "n_clusters must not exceed the number of rows")
        if kmeans_cost(params) > limits.kmeans_max_cost:
            raise OperationRejected("input_too_costly", "KMeans input exceeds the cost budget")
    elif isinstance(params, DBSCANParams):
        if dbscan_cost(params) > limits.dbscan_max_cost:
            raise OperationRejected("input_too_costly", "DBSCAN input exceeds the cost budget")
    elif isolation_forest_cost(params) > limits.isolation_forest_max_cost:
        raise OperationRejected("input_too_costly", "IsolationForest input exceeds the cost budget")


def run_kmeans(params: KMeansParams) -> ClusterResult:
    matrix = as_matrix(params.data)
    pipeline = make_pipeline(
        StandardScaler(),
        KMeans(
            n_clusters=params.n_clusters,
            n_init=params.n_init,
            max_iter=params.max_iter,
            random_state=params.random_state,
        ),
    )
    with warnings.catch_warnings():
        # Duplicate points can yield fewer distinct clusters; the result reports that.
        warnings.simplefilter("ignore")
        labels = pipeline.fit_predict(matrix)
    scaler, kmeans = pipeline[0], pipeline[-1]
    centers = _finite(scaler.inverse_transform(kmeans.cluster_centers_))
    return ClusterResult(
        algorithm="kmeans",
        labels=labels.tolist(),
        n_clusters=int(np.unique(labels).size),
        centers=centers.tolist(),
    )


def run_dbscan(params: DBSCANParams) -> ClusterResult:
    matrix = as_matrix(params.data)
    pipeline = make_pipeline(
        StandardScaler(), DBSCAN(eps=params.eps, min_samples=params.min_samples, n_jobs=1)
    )
    labels = pipeline.fit_predict(matrix)
    found = np.unique(labels[labels >= 0]).size
    return ClusterResult(
        algorithm="dbscan",
        labels=labels.tolist(),
        n_clusters=int(found),
        noise_points=int(np.count_nonzero(labels < 0)),
    )


def fit_isolation_forest(params: IsolationForestParams | ModelFitRequest) -> Pipeline:
    pipeline = make_pipeline(
        StandardScaler(),
        IsolationForest(
            n_estimators=params.n_estimators,
            contamination=params.contamination,
            random_state=params.random_state,
            n_jobs=1,
        ),
    )
    with warnings.catch_warnings():
        # Tiny inputs make sklearn warn that max_samples exceeds n_samples; harmless.
        warnings.simplefilter("ignore")
        pipeline.fit(as_matrix(params.data))
    return pipeline


def detect_anomalies(pipeline: Pipeline, data: list[list[float]]) -> tuple[list[int], list[float]]:
    matrix = as_matrix(data)
    try:
        labels = pipeline.predict(matrix)
        scores = _finite(pipeline.decision_function(matrix))
    except (ValueError, FloatingPointError) as error:
        raise _numeric_error() from error
    return labels.tolist(), scores.tolist()


def run_isolation_forest(params: IsolationForestParams) -> AnomalyResult:
    labels, scores = detect_anomalies(fit_isolation_forest(params), params.data)
    return AnomalyResult(
        algorithm="isolation_forest",
        labels=labels,
        scores=scores,
        n_anomalies=sum(1 for label in labels if label < 0),
    )


def run_operation(
    params: KMeansParams | DBSCANParams | IsolationForestParams, limits: Limits
) -> ClusterResult | AnomalyResult:
    check_cost(params, limits)
    try:
        if isinstance(params, KMeansParams):
            return run_kmeans(params)
        if isinstance(params, DBSCANParams):
            return run_dbscan(params)
        return run_isolation_forest(params)
    except (ValueError, FloatingPointError) as error:
        # scikit-learn's own input checks (e.g. non-finite values after scaling): the
        # client's data, not a server fault, so a 422 for this operation only.
        raise _numeric_error() from error


def _numeric_error() -> OperationRejected:
    return OperationRejected("numeric_error", "The input cannot be processed numerically")
