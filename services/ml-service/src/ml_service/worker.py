"""Worker-process side: OS limits at start-up and the task entry point.

This module is imported by the API process too (to name the functions it schedules), so
its top level stays free of numpy/scikit-learn; those are preloaded by the forkserver
(``ml_service.worker_preload``) and imported inside the functions that run in workers.
"""

from __future__ import annotations

import os
import resource
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ml_service.limits import Limits
from ml_service.model_store import ModelStoreConfig

if TYPE_CHECKING:
    from pydantic import ValidationError

TaskKind = Literal[
    "cluster", "anomaly", "batch_split", "operation", "fit_model", "score_model", "warm_up"
]
MAX_ERROR_DETAILS = 20
SCREENED_KINDS = frozenset({"cluster", "anomaly", "batch_split", "fit_model", "score_model"})
REDACTED_KEY = "*"


@dataclass(frozen=True, slots=True)
class TaskSpec:
    kind: TaskKind
    body: bytes
    limits: Limits
    store: ModelStoreConfig | None = None
    model_id: str | None = None


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    status_code: int
    body: bytes = b""
    error_code: str | None = None
    error_message: str | None = None
    error_details: tuple[tuple[tuple[str | int, ...], str], ...] = ()
    rows: int = 0
    # batch_split: each operation of a validated batch as JSON, run later one by one.
    items: tuple[bytes, ...] = ()


def initialize_worker(memory_limit_bytes: int, nice_increment: int) -> None:
    """Runs once in every new worker process, before any task."""
    from threadpoolctl import threadpool_limits  # heavy import; workers only

    # Ctrl-C in a terminal reaches the whole process group; the API process decides
    # when workers stop, so they ignore SIGINT instead of dying mid-task.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice_increment:
        # CPU-bound workers yield the CPU to the event loop so health checks stay fast.
        os.nice(nice_increment)
    threadpool_limits(limits=1)
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    capped = memory_limit_bytes if hard == resource.RLIM_INFINITY else min(hard, memory_limit_bytes)
    resource.setrlimit(resource.RLIMIT_AS, (capped, hard))


def _field_names() -> frozenset[str]:
    from ml_service import schemas

    names: set[str] = {"kmeans", "dbscan", "isolation_forest"}
    for model in (
        schemas.KMeansParams,
        schemas.DBSCANParams,
        schemas.IsolationForestParams,
        schemas.BatchRequest,
        schemas.ModelFitRequest,
        schemas.ScoreRequest,
    ):
        names.update(model.model_fields)
    return frozenset(names)


def _invalid(error: ValidationError) -> TaskOutcome:
    """A 422 that names fields and error types but never echoes input values or keys."""
    known = _field_names()
    details = tuple(
        (
            tuple(
                part if isinstance(part, int) or part in known else REDACTED_KEY
                for part in item["loc"]
            ),
            item["type"],
        )
        for item in error.errors(include_url=False, include_context=False, include_input=False)[
            :MAX_ERROR_DETAILS
        ]
    )
    return TaskOutcome(
        status_code=422,
        error_code="validation_error",
        error_message="Request body failed validation",
        error_details=details,
    )


def _rejected(code: str, message: str, status_code: int = 422) -> TaskOutcome:
    return TaskOutcome(status_code=status_code, error_code=code, error_message=message)


def _memory_exceeded() -> TaskOutcome:
    return _rejected("resource_limit", "The operation exceeded the worker memory limit")


def run_task(spec: TaskSpec) -> TaskOutcome:
    """Validate raw JSON bytes and run one request's work. Called in a worker process."""
    from pydantic import ValidationError

    from ml_service.estimators import OperationRejected
    from ml_service.model_store import ModelStoreError

    try:
        return _dispatch(spec)
    except ValidationError as error:
        return _invalid(error)
    except OperationRejected as rejection:
        return _rejected(rejection.code, rejection.message)
    except ModelStoreError as failure:
        return _rejected(failure.code, failure.message, failure.status)
    except MemoryError:
        return _memory_exceeded()


def _prescreened(spec: TaskSpec) -> TaskOutcome | None:
    from ml_service.prescreen import prescreen

    if spec.kind not in SCREENED_KINDS:
        return None
    finding = prescreen(spec.body, spec.limits, batch=spec.kind == "batch_split")
    if finding is None:
        return None
    return TaskOutcome(
        status_code=422,
        error_code="validation_error",
        error_message="Request body failed validation",
        error_details=(finding,),
    )


def _dispatch(spec: TaskSpec) -> TaskOutcome:
    from ml_service import estimators, persistence, schemas

    if (refused := _prescreened(spec)) is not None:
        return refused

    if spec.kind == "warm_up":
        estimators.run_kmeans(
            schemas.KMeansParams(algorithm="kmeans", data=[[0.0], [1.0]], n_clusters=1)
        )
        return TaskOutcome(status_code=200)
    if spec.kind == "cluster":
        operation = schemas.CLUSTER_REQUEST.validate_json(spec.body, context=spec.limits)
        result = estimators.run_operation(operation, spec.limits)
        return TaskOutcome(200, result.model_dump_json().encode(), rows=len(operation.data))
    if spec.kind == "anomaly":
        anomaly = schemas.ANOMALY_REQUEST.validate_json(spec.body, context=spec.limits)
        result = estimators.run_operation(anomaly, spec.limits)
        return TaskOutcome(200, result.model_dump_json().encode(), rows=len(anomaly.data))
    if spec.kind == "batch_split":
        batch = schemas.BATCH_REQUEST.validate_json(spec.body, context=spec.limits)
        items = tuple(operation.model_dump_json().encode() for operation in batch.operations)
        rows = sum(len(operation.data) for operation in batch.operations)
        return TaskOutcome(200, items=items, rows=rows)
    if spec.kind == "operation":
        item = schemas.OPERATION.validate_json(spec.body, context=spec.limits)
        result = estimators.run_operation(item, spec.limits)
        return TaskOutcome(200, result.model_dump_json().encode(), rows=len(item.data))
    if spec.store is None:
        raise RuntimeError("model store is not configured")
    if spec.kind == "fit_model":
        request = schemas.MODEL_FIT_REQUEST.validate_json(spec.body, context=spec.limits)
        estimators.check_cost(
            schemas.IsolationForestParams(
                algorithm="isolation_forest",
                data=request.data,
                n_estimators=request.n_estimators,
                contamination=request.contamination,
                random_state=request.random_state,
            ),
            spec.limits,
        )
        pipeline = estimators.fit_isolation_forest(request)
        info = persistence.save_model(spec.store, pipeline, n_features=len(request.data[0]))
        return TaskOutcome(201, info.model_dump_json().encode(), rows=len(request.data))
    if spec.kind == "score_model" and spec.model_id is not None:
        scoring = schemas.SCORE_REQUEST.validate_json(spec.body, context=spec.limits)
        pipeline, info = persistence.load_verified_model(spec.store, spec.model_id)
        if len(scoring.data[0]) != info.n_features:
            return _rejected("feature_mismatch", "Rows must have as many values as the model")
        labels, scores = estimators.detect_anomalies(pipeline, scoring.data)
        scored = schemas.ScoreResult(
            model_id=info.model_id,
            labels=labels,
            scores=scores,
            n_anomalies=sum(1 for label in labels if label < 0),
        )
        return TaskOutcome(200, scored.model_dump_json().encode(), rows=len(scoring.data))
    raise RuntimeError(f"unknown task kind {spec.kind!r}")
