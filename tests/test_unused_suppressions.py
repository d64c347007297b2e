"""Issue 15 item 8: LG001 reports suppression comments that suppress nothing (RUF100)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakguard.cli import main
from leakguard.testing import run

SOURCE = """import pickle


def load(blob):
    used = pickle.loads(blob)  # noqa: LG401
    stale = len(blob)  # noqa: LG401
    partly = pickle.loads(blob)  # leakguard: ignore[LG401, LG102]
    bare_used = pickle.loads(blob)  # leakguard: ignore
    bare_stale = 1  # leakguard: ignore
    flake8_only = 2  # noqa
    other_tool = 3  # noqa: E501
    spread = pickle.loads(
        blob,  # noqa: LG401
    )
    return used, stale, partly, bare_used, bare_stale, flake8_only, other_tool, spread
"""


def _unused(tmp_path: Path, select: list[str]) -> dict[int, str]:
    (tmp_path / "app.py").write_text(SOURCE, encoding="utf-8")
    result = run([tmp_path / "app.py"], tmp_path, select=select)
    return {f.line: f.message for f in result.findings if f.rule == "LG001"}


def test_only_suppressions_that_suppress_nothing_are_reported(tmp_path: Path) -> None:
    unused = _unused(tmp_path, ["LG401", "LG001"])
    assert unused == {
        6: "Unused suppression of LG401 in `# noqa: LG401`",
        7: (
            "Unused suppression of LG102 in `# leakguard: ignore[LG401, LG102]` "
            "(LG102 is not enabled)"
        ),
        9: "`# leakguard: ignore` suppresses nothing on this line",
    }


def test_codes_of_rules_that_did_not_run_are_named_as_such(tmp_path: Path) -> None:
    unused = _unused(tmp_path, ["LG001"])
    assert unused[5] == "Unused suppression of LG401 in `# noqa: LG401` (LG401 is not enabled)"
    assert 10 not in unused and 11 not in unused  # flake8's directives are left alone


def test_off_by_default_and_enabled_by_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.py").write_text(SOURCE, encoding="utf-8")
    (tmp_path / ".leakguard.yaml").write_text("select: [LG401]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    def rules(*args: str) -> list[tuple[str, int]]:
        main(["check", "--no-cache", "--format", "json", *args])
        findings = json.loads(capsys.readouterr().out)["findings"]
        return [(f["rule"], f["line"]) for f in findings if not f["suppressed"]]

    assert ("LG001", 6) not in rules()
    reported = rules("--report-unused-suppressions")
    assert [line for rule, line in reported if rule == "LG001"] == [6, 7, 9]
    assert ("LG401", 5) not in reported  # still suppressed


def test_text_output_shows_the_directive_and_the_help(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.py").write_text("x = 1  # noqa: LG401\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = main(["check", "--no-cache", "--select", "LG401", "--report-unused-suppressions"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("app.py:1:8: LG001 [*] [warning] Unused suppression of LG401")
    assert "^^^^^^^^^^^^^" in out
    assert "help: Remove the comment" in out


FIX_BEFORE = """import pickle


def load(blob):
    used = pickle.loads(blob)  # noqa: LG401
    stale = len(blob)  # noqa: LG401
    partly = pickle.loads(blob)  # noqa: E501, LG401, LG102
    noted = 1  # leakguard: ignore[LG401] -- reviewed in 2023
    chained = 2  # noqa: LG401  # pragma: no cover
    return used, stale, partly, noted, chained
"""
FIX_AFTER = """import pickle


def load(blob):
    used = pickle.loads(blob)  # noqa: LG401
    stale = len(blob)
    partly = pickle.loads(blob)  # noqa: E501, LG401
    noted = 1
    chained = 2  # pragma: no cover
    return used, stale, partly, noted, chained
"""


def test_fix_removes_unused_suppressions_and_keeps_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "app.py"
    target.write_text(FIX_BEFORE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    args = ["check", "--no-cache", "--select", "LG401", "--report-unused-suppressions"]
    main([*args, "--fix"])
    capsys.readouterr()
    assert target.read_text(encoding="utf-8") == FIX_AFTER
    assert main(args) == 0  # nothing left to report
