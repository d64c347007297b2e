"""Issue 15 items 1, 2, 6 and 7 through the real command line (in-process `main`):
monorepo paths, --force-exclude, concise output, --statistics, --show-settings,
--show-files, and the small inconsistencies."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leakguard.cli import main

UNSAFE = "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """A git repository with two projects, each with its own configuration."""
    repo = tmp_path / "repo"
    _write(repo / "backend" / "pyproject.toml", '[tool.leakguard]\nselect = ["LG401"]\n')
    _write(repo / "backend" / "app" / "m.py", UNSAFE)
    _write(repo / "ml" / ".leakguard.yaml", "select: [LG401]\nextend-exclude: [notebooks/]\n")
    _write(repo / "ml" / "train" / "job.py", UNSAFE)
    _write(repo / "ml" / "notebooks" / "scratch.py", UNSAFE)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
    return repo


def _run(
    cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    code = main(["check", "--no-cache", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _sarif_uris(document: dict[str, Any]) -> list[str]:
    results = document["runs"][0]["results"]
    return [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]


@pytest.mark.parametrize(
    ("where", "target", "config_dir", "shown"),
    [
        ("", "backend", "backend", "backend/app/m.py"),
        ("", "ml", "ml", "ml/train/job.py"),
        ("backend", ".", "backend", "app/m.py"),
        ("ml/train", ".", "ml", "job.py"),
        ("ml/train", "../../backend", "backend", "../../backend/app/m.py"),
    ],
)
def test_monorepo_paths_name_existing_files_from_any_directory(
    monorepo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    where: str,
    target: str,
    config_dir: str,
    shown: str,
) -> None:
    cwd = monorepo / where
    code, out, _ = _run(cwd, monkeypatch, capsys, target, "--format", "json")
    assert code == 1
    paths = [f["path"] for f in json.loads(out)["findings"]]
    assert paths == [shown]  # ml/notebooks is excluded by ml's own configuration
    assert (cwd / shown).is_file()

    _, out, _ = _run(cwd, monkeypatch, capsys, target)
    assert out.startswith(f"{shown}:5:12: LG401")

    _, out, _ = _run(cwd, monkeypatch, capsys, target, "--format", "github")
    assert f"file={shown.replace(':', '%3A')},line=5" in out

    _, out, _ = _run(cwd, monkeypatch, capsys, target, "--format", "sarif")
    document = json.loads(out)
    (uri,) = _sarif_uris(document)
    srcroot = document["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert srcroot == monorepo.resolve().as_uri() + "/"
    assert (monorepo / uri).is_file()
    assert uri.startswith(f"{config_dir}/")


def test_sarif_outside_git_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path / "svc" / ".leakguard.yaml", "select: [LG401]\n")
    _write(tmp_path / "svc" / "pkg" / "m.py", UNSAFE)
    _, out, _ = _run(tmp_path, monkeypatch, capsys, "svc", "--format", "sarif")
    document = json.loads(out)
    assert _sarif_uris(document) == ["svc/pkg/m.py"]
    base = document["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == tmp_path.resolve().as_uri() + "/"


def test_force_exclude_applies_excludes_to_files_named_explicitly(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    named = ["notebooks/scratch.py", "train/job.py"]
    _, out, _ = _run(monorepo / "ml", monkeypatch, capsys, *named, "--format", "json")
    assert [f["path"] for f in json.loads(out)["findings"]] == named  # explicit: checked
    _, out, _ = _run(
        monorepo / "ml", monkeypatch, capsys, *named, "--format", "json", "--force-exclude"
    )
    assert [f["path"] for f in json.loads(out)["findings"]] == ["train/job.py"]
    _write(
        monorepo / "ml" / ".leakguard.yaml",
        "select: [LG401]\nextend-exclude: [notebooks/]\nforce-exclude: true\n",
    )
    _, out, _ = _run(monorepo / "ml", monkeypatch, capsys, *named, "--format", "json")
    assert [f["path"] for f in json.loads(out)["findings"]] == ["train/job.py"]


def test_concise_prints_one_line_per_finding(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(monorepo, monkeypatch, capsys, "backend", "--output-format", "concise")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "backend/app/m.py:5:12: LG401 [error] `pickle.loads` unpickles its input"
    assert lines[1].startswith("Found 1 finding")
    assert len(lines) == 2  # no excerpt, no help


def test_statistics_alone_prints_only_the_table(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(monorepo / "backend" / "app" / "other.py", UNSAFE + "x = pickle.load(f)\n")
    code, out, _ = _run(monorepo, monkeypatch, capsys, "backend", "--statistics")
    assert code == 1
    assert out.splitlines() == ["     3  LG401  unsafe-deserialization [error]"]


def test_show_settings_and_show_files_explain_a_run_without_running_it(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(monorepo, monkeypatch, capsys, "ml", "--show-settings")
    assert code == 0
    assert f"config file: {(monorepo / 'ml' / '.leakguard.yaml').resolve()}" in out
    assert "enabled rules (1): LG401" in out
    assert "extend-exclude: notebooks/" in out
    assert "LG401" in out and "finding" not in out

    code, out, _ = _run(monorepo, monkeypatch, capsys, "ml", "--show-files")
    assert code == 0
    assert out.splitlines() == ["ml/train/job.py"]


@pytest.mark.parametrize(
    ("output_format", "findings"), [("text", 2000), ("json", 2000), ("text", 0)]
)
def test_broken_pipe_keeps_the_exit_status(
    tmp_path: Path, output_format: str, findings: int
) -> None:
    """`leakguard check | head -1`: the reader leaves early; the exit status still says
    whether there were findings."""
    body = "import pickle\n" + "x = pickle.loads(b)\n" * findings
    _write(tmp_path / "many.py", body + "y = 1\n" * 5000)
    _write(tmp_path / ".leakguard.yaml", "select: [LG401]\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "leakguard", "check", "--no-cache", "--format", output_format],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # as `head -1` does
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == (1 if findings else 0), stderr
    assert "Traceback" not in stderr


def test_rules_table_has_no_escape_codes_with_no_color(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")  # even when a terminal is claimed
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert "LG401" in out and "\x1b[" not in out


def test_write_baseline_keeps_stdout_for_the_report(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        monorepo, monkeypatch, capsys, "backend", "--format", "json", "--write-baseline", "b.json"
    )
    assert code == 0
    assert out == ""
    assert "wrote baseline with 1 findings to b.json" in err


def test_config_that_is_not_toml_or_yaml_is_named_as_such(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(monorepo / "x.py", "select = ['LG401']\n")
    code, _, err = _run(monorepo, monkeypatch, capsys, "backend", "--config", "x.py")
    assert code == 2
    assert "unsupported configuration file type '.py'" in err
    assert "YAML" not in err.split("expected")[0]


def test_output_file_gets_a_summary_on_stderr(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    report = Path(".leakguard_cache") / "leakguard.sarif"
    code, out, err = _run(
        monorepo, monkeypatch, capsys, "backend", "--format", "sarif", "--output", str(report)
    )
    assert code == 1 and out == ""
    assert re.search(r"1 finding in 1 file, 0 file errors; sarif report written to", err)
    assert "  backend/app/m.py:5:12: LG401" in err
    assert (monorepo / ".leakguard_cache" / ".gitignore").read_text() == "*\n"
