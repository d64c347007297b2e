"""The run pack and its facts file (issue 14, fifth pass): a cold run writes two files,
not one per entry; a fully warm run reads the pack alone; a run of another scope over
the same files reuses the facts; a changed file, a subtree run, a cache that cannot be
written and many scopes all stay correct (and bounded)."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leakguard import cache as cache_module
from leakguard import engine
from leakguard.cache import ResultCache
from leakguard.config import Config
from leakguard.engine import RunResult, check
from leakguard.testing import make_config

TEMPLATE = """\
import pickle
from pydantic import BaseModel


class Item{n}(BaseModel):
    names: list[str]


def load_{n}(blob):
    return pickle.loads(blob)


def collect_{n}(items):
    out = []
    for x in items:
        out.append(x)
    return out
"""


def make_project(root: Path, files: int = 6) -> None:
    for n in range(files):
        package = root / f"pkg{n % 2}"
        package.mkdir(exist_ok=True)
        (package / f"mod{n}.py").write_text(TEMPLATE.format(n=n))


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """Every rule (project facts too) over a project made in `tmp_path`."""
    make_project(tmp_path)
    return make_config(tmp_path)


def findings(run: RunResult) -> list[dict[str, Any]]:
    return [f.to_json() for f in run.findings]


def packs(root: Path, suffix: str = ".json") -> list[Path]:
    found = sorted((root / ".leakguard_cache").rglob("packs/*.json"))
    facts = suffix == ".facts.json"
    return [p for p in found if p.name.endswith(".facts.json") == facts]


class Tasks:
    """How many files each worker phase of a run was given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.counts: dict[str, int] = {}
        original = engine._map

        def counting(function: Callable[..., Any], items: list[Any], *args: Any) -> Any:
            name = function.__name__
            self.counts[name] = self.counts.get(name, 0) + len(items)
            return original(function, items, *args)

        monkeypatch.setattr(engine, "_map", counting)

    def facts(self) -> int:
        return self.counts.get("_facts_payload", 0) + self.counts.get(
            "_facts_and_findings_payload", 0
        )

    def take(self) -> dict[str, int]:
        taken, self.counts = self.counts, {}
        return taken


class Reads:
    """Which cache files a run read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[str] = []
        original = cache_module._read_json

        def reading(path: Path) -> Any:
            self.paths.append(path.name)
            return original(path)

        monkeypatch.setattr(cache_module, "_read_json", reading)


def test_a_cold_run_writes_the_pack_and_its_facts_file_only(tmp_path: Path) -> None:
    make_project(tmp_path)
    check([tmp_path], make_config(tmp_path), jobs=1)
    written = [p for p in (tmp_path / ".leakguard_cache").rglob("*") if p.is_file()]
    names = sorted(p.name for p in written if p.suffix == ".json")
    assert len(names) == 2
    assert [n.endswith(".facts.json") for n in names].count(True) == 1
    assert not [p for p in written if p.name.endswith(".tmp")]


def test_a_fully_warm_run_reads_the_pack_but_not_the_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    cold = check([tmp_path], config, jobs=1)
    [facts_file] = packs(tmp_path, ".facts.json")
    written = facts_file.stat().st_mtime_ns
    reads = Reads(monkeypatch)
    warm = check([tmp_path], config, jobs=1)
    assert all(r.from_cache for r in warm.results)
    assert findings(warm) == findings(cold)
    assert reads.paths and not [p for p in reads.paths if p.endswith(".facts.json")]
    assert facts_file.stat().st_mtime_ns == written
    # Fixing files after such a run re-analyses them with the run's facts: read on demand.
    project = warm.project_index()
    assert cold.project is not None and project is not None
    assert project.facts == cold.project.facts
    assert any(p.endswith(".facts.json") for p in reads.paths)


def test_a_changed_file_in_a_warm_tree_is_analysed_with_every_files_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    check([tmp_path], config, jobs=1)
    check([tmp_path], config, jobs=1)  # fully warm: the facts file is not read
    changed = tmp_path / "pkg1" / "mod3.py"
    changed.write_text(
        changed.read_text() + "\n\ndef again(blob):\n    return pickle.loads(blob)\n"
    )
    tasks = Tasks(monkeypatch)
    run = check([tmp_path], config, jobs=1)
    assert tasks.facts() == 1  # the other files' facts come from the facts file
    assert findings(run) == findings(check([tmp_path], config, jobs=1, use_cache=False))
    assert {r.path for r in run.results if not r.from_cache} >= {"pkg1/mod3.py"}
    tasks.take()
    again = check([tmp_path], config, jobs=1)
    assert all(r.from_cache for r in again.results)
    assert tasks.take() == {}
    assert findings(again) == findings(run)


def test_another_scope_over_the_same_files_reuses_the_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    plain = check([tmp_path], config, jobs=1)
    tasks = Tasks(monkeypatch)
    # A JSON or SARIF report computes fixes: another scope, other findings entries.
    with_fixes = check([tmp_path], config, jobs=1, fixes=True)
    assert tasks.facts() == 0
    assert tasks.take().get("_analyse_payload") == len(with_fixes.results)
    assert findings(with_fixes) == findings(plain)
    # Each scope has its pack; the two share one facts file.
    assert len(packs(tmp_path)) == 2
    assert len(packs(tmp_path, ".facts.json")) == 1
    assert all(r.from_cache for r in check([tmp_path], config, jobs=1).results)
    assert tasks.take() == {}


def test_the_second_scopes_warm_run_reads_its_pack_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    check([tmp_path], config, jobs=1)
    # Its dependency digests came from beside the facts: its pack must keep them too.
    with_fixes = check([tmp_path], config, jobs=1, fixes=True)
    reads = Reads(monkeypatch)
    again = check([tmp_path], config, jobs=1, fixes=True)
    assert all(r.from_cache for r in again.results)
    assert findings(again) == findings(with_fixes)
    assert reads.paths and not [p for p in reads.paths if p.endswith(".facts.json")]


def test_a_subtree_run_is_correct_and_leaves_the_whole_trees_pack(
    tmp_path: Path, config: Config
) -> None:
    whole = check([tmp_path], config, jobs=1)
    subtree = check([tmp_path / "pkg1"], config, jobs=1)
    assert findings(subtree) == findings(check([tmp_path / "pkg1"], config, use_cache=False))
    warm = check([tmp_path], config, jobs=1)
    assert all(r.from_cache for r in warm.results)
    assert findings(warm) == findings(whole)


def test_a_cache_that_cannot_be_written_is_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Config
) -> None:
    expected = findings(check([tmp_path], config, jobs=1, use_cache=False))
    cache_dir = str(tmp_path / ".leakguard_cache")
    real_open, real_mkdir = os.open, os.mkdir

    def read_only_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith(cache_dir) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    def read_only_mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if str(path).startswith(cache_dir):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        real_mkdir(path, *args, **kwargs)

    with monkeypatch.context() as patched:  # a read-only disk, the cache not yet made
        patched.setattr(os, "open", read_only_open)
        patched.setattr(os, "mkdir", read_only_mkdir)
        assert findings(check([tmp_path], config, jobs=1)) == expected
    assert not (tmp_path / ".leakguard_cache" / "v1").exists()
    cold = check([tmp_path], config, jobs=1)
    [pack] = packs(tmp_path)
    before = pack.read_bytes()
    changed = tmp_path / "pkg0" / "mod0.py"
    changed.write_text(changed.read_text() + "\nextra = pickle.loads(b'')\n")

    real_fdopen = os.fdopen

    class FullDisk:
        """A stream on a full disk: every write fails."""

        def __init__(self, handle: int, *args: Any) -> None:
            self.stream = real_fdopen(handle, *args)

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *args: object) -> None:
            self.stream.close()

        def fileno(self) -> int:
            return self.stream.fileno()

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(cache_module.os, "fdopen", FullDisk)
        run = check([tmp_path], config, jobs=1)
    assert findings(run) == findings(check([tmp_path], config, jobs=1, use_cache=False))
    assert findings(run) != findings(cold)
    # A reader still sees the whole old pack, and no temporary is left behind.
    assert pack.read_bytes() == before
    assert not list((tmp_path / ".leakguard_cache").rglob("*.tmp"))


def test_packs_of_many_scopes_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ResultCache, "PACKS", 3)
    make_project(tmp_path, files=6)
    config = make_config(tmp_path)
    targets = sorted(tmp_path.rglob("mod*.py"))
    for target in targets:  # six scopes, as pre-commit's ever-different file sets make
        check([target], config, jobs=1)
    assert len(packs(tmp_path)) == 3
    # The partial runs of one project share its facts file (`ResultCache.share_facts`):
    # `pkg0` and `pkg1` are no packages, so each folder is a project of its own.
    assert len(packs(tmp_path, ".facts.json")) == 2
    # The latest scope's pack is among those kept: its next run is served from it.
    assert all(r.from_cache for r in check([targets[-1]], config, jobs=1).results)


def test_the_pack_time_reference_is_not_after_the_run_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pack's reference (on the file system's clock) is at or before any file time
    the run could have seen: a file written as the run starts is never newer."""
    make_project(tmp_path)
    probe = tmp_path / "probe.txt"
    original = engine.discover_cached

    def discover(*args: Any, **kwargs: Any) -> Any:
        probe.write_text("the run has started")  # first thing after the pack is opened
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, "discover_cached", discover)
    check([tmp_path / "pkg0"], make_config(tmp_path), jobs=1)
    [pack] = packs(tmp_path)
    reference = json.loads(pack.read_text())["reference_ns"]
    assert isinstance(reference, int)
    assert reference <= probe.stat().st_mtime_ns
