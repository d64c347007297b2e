"""The text report's two writers: rich on a terminal, plain text otherwise. Where rich
would emit no escape code, both must write the same bytes."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from leakguard.report import text
from leakguard.report.text import Line

SAMPLES = [
    "plain ascii",
    "",
    "tab\there",
    "\tleading tab and\ttwo\t\tmore",
    "exactly8\tstop",
    "wide 漢字\tthen a tab, émoji 🐍\tand another",
    "controls: bell\x07 backspace\x08 vt\x0b ff\x0c cr\r end",
    "escape \x1b[31m kept as rich keeps it",
    "markup-like [bold]not markup[/bold] and [*] and :snake: and \\[x]",
    "two\nlines\twith a tab on the second",
    "trailing spaces   ",
    "very long " + "x" * 300,
]


def _rich(line: Line) -> str:
    out = io.StringIO()
    console = Console(
        file=out, no_color=True, highlight=False, soft_wrap=True, force_terminal=False
    )
    text._RichPrinter(console).print(line)
    return out.getvalue()


def _plain(line: Line) -> str:
    out = io.StringIO()
    text._PlainPrinter(out).print(line)
    return out.getvalue()


@pytest.mark.parametrize("sample", SAMPLES)
def test_plain_text_is_what_rich_writes_without_escape_codes(sample: str) -> None:
    line = Line("path.py:3:1:", style="bold")
    line.append(" ")
    line.append(sample, style="yellow")
    line.append(sample)
    assert _plain(line) == _rich(line)
    assert _plain(Line(sample)) == _rich(Line(sample))
    assert _plain(Line()) == _rich(Line())


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.mark.parametrize(
    ("tty", "environ", "plain"),
    [
        (False, {}, True),
        (True, {}, False),
        (True, {"NO_COLOR": "1"}, True),
        (False, {"FORCE_COLOR": "1"}, False),
        (False, {"TTY_COMPATIBLE": "1"}, False),
    ],
)
def test_plain_text_only_where_rich_would_write_no_escape_code(
    monkeypatch: pytest.MonkeyPatch, tty: bool, environ: dict[str, str], plain: bool
) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    options = text.ReportOptions(config=None)  # type: ignore[arg-type]
    printer = text._printer(_Stream(tty), options)
    assert isinstance(printer, text._PlainPrinter) == plain
    if not plain:
        # rich agrees that this stream is a terminal: the escape codes are why rich is used
        assert isinstance(printer, text._RichPrinter)
        assert printer._console.is_terminal


def test_colour_forced_on_uses_rich_even_on_a_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    options = text.ReportOptions(config=None, color=True)  # type: ignore[arg-type]
    assert isinstance(text._printer(_Stream(False), options), text._RichPrinter)
