"""`--format text`: one line per finding, the source line with a caret underline, and a
summary. Colour only on a terminal and never when NO_COLOR is set.

Lines are built as styled spans (`Line`). On a terminal rich renders them; when rich would emit
no escape code at all (a pipe, a file, `--no-color`, NO_COLOR) they are written as plain text
without importing rich, whose import is ~45 ms: most of a warm run's time in pre-commit or CI
(issue 14). `tests/test_text_report.py` checks both paths give the same bytes."""

from __future__ import annotations

import os
import sys
from collections import Counter
from typing import TYPE_CHECKING, Protocol, TextIO

from leakguard.engine import RunResult
from leakguard.finding import FileError, Finding, Related, Severity
from leakguard.report import ReportOptions

if TYPE_CHECKING:
    from rich.console import Console

_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}

# What rich's `Text` removes from what it is given (rich.control.STRIP_CONTROL_CODES).
_STRIPPED_CONTROLS = str.maketrans(dict.fromkeys(map(chr, (7, 8, 11, 12, 13))))


class Line:
    """Text made of spans, each with an optional rich style."""

    __slots__ = ("spans",)

    def __init__(self, text: str = "", style: str | None = None) -> None:
        self.spans: list[tuple[str, str | None]] = [(text, style)] if text else []

    def append(self, text: str, style: str | None = None) -> None:
        self.spans.append((text, style))


class _Printer(Protocol):
    def print(self, line: Line) -> None: ...


class _RichPrinter:
    def __init__(self, console: Console) -> None:
        self._console = console

    def print(self, line: Line) -> None:
        from rich.text import Text

        rendered = Text()
        for part, style in line.spans:
            rendered.append(part, style=style)
        self._console.print(rendered)


class _PlainPrinter:
    """What rich writes for a `Line` when it emits no escape codes: control codes stripped,
    tabs expanded to 8-cell stops, no wrapping (soft wrap)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def print(self, line: Line) -> None:
        text = "".join(text for text, _ in line.spans).translate(_STRIPPED_CONTROLS)
        if "\t" in text:
            text = "\n".join(_expand_tabs(part) for part in text.split("\n"))
        self._out.write(text + "\n")


def _expand_tabs(line: str, tab_size: int = 8) -> str:
    # As rich's Text.expand_tabs: positions in terminal cells (a wide character takes two).
    from rich.cells import cell_len

    parts = line.split("\t")
    expanded = []
    position = 0
    for part in parts[:-1]:
        position += cell_len(part) + 1
        padding = -position % tab_size
        position += padding
        expanded.append(part + " " * (1 + padding))
    expanded.append(parts[-1])
    return "".join(expanded)


def _printer(out: TextIO, options: ReportOptions) -> _Printer:
    environ = os.environ
    # Rich honours NO_COLOR for colours only and still emits bold/dim codes; users who
    # set it want plain text (https://no-color.org), so treat it like a pipe.
    no_color = options.color is False or (options.color is None and environ.get("NO_COLOR"))
    if no_color or (options.color is None and not _rich_sees_terminal(out)):
        return _PlainPrinter(out)
    from rich.console import Console

    forced = True if options.color else None
    return _RichPrinter(Console(file=out, highlight=False, soft_wrap=True, force_terminal=forced))


def _rich_sees_terminal(out: TextIO) -> bool:
    """Whether rich would treat `out` as a terminal (rich.console.Console.is_terminal):
    conservative, anything but a plain non-tty stream counts as one."""
    if "FORCE_COLOR" in os.environ or "TTY_COMPATIBLE" in os.environ or "IPython" in sys.modules:
        return True
    isatty = getattr(out, "isatty", None)
    try:
        return isatty is None or bool(isatty())
    except ValueError:  # a closed stream: rich says no terminal
        return False


def _finding_line(finding: Finding, unsafe_fixes: bool = False) -> Line:
    line = Line()
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


def _related_line(step: Related) -> Line:
    line = Line("    ")
    line.append(f"{step.path}:{step.line}:", style="dim")
    line.append(f" {step.message}")
    return line


def _source_excerpt(finding: Finding) -> Line | None:
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
    excerpt = Line()
    excerpt.append(gutter, style="dim")
    excerpt.append(source.expandtabs(1))
    excerpt.append("\n")
    excerpt.append(" " * (len(gutter) - 2) + "| ", style="dim")
    excerpt.append(" " * start + "^" * width, style=_SEVERITY_STYLE[finding.severity])
    return excerpt


def _help_line(finding: Finding) -> Line:
    # Aligned with the excerpt's gutter, as Ruff prints its `help:` line.
    line = Line(" " * 6 + "= ")
    line.append("help: ", style="bold cyan")
    line.append(finding.help)
    return line


def write(run: RunResult, out: TextIO, options: ReportOptions) -> None:
    _write(run, out, options, concise=False)


def write_concise(run: RunResult, out: TextIO, options: ReportOptions) -> None:
    """`--format concise`: one line per finding (no excerpt, help or related steps)."""
    _write(run, out, options, concise=True)


def _write(run: RunResult, out: TextIO, options: ReportOptions, *, concise: bool) -> None:
    console = _printer(out, options)
    findings = run.findings
    shown = [f for f in findings if not f.suppressed]
    errors = sorted(run.errors, key=lambda e: (e.path, e.message))
    if options.statistics:
        # As Ruff: the table replaces the findings; file errors still reach the user.
        _statistics(console, shown)
        if errors:
            _errors(_printer(sys.stderr, options._replace(color=None)), errors)
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


def _errors(console: _Printer, errors: list[FileError]) -> None:
    for error in errors:
        line = Line()
        line.append(f"{error.path}: ", style="bold")
        line.append(f"{error.level}: ", style="yellow" if error.warning else "bold red")
        line.append(error.message)
        console.print(line)


def _statistics(console: _Printer, shown: list[Finding]) -> None:
    counts = Counter((f.rule, f.name, f.severity) for f in shown)
    for (rule, name, severity), count in sorted(counts.items()):
        console.print(Line(f"{count:>6}  {rule}  {name} [{severity.value}]"))


def _fixable(finding: Finding, unsafe_fixes: bool) -> bool:
    return finding.fixable is not None and finding.fixable.applies(unsafe_fixes)


def _fixable_summary(shown: list[Finding], unsafe_fixes: bool) -> Line | None:
    """Ruff's line: how many findings `--fix` would fix, and how many more
    `--unsafe-fixes` would."""
    fixable = sum(1 for f in shown if _fixable(f, unsafe_fixes))
    hidden = sum(1 for f in shown if f.fixable is not None and not _fixable(f, unsafe_fixes))
    if not fixable and not hidden:
        return None
    text = Line()
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


def _summary(run: RunResult, shown: list[Finding], suppressed: int, errors: int) -> Line:
    by_severity = Counter(f.severity for f in shown)
    text = Line()
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
