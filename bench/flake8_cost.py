"""Benchmark: what the leakguard flake8 plugin costs (issue 15 item 5).

    python bench/flake8_cost.py                 # the running interpreter's stdlib
    python bench/flake8_cost.py PATH --repeat 3 --jobs 2

Two questions, each answered with wall times (best of --repeat) on the same files:

1. Does installing leakguard slow down flake8 when LG is not selected? `flake8 --select
   E,F,W` with the plugin installed, against the same run with the plugin hidden from
   flake8's plugin finder (as if leakguard were not installed). Target: within noise
   (ratio <= 1.05).
2. Is `flake8 --select LG` as fast as `leakguard check` on the same files? Both with the
   same worker count, leakguard without its cache (flake8 has none). Target: ratio <= 1.0
   is the goal; the report prints the ratio either way.

Files are copied into a temporary directory first (as bench/run.py does), so no
configuration, .gitignore or exclude default changes what each tool checks.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

NOT_SELECTED_TARGET = 1.05
SELECTED_TARGET = 1.0

# flake8 as if leakguard were not installed: its entry point is dropped from the finder.
_WITHOUT_PLUGIN = (
    "import sys\n"
    "import flake8.plugins.finder as finder\n"
    "_find = finder.find_plugins\n"
    "finder.find_plugins = lambda cfg, opts: [\n"
    "    p for p in _find(cfg, opts) if p.package != 'leakguard'\n"
    "]\n"
    "from flake8.main.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _copy_tree(source: Path, destination: Path, limit: int | None) -> int:
    files = sorted(p for p in source.rglob("*.py") if "site-packages" not in p.parts)
    if limit:
        step = max(1, len(files) // limit)
        files = files[::step][:limit]
    for path in files:
        target = destination / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return len(files)


def _time(command: Sequence[str], cwd: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, capture_output=True, check=False, timeout=3600)
        best = min(best, time.perf_counter() - started)
    return best


def _compare(label: str, seconds: float, reference: float, target: float) -> None:
    ratio = seconds / reference
    verdict = "ok" if ratio <= target else "SLOWER"
    print(f"{label} {seconds:7.2f} s  ratio {ratio:.2f} (target <= {target}) {verdict}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--limit", type=int, help="an even sample of this many files")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)

    python = sys.executable
    flake8 = [python, "-m", "flake8", "--isolated", "--exit-zero", f"--jobs={args.jobs}"]
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary) / "src"
        count = _copy_tree(args.path.resolve(), work, args.limit)
        print(f"{count} files from {args.path}, jobs={args.jobs}, best of {args.repeat}")

        without = [python, "-c", _WITHOUT_PLUGIN, *flake8[3:], "--select", "E,F,W", "."]
        with_plugin = [*flake8, "--select", "E,F,W", "."]
        base = _time(without, work, args.repeat)
        installed = _time(with_plugin, work, args.repeat)
        print(f"flake8 --select E,F,W   without leakguard {base:7.2f} s")
        _compare("flake8 --select E,F,W   with leakguard   ", installed, base, NOT_SELECTED_TARGET)

        lg_flake8 = _time([*flake8, "--select", "LG", "."], work, args.repeat)
        # flake8 runs pycodestyle and pyflakes on every file whatever --select says:
        # that fixed cost is part of any `flake8 --select LG` run.
        fixed = _time([*without[:-3], "--select", "LG", "."], work, args.repeat)
        check = [
            python,
            "-m",
            "leakguard",
            "check",
            "--no-cache",
            "--exit-zero",
            "-q",
            f"--jobs={args.jobs}",
            ".",
        ]
        lg_check = _time(check, work, args.repeat)
        print(f"leakguard check         (no cache)        {lg_check:7.2f} s")
        _compare("flake8 --select LG                       ", lg_flake8, lg_check, SELECTED_TARGET)
        share = lg_flake8 - fixed
        print(f"  flake8's own checkers (always run)      {fixed:7.2f} s")
        print(
            f"  the leakguard plugin's share            {share:7.2f} s  "
            f"ratio to leakguard check {share / lg_check:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
