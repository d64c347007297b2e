"""Output formats. Each reporter writes one run's results to a text stream."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, TextIO

from leakguard.config import Config
from leakguard.engine import RunResult


class ReportOptions(NamedTuple):
    """How to write a report. (Not a dataclass: a warm run imports this module, see
    `leakguard.finding`.)"""

    config: Config
    color: bool | None = None  # None: decide from the stream (TTY, NO_COLOR)
    quiet: bool = False
    statistics: bool = False
    show_source: bool = True
    sarif_category: str | None = None
    sarif_include_suppressed: bool = False
    # Whether unsafe fixes count as applicable (`--unsafe-fixes`): decides the `[*]`
    # marks and the fixable count of text output.
    unsafe_fixes: bool = False
    # The directory the run's paths are relative to (None: the configuration's folder).
    base: Path | None = None


Reporter = Callable[[RunResult, TextIO, ReportOptions], None]


# Format -> (module under leakguard.report, writer): only the chosen format's module is
# imported (the text format's rich costs ~40 ms that a JSON or SARIF run need not pay).
_WRITERS = {
    "text": ("text", "write"),
    "concise": ("text", "write_concise"),
    "json": ("json_report", "write"),
    "sarif": ("sarif", "write"),
    "github": ("github", "write"),
}


def reporter(name: str) -> Reporter | None:
    """The writer of the output format `name`; None when there is none."""
    where = _WRITERS.get(name)
    if where is None:
        return None
    try:
        module = importlib.import_module(f"{__name__}.{where[0]}")
    except ImportError:
        return None
    writer: Reporter = getattr(module, where[1])
    return writer
