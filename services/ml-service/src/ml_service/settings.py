"""Service configuration from ML_SERVICE_* environment variables, validated at start-up."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ml_service.limits import (
    DEFAULT_DBSCAN_MAX_COST,
    DEFAULT_ISOLATION_FOREST_MAX_COST,
    DEFAULT_KMEANS_MAX_COST,
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
    # Cost budgets in calibrated work units (see limits.py and estimators.*_cost).
    dbscan_max_cost: Annotated[int, Field(ge=1, le=10**13)] = DEFAULT_DBSCAN_MAX_COST
    kmeans_max_cost: Annotated[int, Field(ge=1, le=10**14)] = DEFAULT_KMEANS_MAX_COST
    isolation_forest_max_cost: Annotated[int, Field(ge=1, le=10**11)] = (
        DEFAULT_ISOLATION_FOREST_MAX_COST
    )

    # Uploads: claimed before a body is read (503 when full); slow bodies get a 408.
    max_concurrent_uploads: Annotated[int, Field(ge=1, le=1_024)] = 8
    max_upload_bytes_in_flight: Annotated[int, Field(ge=1_024, le=4_096 * MIB)] = 40 * MIB
    body_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0

    # Per-client token bucket on /v1/* (keyed by API key, else client address); 0 = off.
    rate_limit_per_second: Annotated[float, Field(ge=0, le=1_000_000)] = 20.0
    rate_limit_burst: Annotated[int, Field(ge=1, le=1_000_000)] = 40
    rate_limit_max_clients: Annotated[int, Field(ge=1, le=10_000_000)] = 10_000

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
    max_model_bytes: Annotated[int, Field(ge=MIB, le=4_096 * MIB)] = 64 * MIB
    model_signing_key: SecretStr | None = None
    # Keys for model writes (POST and DELETE /v1/models), sent as X-API-Key; none = no writes.
    api_keys: Annotated[list[SecretStr], NoDecode, Field(max_length=100)] = []
    model_store_max_models: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    model_store_max_bytes: Annotated[int, Field(ge=MIB, le=1_048_576 * MIB)] = 1_024 * MIB
    model_ttl_seconds: Annotated[float, Field(ge=1, le=366 * 86_400)] = 7 * 86_400
    model_sweep_interval_seconds: Annotated[float, Field(ge=0.1, le=86_400)] = 60.0

    @field_validator("cors_origins", "api_keys", mode="before")
    @classmethod
    def split_comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("api_keys")
    @classmethod
    def require_strong_api_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        if any(len(key.get_secret_value()) < MIN_SIGNING_KEY_CHARS for key in keys):
            raise ValueError(f"each API key must be at least {MIN_SIGNING_KEY_CHARS} chars")
        return keys

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
        if self.max_upload_bytes_in_flight < self.max_body_bytes:
            raise ValueError("max_upload_bytes_in_flight must be >= max_body_bytes")
        if self.max_model_bytes > self.model_store_max_bytes:
            raise ValueError("max_model_bytes must not exceed model_store_max_bytes")
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
