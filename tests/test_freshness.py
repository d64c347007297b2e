"""A warm run decides "unchanged" from each file's stat stamp recorded in the run pack,
without reading the file, and only when that stamp is trustworthy: same size, mtime,
ctime and inode, and an mtime older than the start of the run that recorded it by more
than the timestamp granularity (git's "racy clean" rule). Everything else is read and
hashed as before, so a changed file is never served from the cache."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from leakguard import engine
from leakguard.cache import (
    COARSE_RACY_MARGIN_NS,
    RACY_MARGIN_NS,
    fresh,
)
from leakguard.config import Config
from leakguard.engine import RunResult, check
from leakguard.testing import make_config

HOUR_NS = 3600 * 10**9

SOURCES = {
    "app/loader.py": "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n",
    "app/util.py": "def helper(items):\n    out = []\n    for x in items:\n        out.append(x)\n",
    "app/__init__.py": "",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Sources last modified an hour ago: old enough to be trusted from their stat."""
    for name, text in SOURCES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        age(path)
    return tmp_path


def age(path: Path, mtime_ns: int | None = None) -> None:
    when = mtime_ns if mtime_ns is not None else path.stat().st_mtime_ns - HOUR_NS
    os.utime(path, ns=(when, when))


class Reads:
    """Which files a run read and hashed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.digests: list[bytes] = []
        original = engine.content_digest

        def counting(data: bytes) -> str:
            self.digests.append(data)
            return original(data)

        monkeypatch.setattr(engine, "content_digest", counting)

    def take(self) -> list[bytes]:
        taken, self.digests = self.digests, []
        return taken


def findings(run: RunResult) -> list[tuple[str, int, str]]:
    return [(f.path, f.line, f.rule) for f in run.findings]


def test_stamp_rule() -> None:
    now = 1_800_000_000 * 10**9 + 123_456_789
    stamp = (10, now - HOUR_NS, now - HOUR_NS, 7)
    assert fresh(stamp, stamp, now)
    for index in range(4):  # size, mtime, ctime, inode
        other = list(stamp)
        other[index] += 1
        assert not fresh(stamp, tuple(other), now)  # type: ignore[arg-type]
    # Modified within the granularity before the recording run started: racy.
    racy = (10, now - RACY_MARGIN_NS // 2, now - RACY_MARGIN_NS // 2, 7)
    assert not fresh(racy, racy, now)
    assert not fresh((10, now, now, 7), (10, now, now, 7), now)
    # Whole-second times may come from a file system storing seconds (or two).
    second = now - now % 10**9 - 10**9
    coarse = (10, second, second, 7)
    assert not fresh(coarse, coarse, second + COARSE_RACY_MARGIN_NS)
    assert fresh(coarse, coarse, second + COARSE_RACY_MARGIN_NS + 1)
    # No pack reference (0): nothing is trusted.
    assert not fresh(stamp, stamp, 0)


@pytest.fixture
def checked(project: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Reads, Config, RunResult]:
    """The project checked once (every file read): the reads counter (emptied), the
    configuration and the run."""
    reads = Reads(monkeypatch)
    config = make_config(project)
    cold = check([project], config, jobs=1)
    assert len(reads.take()) == len(SOURCES)
    return reads, config, cold


def test_unchanged_files_are_served_without_being_read(
    project: Path, checked: tuple[Reads, Config, RunResult]
) -> None:
    reads, config, cold = checked
    warm = check([project], config, jobs=1)
    assert reads.take() == []
    assert all(r.from_cache for r in warm.results)
    assert findings(warm) == findings(cold) and findings(cold)
    assert warm.lines == cold.lines


def test_same_size_and_mtime_but_new_content_is_analysed_again(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = Reads(monkeypatch)
    config = make_config(project)
    check([project], config, jobs=1)
    target = project / "app" / "loader.py"
    before = target.stat()
    # Same length, a different call; the old mtime put back as `touch -r` or a tool
    # restoring times would (the ctime still moves: no user-space call sets it).
    text = SOURCES["app/loader.py"].replace("pickle.loads(blob)", "pickle.dumps(blob)")
    target.write_text(text)
    age(target, before.st_mtime_ns)
    assert (target.stat().st_size, target.stat().st_mtime_ns) == (
        before.st_size,
        before.st_mtime_ns,
    )
    reads.take()
    run = check([project], config, jobs=1)
    # (The other files are read too if their findings depend on its project facts.)
    assert text.encode() in reads.take()
    assert "app/loader.py" not in {r.path for r in run.results if r.from_cache}
    assert not [f for f in run.findings if f.path == "app/loader.py" and f.rule == "LG401"]


def test_a_racy_file_is_hashed_again(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = Reads(monkeypatch)
    config = make_config(project)
    racy = project / "app" / "util.py"
    # Modified as the run starts (a time ahead of the run's start, so the test does not
    # depend on how soon the run starts after this line).
    age(racy, time.time_ns() + 10 * 10**9)
    check([project], config, jobs=1)
    reads.take()
    run = check([project], config, jobs=1)
    # Its stamp matches, but a write in the same clock tick could have kept it.
    assert reads.take() == [SOURCES["app/util.py"].encode()]
    assert all(r.from_cache for r in run.results)


def test_a_touched_but_unchanged_file_is_still_served(
    project: Path, checked: tuple[Reads, Config, RunResult]
) -> None:
    reads, config, cold = checked
    touched = project / "app" / "loader.py"
    os.utime(touched)
    run = check([project], config, jobs=1)
    assert reads.take() == [SOURCES["app/loader.py"].encode()]
    assert all(r.from_cache for r in run.results)
    assert findings(run) == findings(cold)


def pack_of(project: Path) -> Path:
    """The run pack (its facts file, `<name>.facts.json`, is beside it)."""
    [pack] = [
        p for p in (project / ".leakguard_cache").rglob("packs/*.json") if ".facts" not in p.name
    ]
    return pack


def test_a_trusted_file_without_cached_entries_is_read_and_analysed(project: Path) -> None:
    config = make_config(project)
    cold = check([project], config, jobs=1)
    pack = pack_of(project)
    document = json.loads(pack.read_text())
    document["entries"] = {}
    pack.write_text(json.dumps(document))
    for entry in (project / ".leakguard_cache").rglob("*.json"):
        if entry != pack:
            entry.unlink()
    run = check([project], config, jobs=1)
    assert not any(r.from_cache for r in run.results)
    assert findings(run) == findings(cold)


@pytest.mark.parametrize("select", [None, ["LG401"]])  # with project facts, without
def test_a_recorded_digest_that_no_longer_matches_is_never_served(
    project: Path, select: list[str] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file read after the run decided it unchanged (its entries were missing) and
    found different, as a file changed during the run would be: analysed as it is, its
    result not cached under the digest the stat promised, and its stamp forgotten."""
    config = make_config(project, **({"select": select} if select else {}))
    cold = check([project], config, jobs=1)
    pack = pack_of(project)
    document = json.loads(pack.read_text())
    stale = "0" * 32
    for record in document["files"].values():
        record[4] = stale
    pack.write_text(json.dumps(document))
    run = check([project], config, jobs=1)
    assert findings(run) == findings(cold)
    assert stale not in pack.read_text()
    reads = Reads(monkeypatch)
    again = check([project], config, jobs=1)
    assert len(reads.take()) == len(SOURCES)  # hashed: their stamps were dropped
    assert all(r.from_cache for r in again.results)
    assert findings(again) == findings(cold)


def test_a_corrupt_stamp_table_is_ignored(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(project)
    cold = check([project], config, jobs=1)
    pack = pack_of(project)
    document = json.loads(pack.read_text())
    for broken in ([], {"app/loader.py": "x"}, {"app/loader.py": [1, 2]}, None):
        document["files"] = broken
        pack.write_text(json.dumps(document))
        assert findings(check([project], config, jobs=1)) == findings(cold)
    document["reference_ns"] = "soon"
    pack.write_text(json.dumps(document))
    reads = Reads(monkeypatch)
    assert findings(check([project], config, jobs=1)) == findings(cold)
    assert len(reads.take()) == len(SOURCES)
