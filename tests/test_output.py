"""Output (issue 2): the text format (finding line, source excerpt with carets,
summary), plain text when piped or with NO_COLOR, and the JSON contract of
shared/spec/rules.md (keys, types, 1-based positions, sorting, errors, stats)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

import leakguard
from leakguard.cli import main
from leakguard.positions import StatementPositions
from leakguard.walker import walk

CORPUS = ["bisect.py", "contextlib.py", "keyword.py", "this.py", "tokenize.py"]
FINDING_KEYS = {
    "rule",
    "name",
    "severity",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "message",
    "suppressed",
}
SOURCE = "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n"


def leakguard_cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "leakguard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "b.py").write_text(SOURCE, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.py").write_text(
        "import pickle\nx = pickle.loads(pickle.loads(b))\ny = 1\n", encoding="utf-8"
    )
    (tmp_path / "a.py").write_text(
        "import pickle\nz = pickle.loads(b)  # noqa: LG401\nw = pickle.loads(b)\n", encoding="utf-8"
    )
    (tmp_path / "broken.py").write_text("import pickle\ndef f(:\n", encoding="utf-8")
    (tmp_path / "clean.py").write_text("VALUE = 1\n", encoding="utf-8")
    return tmp_path


def test_text_format_piped(project: Path) -> None:
    result = leakguard_cli(project, "check", "--no-cache", "--select", "LG401")
    assert result.returncode == 1
    out = result.stdout
    assert "\x1b" not in out and "\x1b" not in result.stderr  # piped: no control codes
    lines = out.splitlines()
    first = lines.index(next(line for line in lines if line.startswith("b.py:")))
    assert lines[first].startswith("b.py:5:12: LG401 [error] `pickle.loads` unpickles its input")
    assert lines[first + 1] == "    5 |     return pickle.loads(blob)"
    assert lines[first + 2] == "      |            " + "^" * len("pickle.loads(blob)")
    assert "broken.py: error: syntax error at line 2, column 7" in out
    summary = lines[-1]
    assert summary.startswith("Found 4 findings (4 error) from 1 rule in 3 files: LG401 4.")
    assert "5 files checked" in summary and "1 suppressed" in summary and "1 file error" in summary
    assert not any(line.startswith("a.py:2:") for line in lines)  # suppressed: hidden


def in_process(project: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.chdir(project)
    return main(["check", "--no-cache", "--select", "LG401", *args])


def test_text_quiet_and_statistics(project: Path, monkeypatch, capsys) -> None:
    in_process(project, monkeypatch, "--quiet")
    quiet = capsys.readouterr().out
    assert all(":" in line for line in quiet.splitlines())
    assert " | " not in quiet and "Found" not in quiet
    in_process(project, monkeypatch, "--statistics")
    assert "     4  LG401  unsafe-deserialization [error]" in capsys.readouterr().out


def test_no_color_and_tty(project: Path) -> None:
    pty = pytest.importorskip("pty")

    def run_on_tty(env: dict[str, str]) -> bytes:
        leader, follower = pty.openpty()
        try:
            environment = {
                k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "CI")
            }
            environment.update(env, TERM="xterm-256color", COLUMNS="200")
            process = subprocess.run(
                [sys.executable, "-m", "leakguard", "check", "--no-cache", "--select", "LG401"],
                cwd=project,
                stdout=follower,
                stderr=subprocess.DEVNULL,
                env=environment,
                timeout=60,
            )
            assert process.returncode == 1
            os.close(follower)
            chunks = []
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO once the follower side is closed and drained
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(leader)

    assert b"\x1b[" in run_on_tty({})
    plain = run_on_tty({"NO_COLOR": "1"})
    assert b"\x1b[" not in plain and b"b.py:5:12: LG401 [error]" in plain


def test_json_contract(project: Path) -> None:
    result = leakguard_cli(project, "check", "--no-cache", "--select", "LG401", "--format", "json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert set(document) == {"tool", "findings", "errors", "stats"}
    assert document["tool"] == {"name": "leakguard", "version": leakguard.__version__}
    findings = document["findings"]
    for finding in findings:
        # `help` is optional: present when the rule says how to fix the finding.
        assert set(finding) - {"help"} == FINDING_KEYS
        for key in ("line", "column", "end_line", "end_column"):
            assert isinstance(finding[key], int) and finding[key] >= 1
        assert isinstance(finding["suppressed"], bool)
        assert finding["severity"] in ("error", "warning", "note")
        assert finding["name"] == "unsafe-deserialization"
    assert findings == sorted(
        findings, key=lambda f: (f["path"], f["line"], f["column"], f["rule"])
    )
    located = [
        (f["path"], f["line"], f["column"], f["end_column"], f["suppressed"]) for f in findings
    ]
    assert located == [
        ("a.py", 2, 5, 20, True),
        ("a.py", 3, 5, 20, False),
        ("b.py", 5, 12, 30, False),
        ("sub/a.py", 2, 5, 34, False),
        ("sub/a.py", 2, 18, 33, False),
    ]
    assert document["errors"] == [
        {
            "path": "broken.py",
            "message": "syntax error at line 2, column 7: invalid syntax",
            "level": "error",
        }
    ]
    stats = document["stats"]
    assert set(stats) == {"files", "lines", "seconds", "parsed_files", "parsed_lines"}
    assert stats["files"] == 5 and stats["lines"] == 14
    assert 0 <= stats["parsed_files"] <= 5 and 0 <= stats["parsed_lines"] <= 14
    assert isinstance(stats["seconds"], float) and stats["seconds"] >= 0


def test_output_file(project: Path, monkeypatch, capsys) -> None:
    target = project / "reports" / "out.json"
    assert in_process(project, monkeypatch, "--format", "json", "--output", str(target)) == 1
    assert capsys.readouterr().out == ""
    assert len(json.loads(target.read_text(encoding="utf-8"))["findings"]) == 5
    text_target = project / "out.txt"
    in_process(project, monkeypatch, "-o", str(text_target))
    text = text_target.read_text(encoding="utf-8")
    assert "b.py:5:12: LG401" in text and "\x1b" not in text


def test_statement_positions_match_libcst() -> None:
    """The engine resolves positions one top-level statement at a time; they must be
    exactly LibCST's PositionProvider ranges for every node the walker visits."""
    stdlib = sysconfig.get_paths()["stdlib"]
    sources = [Path(stdlib, name).read_text(encoding="utf-8") for name in CORPUS]
    sources += [
        "x = 1\r\ny = (\r\n  2)\r\n",
        "a = 1\n\n# same\nb = 1\n\n# same\nb = 1\n",  # duplicate statements
        "if x:\n    pass\nelse:\n    y = 2",  # no trailing newline
        "# header\n\n\n@decorator\nclass C:\n\tdef f(self):\n\t\treturn [\n\t\t\t1]\n",
    ]
    for text in sources:
        module = cst.parse_module(text)
        expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        positions = StatementPositions(module, text, [])
        nodes: list[cst.CSTNode] = []
        walk(module, nodes.append)
        for node in nodes[1:]:
            assert positions[node] == expected[node], (type(node).__name__, text[:60])
