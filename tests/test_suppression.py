"""Inline suppressions (issue 2): `# leakguard: ignore[...]`, bare `# leakguard: ignore`,
`# noqa: LGxxx` and bare `# noqa`, on the reported line or any line of a multi-line
statement. Suppressed findings stay in JSON with `suppressed: true` and never fail the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakguard.cli import main
from leakguard.suppression import ALL, codes_in_comment
from leakguard.testing import run

CASES = """\
import pickle


def loads(blob):
    a = pickle.loads(blob)  # leakguard: ignore[LG401]
    b = pickle.loads(blob)  # leakguard: ignore[LG101,LG401]
    c = pickle.loads(blob)  # leakguard: ignore
    d = pickle.loads(blob)  # noqa: LG401
    e = pickle.loads(blob)  # noqa
    f = pickle.loads(blob)  # NOQA:LG401,E501
    g = pickle.loads(
        blob,
    )  # leakguard: ignore[LG401] -- any line of the statement
    h = pickle.loads(  # noqa: LG401
        blob,
    )
    if pickle.loads(blob):  # noqa: LG401
        pass
    return a, b, c, d, e, f, g, h


def still_reported(blob):
    i = pickle.loads(blob)  # leakguard: ignore[LG101]
    j = pickle.loads(blob)  # noqa: E501
    k = pickle.loads(blob)  # leakguard ignore (malformed: no colon)
    m = pickle.loads(blob)
    # noqa  (a comment on the next line does not count)
    s = "pickle.loads(blob)  # noqa"; n = pickle.loads(blob)
    return i, j, k, m, n, s
"""
SUPPRESSED_LINES = {5, 6, 7, 8, 9, 10, 11, 14, 17}
REPORTED_LINES = {23, 24, 25, 26, 28}


def test_each_suppression_form(tmp_path: Path) -> None:
    (tmp_path / "cases.py").write_text(CASES, encoding="utf-8")
    result = run([tmp_path], tmp_path, select=["LG401"])
    by_line = {f.line: f.suppressed for f in result.findings}
    assert {line for line, hidden in by_line.items() if hidden} == SUPPRESSED_LINES
    assert {line for line, hidden in by_line.items() if not hidden} == REPORTED_LINES


def test_suppressed_findings_stay_in_json_and_do_not_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "quiet.py").write_text(
        "import pickle\n"
        "x = pickle.loads(b)  # noqa: LG401\n"
        "y = pickle.loads(b)  # leakguard: ignore\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    code = main(["check", "--format", "json", "--no-cache", "--select", "LG401"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [(f["line"], f["suppressed"]) for f in report["findings"]] == [(2, True), (3, True)]
    # Text output hides them but counts them.
    code = main(["check", "--no-cache", "--select", "LG401"])
    out = capsys.readouterr().out
    assert code == 0
    assert "pickle.loads" not in out and "2 suppressed" in out


def test_noqa_for_another_rule_does_not_hide_the_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.py").write_text("import pickle\nx = pickle.loads(b)  # noqa: F401\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--format", "json", "--no-cache", "--select", "LG401"]) == 1
    assert json.loads(capsys.readouterr().out)["findings"][0]["suppressed"] is False


@pytest.mark.parametrize(
    ("comment", "codes"),
    [
        ("# leakguard: ignore[LG101]", frozenset({"LG101"})),
        ("# leakguard: ignore[LG101, lg201]", frozenset({"LG101", "LG201"})),
        ("#leakguard:ignore", ALL),
        ("# leakguard: ignore[]", ALL),
        ("# noqa", ALL),
        ("# noqa: LG101,LG202", frozenset({"LG101", "LG202"})),
        ("# noqa:LG101 LG202 because reasons", frozenset({"LG101", "LG202"})),
        ("# type: ignore", None),
        ("# a normal comment about noqas", None),
    ],
)
def test_comment_parsing(comment: str, codes: frozenset[str] | None) -> None:
    assert codes_in_comment(comment) == codes
