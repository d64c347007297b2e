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


def as_matrix(data: list[list[float]]) -> np.ndarray:
    return np.asarray(data, dtype=np.float64)


def check_cost(params: KMeansParams | DBSCANParams | IsolationForestParams, limits: Limits) -> None:
    rows, dims = len(params.data), len(params.data[0])
    if isinstance(params, KMeansParams):
        if params.n_clusters > rows:
            raise OperationRejected("too_few_rows", "n_clusters must not exceed the number of rows")
        if rows * dims * params.n_clusters * params.n_init > limits.kmeans_max_cost:
            raise OperationRejected("input_too_costly", "KMeans input exceeds the cost budget")
    elif isinstance(params, DBSCANParams):
        if rows * rows * dims > limits.dbscan_max_cost:
            raise OperationRejected("input_too_costly", "DBSCAN input exceeds the cost budget")
    elif rows * params.n_estimators > limits.isolation_forest_max_cost:
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
    centers = scaler.inverse_transform(kmeans.cluster_centers_)
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
    labels = pipeline.predict(matrix)
    scores = pipeline.decision_function(matrix)
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
    if isinstance(params, KMeansParams):
        return run_kmeans(params)
    if isinstance(params, DBSCANParams):
        return run_dbscan(params)
    return run_isolation_forest(params)
