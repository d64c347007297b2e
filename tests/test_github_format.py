"""`--format github`: workflow commands that GitHub Actions turns into annotations."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leakguard.engine import RunResult
from leakguard.finding import FileError, FileResult, Finding, Severity
from leakguard.report import ReportOptions
from leakguard.report.github import escape_data, escape_property, write
from leakguard.testing import make_config

FIXTURE = Path(__file__).parent / "fixtures" / "integrations" / "project"
# The parser GitHub's runner applies (actions/runner ActionCommand.TryParseV2), reduced
# to its grammar: `::name k=v,k=v::data` with values unescaped afterwards.
_COMMAND = re.compile(r"^::(?P<name>[a-z]+)(?: (?P<props>[^:]*))?::(?P<data>.*)$")


def _unescape(value: str, property_value: bool) -> str:
    pairs = [("%0D", "\r"), ("%0A", "\n")]
    if property_value:
        pairs += [("%3A", ":"), ("%2C", ",")]
    for escaped, raw in [*pairs, ("%25", "%")]:
        value = value.replace(escaped, raw)
    return value


def _parse(line: str) -> tuple[str, dict[str, str], str]:
    match = _COMMAND.match(line)
    assert match, line
    properties: dict[str, str] = {}
    for field in (match["props"] or "").split(","):
        if field:
            key, _, value = field.partition("=")
            properties[key] = _unescape(value, property_value=True)
    return match["name"], properties, _unescape(match["data"], property_value=False)


def _finding(**changes: object) -> Finding:
    values: dict[str, object] = {
        "rule": "LG401",
        "name": "unsafe-deserialization",
        "severity": Severity.ERROR,
        "path": "pkg/app.py",
        "line": 9,
        "column": 12,
        "end_line": 9,
        "end_column": 30,
        "message": "`pickle.loads` runs code",
    }
    values.update(changes)
    return Finding(**values)  # type: ignore[arg-type]


def _lines(*findings: Finding, errors: tuple[FileError, ...] = ()) -> list[str]:
    out = io.StringIO()
    run = RunResult([FileResult("pkg/app.py", list(findings), list(errors))])
    write(run, out, ReportOptions(config=make_config(FIXTURE)))
    return out.getvalue().splitlines()


def test_finding_becomes_an_error_annotation() -> None:
    (line,) = _lines(_finding())
    assert line == (
        "::error file=pkg/app.py,line=9,col=12,endLine=9,endColumn=30,title=LG401"
        "::`pickle.loads` runs code"
    )


@pytest.mark.parametrize(
    ("severity", "command"),
    [(Severity.ERROR, "error"), (Severity.WARNING, "warning"), (Severity.NOTE, "notice")],
)
def test_severity_maps_to_command(severity: Severity, command: str) -> None:
    (line,) = _lines(_finding(severity=severity))
    assert _parse(line)[0] == command


def test_special_characters_are_escaped_and_round_trip() -> None:
    message = "100% bad:\r\nsecond line, with comma"
    path = "odd dir/a:b,c%.py"
    (line,) = _lines(_finding(message=message, path=path))
    assert "\n" not in line and "\r" not in line
    _, properties, data = _parse(line)
    assert data == message
    assert properties["file"] == path
    assert "100%25 bad:%0D%0Asecond line, with comma" in line
    assert "file=odd dir/a%3Ab%2Cc%25.py," in line


def test_escape_rules() -> None:
    assert escape_data("a%b\rc\nd:e,f") == "a%25b%0Dc%0Ad:e,f"
    assert escape_property("a%b\rc\nd:e,f") == "a%25b%0Dc%0Ad%3Ae%2Cf"


def test_multiline_finding_omits_end_column() -> None:
    (line,) = _lines(_finding(end_line=11, end_column=5))
    _, properties, _ = _parse(line)
    assert properties["endLine"] == "11"
    assert "endColumn" not in properties


def test_suppressed_findings_are_not_printed() -> None:
    assert _lines(_finding(suppressed=True)) == []


def test_parse_errors_are_file_level_errors() -> None:
    error = FileError("pkg/broken.py", "syntax error at line 5, column 1: bad")
    assert _lines(errors=(error,)) == [
        "::error file=pkg/broken.py::syntax error at line 5, column 1: bad"
    ]


def test_cli_prints_workflow_commands(tmp_path: Path) -> None:
    project = Path(shutil.copytree(FIXTURE, tmp_path / "project"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKGUARD_")}
    completed = subprocess.run(
        [sys.executable, "-m", "leakguard", "check", "--no-cache", "--format", "github", "."],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "NO_COLOR": "1", "CI": "1"},
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    parsed = [_parse(line) for line in completed.stdout.splitlines()]
    annotations = [(name, props.get("line"), props.get("title")) for name, props, _ in parsed]
    assert annotations == [
        ("error", "9", "LG401"),
        ("error", "13", "LG401"),
        ("error", "17", "LG401"),
        ("error", None, None),
    ]
    assert parsed[-1][1] == {"file": "broken.py"}
    assert all(props["file"] == "service.py" for _, props, _ in parsed[:3])
