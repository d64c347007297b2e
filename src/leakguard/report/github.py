"""`--format github`: GitHub Actions workflow commands, shown as annotations on the diff.

    ::error file=app.py,line=9,col=12,endLine=9,endColumn=30,title=LG401::message

Values are escaped per the workflow-command rules (actions/toolkit `command.ts`): data
escapes `%`, CR and LF; property values also escape `:` and `,`, which would otherwise
end the value.
"""

from __future__ import annotations

from typing import TextIO

from leakguard.engine import RunResult
from leakguard.finding import FileError, Finding, Severity
from leakguard.report import ReportOptions

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _command(name: str, properties: dict[str, str | int], message: str) -> str:
    fields = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{name} {fields}::{escape_data(message)}"


def finding_command(finding: Finding) -> str:
    properties: dict[str, str | int] = {
        "file": finding.path,
        "line": finding.line,
        "col": finding.column,
        "endLine": finding.end_line,
    }
    # GitHub only honours endColumn for single-line annotations.
    if finding.end_line == finding.line:
        properties["endColumn"] = finding.end_column
    properties["title"] = finding.rule
    # The annotation body shows line breaks: the message, then how to fix it.
    text = f"{finding.message}\nhelp: {finding.help}" if finding.help else finding.message
    return _command(_COMMAND[finding.severity], properties, text)


def error_command(error: FileError) -> str:
    return _command(error.level, {"file": error.path}, error.message)


def write(run: RunResult, out: TextIO, options: ReportOptions) -> None:
    for finding in run.findings:
        if not finding.suppressed:
            out.write(finding_command(finding) + "\n")
    for error in sorted(run.errors, key=lambda e: (e.path, e.message)):
        out.write(error_command(error) + "\n")
