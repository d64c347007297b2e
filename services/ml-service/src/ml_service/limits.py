"""Hard ceilings baked into the request schema, and the tunable limits handed to workers.

The schema ceilings are what the OpenAPI document advertises and what pydantic enforces
even without configuration; settings may only tighten them (checked at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024

HARD_MAX_BODY_BYTES = 64 * MIB
HARD_MAX_ROWS = 100_000
HARD_MAX_DIMS = 1_000
HARD_MAX_CLUSTERS = 100
HARD_MAX_BATCH_OPERATIONS = 100
HARD_MAX_ESTIMATORS = 500
HARD_MAX_KMEANS_INIT = 20
HARD_MAX_KMEANS_ITER = 1_000
HARD_MAX_DBSCAN_MIN_SAMPLES = 1_000
HARD_MAX_EPS = 1e6
MAX_RANDOM_STATE = 2**32 - 1


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-request input limits; plain data so it can travel to worker processes."""

    max_rows: int = 50_000
    max_dims: int = HARD_MAX_DIMS
    max_clusters: int = HARD_MAX_CLUSTERS
    max_batch_operations: int = HARD_MAX_BATCH_OPERATIONS
    dbscan_max_rows: int = 10_000
    dbscan_max_cost: int = 1_000_000_000
    kmeans_max_cost: int = 2_000_000_000
    isolation_forest_max_cost: int = 50_000_000
