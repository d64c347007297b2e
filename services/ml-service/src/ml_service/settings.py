"""Service configuration from ML_SERVICE_* environment variables, validated at start-up."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ml_service.limits import (
    HARD_MAX_BATCH_OPERATIONS,
    HARD_MAX_BODY_BYTES,
    HARD_MAX_CLUSTERS,
    HARD_MAX_DIMS,
    HARD_MAX_ROWS,
    MIB,
    Limits,
)

MIN_SIGNING_KEY_CHARS = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ML_SERVICE_", extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65_535)] = 8020
    log_level: Annotated[str, Field(pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")] = "INFO"

    # Input limits (the numbers are the defaults and also the hard ceilings).
    max_body_bytes: Annotated[int, Field(ge=1_024, le=HARD_MAX_BODY_BYTES)] = 10 * MIB
    max_rows: Annotated[int, Field(ge=1, le=HARD_MAX_ROWS)] = 50_000
    max_dims: Annotated[int, Field(ge=1, le=HARD_MAX_DIMS)] = HARD_MAX_DIMS
    max_clusters: Annotated[int, Field(ge=1, le=HARD_MAX_CLUSTERS)] = HARD_MAX_CLUSTERS
    max_batch_operations: Annotated[int, Field(ge=1, le=HARD_MAX_BATCH_OPERATIONS)] = (
        HARD_MAX_BATCH_OPERATIONS
    )
    dbscan_max_rows: Annotated[int, Field(ge=1, le=HARD_MAX_ROWS)] = 10_000
    # Cost budgets: rows^2 * dims for DBSCAN (worst-case neighbourhood query),
    # rows * dims * clusters * n_init for KMeans, rows * n_estimators for IsolationForest.
    dbscan_max_cost: Annotated[int, Field(ge=1, le=10**12)] = 1_000_000_000
    kmeans_max_cost: Annotated[int, Field(ge=1, le=10**13)] = 2_000_000_000
    isolation_forest_max_cost: Annotated[int, Field(ge=1, le=10**11)] = 50_000_000

    # Worker processes and admission control.
    workers: Annotated[int, Field(ge=1, le=64)] = 2
    queue_size: Annotated[int, Field(ge=0, le=1_024)] = 2
    queue_wait_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    operation_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 10.0
    batch_deadline_seconds: Annotated[float, Field(gt=0, le=1_800)] = 30.0
    worker_memory_limit_mib: Annotated[int, Field(ge=256, le=1_048_576)] = 1_024
    worker_max_tasks: Annotated[int, Field(ge=0, le=1_000_000)] = 10_000
    worker_nice: Annotated[int, Field(ge=0, le=19)] = 10
    startup_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 60.0

    # Graceful shutdown: keep serving (with /readyz 503) for the drain delay so load
    # balancers notice; in-flight work may run until the grace period (counted from
    # SIGTERM) ends, after which remaining workers are killed.
    drain_delay_seconds: Annotated[float, Field(ge=0, le=300)] = 5.0
    shutdown_grace_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0

    # CORS: explicit origins only; "*" is refused.
    cors_origins: Annotated[list[str], NoDecode, Field(max_length=100)] = []

    # Model persistence.
    model_dir: Path = Path("var/models")
    max_model_bytes: Annotated[int, Field(ge=MIB, le=4_096 * MIB)] = 256 * MIB
    model_signing_key: SecretStr | None = None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def reject_wildcard_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if "*" in origin:
                raise ValueError("CORS origins must be explicit; '*' is not allowed")
            if not origin.startswith(("https://", "http://")) or origin.endswith("/"):
                raise ValueError("each CORS origin must look like scheme://host[:port]")
        return origins

    @field_validator("model_signing_key")
    @classmethod
    def require_strong_key(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < MIN_SIGNING_KEY_CHARS:
            raise ValueError(f"model signing key must be at least {MIN_SIGNING_KEY_CHARS} chars")
        return key

    @model_validator(mode="after")
    def check_consistency(self) -> Self:
        if self.dbscan_max_rows > self.max_rows:
            raise ValueError("dbscan_max_rows must not exceed max_rows")
        if self.drain_delay_seconds > self.shutdown_grace_seconds:
            raise ValueError("drain_delay_seconds must not exceed shutdown_grace_seconds")
        if self.batch_deadline_seconds < self.operation_timeout_seconds:
            raise ValueError("batch_deadline_seconds must be >= operation_timeout_seconds")
        return self

    def limits(self) -> Limits:
        return Limits(
            max_rows=self.max_rows,
            max_dims=self.max_dims,
            max_clusters=self.max_clusters,
            max_batch_operations=self.max_batch_operations,
            dbscan_max_rows=self.dbscan_max_rows,
            dbscan_max_cost=self.dbscan_max_cost,
            kmeans_max_cost=self.kmeans_max_cost,
            isolation_forest_max_cost=self.isolation_forest_max_cost,
        )

    def signing_key_bytes(self) -> bytes | None:
        if self.model_signing_key is None:
            return None
        return self.model_signing_key.get_secret_value().encode()


def ephemeral_signing_key() -> bytes:
    """A per-process key for development: models then verify only until restart."""
    return secrets.token_bytes(32)
