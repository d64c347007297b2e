"""The flake8 plugin, exercised through the real `flake8` executable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leakguard.analyzer import analyze_text
from leakguard.config import load_config

FIXTURE = Path(__file__).parent / "fixtures" / "integrations" / "flake8"
FORMAT = "%(path)s:%(row)d:%(col)d:%(code)s"
OPEN_FINDINGS = [
    "handlers.py:8:12:LG401",  # pickle.loads
    "handlers.py:12:16:LG401",  # multi-line yaml.load(...)
    "handlers.py:19:12:LG401",  # company.cache.restore, added by .leakguard.yaml
    "handlers.py:27:12:LG401",  # `noqa: E501` does not cover LG401
]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAKGUARD_", "FLAKE8"))}
    return {**env, "NO_COLOR": "1"}


def _flake8(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).parent / "flake8"
    command = str(executable) if executable.exists() else shutil.which("flake8")
    assert command, "flake8 is not installed (pip install -e .[dev])"
    return _run([command, "--isolated", "--format", FORMAT, *args], cwd)


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )


def _reported(completed: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in completed.stderr, completed.stderr
    return [line.removeprefix("./") for line in completed.stdout.splitlines()]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "project"))


def test_plugin_is_registered_with_flake8(project: Path) -> None:
    completed = _flake8(project, "--version")
    assert "leakguard" in completed.stdout


def test_reports_rule_code_at_line_and_column(project: Path) -> None:
    completed = _flake8(project, "--select", "LG", ".")
    assert completed.returncode == 1
    assert _reported(completed) == OPEN_FINDINGS


def test_columns_match_leakguard_check(project: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "leakguard", "check", "--no-cache", "--format", "json", "."],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )
    findings = json.loads(completed.stdout)["findings"]
    expected = [
        f"{f['path']}:{f['line']}:{f['column']}:{f['rule']}"
        for f in findings
        if not f["suppressed"]
    ]
    assert _reported(_flake8(project, "--select", "LG", ".")) == expected


def test_message_follows_the_code(project: Path) -> None:
    completed = _flake8(project, "--select", "LG", "--format", "default", "handlers.py")
    first = completed.stdout.splitlines()[0]
    assert first.startswith("handlers.py:8:12: LG401 `pickle.loads` ")


def test_disable_noqa_shows_noqa_findings_but_not_leakguard_ignores(project: Path) -> None:
    completed = _flake8(project, "--select", "LG", "--disable-noqa", ".")
    reported = _reported(completed)
    assert "handlers.py:23:12:LG401" in reported
    assert "handlers.py:31:12:LG401" not in reported
    assert len(reported) == len(OPEN_FINDINGS) + 1


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (["--select", "LG1"], []),
        (["--select", "LG4"], OPEN_FINDINGS),
        (["--select", "LG401"], OPEN_FINDINGS),
        (["--select", "LG", "--extend-ignore", "LG4"], []),
    ],
)
def test_flake8_selection_applies(project: Path, selection: list[str], expected: list[str]) -> None:
    completed = _flake8(project, *selection, ".")
    assert _reported(completed) == expected
    assert completed.returncode == (1 if expected else 0)


def test_leakguard_configuration_is_respected(project: Path) -> None:
    (project / ".leakguard.yaml").unlink()
    (project / "pyproject.toml").write_text(
        '[tool.leakguard]\nselect = ["LG401"]\n\n[tool.leakguard.per-file-ignores]\n'
        '"handlers.py" = ["LG401"]\n',
        encoding="utf-8",
    )
    assert _reported(_flake8(project, "--select", "LG", ".")) == []


def test_without_the_config_file_the_custom_call_is_not_flagged(project: Path) -> None:
    (project / ".leakguard.yaml").write_text("select: [LG401]\n", encoding="utf-8")
    reported = _reported(_flake8(project, "--select", "LG", "handlers.py"))
    assert "handlers.py:19:12:LG401" not in reported
    assert len(reported) == len(OPEN_FINDINGS) - 1


def test_clean_file_passes(project: Path) -> None:
    completed = _flake8(project, "--select", "LG", "clean.py")
    assert (completed.returncode, completed.stdout) == (0, "")


def test_noqa_is_left_to_the_host_but_leakguard_ignores_hold(tmp_path: Path) -> None:
    source = (
        "import pickle\n"
        'NOTE = "# noqa"\n'
        "a = pickle.loads(b)  # NoQA: LG401\n"
        "c = pickle.loads(d)  # leakguard: ignore[LG401]  # noqa: E501\n"
    )
    config = load_config([tmp_path])
    flake8_view = analyze_text(source, "m.py", config, noqa=False).findings
    assert [(f.line, f.suppressed) for f in flake8_view] == [(3, False), (4, True)]
    check_view = analyze_text(source, "m.py", config).findings
    assert [(f.line, f.suppressed) for f in check_view] == [(3, True), (4, True)]


# flake8 in one process (-j 1), reporting afterwards whether leakguard analysed anything:
# its analyser is the only thing in a flake8 run that imports LibCST.
_PROBE = (
    "import sys\n"
    "from flake8.main.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "print('libcst imported:', 'libcst' in sys.modules, file=sys.stderr)\n"
)


@pytest.mark.parametrize(
    ("selection", "analysed"),
    [
        (["--select", "E,F,W"], False),
        (["--select", "E,F,W,LG401"], True),
        (["--extend-select", "LG1"], True),
        (["--select", "E,LG", "--ignore", "LG"], False),
        ([], True),  # flake8's default selection includes installed plugins
    ],
)
def test_plugin_does_no_work_unless_flake8_can_report_lg(
    project: Path, selection: list[str], analysed: bool
) -> None:
    completed = _run(
        [sys.executable, "-c", _PROBE, "--isolated", "-j", "1", *selection, "."], project
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    assert f"libcst imported: {analysed}" in completed.stderr
    assert ("LG401" in completed.stdout) is (analysed and "--ignore" not in selection)


# flake8 in one process, counting the parses leakguard's analyser makes: LibCST's
# (`parse_module`) and its own `ast` parse for triage (`parse_triage`).
_COUNTING_PROBE = (
    "import json, sys\n"
    "import leakguard.analyzer as analyzer\n"
    "counts = {'libcst': 0, 'ast': 0}\n"
    "def counting(name, function):\n"
    "    def wrapper(*args, **kwargs):\n"
    "        counts[name] += 1\n"
    "        return function(*args, **kwargs)\n"
    "    return wrapper\n"
    "analyzer.parse_module = counting('libcst', analyzer.parse_module)\n"
    "analyzer.parse_triage = counting('ast', analyzer.parse_triage)\n"
    "from flake8.main.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "print('parses:', json.dumps(counts), file=sys.stderr)\n"
)


def _counted(project: Path, *args: str) -> tuple[list[str], dict[str, int]]:
    command = [sys.executable, "-c", _COUNTING_PROBE, "--isolated", "-j", "1"]
    completed = _run([*command, "--format", FORMAT, "--select", "LG", *args, "."], project)
    assert "Traceback" not in completed.stderr, completed.stderr
    [counts] = [line for line in completed.stderr.splitlines() if line.startswith("parses:")]
    return _reported(completed), json.loads(counts.removeprefix("parses:"))


def test_files_without_a_candidate_never_reach_libcst(project: Path) -> None:
    # clean.py and plain.py have no candidate site for any rule; handlers.py has.
    (project / "plain.py").write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    reported, parses = _counted(project, "--leakguard-no-cache")
    assert reported == OPEN_FINDINGS
    # Triage works on the `ast` tree flake8 hands the plugin: no second CPython parse.
    assert parses == {"libcst": 1, "ast": 0}
    assert not (project / ".leakguard_cache").exists()


def test_a_second_run_reads_the_result_cache(project: Path) -> None:
    assert _counted(project) == (OPEN_FINDINGS, {"libcst": 1, "ast": 0})
    assert (project / ".leakguard_cache").is_dir()
    assert _counted(project) == (OPEN_FINDINGS, {"libcst": 0, "ast": 0})
    handlers = project / "handlers.py"
    handlers.write_text(handlers.read_text(encoding="utf-8") + "\n\nX = 1\n", encoding="utf-8")
    assert _counted(project) == (OPEN_FINDINGS, {"libcst": 1, "ast": 0})
