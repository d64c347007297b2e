"""Model persistence without pickle: skops archives in the signed store. Workers only.

Loading verifies the manifest's HMAC and the archive digest with ``hmac.compare_digest``
before skops parses a single byte, and skops only instantiates types on the allowlist
below. Saving checks the store's quotas under a lock shared by every worker process.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import warnings
from datetime import UTC, datetime

import sklearn
import skops
import skops.io
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.pipeline import Pipeline

from ml_service import model_store
from ml_service.model_store import ModelPaths, ModelStoreConfig, ModelStoreError
from ml_service.schemas import ModelInfo

# Types skops does not trust by default that a Pipeline(StandardScaler, IsolationForest)
# needs. Anything else in an archive makes loading fail.
TRUSTED_TYPES: list[str] = ["sklearn.tree._tree.Tree"]


def save_model(store: ModelStoreConfig, pipeline: Pipeline, n_features: int) -> ModelInfo:
    archive = skops.io.dumps(pipeline)
    if len(archive) > store.max_model_bytes:
        raise ModelStoreError(422, "model_too_large", "The fitted model exceeds the size limit")
    now = time.time()
    info = ModelInfo(
        model_id=model_store.new_model_id(),
        n_features=n_features,
        sha256=hashlib.sha256(archive).hexdigest(),
        created_at=datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        expires_at=model_store.expiry_timestamp(store, now),
        sklearn_version=sklearn.__version__,
    )
    manifest = model_store.manifest_bytes({"skops_version": skops.__version__, **info.model_dump()})
    paths = ModelPaths.for_id(store.directory, info.model_id)
    with model_store.store_lock(store):
        model_store.check_quota(store, len(archive) + 2 * len(manifest))
        model_store.write_atomically(paths.archive, archive)
        model_store.write_atomically(paths.manifest, manifest)
        # The signature is written last: a model without one is incomplete and never loads.
        model_store.write_atomically(paths.signature, model_store.sign(store.signing_key, manifest))
    return info


def load_verified_model(store: ModelStoreConfig, model_id: str) -> tuple[Pipeline, ModelInfo]:
    manifest = model_store.read_verified_manifest(store, model_id)
    info = ModelInfo.model_validate(manifest, strict=False)
    if info.sklearn_version != sklearn.__version__:
        raise ModelStoreError(
            409, "model_version_mismatch", "Model was saved by a different scikit-learn version"
        )
    paths = ModelPaths.for_id(store.directory, model_id)
    archive = model_store.read_bounded(paths.archive, store.max_model_bytes)
    digest = hashlib.sha256(archive).hexdigest()
    if not hmac.compare_digest(digest.encode(), info.sha256.encode()):
        raise model_store.integrity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", InconsistentVersionWarning)
            pipeline = skops.io.loads(archive, trusted=TRUSTED_TYPES)
    except Exception:  # noqa: BLE001 - any parse failure of a signed archive is an integrity fault
        raise model_store.integrity_error() from None
    if not isinstance(pipeline, Pipeline):
        raise model_store.integrity_error()
    return pipeline, info
