"""Output formats. Each reporter writes one run's results to a text stream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from leakguard.config import Config
from leakguard.engine import RunResult


@dataclass(frozen=True)
class ReportOptions:
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


def reporters() -> dict[str, Reporter]:
    from leakguard.report import json_report, text

    found: dict[str, Reporter] = {
        "text": text.write,
        "concise": text.write_concise,
        "json": json_report.write,
    }
    try:
        from leakguard.report import sarif

        found["sarif"] = sarif.write
    except ImportError:
        pass
    try:
        from leakguard.report import github

        found["github"] = github.write
    except ImportError:
        pass
    return found
