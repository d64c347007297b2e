"""`--format json`: the stable machine-readable contract (docs/output.md)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from leakguard import __version__
from leakguard.engine import RunResult
from leakguard.report import ReportOptions


def to_document(run: RunResult) -> dict[str, Any]:
    return {
        "tool": {"name": "leakguard", "version": __version__},
        "findings": [f.to_json() for f in run.findings],
        "errors": [e.to_json() for e in sorted(run.errors, key=lambda e: (e.path, e.message))],
        "stats": {
            "files": run.files,
            "lines": run.lines,
            "seconds": round(run.seconds, 3),
            # Files (and their lines) that LibCST parsed in this run: the rest were
            # served from the cache or ruled out by the ast triage.
            "parsed_files": run.parsed_files,
            "parsed_lines": run.parsed_lines,
        },
    }


def write(run: RunResult, out: TextIO, options: ReportOptions) -> None:
    json.dump(to_document(run), out, indent=2)
    out.write("\n")
