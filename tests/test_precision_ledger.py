"""The precision ledger script on a tiny fake corpus (the real corpus needs network)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def precision(load_bench_script: Callable[[str, str], ModuleType]) -> ModuleType:
    return load_bench_script("bench/precision/precision.py", "bench_precision")


def _corpus(tmp_path: Path) -> Path:
    source = tmp_path / "src" / "pkg-1.0" / "app.py"
    source.parent.mkdir(parents=True)
    source.write_text("import pickle\nx = pickle.loads(b)\ny = pickle.loads(c)\nz = 1\n")
    return tmp_path


def _report(*findings: tuple[str, int]) -> dict[str, object]:
    return {
        "findings": [
            {"rule": rule, "path": "src/pkg-1.0/app.py", "line": line, "suppressed": False}
            for rule, line in findings
        ]
    }


def test_precision_counts_right_and_wrong_not_arguable(
    precision: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _corpus(tmp_path)
    report = tmp_path / "findings.json"
    report.write_text(json.dumps(_report(("LG401", 2), ("LG401", 3), ("LG402", 4))))
    ledger = tmp_path / "ledger.tsv"

    assert (
        precision.main(
            ["--findings", str(report), "--root", str(root), "--ledger", str(ledger), "--add", "5"]
        )
        == 0
    )
    rows = precision.read_ledger(ledger)
    assert sorted((r.package, r.location, r.rule, r.verdict) for r in rows) == [
        ("pkg-1.0", "src/pkg-1.0/app.py:2", "LG401", "?"),
        ("pkg-1.0", "src/pkg-1.0/app.py:3", "LG401", "?"),
        ("pkg-1.0", "src/pkg-1.0/app.py:4", "LG402", "?"),
    ]
    verdicts = {
        "src/pkg-1.0/app.py:2": "right",
        "src/pkg-1.0/app.py:3": "wrong",
        "src/pkg-1.0/app.py:4": "arguable",
    }
    precision.write_ledger(
        ledger, [dataclasses.replace(r, verdict=verdicts[r.location]) for r in rows]
    )

    current = precision.findings_rows(json.loads(report.read_text()), root)
    judged, untriaged = precision.match(current, precision.read_ledger(ledger))
    tallies = precision.tally(judged, untriaged)
    assert untriaged == []
    assert tallies["all"].precision == 0.5
    assert tallies["LG402"].precision is None and tallies["LG402"].arguable == 1

    capsys.readouterr()
    precision.main(["--findings", str(report), "--root", str(root), "--ledger", str(ledger)])
    assert "| all | 3 | 3 | 1 | 1 | 1 | 0.500 |" in capsys.readouterr().out


def test_verdicts_follow_a_finding_that_moved_and_new_ones_are_untriaged(
    precision: ModuleType, tmp_path: Path
) -> None:
    root = _corpus(tmp_path)
    text = "src/pkg-1.0/app.py"
    digest = precision.line_hash("x = pickle.loads(b)")
    ledger = [precision.Row("pkg-1.0", f"{text}:7", "LG401", digest, "right", "untrusted bytes")]
    # Same text now reported on line 2 (e.g. a position fix), plus a finding never seen.
    current = precision.findings_rows(_report(("LG401", 2), ("LG401", 3)), root)
    judged, untriaged = precision.match(current, ledger)
    assert [(r.location, r.verdict) for r in judged] == [(f"{text}:2", "right")]
    assert [r.location for r in untriaged] == [f"{text}:3"]


def test_a_changed_line_loses_its_verdict(precision: ModuleType, tmp_path: Path) -> None:
    root = _corpus(tmp_path)
    stale = precision.Row(
        "pkg-1.0", "src/pkg-1.0/app.py:2", "LG401", precision.line_hash("old text"), "wrong"
    )
    judged, untriaged = precision.match(
        precision.findings_rows(_report(("LG401", 2)), root), [stale]
    )
    assert judged == [] and len(untriaged) == 1


def test_unknown_verdict_is_refused(precision: ModuleType, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.tsv"
    precision.write_ledger(ledger, [precision.Row("p", "a.py:1", "LG401", "h", "maybe")])
    with pytest.raises(SystemExit):
        precision.read_ledger(ledger)


def test_per_package_sample_gives_each_package_its_share_of_one_severity(
    precision: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = "".join(f"x{i} = {i}\n" for i in range(12))
    for package in ("big-1.0", "small-1.0"):
        source = tmp_path / "src" / package / "app.py"
        source.parent.mkdir(parents=True)
        source.write_text(lines)
    findings = [
        {"rule": "LG301", "path": "src/big-1.0/app.py", "line": n, "severity": "error"}
        for n in range(1, 11)
    ]
    findings += [
        {"rule": "LG301", "path": "src/small-1.0/app.py", "line": n, "severity": sev}
        for n, sev in ((1, "error"), (2, "error"), (3, "note"), (4, "note"))
    ]
    findings.append(
        {"rule": "LG401", "path": "src/small-1.0/app.py", "line": 5, "severity": "error"}
    )
    report = tmp_path / "findings.json"
    report.write_text(json.dumps({"findings": findings}))
    ledger = tmp_path / "ledger.tsv"
    # One finding of the big package is judged already: it counts towards its share.
    judged_line = "src/big-1.0/app.py:1"
    precision.write_ledger(
        ledger,
        [precision.Row("big-1.0", judged_line, "LG301", precision.line_hash("x0 = 0"), "right")],
    )
    base = ["--findings", str(report), "--root", str(tmp_path), "--ledger", str(ledger)]

    precision.main([*base, "--add", "3", "--per-package", "--rule", "LG301", "--severity", "error"])

    rows = precision.read_ledger(ledger)
    added = [r for r in rows if r.verdict == "?"]
    per_package = {p: sum(1 for r in added if r.package == p) for p in ("big-1.0", "small-1.0")}
    assert per_package == {"big-1.0": 2, "small-1.0": 2}
    assert {r.rule for r in added} == {"LG301"}
    # Only the error findings of the small package: its lines 3 and 4 are notes.
    assert sorted(r.location for r in added if r.package == "small-1.0") == [
        "src/small-1.0/app.py:1",
        "src/small-1.0/app.py:2",
    ]
    # Stable: the same call again adds nothing, every share is full.
    precision.main([*base, "--add", "3", "--per-package", "--rule", "LG301", "--severity", "error"])
    assert len(precision.read_ledger(ledger)) == len(rows)

    # A rule reported at two severities gets a row per severity in the figures.
    capsys.readouterr()
    precision.main(base)
    out = capsys.readouterr().out
    assert "| LG301/error | 12 | 1 | 1 | 0 | 0 | 1.000 |" in out
    assert "| LG301/note | 2 | 0 | 0 | 0 | 0 | n/a |" in out
    assert "LG401/" not in out
    assert "| all | 15 | 1 | 1 | 0 | 0 | 1.000 |" in out


def test_a_moved_finding_never_takes_the_row_of_a_finding_at_its_own_line(
    precision: ModuleType, tmp_path: Path
) -> None:
    # Two lines of the same text; only the second was triaged. The first finding (earlier
    # in report order) has no row of its own and must stay untriaged, not take the row
    # of line 3 as a "moved" finding (which left line 3 untriaged and re-sampled).
    source = tmp_path / "src" / "pkg-1.0" / "app.py"
    source.parent.mkdir(parents=True)
    source.write_text("import pickle\nx = pickle.loads(b)\nx = pickle.loads(b)\n")
    text = "src/pkg-1.0/app.py"
    digest = precision.line_hash("x = pickle.loads(b)")
    ledger = [precision.Row("pkg-1.0", f"{text}:3", "LG401", digest, "right", "untrusted")]
    judged, untriaged = precision.match(
        precision.findings_rows(_report(("LG401", 2), ("LG401", 3)), tmp_path), ledger
    )
    assert [(r.location, r.verdict) for r in judged] == [(f"{text}:3", "right")]
    assert [r.location for r in untriaged] == [f"{text}:2"]
