"""Imported once by the multiprocessing forkserver; every worker forks from it warm.

BLAS/OpenMP read their thread counts when first loaded, so the variables are set here,
before numpy is imported: one thread per worker keeps workers x threads <= cores.
"""

import os

for _variable in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ[_variable] = "1"

import numpy  # noqa: E402, F401
import sklearn.cluster  # noqa: E402, F401
import sklearn.ensemble  # noqa: E402, F401
import skops.io  # noqa: E402, F401
import threadpoolctl  # noqa: E402, F401

import ml_service.estimators  # noqa: E402, F401
import ml_service.persistence  # noqa: E402, F401
import ml_service.worker  # noqa: E402, F401
