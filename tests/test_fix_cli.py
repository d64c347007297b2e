"""`leakguard check` with `--fix`, `--unsafe-fixes`, `--diff`, `--show-fixes`,
`--add-noqa`, stdin (`check -`, `--stdin-filename`), and fixes in JSON and text output."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from leakguard.cli import main

SERVICE = """\
import asyncio
import time

import requests


async def handler(url):
    loop = asyncio.get_event_loop()  # the loop
    time.sleep(0.5)
    return await loop.run_in_executor(None, requests.get, url), requests.get(url)
"""

SAFE_FIXED = SERVICE.replace("asyncio.get_event_loop()", "asyncio.get_running_loop()").replace(
    "time.sleep(0.5)", "await asyncio.sleep(0.5)"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.leakguard]\nselect = ["LG201", "LG203"]\n'
        'per-file-ignores = { "legacy/*" = ["LG203"] }\n',
        encoding="utf-8",
    )
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "service.py").write_text(SERVICE, encoding="utf-8")
    return tmp_path


def _run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, root: Path, *args: str
) -> tuple[int, str, str]:
    monkeypatch.chdir(root)
    monkeypatch.setenv("NO_COLOR", "1")
    code = main(["check", "--no-cache", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_fix_applies_safe_fixes_and_reports_what_remains(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = _run(capsys, monkeypatch, project, "app", "--fix", "--show-fixes")
    assert (project / "app" / "service.py").read_text(encoding="utf-8") == SAFE_FIXED
    assert "Fixed 1 LG201 in app/service.py" in out
    assert "Fixed 1 LG203 in app/service.py" in out
    assert "Fixed 2 findings." in out
    # `requests.get(url)` is only fixable unsafely: still reported, exit 1.
    assert "app/service.py:10:" in out and "LG201" in out
    assert code == 1
    again, out, _ = _run(capsys, monkeypatch, project, "app", "--fix")
    assert "Fixed" not in out  # idempotent: nothing left that --fix applies
    assert again == 1


def test_unsafe_fixes_apply_too(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = _run(capsys, monkeypatch, project, "app", "--fix", "--unsafe-fixes")
    fixed = (project / "app" / "service.py").read_text(encoding="utf-8")
    assert "await asyncio.to_thread(requests.get, url)" in fixed
    assert "Fixed 3 findings." in out
    assert code == 0


def test_diff_prints_and_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = _run(capsys, monkeypatch, project, "app", "--diff")
    assert code == 1
    assert (project / "app" / "service.py").read_text(encoding="utf-8") == SERVICE
    assert out.startswith("--- a/app/service.py\n+++ b/app/service.py\n")
    assert "-    loop = asyncio.get_event_loop()  # the loop\n" in out
    assert "+    loop = asyncio.get_running_loop()  # the loop\n" in out
    assert "Would fix 2 findings in 1 file." in err
    (project / "app" / "service.py").write_text(SAFE_FIXED, encoding="utf-8")
    code, out, _ = _run(capsys, monkeypatch, project, "app", "--diff")
    assert (code, out) == (0, "")


def test_suppressed_findings_are_never_fixed(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = SERVICE.replace("# the loop", "# noqa: LG203")
    (project / "app" / "service.py").write_text(source, encoding="utf-8")
    _run(capsys, monkeypatch, project, "app", "--fix")
    fixed = (project / "app" / "service.py").read_text(encoding="utf-8")
    assert "asyncio.get_event_loop()  # noqa: LG203" in fixed
    assert "await asyncio.sleep(0.5)" in fixed


def test_a_result_that_would_not_parse_is_left_untouched_and_reported(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import leakguard.fixes.apply as apply

    monkeypatch.setattr(apply, "parses", lambda text: False)
    code, out, _ = _run(capsys, monkeypatch, project, "app", "--fix")
    assert (project / "app" / "service.py").read_text(encoding="utf-8") == SERVICE
    assert "would leave the file unparsable; left untouched" in out
    assert code == 1


def test_text_output_marks_fixable_findings(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = _run(capsys, monkeypatch, project, "app")
    lines = [line for line in out.splitlines() if line.startswith("app/service.py:")]
    assert any(":8:" in line and "LG203 [*]" in line for line in lines)
    assert any(":9:" in line and "LG201 [*]" in line for line in lines)
    unsafe_only = [line for line in lines if line.startswith("app/service.py:10:")]
    assert unsafe_only and all("[*]" not in line for line in unsafe_only)
    assert "[*] 2 fixable with `--fix` (1 more fixable with `--unsafe-fixes`)." in out
    _, out, _ = _run(capsys, monkeypatch, project, "app", "--unsafe-fixes")
    assert "[*] 3 fixable with `--fix --unsafe-fixes`." in out


def test_json_findings_carry_their_fix(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = _run(capsys, monkeypatch, project, "app", "--format", "json")
    findings = {(f["rule"], f["line"]): f for f in json.loads(out)["findings"]}
    fix = findings[("LG203", 8)]["fix"]
    assert fix == {
        "applicability": "safe",
        "message": "Use `asyncio.get_running_loop()`",
        "edits": [{"line": 8, "column": 24, "end_line": 8, "end_column": 29, "content": "running"}],
    }
    assert findings[("LG201", 10)]["fix"]["applicability"] == "unsafe"


def test_add_noqa_merges_with_existing_comments(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = SERVICE.replace("# the loop", "# noqa: E501 keep").replace(
        "    time.sleep(0.5)\n",
        '    time.sleep(0.5)  # pause\n    query = f"""\n    {requests.get(url)}"""\n',
    )
    path = project / "app" / "service.py"
    path.write_text(source, encoding="utf-8")
    code, out, _ = _run(capsys, monkeypatch, project, "app", "--add-noqa")
    assert code == 0
    assert "Added 4 noqa directives." in out
    text = path.read_text(encoding="utf-8")
    assert "asyncio.get_event_loop()  # noqa: E501, LG203 keep" in text
    assert "time.sleep(0.5)  # pause  # noqa: LG201" in text
    # The finding inside the multi-line f-string gets its comment where one can go.
    assert '    {requests.get(url)}"""  # noqa: LG201\n' in text
    code, out, _ = _run(capsys, monkeypatch, project, "app")
    assert code == 0 and "No findings." in out
    _run(capsys, monkeypatch, project, "app", "--add-noqa")
    assert path.read_text(encoding="utf-8") == text  # nothing left to add


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8"))))


def test_stdin_uses_the_filename_for_config_and_output(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, SERVICE)
    code, out, _ = _run(capsys, monkeypatch, project, "-", "--stdin-filename", "app/new.py")
    assert code == 1
    assert "app/new.py:8:12: LG203" in out
    # per-file-ignores of the configuration found from the filename apply.
    _stdin(monkeypatch, SERVICE)
    _, out, _ = _run(capsys, monkeypatch, project, "-", "--stdin-filename", "legacy/old.py")
    assert "LG203" not in out and "legacy/old.py:9:5: LG201" in out


def test_stdin_fix_writes_the_fixed_source_to_stdout(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, SERVICE)
    code, out, err = _run(
        capsys, monkeypatch, project, "-", "--stdin-filename", "app/new.py", "--fix"
    )
    assert out == SAFE_FIXED
    assert "app/new.py:10:" in err  # what remains goes to stderr
    assert code == 1
    assert not (project / "app" / "new.py").exists()


def test_stdin_cannot_be_mixed_with_paths(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = _run(capsys, monkeypatch, project, "-", "app")
    assert code == 2 and "stdin" in err


def test_fix_keeps_a_declared_encoding(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = "# -*- coding: latin-1 -*-\n# café\n" + SERVICE
    path = project / "app" / "service.py"
    path.write_bytes(source.encode("latin-1"))
    _run(capsys, monkeypatch, project, "app", "--fix")
    data = path.read_bytes()
    assert "# café".encode("latin-1") in data
    assert b"asyncio.get_running_loop()" in data


def test_cached_results_keep_fixes_and_marks(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setenv("NO_COLOR", "1")
    for _ in range(2):  # the second run reads the cache
        main(["check", "app", "--format", "json"])
        findings = json.loads(capsys.readouterr().out)["findings"]
        assert {f["rule"]: f["fix"]["applicability"] for f in findings if f["line"] != 10} == {
            "LG201": "safe",
            "LG203": "safe",
        }
        main(["check", "app"])
        assert "LG203 [*]" in capsys.readouterr().out
