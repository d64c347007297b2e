"""The signed model store's files, quotas and expiry, without any ML library.

The API process uses this module (deletion, expiry sweeps, the store-size metric) and so
must stay free of numpy/scikit-learn/skops; ``persistence`` adds the skops archive work
and runs only in worker processes.

Layout in the model directory, per model id (32 hex chars):
  <id>.skops  the skops archive of a Pipeline(StandardScaler, IsolationForest)
  <id>.json   canonical JSON manifest: id, SHA-256 of the archive, versions, expiry
  <id>.sig    hex HMAC-SHA256 of the manifest bytes under the service's signing key
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

MANIFEST_FORMAT = "ml-service-model/2"
MODEL_ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_MANIFEST_BYTES = 64 * 1024
MAX_SIGNATURE_BYTES = 1024
MODEL_SUFFIXES = (".skops", ".json", ".sig")
LOCK_NAME = ".store.lock"
# A write that crashed half-way leaves a temporary or unsigned file; sweeps remove them
# once they are clearly not a write still in progress.
STALE_PARTIAL_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class ModelStoreConfig:
    directory: Path
    signing_key: bytes
    max_model_bytes: int
    max_models: int = 100
    max_store_bytes: int = 1024 * 1024 * 1024
    ttl_seconds: float = 7 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class StoreUsage:
    models: int
    bytes: int


class ModelStoreError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message


def not_found() -> ModelStoreError:
    return ModelStoreError(404, "model_not_found", "No model with this id")


def integrity_error() -> ModelStoreError:
    return ModelStoreError(
        409, "model_integrity_error", "Stored model failed integrity verification; not loaded"
    )


def quota_exceeded() -> ModelStoreError:
    return ModelStoreError(
        409, "model_quota_exceeded", "The model store is full; delete a model and retry"
    )


@dataclass(frozen=True, slots=True)
class ModelPaths:
    archive: Path
    manifest: Path
    signature: Path

    @classmethod
    def for_id(cls, directory: Path, model_id: str) -> ModelPaths:
        if not re.fullmatch(MODEL_ID_PATTERN, model_id):
            raise not_found()
        return cls(
            archive=directory / f"{model_id}.skops",
            manifest=directory / f"{model_id}.json",
            signature=directory / f"{model_id}.sig",
        )

    def all(self) -> tuple[Path, Path, Path]:
        # The signature goes first on deletion: without it the rest never loads.
        return (self.signature, self.manifest, self.archive)


def new_model_id() -> str:
    return uuid.uuid4().hex


def sign(key: bytes, manifest_bytes: bytes) -> bytes:
    return hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest().encode()


def manifest_bytes(fields: dict[str, object]) -> bytes:
    return json.dumps(
        {"format": MANIFEST_FORMAT, **fields}, sort_keys=True, separators=(",", ":")
    ).encode()


def write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def read_bounded(path: Path, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise not_found() from None
    if len(data) > max_bytes:
        raise integrity_error()
    return data


def _verified_manifest(store: ModelStoreConfig, model_id: str) -> dict[str, object]:
    paths = ModelPaths.for_id(store.directory, model_id)
    raw = read_bounded(paths.manifest, MAX_MANIFEST_BYTES)
    signature = read_bounded(paths.signature, MAX_SIGNATURE_BYTES).strip()
    if not hmac.compare_digest(sign(store.signing_key, raw), signature):
        raise integrity_error()
    manifest = json.loads(raw)
    if not isinstance(manifest, dict):
        raise integrity_error()
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("model_id") != model_id:
        raise integrity_error()
    return manifest


def read_verified_manifest(store: ModelStoreConfig, model_id: str) -> dict[str, object]:
    """The manifest, after its HMAC checks out; expired models are deleted and not found."""
    manifest = _verified_manifest(store, model_id)
    if is_expired(manifest, time.time()):
        delete_model(store, model_id)
        raise not_found()
    return manifest


def is_expired(manifest: dict[str, object], now: float) -> bool:
    expires_at = manifest.get("expires_at")
    if not isinstance(expires_at, str):
        return True
    try:
        return datetime.fromisoformat(expires_at).timestamp() <= now
    except ValueError:
        return True


def expiry_timestamp(store: ModelStoreConfig, now: float) -> str:
    return datetime.fromtimestamp(now + store.ttl_seconds, UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def store_lock(store: ModelStoreConfig) -> Iterator[None]:
    """Serialises quota checks and writes across worker processes (advisory file lock)."""
    store.directory.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(store.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def usage(store: ModelStoreConfig) -> StoreUsage:
    """Models (signed manifests) and bytes of every file the store holds."""
    models = 0
    total = 0
    try:
        entries = list(os.scandir(store.directory))
    except FileNotFoundError:
        return StoreUsage(0, 0)
    for entry in entries:
        if entry.name == LOCK_NAME or not entry.is_file(follow_symlinks=False):
            continue
        with contextlib.suppress(FileNotFoundError):
            total += entry.stat(follow_symlinks=False).st_size
        if entry.name.endswith(".sig"):
            models += 1
    return StoreUsage(models, total)


def check_quota(store: ModelStoreConfig, new_bytes: int) -> None:
    """Call under ``store_lock``: refuses a write that would pass either quota."""
    current = usage(store)
    if current.models + 1 > store.max_models or current.bytes + new_bytes > store.max_store_bytes:
        raise quota_exceeded()


def delete_model(store: ModelStoreConfig, model_id: str) -> bool:
    """True if anything of the model was there to delete."""
    paths = ModelPaths.for_id(store.directory, model_id)
    removed = False
    for path in paths.all():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed = True
    return removed


def sweep(store: ModelStoreConfig, now: float | None = None) -> int:
    """Deletes expired models and stale partial writes; returns how many models went."""
    now = time.time() if now is None else now
    try:
        names = [entry.name for entry in os.scandir(store.directory)]
    except FileNotFoundError:
        return 0
    removed = 0
    model_ids = {name.split(".", 1)[0] for name in names if name.endswith(MODEL_SUFFIXES)}
    for model_id in model_ids:
        if not re.fullmatch(MODEL_ID_PATTERN, model_id):
            continue
        paths = ModelPaths.for_id(store.directory, model_id)
        if not paths.signature.exists():
            removed += _remove_if_stale(paths, now)
            continue
        try:
            expired = is_expired(_verified_manifest(store, model_id), now)
        except ModelStoreError:
            # It never loads; its files still count against the quota until they expire.
            expired = _age(paths.signature, now) > store.ttl_seconds
        if expired:
            delete_model(store, model_id)
            removed += 1
    for name in names:
        if name.startswith(".") and name.endswith(".tmp"):
            _unlink_if_stale(store.directory / name, now)
    return removed


def _remove_if_stale(paths: ModelPaths, now: float) -> int:
    stale = [path for path in paths.all() if _unlink_if_stale(path, now)]
    return 1 if stale else 0


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _unlink_if_stale(path: Path, now: float) -> bool:
    try:
        if now - path.stat().st_mtime < STALE_PARTIAL_SECONDS:
            return False
        path.unlink()
    except FileNotFoundError:
        return False
    return True
