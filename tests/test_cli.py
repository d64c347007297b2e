"""Command line (issue 2): `check` (default `.`), `rules`, `explain`, the options and
the exit codes (0 clean, 1 findings at or above --fail-on, 2 usage/configuration)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import leakguard
from leakguard.cli import main
from leakguard.config import bundled_rule_specs
from leakguard.registry import rule_classes

UNSAFE_LOAD = "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "app.py").write_text(UNSAFE_LOAD, encoding="utf-8")
    (tmp_path / "clean.py").write_text("VALUE = 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["check", "--format", "json", "--no-cache", "--select", "LG401", *args])
    return code, json.loads(capsys.readouterr().out)


def test_check_defaults_to_current_directory(project: Path, capsys) -> None:
    code, report = check_json(capsys)
    assert code == 1
    assert [(f["path"], f["line"]) for f in report["findings"]] == [("app.py", 5)]
    assert report["stats"]["files"] == 2


def test_check_named_paths(project: Path, capsys) -> None:
    code, report = check_json(capsys, "clean.py")
    assert (code, report["findings"], report["stats"]["files"]) == (0, [], 1)


@pytest.mark.parametrize(
    ("severity", "fail_on", "expected"),
    [
        ("error", None, 1),
        ("warning", None, 1),
        ("note", None, 0),
        ("note", "note", 1),
        ("warning", "error", 0),
        ("error", "error", 1),
        ("warning", "note", 1),
    ],
)
def test_fail_on_thresholds(project: Path, capsys, severity: str, fail_on, expected: int) -> None:
    (project / ".leakguard.yaml").write_text(f"severity:\n  LG401: {severity}\n")
    extra = ["--fail-on", fail_on] if fail_on else []
    code, _ = check_json(capsys, *extra)
    assert code == expected


def test_exit_zero_keeps_the_report(project: Path, capsys) -> None:
    code, report = check_json(capsys, "--exit-zero")
    assert code == 0 and len(report["findings"]) == 1


def test_select_and_ignore(project: Path, capsys) -> None:
    code, report = check_json(capsys, "--ignore", "LG401")
    assert (code, report["findings"]) == (0, [])
    code = main(["check", "--format", "json", "--no-cache", "--select", "LG4"])
    assert code == 1
    assert {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]} >= {"LG401"}


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "missing_dir"],
        ["check", "--jobs", "0"],
        ["check", "--select", "XX1"],
        ["check", "--fail-on", "fatal"],
        ["check", "--format", "yaml"],
        ["explain", "LG999"],
        ["no-such-command"],
        [],
    ],
)
def test_usage_errors_exit_2(project: Path, capsys, argv: list[str]) -> None:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse rejects bad choices itself
        code = exit_.code
    assert code == 2
    captured = capsys.readouterr()
    assert captured.err or captured.out.startswith("usage:")  # something explains it


def test_version(project: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"leakguard {leakguard.__version__}"


def test_rules_lists_every_rule(project: Path, capsys) -> None:
    assert main(["rules"]) == 0
    table = capsys.readouterr().out
    assert "\x1b" not in table
    for rule_id, spec in bundled_rule_specs().items():
        if rule_id in rule_classes():
            assert rule_id in table and spec.name in table
    assert main(["rules", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["id"] for row in rows} == set(rule_classes())


def test_explain_prints_the_doc_page(project: Path, capsys) -> None:
    assert main(["explain", "LG401"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("# LG401 unsafe-deserialization")
    assert "## What it does" in page and "## Use instead" in page
    assert main(["explain", "unsafe-deserialization"]) == 0  # by name too
    assert capsys.readouterr().out == page
    assert main(["explain", "lg401"]) == 0


def test_jobs_no_cache_and_cache(project: Path, capsys) -> None:
    code, report = check_json(capsys, "--jobs", "1")
    assert code == 1 and report["findings"]
    assert not (project / ".leakguard_cache").exists()  # --no-cache writes nothing
    assert main(["check", "-q", "--select", "LG401"]) == 1
    capsys.readouterr()
    assert (project / ".leakguard_cache").is_dir()


def test_quiet_statistics_and_output(project: Path, capsys, tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    code = main(["check", "--no-cache", "--select", "LG401", "--statistics", "-o", str(target)])
    assert code == 1
    assert capsys.readouterr().out == ""
    text = target.read_text(encoding="utf-8")
    assert "1  LG401  unsafe-deserialization [error]" in text


def test_module_entry_point_subprocess(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "leakguard", "check", "--select", "LG401", "--no-cache", "-q"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("app.py:5:12: LG401 [error]")


def test_progress_bar_only_on_a_terminal_and_after_two_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from leakguard import cli

    class FakeTerminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("CI", raising=False)
    with cli._progress_bar() as update:  # pytest's captured stderr is not a terminal
        assert update is None

    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    clock = [1000.0]
    monkeypatch.setattr(cli.time, "monotonic", lambda: clock[0])
    with cli._progress_bar() as update:
        assert update is not None
        update(1, 50)
        assert terminal.getvalue() == ""  # a short run never shows a bar
        clock[0] += 2.5
        update(2, 50)
        update(50, 50)
    assert "checking" in terminal.getvalue()
    assert sys.stdout is not terminal  # the bar never touches stdout (the report)
