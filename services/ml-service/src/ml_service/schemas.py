"""Request and response models.

Every collection has a length bound at each nesting level and every resource-driving
number has an upper bound, so the schema itself caps the work a request can ask for.
Validation runs on raw JSON bytes in the worker processes (``model_validate_json``), with
the configured ``Limits`` passed as validation context to tighten the hard ceilings.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from ml_service.limits import (
    HARD_MAX_BATCH_OPERATIONS,
    HARD_MAX_CLUSTERS,
    HARD_MAX_DBSCAN_MIN_SAMPLES,
    HARD_MAX_DIMS,
    HARD_MAX_EPS,
    HARD_MAX_ESTIMATORS,
    HARD_MAX_KMEANS_INIT,
    HARD_MAX_KMEANS_ITER,
    HARD_MAX_ROWS,
    MAX_RANDOM_STATE,
    Limits,
)

Row = Annotated[list[float], Field(min_length=1, max_length=HARD_MAX_DIMS)]
Matrix = Annotated[list[Row], Field(min_length=1, max_length=HARD_MAX_ROWS)]
RandomState = Annotated[int, Field(ge=0, le=MAX_RANDOM_STATE)]
NEstimators = Annotated[int, Field(ge=1, le=HARD_MAX_ESTIMATORS)]
Contamination = Literal["auto"] | Annotated[float, Field(gt=0.0, le=0.5)]


def _limits(info: ValidationInfo) -> Limits:
    context = info.context
    return context if isinstance(context, Limits) else Limits()


def check_matrix(data: list[list[float]], limits: Limits) -> None:
    """Shape rules that the per-field bounds cannot express."""
    width = len(data[0])
    if any(len(row) != width for row in data):
        raise PydanticCustomError("ragged_rows", "All rows must have the same number of values")
    if len(data) > limits.max_rows:
        raise PydanticCustomError("too_many_rows", "Too many rows for this service")
    if width > limits.max_dims:
        raise PydanticCustomError("too_many_dimensions", "Too many dimensions for this service")


class StrictModel(BaseModel):
    # strict: no "1.5" strings or booleans as numbers; allow_inf_nan: reject NaN/Infinity.
    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="forbid", frozen=True)


class MatrixModel(StrictModel):
    data: Matrix

    @model_validator(mode="after")
    def check_shape(self, info: ValidationInfo) -> Self:
        check_matrix(self.data, _limits(info))
        return self


class KMeansParams(MatrixModel):
    algorithm: Literal["kmeans"]
    n_clusters: Annotated[int, Field(ge=1, le=HARD_MAX_CLUSTERS)] = 3
    n_init: Annotated[int, Field(ge=1, le=HARD_MAX_KMEANS_INIT)] = 1
    max_iter: Annotated[int, Field(ge=1, le=HARD_MAX_KMEANS_ITER)] = 300
    random_state: RandomState = 0

    @model_validator(mode="after")
    def check_clusters(self, info: ValidationInfo) -> Self:
        if self.n_clusters > _limits(info).max_clusters:
            raise PydanticCustomError("too_many_clusters", "Too many clusters for this service")
        return self


class DBSCANParams(MatrixModel):
    algorithm: Literal["dbscan"]
    eps: Annotated[float, Field(gt=0.0, le=HARD_MAX_EPS)] = 0.5
    min_samples: Annotated[int, Field(ge=1, le=HARD_MAX_DBSCAN_MIN_SAMPLES)] = 5

    @model_validator(mode="after")
    def check_rows(self, info: ValidationInfo) -> Self:
        if len(self.data) > _limits(info).dbscan_max_rows:
            raise PydanticCustomError("too_many_rows", "Too many rows for DBSCAN")
        return self


class IsolationForestParams(MatrixModel):
    algorithm: Literal["isolation_forest"]
    n_estimators: NEstimators = 100
    contamination: Contamination = "auto"
    random_state: RandomState = 0


ClusterRequest = Annotated[KMeansParams | DBSCANParams, Field(discriminator="algorithm")]
AnomalyRequest = IsolationForestParams
Operation = Annotated[
    KMeansParams | DBSCANParams | IsolationForestParams, Field(discriminator="algorithm")
]


class BatchRequest(StrictModel):
    operations: Annotated[
        list[Operation], Field(min_length=1, max_length=HARD_MAX_BATCH_OPERATIONS)
    ]

    @model_validator(mode="after")
    def check_size(self, info: ValidationInfo) -> Self:
        limits = _limits(info)
        if len(self.operations) > limits.max_batch_operations:
            raise PydanticCustomError("too_many_operations", "Too many operations in one batch")
        if sum(len(op.data) for op in self.operations) > limits.max_rows:
            raise PydanticCustomError("too_many_rows", "Too many rows in one batch")
        return self


class ModelFitRequest(MatrixModel):
    n_estimators: NEstimators = 100
    contamination: Contamination = "auto"
    random_state: RandomState = 0


class ScoreRequest(MatrixModel):
    pass


CLUSTER_REQUEST = TypeAdapter(ClusterRequest)
ANOMALY_REQUEST = TypeAdapter(AnomalyRequest)
BATCH_REQUEST = TypeAdapter(BatchRequest)
OPERATION: TypeAdapter[KMeansParams | DBSCANParams | IsolationForestParams] = TypeAdapter(Operation)
MODEL_FIT_REQUEST = TypeAdapter(ModelFitRequest)
SCORE_REQUEST = TypeAdapter(ScoreRequest)


# Responses ---------------------------------------------------------------------------


class ClusterResult(BaseModel):
    algorithm: Literal["kmeans", "dbscan"]
    labels: list[int] = Field(description="Cluster index per row; -1 is DBSCAN noise")
    n_clusters: int = Field(description="Number of clusters found")
    centers: list[list[float]] | None = Field(
        default=None, description="KMeans centres in the input's units"
    )
    noise_points: int | None = Field(default=None, description="DBSCAN rows labelled noise")


class AnomalyResult(BaseModel):
    algorithm: Literal["isolation_forest"]
    labels: list[int] = Field(description="1 = normal, -1 = anomaly")
    scores: list[float] = Field(description="Decision function; negative means anomalous")
    n_anomalies: int


class ItemError(BaseModel):
    code: str
    message: str


class BatchItem(BaseModel):
    index: int
    status: Literal["ok", "error"]
    result: ClusterResult | AnomalyResult | None = None
    error: ItemError | None = None


class BatchResponse(BaseModel):
    results: list[BatchItem]


class ModelInfo(BaseModel):
    model_id: str
    n_features: int
    sha256: str
    created_at: str
    expires_at: str = Field(description="After this time the model is deleted")
    sklearn_version: str


class ScoreResult(BaseModel):
    model_id: str
    labels: list[int]
    scores: list[float]
    n_anomalies: int


class ErrorDetail(BaseModel):
    loc: list[str | int]
    type: str


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str
    details: list[ErrorDetail] | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody
