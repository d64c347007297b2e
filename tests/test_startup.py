"""Start-up: a run whose files all come from the cache, `--version`, `rules` and
`explain` import neither LibCST nor any rule module nor the worker pool (issue 14: a
warm run is almost all fixed start-up); the rule index the parent reads instead of the
rule classes agrees with them."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leakguard import cli, engine
from leakguard.engine import check, check_text
from leakguard.registry import build_index, gated_collectors
from leakguard.rule_index import GATED_BY_READERS, RULES
from leakguard.testing import make_config

# Modules a warm run does not need, and what kept them out (issue 14).
LAZY = (
    # argparse's terminal-size lookup (`cli._BuildFormatter`)
    "shutil",
    # ~7 ms with `inspect`, plus an `exec` per class made: the values a warm run
    # builds are NamedTuples and plain classes (`leakguard.finding`)
    "dataclasses",
    "inspect",
    # project facts: only when some file's facts are collected or read
    "leakguard.analysis.project",
    # (with `importlib.util`) only to find the rule modules
    "pkgutil",
    # ~45 ms: the text format writes plain text itself when rich would emit no escape
    # code (the probe's output is a pipe and NO_COLOR is set)
    "rich",
)

# Runs leakguard's command line in a fresh interpreter, then writes the heavy modules
# that were imported to the file named by LEAKGUARD_PROBE_OUT.
PROBE = (
    f"LAZY = {LAZY!r}\n"
    + """
import json, os, sys
from leakguard.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as exc:
    status = exc.code
heavy = sorted(
    name for name in sys.modules
    if name.split(".")[0] in ("libcst", "pebble")
    or name.startswith(("leakguard.rules.", "leakguard.analyzer"))
)
parsers = sorted(
    name for name in sys.modules
    if name in ("yaml", "tomllib", "tomli", "tempfile", "importlib.resources")
)
with open(os.environ["LEAKGUARD_PROBE_OUT"], "w") as out:
    json.dump(
        {
            "status": status,
            "heavy": heavy,
            "engine": "leakguard.engine" in sys.modules,
            "parsers": parsers,
            "pathspec": "pathspec" in sys.modules,
            "lazy": sorted(name for name in LAZY if name in sys.modules),
        },
        out,
    )
"""
)

SOURCES = {
    # A finding (LibCST parses it on a cold run) and project facts (summaries).
    "app/service.py": (
        "import pickle\n\n\nasync def handler(path):\n    return pickle.load(open(path, 'rb'))\n"
    ),
    "app/util.py": "def helper(items):\n    out = []\n    for x in items:\n        out.append(x)\n",
    "app/__init__.py": "",
}


def probe(cwd: Path, *argv: str) -> tuple[int, list[str]]:
    status, heavy, _ = probe_engine(cwd, *argv)
    return status, heavy


def probe_engine(cwd: Path, *argv: str) -> tuple[int, list[str], bool]:
    """Exit status, heavy modules imported, whether the engine was imported."""
    result = probe_all(cwd, *argv)
    return result["status"], result["heavy"], result["engine"]


def probe_all(cwd: Path, *argv: str) -> dict[str, Any]:
    """`probe_engine`'s findings and the configuration parsers (and `tempfile`, which
    only writing the cache needs) imported."""
    out = cwd / "probe.json"
    env = {**os.environ, "LEAKGUARD_PROBE_OUT": str(out), "NO_COLOR": "1"}
    subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=True,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _warm_up_the_context_walk(project: Path, *argv: str) -> None:
    """`check app` has the project's root as context (`leakguard.project_context`); the
    cold run created the cache directory (and the probe's output) in that root, whose
    stamp the next run finds too fresh to trust and walks again; from the run after it
    the walk comes from the pack."""
    probe_all(project, *argv)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in SOURCES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize("output", ["text", "json"])
def test_a_warm_run_imports_neither_libcst_nor_the_rules(project: Path, output: str) -> None:
    argv = ("check", "app", "--jobs", "1", "--format", output)
    status, heavy = probe(project, *argv)
    # The cold run parses: the probe does see LibCST and the rules when they are imported.
    assert status == 1
    assert "libcst" in heavy
    assert "leakguard.rules.serialization.lg401_unsafe_deserialization" in heavy
    _warm_up_the_context_walk(project, *argv)
    warm = probe_all(project, *argv)
    assert warm["status"] == 1  # the cached finding still fails the run
    assert warm["heavy"] == []
    assert warm["lazy"] == []


def test_a_cold_run_that_renders_no_fix_imports_no_codemod(project: Path) -> None:
    """Rendering a fix needs `libcst.codemod` (~0.25 s of imports): a run that shows no
    fix (text output) must not pay for it through the rules' imports."""
    status, heavy = probe(project, "check", "app", "--jobs", "1", "--no-cache")
    assert status == 1
    assert "libcst" in heavy
    assert not [name for name in heavy if name.startswith("libcst.codemod")]


@pytest.mark.parametrize(
    ("name", "text", "parser"),
    [
        (".leakguard.yaml", "fail-on: warning\n", "yaml"),
        ("pyproject.toml", '[tool.leakguard]\nfail-on = "warning"\n', "tomllib"),
    ],
)
def test_a_warm_run_imports_no_configuration_parser(
    project: Path, name: str, text: str, parser: str
) -> None:
    (project / name).write_text(text)
    for path in (project / "app").iterdir():
        # Old enough to be trusted from their stat: the warm run writes no cache.
        old = path.stat().st_mtime_ns - 3600 * 10**9
        os.utime(path, ns=(old, old))
    argv = ("check", "app", "--jobs", "1")
    cold = probe_all(project, *argv)
    assert cold["status"] == 1
    assert parser in cold["parsers"] and "tempfile" in cold["parsers"]
    warm = probe_all(project, *argv)
    assert warm["status"] == 1
    assert warm["parsers"] == []
    # Without the cache, the configuration is parsed again.
    assert parser in probe_all(project, *argv, "--no-cache")["parsers"]


def test_a_warm_run_of_an_unchanged_tree_imports_no_pathspec(project: Path) -> None:
    """Discovery comes from the pack (`leakguard.discovery_cache`) and the exclude
    patterns are known valid (`config._check_patterns`): no pathspec, whose ~10 ms of
    imports were a tenth of the warm run."""
    (project / "app" / ".gitignore").write_text("generated/\n")
    (project / "pyproject.toml").write_text('[tool.leakguard]\nextend-exclude = ["tmp/"]\n')
    for path in [project, *project.rglob("*")]:
        # Old enough to be trusted from their stat (directories included).
        old = path.stat().st_mtime_ns - 3600 * 10**9
        os.utime(path, ns=(old, old))
    argv = ("check", "app", "--jobs", "1", "--exclude", "build/")
    cold = probe_all(project, *argv)
    assert cold["status"] == 1 and cold["pathspec"]
    _warm_up_the_context_walk(project, *argv)
    warm = probe_all(project, *argv)
    assert warm["status"] == 1
    assert not warm["pathspec"]
    # A new file is seen (its directory's stamp changed): the tree is walked again.
    (project / "app" / "extra.py").write_text("x = 1\n")
    assert probe_all(project, *argv)["pathspec"]
    # Another exclude list is checked once, then known.
    assert probe_all(project, *argv[:-1], "dist/")["pathspec"]


def test_a_changed_file_imports_the_analysis_again(project: Path) -> None:
    probe(project, "check", "app", "--jobs", "1")
    (project / "app" / "util.py").write_text("def helper():\n    return 1\n")
    _, heavy = probe(project, "check", "app", "--jobs", "1")
    assert "libcst" in heavy
    assert "pebble" in heavy


@pytest.mark.parametrize(
    "argv",
    [
        ("--version",),
        ("rules",),
        ("rules", "--format", "json"),
        ("rules", "--format", "markdown"),
        ("explain", "LG401"),
    ],
)
def test_commands_that_parse_nothing_import_no_analysis(tmp_path: Path, argv: tuple[str]) -> None:
    status, heavy, engine_imported = probe_engine(tmp_path, *argv)
    assert status == 0
    assert heavy == []
    assert not engine_imported


def _helps(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """What each command's help, and a usage error, print."""
    printed = []
    commands = ("check", "rules", "explain", "server")
    for argv in (["--help"], *([c, "--help"] for c in commands), ["check", "-Z"], ["nope"]):
        with pytest.raises(SystemExit):
            cli.build_parser().parse_args(argv)
        out, err = capsys.readouterr()
        printed.append(out + err)
    return printed


def test_help_is_argparse_own_at_the_terminal_width(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The parser is built with a formatter that looks no terminal size up
    (`cli._BuildFormatter`); help and usage are what argparse's own formatter makes at
    the terminal's width, as if it had been used throughout."""
    printed = {}
    for columns in ("50", "80", "200"):
        monkeypatch.setenv("COLUMNS", columns)
        printed[columns] = _helps(capsys)
        with monkeypatch.context() as stock:
            stock.setattr(cli, "_BuildFormatter", argparse.HelpFormatter)
            assert _helps(capsys) == printed[columns]
    # The terminal's width is followed.
    assert printed["50"] != printed["80"] != printed["200"]


def test_the_rule_index_matches_the_rule_classes() -> None:
    # After adding a rule or changing PROJECT_FACTS: regenerate it (see rule_index.py).
    assert build_index() == RULES
    assert gated_collectors() == GATED_BY_READERS


# A lone file whose finding needs its own project facts (the model's field is unbounded).
LONE = """\
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Batch(BaseModel):
    items: list[str]


@app.post("/score")
def score(batch: Batch) -> int:
    total = 0
    for item in batch.items:
        total += len(item)
    return total
"""


def test_a_one_file_run_starts_one_pool_and_finds_what_two_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app.py").write_text(LONE)
    config = make_config(tmp_path)
    expected = check_text(LONE, "app.py", config).findings
    assert {f.rule for f in expected} >= {"LG301"}
    pools: list[int] = []
    real = engine.run_isolated

    def counting(*args: Any, **kwargs: Any) -> Any:
        if args[1]:  # no items: no pool
            pools.append(len(args[1]))
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "run_isolated", counting)
    cold = check([tmp_path / "app.py"], config, jobs=1)
    assert pools == [1]
    assert [f.to_json() for f in cold.findings] == [f.to_json() for f in expected]
    # Its facts and findings were cached as the two phases cache them.
    warm = check([tmp_path / "app.py"], config, jobs=1)
    assert pools == [1]
    assert all(r.from_cache for r in warm.results)
    assert [f.to_json() for f in warm.findings] == [f.to_json() for f in expected]
    # With a second file, the facts pass and the analysis each take a pool.
    (tmp_path / "other.py").write_text("x = 1\n")
    check([tmp_path], config, jobs=1, use_cache=False)
    assert pools == [1, 2, 2]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_lone_file_that_crashes_its_worker_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    def crash(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGSEGV)

    monkeypatch.setattr(engine, "analyze_text", crash)
    (tmp_path / "app.py").write_text(LONE)
    run = check([tmp_path / "app.py"], make_config(tmp_path), jobs=jobs)
    assert [e.message.split(";")[0] for e in run.errors] == ["parser crashed (signal 11, SIGSEGV)"]
    assert run.findings == []
    # A crash is not cached: the next run tries the file again.
    monkeypatch.undo()
    again = check([tmp_path / "app.py"], make_config(tmp_path), jobs=jobs)
    assert {f.rule for f in again.findings} >= {"LG301"}


def test_the_entry_point_collects_garbage_while_it_runs() -> None:
    """`leakguard.__main__.run` turns the cyclic collector off only while the modules
    are imported: the run (and the worker pools it forks, where LibCST's trees make
    cycles) must collect; what start-up made is frozen out of the collector's passes."""
    code = (
        "import gc, json, sys\n"
        "import leakguard.cli\n"
        "seen = []\n"
        "leakguard.cli.main = lambda: seen.append(gc.isenabled()) or 0\n"
        "from leakguard.__main__ import run\n"
        "status = run()\n"
        "print(json.dumps([status, seen, gc.isenabled(), gc.get_freeze_count() > 0]))\n"
    )
    assert _printed_by_python(code) == [0, [True], True, True]


def test_the_analysis_import_is_frozen_out_of_the_collector() -> None:
    """The lazy import of LibCST and the rules (`engine._load_analysis`) pauses the
    collector only meanwhile and freezes what it made (`made_for_life`), once."""
    code = (
        "import gc, json\n"
        "import leakguard.engine as engine\n"
        "before = gc.get_freeze_count()\n"
        "engine._load_analysis()\n"
        "after = gc.get_freeze_count()\n"
        "engine._load_analysis()\n"
        "again = gc.get_freeze_count()\n"
        "print(json.dumps([gc.isenabled(), after - before > 20000, again == after]))\n"
    )
    assert _printed_by_python(code) == [True, True, True]


def _printed_by_python(code: str) -> object:
    """The JSON `code` prints, run in a fresh interpreter (the collector's state and the
    imports are those of a new process)."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout)


def test_the_configuration_pickles(tmp_path: Path) -> None:
    """Where worker processes are spawned rather than forked (macOS, Windows; Linux from
    Python 3.14) the configuration reaches them pickled: its defaults must pickle."""
    import pickle

    config = make_config(tmp_path)
    assert pickle.loads(pickle.dumps(config)) == config
