"""Bad input (issue 2): every broken, odd or huge file gives findings or an entry under
`errors` with a clear message, and the run still reports the other files' findings."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leakguard.cli import main

UNSAFE_LOAD = "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n"
BLOCK = '''
class Handler{n}:
    """Handles request kind {n}."""

    def __init__(self, name: str, limit: int = {n}) -> None:
        self.name = name
        self.limit = limit

    def process(self, values: list[int]) -> int:
        total = 0
        for value in values:
            total += value * 2 if value > self.limit else -value
        return total
'''


def generated_module(size: int) -> str:
    """Realistic code of about `size` characters ending in an unsafe load, so that the
    finding exists only if the whole file is really parsed."""
    parts = ["import pickle\n"]
    written, n = 0, 0
    while written < size:
        block = BLOCK.format(n=n)
        parts.append(block)
        written += len(block)
        n += 1
    parts.append("\n\ndef load(blob):\n    return pickle.loads(blob)\n")
    return "".join(parts)


def check(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict]:
    monkeypatch.chdir(root)
    code = main(["check", "--format", "json", "--no-cache", "--select", "LG401", *args])
    return code, json.loads(capsys.readouterr().out)


def findings_by_path(report: dict) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for finding in report["findings"]:
        found.setdefault(finding["path"], []).append(finding["line"])
    return found


def errors_by_path(report: dict) -> dict[str, str]:
    return {error["path"]: error["message"] for error in report["errors"]}


def test_a_run_over_bad_files_reports_each_and_keeps_the_good(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "good.py").write_text(UNSAFE_LOAD)
    (tmp_path / "syntax.py").write_text("import pickle\ndef broken(:\n    pickle.loads(b)\n")
    (tmp_path / "latin1_no_cookie.py").write_bytes(b'import pickle\nname = "caf\xe9"\n')
    (tmp_path / "latin1_cookie.py").write_bytes(
        b'# -*- coding: latin-1 -*-\nimport pickle\nname = "caf\xe9"\npickle.loads(name)\n'
    )
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbfimport pickle\npickle.loads(b)\n")
    (tmp_path / "empty.py").write_bytes(b"")
    (tmp_path / "nul.py").write_bytes(b"import pickle\n\x00pickle.loads(b)\n")
    (tmp_path / "bad_cookie.py").write_bytes(b"# coding: no-such-codec\nimport pickle\n")
    (tmp_path / "dangling.py").symlink_to(tmp_path / "does_not_exist.py")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(UNSAFE_LOAD)
    (tmp_path / "pkg" / "loop").symlink_to(tmp_path / "pkg", target_is_directory=True)
    (tmp_path / "pkg" / "parent").symlink_to(tmp_path, target_is_directory=True)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.py")  # reading it would block forever
    huge = tmp_path / "huge.py"
    huge.write_text(generated_module(5_000_000))
    assert huge.stat().st_size > 5_000_000

    started = time.perf_counter()
    code, report = check(tmp_path, monkeypatch, capsys)
    elapsed = time.perf_counter() - started

    assert code == 1
    assert findings_by_path(report) == {
        "bom.py": [2],
        "good.py": [5],
        "latin1_cookie.py": [4],  # decoded per its coding cookie and analysed
        "pkg/mod.py": [5],  # once, although two symlinks lead back into pkg/
    }
    errors = errors_by_path(report)
    assert errors["syntax.py"] == "syntax error at line 2, column 12: invalid syntax"
    assert errors["latin1_no_cookie.py"].startswith(
        "cannot decode as utf-8 (default encoding): invalid byte 0xe9 at line 2"
    )
    assert errors["nul.py"].startswith("file contains a NUL byte (line 2)")
    assert "no-such-codec" in errors["bad_cookie.py"]
    assert errors["dangling.py"] == "cannot read file: No such file or directory"
    assert "max-file-size" in errors["huge.py"] and "5,0" in errors["huge.py"]
    if hasattr(os, "mkfifo"):
        assert errors["fifo.py"] == "cannot read file: not a regular file"
    assert "empty.py" not in errors  # an empty module is valid Python
    expected_files = 11 + hasattr(os, "mkfifo")
    assert report["stats"]["files"] == expected_files
    # The 5 MB file is refused by size, not parsed: the whole run stays fast.
    assert elapsed < 30, f"run took {elapsed:.1f} s"


def test_large_file_is_really_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = generated_module(250_000)
    (tmp_path / "big.py").write_text(text)
    _, report = check(tmp_path, monkeypatch, capsys)
    last_line = text.count("\n")
    assert findings_by_path(report) == {"big.py": [last_line]}
    assert report["stats"]["lines"] == last_line


def test_max_file_size_is_configurable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "big.py").write_text(generated_module(20_000))
    (tmp_path / ".leakguard.yaml").write_text("max-file-size: 10000\n")
    code, report = check(tmp_path, monkeypatch, capsys)
    assert code == 0
    assert "max-file-size (10,000)" in errors_by_path(report)["big.py"]
    (tmp_path / ".leakguard.yaml").write_text("max-file-size: 0\n")  # no limit
    code, report = check(tmp_path, monkeypatch, capsys)
    assert code == 1 and report["errors"] == []


def _without_file_permission_override() -> None:
    """Drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so the
    exec'd process honours file modes even when running as root (as CI does)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_unreadable_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.py"
    secret.write_text(UNSAFE_LOAD)
    (tmp_path / "good.py").write_text(UNSAFE_LOAD)
    secret.chmod(0)
    command = [sys.executable, "-m", "leakguard", "check", ".", "--format", "json", "--no-cache"]
    try:
        completed = subprocess.run(
            command,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_without_file_permission_override if os.geteuid() == 0 else None,
        )
    finally:
        secret.chmod(0o644)
    assert completed.returncode == 1, completed.stderr
    report = json.loads(completed.stdout)
    assert findings_by_path(report) == {"good.py": [5]}
    assert errors_by_path(report) == {"secret.py": "cannot read file: permission denied"}


def test_explicit_directory_named_like_a_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "odd.py").mkdir()
    (tmp_path / "odd.py" / "inner.py").write_text(UNSAFE_LOAD)
    _, report = check(tmp_path, monkeypatch, capsys, "odd.py")
    assert findings_by_path(report) == {"odd.py/inner.py": [5]}


def test_syntax_error_is_reported_even_when_no_rule_needs_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Neither file mentions anything LG401 looks for, so its prefilter skips them.
    (tmp_path / "broken.py").write_text("def f(:\n    return 1\n")
    (tmp_path / "newer_syntax.py").write_text("type Vector = list[float]\n")
    (tmp_path / "good.py").write_text(UNSAFE_LOAD)
    code, report = check(tmp_path, monkeypatch, capsys)
    assert code == 1
    assert errors_by_path(report) == {
        "broken.py": "syntax error at line 1, column 7: invalid syntax"
    }  # PEP 695 syntax parses with LibCST even where this interpreter's parser fails
    assert findings_by_path(report) == {"good.py": [5]}
