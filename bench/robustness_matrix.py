"""Regenerate the matrix of docs/robustness.md: each hostile input of issue 9, run with
the real command line; exit status, first message, wall time and peak RSS of the run
(the largest of leakguard and its workers, from wait4).

    python bench/robustness_matrix.py > /tmp/matrix.md
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

UNSAFE = "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n"


def _write(root: Path, name: str, text: str) -> None:
    (root / name).write_text(text, encoding="utf-8")


def _bomb() -> str:
    parts = ["&l0 [" + ", ".join(["LG401"] * 9) + "]"]
    for level in range(1, 9):
        parts.append(f"&l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "[" + ", ".join(parts) + "]"


def _nonutf8(root: Path) -> None:
    with open(os.fsencode(root) + b"/caf\xe9.py", "w") as stream:
        stream.write(UNSAFE)


def _fifo(root: Path) -> None:
    os.mkfifo(root / "fifo.yaml")


def _huge(root: Path) -> None:
    _write(root, ".leakguard.yaml", "max-file-size: 0\n")
    with (root / "huge.py").open("w") as stream:
        stream.write("import pickle\n")
        for n in range(1_500_000):
            stream.write(f"value_{n} = pickle.loads(b'{n}')\n")


Setup = Callable[[Path], None]
ROWS: list[tuple[str, str, Setup, list[str]]] = [
    (
        "1",
        "1300 nested parentheses",
        lambda r: _write(r, "deep.py", "x = " + "(" * 1300 + "1" + ")" * 1300 + "\n"),
        [],
    ),
    (
        "1",
        "1850 nested brackets, --jobs 1",
        lambda r: _write(r, "deep.py", "x = " + "[" * 1850 + "1" + "]" * 1850 + "\n"),
        ["-j", "1"],
    ),
    (
        "2",
        "500-term `1 + 1 + ...` with pickle",
        lambda r: _write(r, "chain.py", UNSAFE + "X = " + " + ".join(["1"] * 500) + "\n"),
        [],
    ),
    ("3", "`.gitignore` line `!`", lambda r: _write(r, ".gitignore", "!\n"), []),
    ("3", "`--exclude '!'`", lambda r: None, ["--exclude", "!"]),
    ("4", "non-UTF-8 file name with a finding", _nonutf8, []),
    (
        "5",
        "symlink loop on the command line",
        lambda r: os.symlink("loop", r / "loop"),
        ["loop", "good.py"],
    ),
    (
        "6",
        "pyproject array nested 2000 deep",
        lambda r: _write(
            r, "pyproject.toml", "[tool.leakguard]\nexclude = " + "[" * 2000 + "]" * 2000 + "\n"
        ),
        [],
    ),
    (
        "7",
        "YAML integer of 5000 digits",
        lambda r: _write(r, ".leakguard.yaml", "max-file-size: " + "9" * 5000 + "\n"),
        [],
    ),
    (
        "8",
        "YAML alias bomb in `select`",
        lambda r: _write(r, ".leakguard.yaml", f"select: {_bomb()}\n"),
        [],
    ),
    ("9", "`max-file-size = 0`, 50 MB file", _huge, []),
    (
        "10",
        "5,000-link `.attr` chain",
        lambda r: _write(
            r, "slow.py", "import pickle\nx = pickle.loads(a" + ".attr" * 5000 + ")\n"
        ),
        [],
    ),
    (
        "10",
        "5,000-link `[0]` chain",
        lambda r: _write(r, "slow.py", "import pickle\nx = pickle.loads(a" + "[0]" * 5000 + ")\n"),
        [],
    ),
    (
        "10",
        "60 KB chained ternary",
        lambda r: _write(
            r,
            "slow.py",
            "import pickle\nx = pickle.loads(" + " if c else ".join(["1"] * 6000) + ")\n",
        ),
        [],
    ),
    ("13", "symlink loop inside the tree", lambda r: os.symlink(".", r / "loop"), []),
    ("14", "syntax error", lambda r: _write(r, "bad.py", "def f(:\n"), []),
    ("15", "`--config /dev/zero`", lambda r: None, ["--config", "/dev/zero"]),
    ("15", "`--config` a FIFO", _fifo, ["--config", "fifo.yaml"]),
    ("16", '`ignore = [""]`', lambda r: _write(r, ".leakguard.yaml", 'ignore: [""]\n'), []),
    (
        "17",
        "negative threshold",
        lambda r: _write(r, ".leakguard.yaml", "rules:\n  LG102:\n    min_iterations: -1\n"),
        [],
    ),
    (
        "17",
        "duplicate YAML key",
        lambda r: _write(r, ".leakguard.yaml", "select: [LG401]\nselect: [LG402]\n"),
        [],
    ),
    (
        "17",
        "pyproject with invalid UTF-8",
        lambda r: (r / "pyproject.toml").write_bytes(b"[tool.leakguard]\n# \xff\n"),
        [],
    ),
]


def run(setup: Setup, args: list[str], signum: int | None = None) -> tuple[int, str, float, int]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _write(root, "good.py", UNSAFE)
        setup(root)
        command = [sys.executable, "-m", "leakguard", "check", "--no-cache", "-q", *args]
        started = time.monotonic()
        with tempfile.TemporaryFile() as output:
            process = subprocess.Popen(
                command,
                cwd=root,
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NO_COLOR": "1", "CI": "1"},
            )
            if signum is not None:
                _wait_for_a_worker(process.pid)
                process.send_signal(signum)
            # wait4, not communicate: its rusage has the peak RSS of the run, workers
            # included (Linux reports the largest of a process and its waited children).
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.monotonic() - started
            output.seek(0)
            text = output.read().decode("utf-8", "replace")
        code = os.waitstatus_to_exitcode(status)
        lines = [
            line
            for line in text.splitlines()
            if line.strip() and "good.py" not in line and not line.startswith(("{", " ", "}"))
        ]
        return code, (lines[0] if lines else "(findings of good.py only)"), seconds, usage.ru_maxrss


def _wait_for_a_worker(pid: int) -> None:
    """Until leakguard has a child process (a worker busy with slow.py)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == pid:
                    time.sleep(1)  # let the worker get going
                    return
        time.sleep(0.1)


def main() -> None:
    print("| # | input | exit | message | time (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|---|")
    only = set(sys.argv[1:])  # row numbers to run, e.g. `11 12`; default all
    for row, label, setup, args in ROWS:
        if only and row not in only:
            continue
        code, message, seconds, peak = run(setup, args)
        message = message.replace("|", "\\|")[:160]
        print(f"| {row} | {label} | {code} | {message} | {seconds:.1f} | {peak / 1024:.0f} |")
    signals = (("11", "SIGTERM", signal.SIGTERM), ("12", "SIGINT (Ctrl-C)", signal.SIGINT))
    for row, label, signum in signals:
        if only and row not in only:
            continue
        setup = ROWS[12][2]  # the `[0]` chain keeps a worker busy
        code, message, seconds, peak = run(setup, ["-j", "2"], signum)
        print(f"| {row} | {label} | {code} | {message} | {seconds:.1f} | {peak / 1024:.0f} |")


if __name__ == "__main__":
    main()
