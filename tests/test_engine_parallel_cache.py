"""Parallelism and caching (issue 2): the same findings with --jobs 1 and --jobs 2 (enough
files for the process pool), cold and warm cache (the warm run really comes from the
cache), invalidation on change, and corrupt or unwritable caches are never fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakguard.cli import main
from leakguard.engine import RunResult, check
from leakguard.testing import make_config

FILES = 20
TEMPLATE = '''\
import pickle
import yaml


class Store{n}:
    """Loads payloads for tenant {n}."""

    def __init__(self, path):
        self.path = path

    def read(self, blob):
        data = pickle.loads(blob){suppress}
        return data


async def handler_{n}(request):
    return yaml.load(request.body)
'''


def make_project(root: Path, files: int = FILES) -> None:
    for n in range(files):
        package = root / f"pkg{n % 3}"
        package.mkdir(exist_ok=True)
        suppress = "  # noqa: LG401" if n % 4 == 0 else ""
        (package / f"mod{n}.py").write_text(TEMPLATE.format(n=n, suppress=suppress))
    (root / "pkg0" / "broken.py").write_text("import pickle\ndef f(:\n")
    (root / "pkg1" / "clean.py").write_text("VALUE = 1\n")


def snapshot(run: RunResult) -> tuple[list[dict], list[dict], int, int]:
    return (
        [f.to_json() for f in run.findings],
        [e.to_json() for e in sorted(run.errors, key=lambda e: e.path)],
        run.files,
        run.lines,
    )


def test_same_findings_with_one_and_two_jobs(tmp_path: Path) -> None:
    make_project(tmp_path)
    for select in (["LG401"], None):  # LG401 alone, then every enabled rule
        user = {"select": select} if select else {}
        config = make_config(tmp_path, **user)
        serial = check([tmp_path], config, jobs=1, use_cache=False)
        parallel = check([tmp_path], config, jobs=2, use_cache=False)
        assert snapshot(serial) == snapshot(parallel)
    lg401 = [f for f in serial.findings if f.rule == "LG401"]
    assert len(lg401) == 2 * FILES
    assert sum(f.suppressed for f in lg401) == FILES // 4


def test_cli_json_is_identical_with_one_and_two_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    reports = []
    for jobs in ("1", "2"):
        main(["check", "--format", "json", "--no-cache", "--select", "LG401", "--jobs", jobs])
        document = json.loads(capsys.readouterr().out)
        document["stats"].pop("seconds")
        reports.append(document)
    assert reports[0] == reports[1]


def test_warm_cache_serves_every_file_with_identical_findings(tmp_path: Path) -> None:
    make_project(tmp_path)
    config = make_config(tmp_path, select=["LG401"])
    cold = check([tmp_path], config, jobs=2)
    assert not any(r.from_cache for r in cold.results)
    assert (tmp_path / ".leakguard_cache" / "CACHEDIR.TAG").is_file()
    warm = check([tmp_path], config, jobs=2)
    assert all(r.from_cache for r in warm.results)
    assert snapshot(warm) == snapshot(cold)
    # Fingerprints and source lines survive the round trip (baselines, SARIF, text).
    assert warm.findings == cold.findings


def test_cache_misses_on_change(tmp_path: Path) -> None:
    make_project(tmp_path, files=3)
    config = make_config(tmp_path, select=["LG401"])
    check([tmp_path], config, jobs=1)
    changed = tmp_path / "pkg1" / "mod1.py"
    original = changed.read_text()
    changed.write_text(original + "\nextra = pickle.loads(b'')\n")
    run = check([tmp_path], config, jobs=1)
    fresh = {r.path for r in run.results if not r.from_cache}
    assert fresh == {"pkg1/mod1.py"}
    assert [f.line for f in run.findings if f.path == "pkg1/mod1.py"][-1] == original.count(
        "\n"
    ) + 2
    # A configuration change (severity) must not reuse findings made under the old one.
    stricter = make_config(tmp_path, select=["LG401"], severity={"LG401": "note"})
    rerun = check([tmp_path], stricter, jobs=1)
    assert not any(r.from_cache for r in rerun.results if r.findings)
    assert {f.severity.value for f in rerun.findings} == {"note"}


def test_corrupt_cache_entries_are_ignored(tmp_path: Path) -> None:
    make_project(tmp_path)
    config = make_config(tmp_path)  # every rule: project facts too
    cold = check([tmp_path], config, jobs=1)
    entries = sorted((tmp_path / ".leakguard_cache").rglob("*.json"))
    assert len(entries) == 2  # the pack and its facts file
    corruptions = [
        b"",
        b"{not json",
        b"\xff\xfe\x00garbage",
        b"[]",
        b"null",
        b'{"entries": {"x": 1}, "files": {"pkg1/mod1.py": "x"}, "reference_ns": 1}',
        b'{"findings": [{"rule": 1}], "errors": [], "lines": 3}',
        b'{"findings": [], "errors": [], "lines": "many"}',
        b'{"findings": [], "errors": []}',
    ]
    for corruption in corruptions:
        for entry in entries:
            entry.write_bytes(corruption)
        recovered = check([tmp_path], config, jobs=1)
        assert snapshot(recovered) == snapshot(cold)
    # Corrupt entries inside a well-formed pack and facts file: each one is a miss.
    packs = sorted((tmp_path / ".leakguard_cache").rglob("packs/*.json"))
    assert len(packs) == 2
    for pack in packs:
        document = json.loads(pack.read_text())
        for index, key in enumerate(document["entries"]):
            document["entries"][key] = json.loads(corruptions[6 + index % 3])
        pack.write_text(json.dumps(document))
    assert snapshot(check([tmp_path], config, jobs=1)) == snapshot(cold)
    # Everything unreadable was analysed again and rewritten.
    again = check([tmp_path], config, jobs=1)
    assert all(r.from_cache for r in again.results)
    assert snapshot(again) == snapshot(cold)


def test_a_pack_that_cannot_be_written_is_not_fatal(tmp_path: Path) -> None:
    make_project(tmp_path, files=3)
    config = make_config(tmp_path)
    cold = check([tmp_path], config, jobs=1)
    packs = sorted((tmp_path / ".leakguard_cache").rglob("packs/*.json"))
    assert len(packs) == 2  # the pack and its facts file
    for pack in packs:
        pack.unlink()
        pack.mkdir()
    for _ in range(2):
        run = check([tmp_path], config, jobs=1)
        assert snapshot(run) == snapshot(cold)
        # Without a pack nothing but the facts (in their own files) is served.
        assert not any(r.from_cache for r in run.results)


def test_unusable_cache_directory_is_not_fatal(tmp_path: Path) -> None:
    make_project(tmp_path, files=3)
    (tmp_path / ".leakguard_cache").write_text("a file, not a directory\n")
    config = make_config(tmp_path, select=["LG401"])
    first = check([tmp_path], config, jobs=1)
    second = check([tmp_path], config, jobs=1)
    assert snapshot(first) == snapshot(second)
    assert len(first.findings) == 6


def test_a_warm_run_reads_its_entries_from_the_run_pack(tmp_path: Path) -> None:
    make_project(tmp_path)
    config = make_config(tmp_path)  # every rule: facts, digests and findings entries
    cold = check([tmp_path], config, jobs=1)
    packs = list((tmp_path / ".leakguard_cache").rglob("packs/*.json"))
    assert len(packs) == 2  # the pack and its facts file
    for entry in (tmp_path / ".leakguard_cache").rglob("*.json"):
        if entry not in packs:
            entry.unlink()
    warm = check([tmp_path], config, jobs=1)
    assert all(r.from_cache for r in warm.results)
    assert snapshot(warm) == snapshot(cold)
    # The pack is looked up by key: a changed file is analysed again, not served from it.
    changed = tmp_path / "pkg1" / "mod1.py"
    changed.write_text(changed.read_text() + "\nextra = pickle.loads(b'')\n")
    run = check([tmp_path], config, jobs=1)
    assert {r.path for r in run.results if not r.from_cache} == {"pkg1/mod1.py"}
    assert len([f for f in run.findings if f.path == "pkg1/mod1.py"]) == 3
