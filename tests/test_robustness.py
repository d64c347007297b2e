"""Never lose a run (issue 9): the 17 reproduced failures of the issue, one test (or a
few) per row. Each hostile input gives a clear error for its own file, or a clear
configuration error, while every other file's findings are still reported and no
traceback reaches the user. Crash and hang cases run the real command in a subprocess
with small budgets (`file-timeout`, `file-memory-mb`) so each stays fast."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leakguard import engine
from leakguard.cli import main
from leakguard.config import ConfigError, load_config

UNSAFE_LOAD = "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n"
FORMATS = ("text", "json", "sarif", "github")


def run_cli(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leakguard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1", "CI": "1"},
    )


def run_main(cwd: Path, *args: str) -> tuple[int, str, str]:
    """`leakguard ARGS` in this process (fast; an uncaught exception fails the test as
    a traceback would), with the output captured."""
    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(previous)
    return code, out.getvalue(), err.getvalue()


def check_json(cwd: Path, *args: str) -> tuple[int, dict, str]:
    code, out, err = run_main(
        cwd, "check", "--no-cache", "--format", "json", "--select", "LG401", *args
    )
    return code, json.loads(out), err


def in_process(root: Path, monkeypatch, capsys, *args: str) -> tuple[int, dict]:
    monkeypatch.chdir(root)
    code = main(["check", "--no-cache", "--format", "json", "--select", "LG401", *args])
    return code, json.loads(capsys.readouterr().out)


def lines_by_path(report: dict) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for finding in report["findings"]:
        found.setdefault(finding["path"], []).append(finding["line"])
    return found


def errors_by_path(report: dict) -> dict[str, str]:
    return {error["path"]: error["message"] for error in report["errors"]}


def hang_on(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make the analysis of the file displayed as `name` endless, as a real hang would be
    (workers are forked, so they inherit the patch)."""
    real = engine.analyze_text

    def hang(text, display, *args, **kwargs):  # type: ignore[no-untyped-def]
        while display == name:
            time.sleep(0.05)
        return real(text, display, *args, **kwargs)

    monkeypatch.setattr(engine, "analyze_text", hang)


def small_budget(root: Path, seconds: float = 3, memory_mb: int = 0) -> None:
    (root / ".leakguard.yaml").write_text(
        f"file-timeout: {seconds}\nfile-memory-mb: {memory_mb}\n", encoding="utf-8"
    )


def config_error(root: Path, *args: str) -> str:
    """The run's stderr; asserts exit 2, one configuration error line, no traceback."""
    code, out, err = run_main(root, "check", "--no-cache", *args)
    assert code == 2, (code, out, err)
    assert err.startswith("leakguard: configuration error: ") and err.count("\n") == 1, err
    return err


# -- row 1: LibCST's native parser crashes; crash isolation ------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize(("opener", "closer", "depth"), [("(", ")", 1300), ("[", "]", 1850)])
def test_deep_nesting_is_one_files_error(
    tmp_path: Path, jobs: str, opener: str, closer: str, depth: int
) -> None:
    (tmp_path / "good.py").write_text(UNSAFE_LOAD)
    (tmp_path / "deep.py").write_text(f"x = {opener * depth}1{closer * depth}\n")
    code, report, _ = check_json(tmp_path, "--jobs", jobs)
    assert code == 1
    assert lines_by_path(report) == {"good.py": [5]}
    assert "too many nested parentheses" in errors_by_path(report)["deep.py"]


def _crash_on(name: str, how: int):  # type: ignore[no-untyped-def]
    real = engine.analyze_text

    def analyse(text, display, *args, **kwargs):  # type: ignore[no-untyped-def]
        if display.endswith(name):
            os.kill(os.getpid(), how)
        return real(text, display, *args, **kwargs)

    return analyse


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("how", [signal.SIGSEGV, signal.SIGABRT, signal.SIGKILL])
def test_a_crash_nobody_predicted_costs_only_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, jobs: str, how: int
) -> None:
    # Workers are forked, so they inherit this stand-in for a native crash.
    monkeypatch.setattr(engine, "analyze_text", _crash_on("crash.py", how))
    for n in range(6):
        (tmp_path / f"m{n}.py").write_text(UNSAFE_LOAD)
    (tmp_path / "crash.py").write_text(UNSAFE_LOAD)
    code, report = in_process(tmp_path, monkeypatch, capsys, "--jobs", jobs)
    assert code == 1
    assert lines_by_path(report) == {f"m{n}.py": [5] for n in range(6)}
    message = errors_by_path(report)["crash.py"]
    assert message.startswith(f"parser crashed (signal {how}, {signal.Signals(how).name})")


def test_the_real_parser_crash_is_isolated_without_the_precheck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from leakguard import analyzer

    monkeypatch.setattr(analyzer, "_bracket_depth", lambda text: 0)
    (tmp_path / "good.py").write_text(UNSAFE_LOAD)
    (tmp_path / "deep.py").write_text("import pickle\nx = " + "(" * 3000 + "1" + ")" * 3000)
    code, report = in_process(tmp_path, monkeypatch, capsys, "--jobs", "1")
    assert code == 1
    assert lines_by_path(report) == {"good.py": [5]}
    assert errors_by_path(report)["deep.py"].startswith("parser crashed (signal 11, SIGSEGV)")


# -- row 2: RecursionError in shared analysis ----------------------------------------------


@pytest.mark.parametrize(
    "chain", [" + ".join(["1"] * 500), "-" * 1000 + "1"], ids=["500-terms", "1000-minus"]
)
def test_long_operator_chains_keep_the_files_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, chain: str
) -> None:
    (tmp_path / "chain.py").write_text(f"{UNSAFE_LOAD}\nLIMIT = {chain}\n")
    code, report = in_process(tmp_path, monkeypatch, capsys)
    assert (code, lines_by_path(report), report["errors"]) == (1, {"chain.py": [5]}, [])


def test_constant_folding_gives_up_instead_of_raising() -> None:
    # In this process the recursion limit is the default one; 900 terms exceed it.
    import libcst as cst

    from leakguard.analysis.constants import ConstantTable

    module = cst.parse_module("LIMIT = " + " + ".join(["1"] * 900) + "\nSMALL = 2 + 3\n")
    assert ConstantTable.from_module(module).values == {"SMALL": 5}


def test_an_exception_in_shared_analysis_is_reported_with_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from leakguard.analysis import constants

    def broken(cls, module):  # type: ignore[no-untyped-def]
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(constants.ConstantTable, "from_module", classmethod(broken))
    (tmp_path / "a.py").write_text(UNSAFE_LOAD)
    code, report = in_process(tmp_path, monkeypatch, capsys, "--jobs", "1")
    assert code == 1
    assert errors_by_path(report)["a.py"].startswith("internal error in shared analysis")


def test_a_failing_rule_costs_only_that_rules_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from leakguard.registry import rule_classes

    rule = rule_classes()["LG402"]
    names = [n for n in vars(rule) if n.startswith(("visit_", "leave_"))]
    assert names

    def explode(self, node):  # type: ignore[no-untyped-def]
        raise RecursionError("maximum recursion depth exceeded")

    for name in names:
        monkeypatch.setattr(rule, name, explode)
    (tmp_path / "a.py").write_text(UNSAFE_LOAD + "\nimport torch\nmodel = torch.load(path)\n")
    monkeypatch.setenv("LEAKGUARD_TRIAGE", "0")  # LG402 must run whatever its triage says
    monkeypatch.chdir(tmp_path)
    code = main(["check", "--no-cache", "--format", "json", "--select", "LG401,LG402"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert lines_by_path(report) == {"a.py": [5]}
    assert errors_by_path(report)["a.py"].startswith("internal error in rule LG402")


# -- row 3: invalid gitignore / exclude patterns -------------------------------------------


def test_bare_bang_in_gitignore_is_a_warning_and_the_rest_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    (tmp_path / ".gitignore").write_text("!\nignored.py\n")
    (tmp_path / "a.py").write_text(UNSAFE_LOAD)
    (tmp_path / "ignored.py").write_text(UNSAFE_LOAD)
    code, report = in_process(tmp_path, monkeypatch, capsys)
    assert code == 1 and lines_by_path(report) == {"a.py": [5]}
    [warning] = report["errors"]
    assert warning["path"] == ".gitignore" and warning["level"] == "warning"
    assert "invalid pattern '!'" in warning["message"]


def test_bare_bang_exclude_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(UNSAFE_LOAD)
    assert "--exclude: invalid pattern '!'" in config_error(tmp_path, "--exclude", "!")
    (tmp_path / ".leakguard.yaml").write_text("extend-exclude: ['!']\n")
    assert "extend-exclude: invalid pattern '!'" in config_error(tmp_path)


# -- row 4: file names that are not UTF-8 ---------------------------------------------------


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux file names may be any bytes")
@pytest.mark.parametrize("output_format", FORMATS)
@pytest.mark.parametrize("to_file", [False, True])
def test_undecodable_file_names_survive_every_format(
    tmp_path: Path, output_format: str, to_file: bool
) -> None:
    os.makedirs(os.fsencode(tmp_path / "src"))
    with open(os.fsencode(tmp_path / "src") + b"/caf\xe9.py", "w") as stream:
        stream.write(UNSAFE_LOAD)
    args = ["check", "--no-cache", "--select", "LG401", "--format", output_format, "src"]
    if to_file:
        args += ["-o", "report.out"]
    if to_file:  # in this process: the report file is opened as UTF-8 by leakguard
        code, _, err = run_main(tmp_path, *args)
        output = (tmp_path / "report.out").read_text("utf-8")
    else:  # a real stdout, whose encoding is strict
        done = run_cli(tmp_path, *args)
        code, err, output = done.returncode, done.stderr, done.stdout
    assert code == 1 and "Traceback" not in err, err
    assert any(name in output for name in ("caf\\xe9.py", "caf\\\\xe9.py", "caf%5Cxe9.py"))
    assert "LG401" in output


# -- row 5 and 13: symlink loops, unreadable directories --------------------------------------


def test_explicit_symlink_loop_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(UNSAFE_LOAD)
    os.symlink("loop", tmp_path / "loop")
    code, report, _ = check_json(tmp_path, "loop", "a.py")
    assert code == 1 and lines_by_path(report) == {"a.py": [5]}
    assert errors_by_path(report) == {"loop": "cannot check: symlink loop"}


@pytest.mark.parametrize("output_format", FORMATS)
def test_symlink_loop_and_unreadable_directory_in_a_tree_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, output_format: str
) -> None:
    (tmp_path / "pkg" / "locked").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_text(UNSAFE_LOAD)
    (tmp_path / "pkg" / "locked" / "b.py").write_text(UNSAFE_LOAD)
    os.symlink("..", tmp_path / "pkg" / "up")
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        # chmod 000 does not stop root, so the refusal is simulated.
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.chdir(tmp_path)
    code = main(["check", "--no-cache", "--select", "LG401", "--format", output_format, "pkg"])
    output = capsys.readouterr().out
    assert code == 1
    assert "pkg/locked" in output and "permission denied" in output
    assert "pkg/up" in output and "not followed" in output
    assert "pkg/a.py" in output


# -- rows 6, 7, 8, 15, 16, 17: configuration input -------------------------------------------


def test_deeply_nested_pyproject_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.leakguard]\nexclude = " + "[" * 2000 + "]" * 2000 + "\n"
    )
    (tmp_path / "a.py").write_text(UNSAFE_LOAD)
    assert "nested" in config_error(tmp_path, "a.py")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.leakguard]\nrules = " + "{a = " * 2000 + "1" + "}" * 2000 + "\n"
    )
    assert "nested" in config_error(tmp_path, "a.py")


def test_huge_yaml_integer_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / ".leakguard.yaml").write_text("max-file-size: " + "9" * 5000 + "\n")
    assert "integer too large (5000 digits)" in config_error(tmp_path)


def alias_bomb(levels: int = 9) -> str:
    """A flow sequence of ~400 bytes that expands to 9**levels values."""
    parts = ["&l0 [" + ", ".join(["LG401"] * 9) + "]"]
    for level in range(1, levels):
        parts.append(f"&l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "[" + ", ".join(parts) + "]"


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ("select: {bomb}\n", "select"),
        ("severity:\n  LG401: {bomb}\n", "severity.LG401"),
        ("rules:\n  LG102:\n    release_methods: {bomb}\n", "rules.LG102.release_methods"),
    ],
)
def test_yaml_alias_bomb_is_refused_at_once(tmp_path: Path, document: str, key: str) -> None:
    (tmp_path / ".leakguard.yaml").write_text(document.format(bomb=alias_bomb()))
    started = time.monotonic()
    stderr = config_error(tmp_path)
    assert f": {key}: more than 100,000 values once aliases are expanded" in stderr
    assert time.monotonic() - started < 60  # a bound on a hang, not a benchmark


def test_recursive_yaml_alias_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".leakguard.yaml").write_text("select: &a [LG401, *a]\n")
    assert "recursive alias" in config_error(tmp_path) or "nested" in config_error(tmp_path)


def test_deeply_nested_yaml_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".leakguard.yaml").write_text("select: " + "[" * 500 + "]" * 500 + "\n")
    assert "nested more than 32 levels deep" in config_error(tmp_path)


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_config_that_is_not_a_regular_file(tmp_path: Path, special: str) -> None:
    if special == "fifo":
        os.mkfifo(tmp_path / "fifo.yaml")
        special = str(tmp_path / "fifo.yaml")
    assert "<file>: not a regular file" in config_error(tmp_path, "--config", special)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ('ignore: [""]\n', "ignore: empty rule code"),
        ('select: ["LG401", " "]\n', "select: empty rule code"),
        ("per-file-ignores:\n  'a.py': ['']\n", "per-file-ignores.a.py: empty rule code"),
        ("rules:\n  LG102:\n    min_iterations: -5\n", "min_iterations: expected a number >= 0"),
        ("rules:\n  LG102:\n    min_iterations: 0\n", "min_iterations: expected a number > 0"),
        ("rules:\n  LG103:\n    min_repeat_count: 1.5\n", "min_repeat_count: expected int"),
        ("select: [LG401]\nselect: [LG402]\n", "duplicate key 'select'"),
        ("rules:\n  LG102:\n    min_iterations: 5\n    min_iterations: 6\n", "duplicate key"),
        ("file-timeout: 0\n", "file-timeout: expected a number of seconds above 0"),
        ("file-timeout: -1\n", "file-timeout: expected a number of seconds above 0"),
        ("file-memory-mb: 10\n", "file-memory-mb: expected MiB between"),
        ("max-file-size: -1\n", "max-file-size: expected a number of bytes"),
        ("cache-dir: ''\n", "cache-dir: expected a directory name"),
    ],
)
def test_nonsensical_values_are_configuration_errors(
    tmp_path: Path, document: str, expected: str
) -> None:
    (tmp_path / ".leakguard.yaml").write_text(document)
    assert expected in config_error(tmp_path)


def test_zero_min_iterations_stays_valid_where_it_is_the_default(tmp_path: Path) -> None:
    (tmp_path / ".leakguard.yaml").write_text("rules:\n  LG109:\n    min_iterations: 0\n")
    assert load_config([tmp_path]).rules["LG109"].options["min_iterations"] == 0


def test_pyproject_with_invalid_utf8_is_reported_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b"[tool.leakguard]\nselect = ['LG401'] # \xff\n")
    (tmp_path / "a.py").write_text(UNSAFE_LOAD)
    stderr = config_error(tmp_path, "a.py")
    assert "pyproject.toml: <file>: not valid UTF-8: byte 0xff at line 2" in stderr


def test_flake8_plugin_survives_hostile_config(tmp_path: Path) -> None:
    from leakguard.flake8_plugin import LeakguardChecker, _config_file_in, _setup_from

    (tmp_path / "a.py").write_text(UNSAFE_LOAD)
    for document in ('ignore: [""]\n', "a: &a [1]\nb: [*a, *a]\nb: 1\n", "x: " + "9" * 5000):
        (tmp_path / ".leakguard.yaml").write_text(document)
        _config_file_in.cache_clear()
        _setup_from.cache_clear()
        checker = LeakguardChecker(None, UNSAFE_LOAD.splitlines(True), str(tmp_path / "a.py"))  # type: ignore[arg-type]
        [(_, _, message, _)] = list(checker.run())
        assert message.startswith("LG000 leakguard configuration error"), message


def test_load_config_raises_config_error_for_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config([tmp_path], tmp_path)


# -- rows 9 and 10: budgets ------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "x = a" + ".attr" * 5000 + "\n",
        "x = a" + "[0]" * 5000 + "\n",
        "x = " + " if c else ".join(["1"] * 6000) + "\n",
    ],
    ids=["attribute-chain", "subscript-chain", "ternary-chain"],
)
def test_pathological_file_is_stopped_by_the_budget(tmp_path: Path, body: str) -> None:
    small_budget(tmp_path, seconds=2, memory_mb=1024)
    (tmp_path / "good.py").write_text(UNSAFE_LOAD)
    (tmp_path / "slow.py").write_text("import pickle\n" + body + "pickle.loads(b)\n")
    code, report, _ = check_json(tmp_path, "--jobs", "1")
    assert code == 1
    assert lines_by_path(report).get("good.py") == [5]
    errors = errors_by_path(report)
    if "slow.py" in errors:  # a fast machine may finish within the budget: then no error
        assert "budget" in errors["slow.py"] or "crashed" in errors["slow.py"]
    else:
        assert lines_by_path(report)["slow.py"]


def test_time_budget_names_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    hang_on(monkeypatch, "hang.py")
    small_budget(tmp_path, seconds=2)
    (tmp_path / "good.py").write_text(UNSAFE_LOAD)
    (tmp_path / "hang.py").write_text(UNSAFE_LOAD)
    code, report = in_process(tmp_path, monkeypatch, capsys, "--jobs", "1")
    assert code == 1 and lines_by_path(report) == {"good.py": [5]}
    assert errors_by_path(report)["hang.py"].startswith(
        "analysis stopped: over the time budget of 2 s per file (raise file-timeout"
    )


def test_memory_budget_names_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    real = engine.analyze_text

    def hog(text, display, *args, **kwargs):  # type: ignore[no-untyped-def]
        if display == "hog.py":
            _ = bytearray(2 * 1024**3)
        return real(text, display, *args, **kwargs)

    monkeypatch.setattr(engine, "analyze_text", hog)
    small_budget(tmp_path, seconds=30, memory_mb=1024)
    (tmp_path / "good.py").write_text(UNSAFE_LOAD)
    (tmp_path / "hog.py").write_text(UNSAFE_LOAD)
    code, report = in_process(tmp_path, monkeypatch, capsys, "--jobs", "1")
    assert code == 1 and lines_by_path(report) == {"good.py": [5]}
    assert errors_by_path(report)["hog.py"].startswith(
        "analysis stopped: over the memory budget of 1024 MiB per file (raise file-memory-mb"
    )


def test_huge_file_without_size_limit_costs_only_itself(tmp_path: Path) -> None:
    (tmp_path / ".leakguard.yaml").write_text(
        "max-file-size: 0\nfile-timeout: 2\nfile-memory-mb: 512\n"
    )
    (tmp_path / "good.py").write_text(UNSAFE_LOAD)
    with (tmp_path / "huge.py").open("w") as stream:
        stream.write("import pickle\n")
        for n in range(150_000):
            stream.write(f"value_{n} = pickle.loads(b'{n}')\n")
    code, report, _ = check_json(tmp_path, "--jobs", "1")
    assert code == 1 and lines_by_path(report).get("good.py") == [5]
    assert "budget" in errors_by_path(report)["huge.py"]


# -- rows 11 and 12: signals ---------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_workers_and_exits_without_traceback(
    tmp_path: Path, signum: int, status: int
) -> None:
    small_budget(tmp_path, seconds=600)
    # LibCST needs minutes for this chain; the call makes every phase parse it.
    (tmp_path / "slow.py").write_text("import pickle\nx = pickle.loads(a" + "[0]" * 5000 + ")\n")
    for n in range(4):
        (tmp_path / f"m{n}.py").write_text(UNSAFE_LOAD)
    # A process started with SIGINT ignored keeps ignoring it (a shell's background job;
    # Python then installs no KeyboardInterrupt), and the disposition is inherited: start
    # leakguard as a terminal's foreground command is, whatever this test process was left
    # with by code that ran in it before.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "leakguard", "check", "--no-cache", "-j", "2", "."],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "CI": "1"},
        )
    finally:
        signal.signal(signal.SIGINT, inherited)
    deadline = time.monotonic() + 240  # generous: a loaded CI machine starts slowly
    workers: set[int] = set()
    # A worker seen on two polls in a row is busy with slow.py (a pool of the fact
    # phase may come and go in between).
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        seen = _children(process.pid)
        time.sleep(0.3)
        workers = seen & _children(process.pid)
        if workers:
            break
    assert workers, "the workers never started"
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status, stderr
    assert stderr.strip().splitlines()[-1] == "leakguard: interrupted", stderr
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)


# -- row 14: exit status ------------------------------------------------------------------------


@pytest.mark.parametrize("output_format", FORMATS)
def test_unparsable_file_fails_the_run_unless_exit_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, output_format: str
) -> None:
    (tmp_path / "bad.py").write_text("def broken(:\n")
    monkeypatch.chdir(tmp_path)
    args = ["check", "--no-cache", "--format", output_format, "bad.py"]
    assert main(args) == 1
    assert "syntax error" in capsys.readouterr().out
    assert main([*args, "--exit-zero"]) == 0


def test_a_warning_alone_does_not_fail_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    (tmp_path / ".leakguard.yaml").write_text("max-file-size: 10\n")
    (tmp_path / "big.py").write_text("VALUE = 1\n" * 5)
    code, report = in_process(tmp_path, monkeypatch, capsys)
    assert code == 0
    assert [e["level"] for e in report["errors"]] == ["warning"]


@pytest.mark.parametrize("fix", [False, True], ids=["report", "fix"])
def test_stdin_is_analysed_under_the_same_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, fix: bool
) -> None:
    """`check -` (editors, pre-commit wrappers) must not hang on its input either; with
    `--fix` the source goes back untouched and the reason goes to stderr."""
    hang_on(monkeypatch, "hang.py")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(UNSAFE_LOAD.encode())))
    small_budget(tmp_path, seconds=2)
    monkeypatch.chdir(tmp_path)
    args = ["check", "-", "--stdin-filename", "hang.py", "--no-cache", "--format", "json"]
    code = main([*args, "--fix"] if fix else args)
    out, err = capsys.readouterr()
    assert code == 1
    report = json.loads(err if fix else out)
    assert report["findings"] == []
    assert errors_by_path(report)["hang.py"].startswith(
        "analysis stopped: over the time budget of 2 s per file"
    )
    if fix:
        assert out == UNSAFE_LOAD
