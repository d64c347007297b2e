"""Configuration (issue 2): bundled rules, user overrides from pyproject.toml /
.leakguard.yaml (found by walking up from the target) or --config, and validation
errors that name the file and the key (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from leakguard.cli import main

UNSAFE_LOAD = "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n"
CUSTOM_LOAD = "import mylib\n\n\ndef load(blob):\n    return mylib.unsafe_load(blob)\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict | None, str]:
    """Run `leakguard check --format json` in `tmp_path`: (exit code, report, stderr)."""
    monkeypatch.chdir(tmp_path)
    code = main(["check", "--format", "json", "--no-cache", *args])
    captured = capsys.readouterr()
    report = json.loads(captured.out) if captured.out.strip() else None
    return code, report, captured.err


def reported(report: dict | None) -> set[tuple[str, int, str]]:
    assert report is not None
    return {(f["path"], f["line"], f["rule"]) for f in report["findings"] if not f["suppressed"]}


def test_bundled_rules_apply_without_user_config(tmp_path, monkeypatch, capsys) -> None:
    write(tmp_path / "app.py", UNSAFE_LOAD)
    code, report, _ = run(tmp_path, monkeypatch, capsys, "--select", "LG401")
    assert code == 1
    assert reported(report) == {("app.py", 5, "LG401")}


def test_pyproject_select_and_per_rule_list_extension(tmp_path, monkeypatch, capsys) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "demo"\n\n[tool.leakguard]\nselect = ["LG401"]\n\n'
        '[tool.leakguard.rules.LG401]\nextend_unsafe_calls = ["mylib.unsafe_load"]\n',
    )
    write(tmp_path / "builtin.py", UNSAFE_LOAD)
    write(tmp_path / "custom.py", CUSTOM_LOAD)
    code, report, _ = run(tmp_path, monkeypatch, capsys)
    assert code == 1
    # The extension adds to the bundled list rather than replacing it.
    assert reported(report) == {("builtin.py", 5, "LG401"), ("custom.py", 5, "LG401")}


def test_yaml_config_is_found_by_walking_up_from_the_target(tmp_path, monkeypatch, capsys) -> None:
    project = tmp_path / "project"
    write(project / ".leakguard.yaml", "select: [LG401]\nignore: [LG401]\n")
    write(project / "src" / "pkg" / "mod.py", UNSAFE_LOAD)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, report, _ = run(elsewhere, monkeypatch, capsys, str(project / "src" / "pkg"))
    assert code == 0
    assert reported(report) == set()


def test_pyproject_without_our_table_is_skipped_on_the_way_up(
    tmp_path, monkeypatch, capsys
) -> None:
    write(tmp_path / "pyproject.toml", '[tool.leakguard]\nselect = ["LG401"]\nignore = ["LG401"]\n')
    write(tmp_path / "sub" / "pyproject.toml", '[project]\nname = "sub"\n')
    write(tmp_path / "sub" / "mod.py", UNSAFE_LOAD)
    code, report, _ = run(tmp_path / "sub", monkeypatch, capsys, ".")
    assert (code, reported(report)) == (0, set())


def test_explicit_config_file_wins_over_discovered_one(tmp_path, monkeypatch, capsys) -> None:
    write(tmp_path / ".leakguard.yaml", "ignore: [LG401]\n")
    explicit = write(tmp_path / "ci" / "strict.yaml", "select: [LG401]\n")
    write(tmp_path / "app.py", UNSAFE_LOAD)
    code, report, _ = run(tmp_path, monkeypatch, capsys, "--config", str(explicit))
    assert code == 1
    assert reported(report) == {("app.py", 5, "LG401")}


def test_severity_override_changes_findings_and_fail_on(tmp_path, monkeypatch, capsys) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.leakguard]\nselect = ["LG401"]\n\n[tool.leakguard.severity]\nLG401 = "note"\n',
    )
    write(tmp_path / "app.py", UNSAFE_LOAD)
    code, report, _ = run(tmp_path, monkeypatch, capsys)
    assert report is not None
    assert [f["severity"] for f in report["findings"]] == ["note"]
    assert code == 0  # default --fail-on warning
    code, _, _ = run(tmp_path, monkeypatch, capsys, "--fail-on", "note")
    assert code == 1


def test_per_file_ignores_turn_rules_off_for_matching_paths(tmp_path, monkeypatch, capsys) -> None:
    write(
        tmp_path / ".leakguard.yaml",
        "select: [LG401]\nper-file-ignores:\n  'legacy/*.py': [LG401]\n  'scripts/': [LG4]\n",
    )
    write(tmp_path / "legacy" / "old.py", UNSAFE_LOAD)
    write(tmp_path / "scripts" / "tool.py", UNSAFE_LOAD)
    write(tmp_path / "app.py", UNSAFE_LOAD)
    _, report, _ = run(tmp_path, monkeypatch, capsys)
    assert reported(report) == {("app.py", 5, "LG401")}


def test_exclude_and_extend_exclude_from_config(tmp_path, monkeypatch, capsys) -> None:
    write(
        tmp_path / ".leakguard.yaml",
        "select: [LG401]\nextend-exclude: ['generated/', 'skip_me.py']\n",
    )
    write(tmp_path / "generated" / "gen.py", UNSAFE_LOAD)
    write(tmp_path / "skip_me.py", UNSAFE_LOAD)
    write(tmp_path / ".venv" / "lib.py", UNSAFE_LOAD)  # default excludes still apply
    write(tmp_path / "app.py", UNSAFE_LOAD)
    _, report, _ = run(tmp_path, monkeypatch, capsys)
    assert reported(report) == {("app.py", 5, "LG401")}


def test_extend_select_adds_to_select(tmp_path, monkeypatch, capsys) -> None:
    write(tmp_path / ".leakguard.yaml", "select: []\nextend-select: [LG401]\n")
    write(tmp_path / "app.py", UNSAFE_LOAD)
    _, report, _ = run(tmp_path, monkeypatch, capsys)
    assert reported(report) == {("app.py", 5, "LG401")}


def test_command_line_select_and_ignore_override_config(tmp_path, monkeypatch, capsys) -> None:
    write(tmp_path / ".leakguard.yaml", "ignore: [LG401]\n")
    write(tmp_path / "app.py", UNSAFE_LOAD)
    code, report, _ = run(tmp_path, monkeypatch, capsys, "--select", "LG401")
    assert (code, reported(report)) == (1, {("app.py", 5, "LG401")})
    code, report, _ = run(tmp_path, monkeypatch, capsys, "--select", "LG401", "--ignore", "LG4")
    assert (code, reported(report)) == (0, set())


@pytest.mark.parametrize(
    ("file_name", "content", "key"),
    [
        ("pyproject.toml", "[tool.leakguard]\nselekt = ['LG401']\n", "tool.leakguard.selekt"),
        ("pyproject.toml", "[tool.leakguard]\nselect = ['LG999']\n", "tool.leakguard.select"),
        ("pyproject.toml", "[tool.leakguard]\nselect = 'LG401'\n", "tool.leakguard.select"),
        ("pyproject.toml", "[tool.leakguard]\nexclude = 3\n", "tool.leakguard.exclude"),
        (
            "pyproject.toml",
            "[tool.leakguard.severity]\nLG999 = 'note'\n",
            "tool.leakguard.severity.LG999",
        ),
        (
            "pyproject.toml",
            "[tool.leakguard.severity]\nLG401 = 'fatal'\n",
            "tool.leakguard.severity.LG401",
        ),
        (
            "pyproject.toml",
            "[tool.leakguard.rules.LG999]\nx = 1\n",
            "tool.leakguard.rules.LG999",
        ),
        (
            "pyproject.toml",
            "[tool.leakguard.rules.LG401]\ntorch_before_2_6 = 'yes'\n",
            "tool.leakguard.rules.LG401.torch_before_2_6",
        ),
        (
            "pyproject.toml",
            "[tool.leakguard.rules.LG401]\nno_such_option = 1\n",
            "tool.leakguard.rules.LG401.no_such_option",
        ),
        (
            "pyproject.toml",
            "[tool.leakguard.rules.LG401]\nextend_unsafe_calls = 3\n",
            "tool.leakguard.rules.LG401.extend_unsafe_calls",
        ),
        (
            "pyproject.toml",
            "[tool.leakguard]\nmax-file-size = -1\n",
            "tool.leakguard.max-file-size",
        ),
        ("pyproject.toml", "[tool.leakguard\nselect = []\n", "<document>"),
        (".leakguard.yaml", "per-file-ignores:\n  'a.py': LG401\n", "per-file-ignores.a.py"),
        (".leakguard.yaml", "select: [LG401\n", "<document>"),
        (".leakguard.yaml", "- select\n", "<document>"),
        (".leakguard.yaml", "fail-on: fatal\n", "fail-on"),
    ],
)
def test_invalid_config_exits_2_naming_file_and_key(
    tmp_path, monkeypatch, capsys, file_name: str, content: str, key: str
) -> None:
    write(tmp_path / file_name, content)
    write(tmp_path / "app.py", UNSAFE_LOAD)
    code, report, stderr = run(tmp_path, monkeypatch, capsys)
    assert code == 2
    assert report is None  # no partial report on a configuration error
    assert "configuration error" in stderr
    assert f"{tmp_path / file_name}: {key}:" in stderr


def test_missing_explicit_config_file_is_a_configuration_error(
    tmp_path, monkeypatch, capsys
) -> None:
    write(tmp_path / "app.py", UNSAFE_LOAD)
    code, _, stderr = run(tmp_path, monkeypatch, capsys, "--config", "nope.toml")
    assert code == 2
    assert "nope.toml" in stderr


def test_unknown_rule_on_command_line_exits_2(tmp_path, monkeypatch, capsys) -> None:
    write(tmp_path / "app.py", UNSAFE_LOAD)
    code, _, stderr = run(tmp_path, monkeypatch, capsys, "--select", "LG999")
    assert code == 2
    assert "--select" in stderr and "LG999" in stderr


def test_unrelated_broken_pyproject_is_not_our_business(tmp_path, monkeypatch, capsys) -> None:
    write(tmp_path / "pyproject.toml", "[project\nname = 'x'\n")
    write(tmp_path / "app.py", UNSAFE_LOAD)
    code, report, _ = run(tmp_path, monkeypatch, capsys, "--select", "LG401")
    assert (code, reported(report)) == (1, {("app.py", 5, "LG401")})


def test_a_retired_option_is_a_warning_naming_the_key_not_a_failed_run(tmp_path: Path) -> None:
    """LG202's v1 lists went with v1.1; configs that still set them must keep working."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.leakguard.rules.LG202]\ncheap_calls = ["mylib.fast"]\n'
    )
    (tmp_path / "a.py").write_text("async def handler():\n    return 1\n")
    done = subprocess.run(
        [sys.executable, "-m", "leakguard", "check", str(tmp_path), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    errors = json.loads(done.stdout)["errors"]
    assert [e["level"] for e in errors] == ["warning"]
    assert errors[0]["path"].endswith("pyproject.toml")
    assert errors[0]["message"].startswith("tool.leakguard.rules.LG202.cheap_calls: ignored:")
