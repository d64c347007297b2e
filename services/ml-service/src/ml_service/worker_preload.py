"""Imported once by the multiprocessing forkserver; every worker forks from it warm.

BLAS/OpenMP read their thread counts when first loaded, so the variables are set here,
before numpy is imported: one thread per worker keeps workers x threads <= cores.
"""

import importlib
import os

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
HEAVY_MODULES = (
    "numpy",
    "sklearn.cluster",
    "sklearn.ensemble",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "skops.io",
    "threadpoolctl",
    "ml_service.estimators",
    "ml_service.persistence",
    "ml_service.prescreen",
    "ml_service.worker",
)

for variable in THREAD_VARIABLES:
    os.environ[variable] = "1"
for module in HEAVY_MODULES:
    importlib.import_module(module)
