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
# Cost budgets in calibrated work units (``estimators.*_cost``): each is about 3 s of one
# idle core by ``bench/calibrate_cost.py``, well inside the 10 s operation timeout.
DEFAULT_DBSCAN_MAX_COST = 2_000_000_000
DEFAULT_KMEANS_MAX_COST = 5_000_000_000
DEFAULT_ISOLATION_FOREST_MAX_COST = 20_000_000


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-request input limits; plain data so it can travel to worker processes."""

    max_rows: int = 50_000
    max_dims: int = HARD_MAX_DIMS
    max_clusters: int = HARD_MAX_CLUSTERS
    max_batch_operations: int = HARD_MAX_BATCH_OPERATIONS
    dbscan_max_rows: int = 10_000
    dbscan_max_cost: int = DEFAULT_DBSCAN_MAX_COST
    kmeans_max_cost: int = DEFAULT_KMEANS_MAX_COST
    isolation_forest_max_cost: int = DEFAULT_ISOLATION_FOREST_MAX_COST
