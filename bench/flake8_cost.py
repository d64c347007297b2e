"""Benchmark: what the leakguard flake8 plugin costs (issue 15 item 5).

    python bench/flake8_cost.py                 # the running interpreter's stdlib
    python bench/flake8_cost.py PATH --repeat 3 --jobs 2

Three questions, each answered on the same files with wall time and CPU time (user +
system of the command and all its worker processes; on a shared machine CPU time is
the figure that load does not inflate), best of --repeat:

1. Does installing leakguard slow down flake8 when LG is not selected? `flake8 --select
   E,F,W` with the plugin installed, against the same run with the plugin hidden from
   flake8's plugin finder (as if leakguard were not installed). Target: within noise
   (ratio <= 1.05).
2. Is `flake8 --select LG` as fast as `leakguard check` on the same files? Both with the
   same worker count, cold (each one's cache emptied before every run) and warm (run
   again over their own cache). Target: ratio <= 1.0; the report prints it either way.
3. Where does `flake8 --select LG` spend its time? flake8 runs pycodestyle and pyflakes
   on every file whatever `--select` says (PyCQA/flake8#751), so `flake8 --select LG`
   with the plugin hidden is flake8's own share; the rest is the plugin's.

Files are copied into a temporary directory first (as bench/run.py does), so no
configuration, .gitignore or exclude default changes what each tool checks. The load
average is printed at the start and the end: quote it with the figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Cost:
    wall: float
    cpu: float

    def __sub__(self, other: Cost) -> Cost:
        return Cost(self.wall - other.wall, self.cpu - other.cpu)

    def ratio(self, other: Cost) -> str:
        return f"{self.wall / other.wall:.2f} wall, {self.cpu / other.cpu:.2f} CPU"

    def __str__(self) -> str:
        return f"{self.wall:7.2f} s wall {self.cpu:7.2f} s CPU"


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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(
    command: Sequence[str], cwd: Path, repeat: int, before: Callable[[], None] | None = None
) -> Cost:
    """Best wall and best CPU time of `repeat` runs (CPU counts every process the
    command waited for, so worker pools are included)."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        if before is not None:
            before()
        cpu_started = _children_cpu()
        started = time.perf_counter()
        # The copied tree may hold modules named like the standard library's (`ast.py`):
        # the working directory must not go on sys.path (Python >= 3.11).
        env = {**os.environ, "PYTHONSAFEPATH": "1"}
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, timeout=3600)
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, _children_cpu() - cpu_started)
        if done.returncode != 0:  # both tools run with --exit-zero: this is a failure
            raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr.decode()[-2000:]}")
    return Cost(wall, cpu)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1, 5, 15 min)"


def _compare(label: str, cost: Cost, reference: Cost, target: float) -> None:
    verdict = "ok" if cost.cpu / reference.cpu <= target else "SLOWER"
    print(f"{label} {cost}  ratio {cost.ratio(reference)} (target <= {target}) {verdict}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--limit", type=int, help="an even sample of this many files")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)

    python = sys.executable
    options = ["--isolated", "--exit-zero", f"--jobs={args.jobs}"]
    flake8 = [python, "-m", "flake8", *options]
    without_plugin = [python, "-c", _WITHOUT_PLUGIN, *options]
    check = [python, "-m", "leakguard", "check", "--exit-zero", "-q", f"--jobs={args.jobs}"]
    # Only its cache excluded (as flake8, whose default excludes match nothing here): the
    # stdlib has a `venv/` package, which leakguard's default excludes would skip.
    check += ["--exclude", ".leakguard_cache", "."]
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary) / "src"
        count = _copy_tree(args.path.resolve(), work, args.limit)
        print(f"{count} files from {args.path}, jobs={args.jobs}, best of {args.repeat}")
        print(f"start: {_load()}")

        def empty_cache() -> None:
            shutil.rmtree(work / ".leakguard_cache", ignore_errors=True)

        print("1. LG not selected")
        base = _time([*without_plugin, "--select", "E,F,W", "."], work, args.repeat)
        installed = _time([*flake8, "--select", "E,F,W", "."], work, args.repeat)
        print(f"flake8 --select E,F,W  without leakguard {base}")
        _compare("flake8 --select E,F,W  with leakguard   ", installed, base, NOT_SELECTED_TARGET)

        print("2. flake8 --select LG against leakguard check (ratios: flake8 / leakguard)")
        fixed = _time([*without_plugin, "--select", "LG", "."], work, args.repeat)
        lg_cold = _time([*flake8, "--select", "LG", "."], work, args.repeat, empty_cache)
        lg_warm = _time([*flake8, "--select", "LG", "."], work, args.repeat)
        check_cold = _time(check, work, args.repeat, empty_cache)
        check_warm = _time(check, work, args.repeat)
        print(f"leakguard check         cold            {check_cold}")
        _compare("flake8 --select LG      cold           ", lg_cold, check_cold, SELECTED_TARGET)
        print(f"leakguard check         warm            {check_warm}")
        _compare("flake8 --select LG      warm           ", lg_warm, check_warm, SELECTED_TARGET)

        print("3. shares of flake8 --select LG (ratios: to leakguard check, same cache state)")
        print(f"flake8's own checkers (always run)      {fixed}  ratio {fixed.ratio(check_cold)}")
        for state, total, reference in (
            ("cold", lg_cold, check_cold),
            ("warm", lg_warm, check_warm),
        ):
            share = total - fixed
            print(
                f"the plugin's share, {state}              {share}  ratio {share.ratio(reference)}"
            )
        print(f"end: {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
