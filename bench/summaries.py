"""Benchmark: what function summaries and the call graph add to a cold run.

    python bench/summaries.py                 # whole stdlib, all rules, jobs = CPU count
    python bench/summaries.py --limit 300     # an even sample of 300 files
    python bench/summaries.py --repeat 3

Same corpus as `bench/run.py` (the interpreter's standard library, copied to a temporary
directory). In one process, alternating, best of `--repeat`:

- a cold run with every rule, as shipped;
- the same cold run with the summaries collector switched off (LG201/LG202 then see no
  functions of the run, so they skip the interprocedural part);

and the summaries' own work: collecting every file's summaries from the source text,
building the run-wide index, and each file's cache dependencies. With `--jobs 1` (the
default) all figures are CPU seconds of this process and its worker processes, so other
load on the machine does not skew the ratios. Target: summaries + call graph <= 10 % of
the cold run.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import copy_tree, machine_description, stdlib_files

from leakguard.analysis import summaries
from leakguard.analysis.project import COLLECTORS, ProjectIndex
from leakguard.analyzer import module_name_for
from leakguard.engine import check
from leakguard.registry import rule_classes
from leakguard.testing import make_config

TARGET = 0.10


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children: the engine analyses files
    in worker processes even with one job (a crashing file costs only itself), so this
    process's own time misses most of the run."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def cold_run(corpus: Path, jobs: int) -> tuple[float, int]:
    """Seconds of a cold run: CPU time of this process and its workers with one job
    (robust to other load on the machine), wall time with more."""
    config = make_config(corpus)
    cache = corpus / config.cache_dir
    shutil.rmtree(cache, ignore_errors=True)
    clock = cpu_seconds if jobs == 1 else time.perf_counter
    started = clock()
    result = check([corpus], config, jobs=jobs, use_cache=True)
    seconds = clock() - started
    shutil.rmtree(cache, ignore_errors=True)
    return seconds, len(result.findings)


class SummariesOff:
    """Switch the summaries collector off for the duration of a `with` block."""

    def __enter__(self) -> None:
        self.collector = COLLECTORS.pop(summaries.COLLECTOR)
        self.facts = {}
        for code, cls in rule_classes().items():
            if summaries.COLLECTOR in cls.PROJECT_FACTS:
                self.facts[code] = cls.PROJECT_FACTS
                cls.PROJECT_FACTS = tuple(f for f in cls.PROJECT_FACTS if f != summaries.COLLECTOR)

    def __exit__(self, *exc: object) -> None:
        COLLECTORS[summaries.COLLECTOR] = self.collector
        for code, facts in self.facts.items():
            rule_classes()[code].PROJECT_FACTS = facts


def own_work(corpus: Path) -> tuple[float, float, float, int]:
    """Seconds to collect, to build the index, to compute all dependencies; functions."""
    files = sorted(corpus.rglob("*.py"))
    started = time.process_time()
    facts = {}
    for path in files:
        display = path.relative_to(corpus).as_posix()
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        value = summaries.collect_source(text, display)
        if value:
            facts[module_name_for(display)] = value
    collected = time.process_time()
    project = ProjectIndex({summaries.COLLECTOR: facts})
    index = summaries.summaries_of(project)
    assert index is not None
    built = time.process_time()
    for module in facts:
        project.digest_for(module, [summaries.COLLECTOR])
    done = time.process_time()
    return collected - started, built - collected, done - built, len(index.functions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--jobs", type=int, default=1, help="1 (default): compare CPU time, not wall time"
    )
    args = parser.parse_args(argv)
    root, files = stdlib_files(args.limit)
    with tempfile.TemporaryDirectory(prefix="leakguard-summaries-bench-") as tmp:
        corpus = Path(tmp) / "stdlib"
        lines = copy_tree(root, files, corpus)
        print("\n".join(machine_description()))
        print(f"corpus: {len(files)} files, {lines:,} lines")
        cold_run(corpus, args.jobs)  # warm-up: imports and first-use caches, not timed
        with_summaries: list[float] = []
        without: list[float] = []
        findings = (0, 0)
        for _ in range(args.repeat):
            seconds, on = cold_run(corpus, args.jobs)
            with_summaries.append(seconds)
            with SummariesOff():
                seconds, off = cold_run(corpus, args.jobs)
            without.append(seconds)
            findings = (on, off)
        collect, build, depend, functions = own_work(corpus)
    on_best, off_best = min(with_summaries), min(without)
    own = collect + build + depend
    print(f"cold run, all rules, with summaries:    {on_best:8.2f} s  ({findings[0]} findings)")
    print(f"cold run, all rules, summaries off:     {off_best:8.2f} s  ({findings[1]} findings)")
    print(f"  difference: {on_best - off_best:+.2f} s = {(on_best - off_best) / off_best:+.1%}")
    print(f"summaries' own work, one process, {functions:,} functions:")
    print(f"  collect {collect:.2f} s, index {build:.2f} s, dependencies {depend:.2f} s")
    print(
        f"  total {own:.2f} s = {own / off_best:.1%} of the cold run without them "
        f"(target <= {TARGET:.0%})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
