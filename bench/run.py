"""Benchmark: leakguard vs Bandit on the running interpreter's standard library.

    python bench/run.py                      # whole stdlib, all rules, jobs = CPU count
    python bench/run.py --limit 200          # quick run on an even sample of 200 files
    python bench/run.py --select LG101,LG201,LG202,LG401,LG501,LG502 --repeat 3

The stdlib's *.py files (site-packages excluded) are copied into a temporary directory
first, so no .gitignore, exclude default (the stdlib has a `venv/` package) or stray
configuration changes what is checked, and the cache directory is under our control.

Timed: leakguard with a cold cache (fresh cache directory each repeat), leakguard with a
warm cache (re-run over unchanged files), and Bandit (single process) on the same files
when it is installed. Reported: wall time (best of --repeat), lines per second, the
leakguard/Bandit time ratio (<= 1.0: leakguard is no slower) and warm/cold.
Targets on 2 cores: cold ratio <= 1.0, warm run under 5 % of the cold run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

COLD_RATIO_TARGET = 1.0
WARM_FRACTION_TARGET = 0.05


@dataclass
class Timing:
    label: str
    seconds: list[float]

    @property
    def best(self) -> float:
        return min(self.seconds)


def stdlib_files(limit: int | None) -> tuple[Path, list[Path]]:
    root = Path(sysconfig.get_paths()["stdlib"]).resolve()
    files = sorted(
        p for p in root.rglob("*.py") if "site-packages" not in p.relative_to(root).parts
    )
    if limit is not None and limit < len(files):
        step = len(files) / limit  # an even spread, not just the first packages
        files = [files[int(i * step)] for i in range(limit)]
    return root, files


def copy_tree(root: Path, files: Sequence[Path], target: Path) -> int:
    """Copy `files` under `target` keeping their layout; returns the number of lines."""
    lines = 0
    for source in files:
        destination = target / source.relative_to(root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        data = source.read_bytes()
        destination.write_bytes(data)
        lines += data.count(b"\n")
    return lines


def machine_description() -> list[str]:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return [
        f"cpu: {os.cpu_count()} logical cores, {model}",
        f"load average (1, 5, 15 min): {load}",
        f"python: {platform.python_implementation()} {platform.python_version()}",
        f"platform: {platform.platform()}",
    ]


def leakguard_command(target: Path, report: Path, args: argparse.Namespace) -> list[str]:
    command = [
        sys.executable, "-m", "leakguard", "check", str(target),
        "--format", "json", "--output", str(report), "--exit-zero",
        # Replace the default excludes: the stdlib has a `venv/` package.
        "--exclude", ".leakguard_cache",
    ]  # fmt: skip
    if args.select:
        command += ["--select", args.select]
    if args.jobs:
        command += ["--jobs", str(args.jobs)]
    return command


def timed(command: Sequence[str], cwd: Path, *, check_exit: bool) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if check_exit and result.returncode != 0:
        sys.exit(f"command failed ({result.returncode}): {' '.join(command)}\n{result.stderr}")
    return elapsed


def bandit_executable() -> str | None:
    beside_python = Path(sys.executable).with_name("bandit")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("bandit")


def summarize_report(report: Path) -> str:
    document = json.loads(report.read_text(encoding="utf-8"))
    findings = document["findings"]
    shown = sum(not f["suppressed"] for f in findings)
    rules: dict[str, int] = {}
    for finding in findings:
        rules[finding["rule"]] = rules.get(finding["rule"], 0) + 1
    top = ", ".join(f"{r} {n}" for r, n in sorted(rules.items()))
    return (
        f"{document['stats']['files']} files, {shown} findings ({len(findings) - shown} "
        f"suppressed), {len(document['errors'])} file errors; by rule: {top or '-'}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--select", help="passed to leakguard --select (default: all rules)")
    parser.add_argument("--limit", type=int, help="check an even sample of N stdlib files")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best of)")
    parser.add_argument("--jobs", type=int, help="leakguard --jobs (default: CPU count)")
    parser.add_argument("--no-bandit", action="store_true", help="skip the Bandit run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print("machine:")
    for line in machine_description():
        print(f"  {line}")
    root, files = stdlib_files(args.limit)
    workdir = Path(tempfile.mkdtemp(prefix="leakguard-bench-"))
    try:
        target = workdir / "stdlib"
        lines = copy_tree(root, files, target)
        print(f"corpus: {len(files)} files, {lines:,} lines, copied from {root}")
        print(f"leakguard: --select {args.select or 'ALL'}, --jobs {args.jobs or os.cpu_count()}")
        # The cache lives in the working directory of the run (the configuration root).
        run_dir = workdir / "run"
        run_dir.mkdir()
        cache = run_dir / ".leakguard_cache"
        report = run_dir / "report.json"
        command = leakguard_command(target, report, args)

        cold = Timing("leakguard cold", [])
        warm = Timing("leakguard warm", [])
        for _ in range(args.repeat):
            shutil.rmtree(cache, ignore_errors=True)
            cold.seconds.append(timed(command, run_dir, check_exit=True))
            warm.seconds.append(timed(command, run_dir, check_exit=True))
        print(f"leakguard result: {summarize_report(report)}")

        timings = [cold, warm]
        bandit = bandit_executable()
        bandit_timing: Timing | None = None
        if bandit and not args.no_bandit:
            bandit_timing = Timing("bandit", [])
            bandit_command = [bandit, "-r", str(target), "-q", "-f", "json", "-o", os.devnull]
            for _ in range(args.repeat):
                bandit_timing.seconds.append(timed(bandit_command, run_dir, check_exit=False))
            timings.append(bandit_timing)
        elif not args.no_bandit:
            print("bandit: not installed, skipped")

        print()
        print(f"{'run':<16} {'best s':>9} {'lines/s':>12}   all runs (s)")
        for timing in timings:
            rate = lines / timing.best if timing.best else float("inf")
            runs = ", ".join(f"{s:.2f}" for s in timing.seconds)
            print(f"{timing.label:<16} {timing.best:>9.2f} {rate:>12,.0f}   {runs}")
        print()
        warm_fraction = warm.best / cold.best
        verdict = "ok" if warm_fraction < WARM_FRACTION_TARGET else "MISSED"
        print(f"warm / cold: {warm_fraction:.3f} (target < {WARM_FRACTION_TARGET}: {verdict})")
        if warm_fraction > 0.5:
            print(
                "  the warm run missed the cache: entries are keyed on leakguard's own code,"
                " so editing src/leakguard between the runs invalidates them"
            )
        if bandit_timing is not None:
            ratio = cold.best / bandit_timing.best
            verdict = "ok" if ratio <= COLD_RATIO_TARGET else "MISSED"
            print(
                f"leakguard cold / bandit: {ratio:.2f} (target <= {COLD_RATIO_TARGET}: {verdict}; "
                f"<= 1.0 means leakguard is no slower)"
            )
            print(f"leakguard warm / bandit: {warm.best / bandit_timing.best:.3f}")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
