"""`--format text`: one line per finding, the source line with a caret underline, and a
summary. Colour only on a terminal and never when NO_COLOR is set (rich decides)."""

from __future__ import annotations

import os
from collections import Counter
from typing import TextIO

from rich.console import Console
from rich.text import Text

from leakguard.engine import RunResult
from leakguard.finding import FileError, Finding, Related, Severity
from leakguard.report import ReportOptions

_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}


def _console(out: TextIO, options: ReportOptions) -> Console:
    # Rich honours NO_COLOR for colours only and still emits bold/dim codes; users who
    # set it want plain text (https://no-color.org), so treat it like a pipe.
    if options.color is False or (options.color is None and os.environ.get("NO_COLOR")):
        return Console(
            file=out, no_color=True, highlight=False, soft_wrap=True, force_terminal=False
        )
    return Console(
        file=out, highlight=False, soft_wrap=True, force_terminal=True if options.color else None
    )


def _finding_line(finding: Finding, unsafe_fixes: bool = False) -> Text:
    line = Text()
    line.append(f"{finding.path}:{finding.line}:{finding.column}:", style="bold")
    line.append(" ")
    line.append(finding.rule, style="bold magenta")
    line.append(" ")
    if _fixable(finding, unsafe_fixes):
        line.append("[*] ", style="bold cyan")
    line.append(f"[{finding.severity.value}]", style=_SEVERITY_STYLE[finding.severity])
    line.append(" ")
    line.append(finding.message)
    return line


def _related_line(step: Related) -> Text:
    line = Text("    ")
    line.append(f"{step.path}:{step.line}:", style="dim")
    line.append(f" {step.message}")
    return line


def _source_excerpt(finding: Finding) -> Text | None:
    source = finding.source_line.rstrip("\n")
    if not source.strip():
        return None
    gutter = f"{finding.line:>5} | "
    start = max(0, finding.column - 1)
    if finding.end_line == finding.line:
        end = max(start + 1, finding.end_column - 1)
    else:
        end = len(source.rstrip())
    width = max(1, min(end, len(source)) - start)
    excerpt = Text()
    excerpt.append(gutter, style="dim")
    excerpt.append(source.expandtabs(1))
    excerpt.append("\n")
    excerpt.append(" " * (len(gutter) - 2) + "| ", style="dim")
    excerpt.append(" " * start + "^" * width, style=_SEVERITY_STYLE[finding.severity])
    return excerpt


def _help_line(finding: Finding) -> Text:
    # Aligned with the excerpt's gutter, as Ruff prints its `help:` line.
    line = Text(" " * 6 + "= ")
    line.append("help: ", style="bold cyan")
    line.append(finding.help)
    return line


def write(run: RunResult, out: TextIO, options: ReportOptions) -> None:
    _write(run, out, options, concise=False)


def write_concise(run: RunResult, out: TextIO, options: ReportOptions) -> None:
    """`--format concise`: one line per finding (no excerpt, help or related steps)."""
    _write(run, out, options, concise=True)


def _write(run: RunResult, out: TextIO, options: ReportOptions, *, concise: bool) -> None:
    console = _console(out, options)
    findings = run.findings
    shown = [f for f in findings if not f.suppressed]
    errors = sorted(run.errors, key=lambda e: (e.path, e.message))
    if options.statistics:
        # As Ruff: the table replaces the findings; file errors still reach the user.
        _statistics(console, shown)
        if errors:
            _errors(Console(stderr=True, highlight=False, soft_wrap=True), errors)
        return
    detailed = not concise and not options.quiet
    for finding in shown:
        console.print(_finding_line(finding, options.unsafe_fixes))
        if not detailed:
            continue
        if options.show_source:
            excerpt = _source_excerpt(finding)
            if excerpt is not None:
                console.print(excerpt)
        for step in finding.related:
            console.print(_related_line(step))
        if finding.help:
            console.print(_help_line(finding))
    _errors(console, errors)
    if options.quiet:
        return
    console.print(_summary(run, shown, len(findings) - len(shown), len(errors)))
    fixable = _fixable_summary(shown, options.unsafe_fixes)
    if fixable is not None:
        console.print(fixable)


def _errors(console: Console, errors: list[FileError]) -> None:
    for error in errors:
        line = Text()
        line.append(f"{error.path}: ", style="bold")
        line.append(f"{error.level}: ", style="yellow" if error.warning else "bold red")
        line.append(error.message)
        console.print(line)


def _statistics(console: Console, shown: list[Finding]) -> None:
    counts = Counter((f.rule, f.name, f.severity) for f in shown)
    for (rule, name, severity), count in sorted(counts.items()):
        console.print(Text(f"{count:>6}  {rule}  {name} [{severity.value}]"))


def _fixable(finding: Finding, unsafe_fixes: bool) -> bool:
    return finding.fixable is not None and finding.fixable.applies(unsafe_fixes)


def _fixable_summary(shown: list[Finding], unsafe_fixes: bool) -> Text | None:
    """Ruff's line: how many findings `--fix` would fix, and how many more
    `--unsafe-fixes` would."""
    fixable = sum(1 for f in shown if _fixable(f, unsafe_fixes))
    hidden = sum(1 for f in shown if f.fixable is not None and not _fixable(f, unsafe_fixes))
    if not fixable and not hidden:
        return None
    text = Text()
    if fixable:
        flags = "`--fix --unsafe-fixes`" if unsafe_fixes else "`--fix`"
        text.append(f"[*] {fixable} fixable with {flags}", style="bold")
    if hidden:
        if fixable:
            text.append(" (")
        text.append(f"{hidden} more fixable with `--unsafe-fixes`")
        if fixable:
            text.append(")")
    text.append(".")
    return text


def _summary(run: RunResult, shown: list[Finding], suppressed: int, errors: int) -> Text:
    by_severity = Counter(f.severity for f in shown)
    text = Text()
    if shown:
        parts = [f"{by_severity[s]} {s.value}" for s in reversed(Severity) if by_severity[s]]
        rules = len({f.rule for f in shown})
        files = len({f.path for f in shown})
        noun = "finding" if len(shown) == 1 else "findings"
        text.append(f"Found {len(shown)} {noun} ({', '.join(parts)})", style="bold")
        text.append(f" from {rules} rule{'s' if rules != 1 else ''}")
        text.append(f" in {files} file{'s' if files != 1 else ''}")
        per_rule = Counter(f.rule for f in shown)
        text.append(": " + ", ".join(f"{rule} {count}" for rule, count in sorted(per_rule.items())))
        text.append(".")
    else:
        text.append("No findings.", style="bold green")
    details = [
        f"{run.files} file{'s' if run.files != 1 else ''} checked",
        f"{run.lines} line{'s' if run.lines != 1 else ''}",
        f"{run.seconds:.2f} s",
    ]
    if suppressed:
        details.append(f"{suppressed} suppressed")
    if errors:
        details.append(f"{errors} file error{'s' if errors != 1 else ''}")
    text.append(" (" + ", ".join(details) + ")")
    return text
