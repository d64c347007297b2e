"""Per-file result cache in `.leakguard_cache/`.

An entry is keyed by the file's content hash, its path in the run, the effective
configuration and the leakguard version, so any change to one of them misses. Entries
are written atomically; an unreadable or corrupt entry is treated as a miss.

A run also keeps a pack (`open_pack`/`close_pack`): every entry it used, in one file
named after what was run (the targets and the kind of run). Checking the same targets
again reads that one file instead of one per file and phase (on 245 files, ~50 ms of
490 small reads). Lookups stay by key, so the pack changes what is read, never what
is served: an entry of the pack that is not asked for by its key is never used.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from leakguard import __version__
from leakguard.finding import FileError, FileResult, Finding

_FORMAT = 1


@functools.cache
def _code_stamp() -> str:
    """Changes whenever leakguard's own code does, so an edited rule (an editable
    install, a patched release) never serves findings its old version made."""
    package = os.path.dirname(os.path.abspath(__file__))
    stamps: list[str] = []
    # os.scandir, not Path.rglob: this runs at the start of every run (~150 modules),
    # and pathlib's per-path objects cost several times the stat calls themselves.
    pending = [package]
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        pending.append(entry.path)
                    continue
                if not entry.name.endswith(".py"):
                    continue
                info = entry.stat()
            except OSError:
                continue
            name = os.path.relpath(entry.path, package).replace(os.sep, "/")
            stamps.append(f"{name}:{info.st_size}:{info.st_mtime_ns}\n")
    digest = hashlib.sha256("".join(sorted(stamps)).encode())
    return digest.hexdigest()[:16]


def content_digest(data: bytes) -> str:
    """A file's identity in cache keys."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def prepare_directory(directory: Path) -> None:
    """Create the cache directory, marked so that git and backup tools ignore all of it
    (also what `leakguard-sarif` writes there: a hook must leave nothing untracked)."""
    directory.mkdir(parents=True, exist_ok=True)
    tag = directory / "CACHEDIR.TAG"
    if not tag.exists():
        tag.write_text("Signature: 8a477f597d28d172789f06886806bc55\n")
    gitignore = directory / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("*\n")


class ResultCache:
    def __init__(self, directory: Path, config_digest: str) -> None:
        self.directory = directory / f"v{_FORMAT}"
        self.salt = f"{__version__}|{_code_stamp()}|{config_digest}"
        self._ready = False
        # The open pack: its file, the entries read from it, and the entries this run
        # used (read or stored); rewritten at `close_pack` when the two differ.
        self._pack_path: Path | None = None
        self._packed: dict[str, Any] = {}
        self._used: dict[str, Any] = {}
        self._changed = False

    def key(self, kind: str, display: str, content: str, extra: str = "") -> str:
        blob = "\0".join((self.salt, kind, display, content, extra)).encode()
        return hashlib.sha256(blob).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def load(self, key: str) -> Any:
        if key in self._packed:
            value = self._packed[key]
        else:
            value = self._read(self._path(key))
            self._changed = self._changed or value is not None
        if self._pack_path is not None and value is not None:
            self._used[key] = value
        return value

    def store(self, key: str, value: Any) -> None:
        if self._pack_path is not None:
            self._used[key] = value
            self._changed = True
        self._write(self._path(key), value)

    def open_pack(self, scope: str) -> None:
        """Read the pack of the last run of `scope` (a description of the run: what
        was checked and how); entries used from now on go into the next pack."""
        name = hashlib.sha256(scope.encode()).hexdigest()[:32]
        self._pack_path = self.directory / "packs" / f"{name}.json"
        data = self._read(self._pack_path)
        self._packed = data if isinstance(data, dict) else {}
        self._used = {}
        self._changed = False

    def close_pack(self) -> None:
        """Write the pack when this run used entries it did not hold (or not all it
        held: it keeps only what the last run of its scope used)."""
        if self._pack_path is None:
            return
        if self._changed or self._used.keys() != self._packed.keys():
            self._write(self._pack_path, self._used)
        self._pack_path, self._packed, self._used = None, {}, {}

    @staticmethod
    def _read(path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _write(self, target: Path, value: Any) -> None:
        try:
            if not self._ready:
                prepare_directory(self.directory.parent)
                self.directory.mkdir(exist_ok=True)
                self._ready = True
            target.parent.mkdir(exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(value, stream)
            os.replace(temporary, target)
        except OSError:
            # A read-only or full disk must not fail the run; we just lose the cache.
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temporary)

    def load_result(self, key: str, display: str) -> FileResult | None:
        data = self.load(key)
        try:
            return FileResult(
                path=display,
                findings=[Finding.from_cache({**f, "path": display}) for f in data["findings"]],
                errors=[FileError(display, e) for e in data["errors"]],
                lines=int(data["lines"]),
                from_cache=True,
            )
        except (TypeError, KeyError, ValueError):
            return None

    def store_result(self, key: str, result: FileResult) -> None:
        self.store(
            key,
            {
                "findings": [f.to_cache() for f in result.findings],
                "errors": [e.message for e in result.errors],
                "lines": result.lines,
            },
        )
