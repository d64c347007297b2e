"""Findings with and without slicing (issue 14) on a whole tree: any difference is a
rule's `regions` missing something (widen the region, never the comparison).

    python bench/compare_slicing.py DIR [--config FILE] [--jobs 2] [--baseline slicing|triage]
        [--baseline-json FILE]

Both runs are cold (`--no-cache`). The baseline parses admitted files whole
(`LEAKGUARD_SLICING=0`, the triage on) or, with `--baseline triage`, parses every file
whole (`LEAKGUARD_TRIAGE=0`). Prints the share of lines LibCST parsed in each run and
the findings and errors of one run missing from the other.

`--baseline-json FILE` saves the baseline run's report there, or reuses it when it
exists: a whole-file run (`--baseline triage`) depends on neither regions nor triage
conditions, so one baseline per tree serves every comparison of a change to either.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def run(target: Path, config: Path | None, jobs: int, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as work:
        report = Path(work) / "report.json"
        command = [
            sys.executable, "-m", "leakguard", "check", str(target), "--format", "json",
            "--output", str(report), "--exit-zero", "--no-cache", "--jobs", str(jobs),
            # Replace the default excludes (the stdlib has a `venv/` package).
            "--exclude", ".leakguard_cache",
        ]  # fmt: skip
        if config is not None:
            command += ["--config", str(config)]
        started = time.perf_counter()
        subprocess.run(command, check=True, env={**os.environ, **env})
        document: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
        document["seconds"] = time.perf_counter() - started
        return document


def outcome(document: dict[str, Any]) -> set[tuple[object, ...]]:
    found: set[tuple[object, ...]] = {
        (f["path"], f["line"], f["column"], f["end_line"], f["end_column"], f["rule"])
        + (f["message"], f["suppressed"])
        for f in document["findings"]
    }
    found |= {("error", e["path"], e["message"]) for e in document.get("errors", [])}
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", type=Path)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--baseline", choices=("slicing", "triage"), default="slicing")
    parser.add_argument("--baseline-json", type=Path, help="save the baseline here, or reuse it")
    args = parser.parse_args(argv)
    print(f"load average at the start: {os.getloadavg()}")
    sliced = run(args.target, args.config, args.jobs, {"LEAKGUARD_SLICING": "1"})
    saved: Path | None = args.baseline_json
    if saved is not None and saved.is_file():
        print(f"baseline reused from {saved}")
        whole = json.loads(saved.read_text(encoding="utf-8"))
    else:
        switch = "LEAKGUARD_SLICING" if args.baseline == "slicing" else "LEAKGUARD_TRIAGE"
        whole = run(args.target, args.config, args.jobs, {switch: "0"})
        if saved is not None:
            saved.write_text(json.dumps(whole), encoding="utf-8")
    for name, document in (("sliced", sliced), (f"no {args.baseline}", whole)):
        stats = document["stats"]
        share = stats["parsed_lines"] / max(1, stats["lines"])
        print(
            f"{name}: {document['seconds']:.1f} s, {len(document['findings'])} findings, "
            f"{stats['parsed_files']} / {stats['files']} files parsed, {share:.1%} of lines"
        )
    missing, extra = outcome(whole) - outcome(sliced), outcome(sliced) - outcome(whole)
    for label, rows in (("only without slicing", missing), ("only with slicing", extra)):
        for row in sorted(rows, key=str):
            print(f"{label}: {row}")
    print(f"identical: {not missing and not extra}")
    print(f"load average at the end: {os.getloadavg()}")
    return 0 if not missing and not extra else 1


if __name__ == "__main__":
    raise SystemExit(main())
