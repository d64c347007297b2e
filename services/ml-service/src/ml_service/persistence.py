"""Model persistence without pickle: skops files plus an HMAC-signed manifest.

Layout in the model directory, per model id (32 hex chars):
  <id>.skops  the skops archive of a Pipeline(StandardScaler, IsolationForest)
  <id>.json   canonical JSON manifest: id, SHA-256 of the archive, library versions
  <id>.sig    hex HMAC-SHA256 of the manifest bytes under the service's signing key
Loading verifies the signature and the archive digest with ``hmac.compare_digest`` before
skops parses a single byte, and skops only instantiates types on the allowlist below.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import uuid
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sklearn
import skops
import skops.io
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.pipeline import Pipeline

from ml_service.schemas import ModelInfo

MANIFEST_FORMAT = "ml-service-model/1"
MODEL_ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_MANIFEST_BYTES = 64 * 1024
MAX_SIGNATURE_BYTES = 1024
# Types skops does not trust by default that a Pipeline(StandardScaler, IsolationForest)
# needs. Anything else in an archive makes loading fail.
TRUSTED_TYPES: list[str] = ["sklearn.tree._tree.Tree"]


@dataclass(frozen=True, slots=True)
class ModelStoreConfig:
    directory: Path
    signing_key: bytes
    max_model_bytes: int


class ModelStoreError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message


def _not_found() -> ModelStoreError:
    return ModelStoreError(404, "model_not_found", "No model with this id")


def _integrity_error() -> ModelStoreError:
    return ModelStoreError(
        409, "model_integrity_error", "Stored model failed integrity verification; not loaded"
    )


@dataclass(frozen=True, slots=True)
class ModelPaths:
    archive: Path
    manifest: Path
    signature: Path

    @classmethod
    def for_id(cls, directory: Path, model_id: str) -> ModelPaths:
        if not re.fullmatch(MODEL_ID_PATTERN, model_id):
            raise _not_found()
        return cls(
            archive=directory / f"{model_id}.skops",
            manifest=directory / f"{model_id}.json",
            signature=directory / f"{model_id}.sig",
        )


def sign(key: bytes, manifest_bytes: bytes) -> bytes:
    return hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest().encode()


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _read_bounded(path: Path, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise _not_found() from None
    if len(data) > max_bytes:
        raise _integrity_error()
    return data


def save_model(store: ModelStoreConfig, pipeline: Pipeline, n_features: int) -> ModelInfo:
    archive = skops.io.dumps(pipeline)
    model_id = uuid.uuid4().hex
    info = ModelInfo(
        model_id=model_id,
        n_features=n_features,
        sha256=hashlib.sha256(archive).hexdigest(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        sklearn_version=sklearn.__version__,
    )
    manifest = {"format": MANIFEST_FORMAT, "skops_version": skops.__version__, **info.model_dump()}
    manifest_bytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    paths = ModelPaths.for_id(store.directory, model_id)
    store.directory.mkdir(parents=True, exist_ok=True)
    _write_atomically(paths.archive, archive)
    _write_atomically(paths.manifest, manifest_bytes)
    # The signature is written last: a model without one is incomplete and never loads.
    _write_atomically(paths.signature, sign(store.signing_key, manifest_bytes))
    return info


def load_verified_model(store: ModelStoreConfig, model_id: str) -> tuple[Pipeline, ModelInfo]:
    paths = ModelPaths.for_id(store.directory, model_id)
    manifest_bytes = _read_bounded(paths.manifest, MAX_MANIFEST_BYTES)
    signature = _read_bounded(paths.signature, MAX_SIGNATURE_BYTES).strip()
    if not hmac.compare_digest(sign(store.signing_key, manifest_bytes), signature):
        raise _integrity_error()
    manifest = json.loads(manifest_bytes)
    if not isinstance(manifest, dict):
        raise _integrity_error()
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("model_id") != model_id:
        raise _integrity_error()
    info = ModelInfo.model_validate(manifest, strict=False)
    if info.sklearn_version != sklearn.__version__:
        raise ModelStoreError(
            409, "model_version_mismatch", "Model was saved by a different scikit-learn version"
        )
    archive = _read_bounded(paths.archive, store.max_model_bytes)
    digest = hashlib.sha256(archive).hexdigest()
    if not hmac.compare_digest(digest.encode(), info.sha256.encode()):
        raise _integrity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", InconsistentVersionWarning)
            pipeline = skops.io.loads(archive, trusted=TRUSTED_TYPES)
    except Exception:  # noqa: BLE001 - any parse failure of a signed archive is an integrity fault
        raise _integrity_error() from None
    if not isinstance(pipeline, Pipeline):
        raise _integrity_error()
    return pipeline, info
