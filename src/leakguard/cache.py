"""Per-file result cache in `.leakguard_cache/`.

An entry is keyed by the file's content hash, its path in the run, the effective
configuration and the leakguard version, so any change to one of them misses. Entries
are written atomically; an unreadable or corrupt entry is treated as a miss.

`leakguard check` keeps its entries in a pack (`open_pack`/`close_pack`): every entry
the run used, in one file named after what was run (the targets and the kind of run),
and the facts entries, most of the bytes, in a second file named after what was checked
(`ResultCache`). A cold run writes those two files, not one per entry (~500 small files
cost ~0.2 CPU s on 245 files); a warm run reads the first, and the second only when some
result is missing. Lookups stay by key, so the pack changes what is read, never what is
served: an entry of the pack that is not asked for by its key is never used.

The pack also records each file's stat stamp with its content digest, so a warm run
decides "unchanged" without reading the file (`unchanged_digest`), as mypy and Ruff do
from metadata, with git's rule for "racy" files (see `fresh`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

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


# What changes when a file's content may have: size, mtime, inode (an editor's save by
# rename makes a new one) and ctime, which every write and every `os.utime` set to the
# current time (a tool restoring an old mtime still moves it), so no user-space call can
# put back a stamp the file had before.
Stamp = tuple[int, int, int, int]

# A file modified within the timestamp granularity after it was read could keep its
# mtime (git's "racy clean" problem): a stamp is trusted only if its mtime is older than
# the start of the run that recorded it by more than that granularity. Linux takes file
# times from a clock that ticks every 1-10 ms; exFAT stores 10 ms. Whole-second times
# come from a file system that stores seconds (ext3, HFS+) or two (FAT).
RACY_MARGIN_NS = 50_000_000
COARSE_RACY_MARGIN_NS = 2_000_000_000
_SECOND_NS = 1_000_000_000
# The pack's key for the start of the run that wrote it (file system clock, ns).
_REFERENCE = "reference_ns"


def stamp_of(info: os.stat_result) -> Stamp:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def fresh(recorded: Stamp, current: Stamp, reference_ns: int) -> bool:
    """Whether a file whose stamp was `recorded` when its digest was taken, in a run that
    started at `reference_ns` (file system clock), still has that content now that its
    stamp is `current`. Any write after that run's start gives the file a later mtime and
    ctime unless it came within the granularity of the recorded mtime: such a stamp is
    never trusted (the file is read and hashed again, as git re-hashes racy entries)."""
    if recorded != current:
        return False
    mtime = recorded[1]
    margin = COARSE_RACY_MARGIN_NS if mtime % _SECOND_NS == 0 else RACY_MARGIN_NS
    return mtime < reference_ns - margin


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
    """Entries of two weights: light ones (a file's findings, the run's dependency
    digests: small, and meaningful only to a run over the same files, since a findings
    key names the facts of every file of the run) and facts (`load_facts`/`store_facts`:
    most of the bytes, keyed by one file's content).

    With a pack open (`leakguard check`), entries live in the pack alone: the light
    ones in the pack of the run's scope, the facts in a facts file shared by the runs
    over the same files (a JSON report and a text one, `--fix` after a check), read on
    the first facts lookup only, so a run whose every result is cached never reads it.
    A run over other files (a subtree, pre-commit's few) could use neither: a findings
    key names the whole run's facts, and its few files' facts cost less to collect
    than a lookup in another run's facts file. Writing ~500 small files per cold run
    cost ~10 % of it. Without a pack (the flake8 plugin) every entry is a file."""

    def __init__(self, directory: Path, config_digest: str) -> None:
        self.directory = directory / f"v{_FORMAT}"
        self.salt = f"{__version__}|{_code_stamp()}|{config_digest}"
        # The cache directory and its shard directories this run made or found: a
        # `mkdir` per entry cost as much as its write.
        self._made: set[str] = set()
        # Temporary files are named by process, instance and count, not by mkstemp's
        # random search: one `open` each, and never one a crashed writer left behind.
        self._unique = f"{os.getpid()}.{os.urandom(4).hex()}"
        self._temporaries = 0
        # The open pack: its file, the entries read from it, and the entries this run
        # used (read or stored); rewritten at `close_pack` when the two differ.
        self._pack_path: Path | None = None
        self._packed: dict[str, Any] = {}
        self._used: dict[str, Any] = {}
        self._changed = False
        # The facts file (kept after `close_pack`: fixing files after a run whose results
        # all came from the pack reads the facts then), its entries once read, and the
        # facts this run used.
        self._facts_path: Path | None = None
        self._facts_packed: dict[str, Any] | None = None
        self._facts_used: dict[str, Any] = {}
        self._facts_changed = False
        # Each file's [stamp..., digest] from the pack, with the start of the run that
        # wrote it (file system clock), and the files this run recorded for the next.
        self._files_packed: dict[str, list[Any]] = {}
        self._reference_ns = 0
        self._files_used: dict[str, list[Any]] = {}
        self._opened_ns = 0

    def key(self, kind: str, display: str, content: str, extra: str = "") -> str:
        blob = "\0".join((self.salt, kind, display, content, extra)).encode()
        return hashlib.sha256(blob).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def load(self, key: str) -> Any:
        if self._pack_path is None:
            return _read_json(self._path(key))
        value = self._packed.get(key)
        if value is not None:
            self._used[key] = value
        return value

    def store(self, key: str, value: Any) -> None:
        if self._pack_path is None:
            self._write(self._path(key), value)
            return
        self._used[key] = value
        self._changed = True

    def packed(self, key: str) -> bool:
        """Whether the open pack holds the entry `key` (without using it)."""
        return key in self._packed

    def load_facts(self, key: str) -> Any:
        if self._facts_path is None:
            return _read_json(self._path(key))
        if self._facts_packed is None:
            data = _read_json(self._facts_path)
            entries = data.get("entries") if isinstance(data, dict) else None
            self._facts_packed = entries if isinstance(entries, dict) else {}
        value = self._facts_packed.get(key)
        if value is not None and self._pack_path is not None:
            self._facts_used[key] = value
        return value

    def store_facts(self, key: str, value: Any) -> None:
        if self._facts_path is None:
            self._write(self._path(key), value)
        elif self._pack_path is not None:
            self._facts_used[key] = value
            self._facts_changed = True

    def open_pack(self, scope: str, files: str) -> None:
        """Read the pack of the last run of `scope` (a description of the run: what
        was checked and how); entries used from now on go into the next pack. Facts
        go to the file of `files` (what was checked). Called before the run looks at
        its files: the next pack's time reference is now."""
        self._opened_ns = time.perf_counter_ns()
        packs = self.directory / "packs"
        self._pack_path = packs / f"{_name(scope)}.json"
        self._facts_path = packs / f"{_name(files)}.facts.json"
        data = _read_json(self._pack_path)
        if not isinstance(data, dict):
            data = {}
        entries, files_, reference = data.get("entries"), data.get("files"), data.get(_REFERENCE)
        self._packed = entries if isinstance(entries, dict) else {}
        self._files_packed, self._reference_ns = {}, 0
        if isinstance(files_, dict) and isinstance(reference, int):
            self._files_packed, self._reference_ns = files_, reference
        self._used, self._files_used = {}, {}
        self._facts_packed, self._facts_used = None, {}
        self._changed = self._facts_changed = False

    def share_facts(self, files: str) -> None:
        """Keep this run's facts in the file of `files` instead: a partial run's context
        is its project's files whichever files it checks (`leakguard.project_context`),
        so every partial run of a project shares the facts file of a run of the whole
        project. Called before any facts are looked up."""
        if self._pack_path is not None and self._facts_packed is None:
            self._facts_path = self.directory / "packs" / f"{_name(files)}.facts.json"

    def unchanged_digest(self, display: str, info: os.stat_result) -> str | None:
        """The content digest of `display` from its stat alone, when the pack recorded
        the same stamp early enough to trust it (`fresh`); None: read and hash it."""
        record = self._files_packed.get(display)
        if not isinstance(record, list) or len(record) != 5 or not isinstance(record[4], str):
            return None
        if not self.trusted(record[:4], info):
            return None
        self._files_used[display] = record
        return record[4]

    def note_file(self, display: str, info: os.stat_result, digest: str) -> None:
        """Record a file this run read and hashed, with the stamp taken before reading it."""
        if self._pack_path is not None:
            self._files_used[display] = [*stamp_of(info), digest]
            # Its stamp may be trusted next time (this run started later than the last).
            self._changed = True

    def trusted(self, recorded: list[int], info: os.stat_result) -> bool:
        """Whether a path whose stamp was `recorded` by a run this pack comes from is
        unchanged now that its stat is `info` (`fresh`, against the pack's reference):
        the contract of every stamp kept in the pack's entries."""
        return len(recorded) == 4 and fresh(
            (recorded[0], recorded[1], recorded[2], recorded[3]), stamp_of(info), self._reference_ns
        )

    def forget_file(self, display: str) -> None:
        """Drop the record of a file whose content turned out not to be the one its
        stamp vouched for: the next run reads and hashes it."""
        if self._files_used.pop(display, None) is not None:
            self._changed = True

    def close_pack(self) -> None:
        """Write the pack when this run used entries it did not hold (or not all it
        held: it keeps only what the last run of its scope used) or hashed a file, and
        the facts file likewise, if this run looked facts up at all (one that did not
        leaves the last one's: lookups are by key)."""
        pack, facts = self._pack_path, self._facts_path
        if pack is None or facts is None:
            return
        known = self._facts_packed
        if known is not None and (self._facts_changed or self._facts_used.keys() != known.keys()):
            facts_body = json.dumps({"entries": self._facts_used}).encode()
            self._prune(facts, ".facts.json")
            self._replace(facts, lambda stream: stream.write(facts_body))
        if (
            self._changed
            or self._used.keys() != self._packed.keys()
            or self._files_used.keys() != self._files_packed.keys()
        ):
            body = json.dumps({"entries": self._used, "files": self._files_used})
            self._prune(pack, ".json")
            self._replace(pack, lambda stream: self._write_pack(stream, body))
        self._pack_path, self._packed, self._used = None, {}, {}
        self._facts_used = {}
        self._files_packed, self._files_used = {}, {}

    # Packs (and facts files) kept: the most recently written. Runs over ever-different
    # file sets, as pre-commit makes, would otherwise leave one each, forever.
    PACKS = 32

    def _prune(self, new: Path, suffix: str) -> None:
        """Before a new pack (or facts file) is first written: remove the least recently
        written ones of its kind beyond `PACKS - 1`. Removing one only makes a miss."""
        if new.exists():
            return
        with contextlib.suppress(OSError):
            found: list[tuple[int, str]] = []
            for entry in os.scandir(new.parent):
                facts = entry.name.endswith(".facts.json")
                if entry.name.endswith(suffix) and facts == (suffix == ".facts.json"):
                    found.append((entry.stat().st_mtime_ns, entry.path))
            found.sort()
            for _, stale in found[: max(0, len(found) - (self.PACKS - 1))]:
                with contextlib.suppress(OSError):
                    os.unlink(stale)

    def _write_pack(self, stream: BinaryIO, body: str) -> None:
        """Write the pack with its time reference: when this run started, on the file
        system's clock (the one file times come from, also on a network mount). The new
        (still empty) file's mtime is that clock now; minus the time since `open_pack`,
        taken after reading that mtime, it is at or before the start."""
        created = os.fstat(stream.fileno()).st_mtime_ns
        reference = created - (time.perf_counter_ns() - self._opened_ns)
        stream.write(f'{{"{_REFERENCE}": {reference}, {body[1:]}'.encode())

    def _write(self, target: Path, value: Any) -> None:
        body = json.dumps(value).encode()
        self._replace(target, lambda stream: stream.write(body))

    def _replace(self, target: Path, write: Callable[[BinaryIO], object]) -> None:
        root = str(self.directory)
        if root not in self._made:
            if not _prepare(self.directory):
                return
            self._made.add(root)
        folder = str(target.parent)
        if folder not in self._made:
            try:
                os.mkdir(folder)
            except FileExistsError:
                pass
            except OSError:
                return
            self._made.add(folder)
        self._temporaries += 1
        _replace(target, write, f"{self._unique}.{self._temporaries}")

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


def _name(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:32]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _prepare(root: Path) -> bool:
    """Create the versioned cache directory `root`; False when the disk refused."""
    try:
        prepare_directory(root.parent)
        root.mkdir(exist_ok=True)
    except OSError:
        return False
    return True


def _replace(target: Path, write: Callable[[BinaryIO], object], unique: str) -> bool:
    """Write `target` atomically (a reader sees the old file or the whole new one) in
    its existing directory, through a temporary named with `unique` (the process and a
    counter: no other writer uses it); False when the disk refused (read-only or full:
    that must not fail the run, we just lose the cache)."""
    temporary = f"{target}.{unique}.tmp"
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    return True


class DocumentCache:
    """Parsed configuration documents (the bundled rule YAML, a user's YAML or TOML
    configuration) by their text, in one file of a cache directory: a run whose
    configuration did not change imports no YAML or TOML parser (~15 ms) and parses
    nothing (~10 ms for the bundled rules). The key holds the parsing code's stamp.
    A document is kept only if JSON gives it back equal (no dates, no integer keys), and
    one that fails to parse raises before anything is kept: errors are never cached."""

    # Documents kept (the most recently added): the bundle, a few user configurations
    # and the exclude pattern lists found valid (`config._check_patterns`, up to four a
    # run).
    LIMIT = 16

    def __init__(self, directory: Path) -> None:
        self.root = directory / f"v{_FORMAT}"
        self.path = self.root / "documents.json"
        known = _read_json(self.path)
        self._known: dict[str, Any] = known if isinstance(known, dict) else {}
        self._added: dict[str, Any] = {}
        # Documents of other cache directories looked up too (`consult`), never
        # written here.
        self._consulted: dict[str, Any] = {}
        self._consulted_dirs: set[Path] = set()

    def parse(self, kind: str, texts: Mapping[str, str], parse: Callable[[Any], Any]) -> Any:
        """`parse(texts)`, or what it returned for the same texts before."""
        blob = "".join(f"{name}\0{text}\0" for name, text in texts.items())
        key = hashlib.sha256(f"{__version__}|{_code_stamp()}|{kind}|{blob}".encode()).hexdigest()
        for seen in (self._known, self._added, self._consulted):
            if key in seen:
                return seen[key]
        document = parse(texts)
        try:
            if json.loads(json.dumps(document)) == document:
                self._added[key] = document
        except (TypeError, ValueError):  # a date, a set: parsed again next time
            pass
        return document

    def consult(self, directory: Path) -> None:
        """Look documents up in the cache `directory` too (where a configuration may
        have moved the cache), without keeping them here."""
        if directory not in self._consulted_dirs:
            self._consulted_dirs.add(directory)
            self._consulted.update(DocumentCache(directory)._known)

    def adopt(self, other: DocumentCache) -> None:
        """Keep here what `other` parsed this run and this cache lacks (`other` will not
        be saved: the configuration moved the cache here)."""
        self._added.update((k, v) for k, v in other._added.items() if k not in self._known)

    def save(self) -> None:
        if not self._added:
            return
        kept = {**self._known, **self._added}
        kept = dict(list(kept.items())[-self.LIMIT :])
        body = json.dumps(kept).encode()
        if _prepare(self.root):
            _replace(self.path, lambda stream: stream.write(body), os.urandom(8).hex())
        self._known, self._added = kept, {}
