"""A file that does not end in a newline reports every finding where it reports it with one.

About a third of real files lack a final newline; a statement on the last line used to
take the position of an identical statement earlier in the file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leakguard.finding import Finding
from leakguard.testing import run

FIXTURES = Path(__file__).parent / "fixtures" / "rules"


def _fixtures() -> list[tuple[str, Path]]:
    return [
        (rule_dir.name, item)
        for rule_dir in sorted(p for p in FIXTURES.iterdir() if p.is_dir())
        for item in sorted(rule_dir.iterdir())
        if item.name.startswith("pos_") and (item.is_dir() or item.suffix == ".py")
    ]


def _positions(path: Path, rule: str) -> list[tuple[object, ...]]:
    result = run([path], path.parent, select=[rule])
    assert not result.errors, result.errors
    findings: list[Finding] = list(result.findings)
    return sorted(
        (f.path, f.line, f.column, f.end_line, f.end_column, f.rule, f.message) for f in findings
    )


def _strip_final_newlines(path: Path) -> None:
    for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
        file.write_bytes(file.read_bytes().rstrip(b"\r\n"))


@pytest.mark.parametrize(
    ("rule", "fixture"), _fixtures(), ids=lambda v: v.name if isinstance(v, Path) else v
)
def test_positions_do_not_depend_on_the_final_newline(
    rule: str, fixture: Path, tmp_path: Path
) -> None:
    with_newline = tmp_path / "with" / fixture.name
    without = tmp_path / "without" / fixture.name
    for copy in (with_newline, without):
        if fixture.is_dir():
            shutil.copytree(fixture, copy)
        else:
            copy.parent.mkdir(parents=True)
            shutil.copyfile(fixture, copy)
    _strip_final_newlines(without)
    expected = _positions(with_newline, rule)
    assert expected, f"{fixture} reports nothing for {rule}"
    assert _positions(without, rule) == expected


def test_identical_last_statement_is_reported_on_its_own_line(tmp_path: Path) -> None:
    source = tmp_path / "two_loaders.py"
    body = "import pickle\n\n\ndef a(f):\n    return pickle.load(f)\n\n\ndef b(f):\n"
    source.write_text(body + "    return pickle.load(f)")
    lines = [f.line for f in run([source], tmp_path, select=["LG401"]).findings]
    assert lines == [5, 9]


def test_a_deeper_copy_of_a_statement_is_not_its_position(tmp_path: Path) -> None:
    # "    x = pickle.loads(b)\n" also occurs inside the more indented line 7.
    source = tmp_path / "nested.py"
    source.write_text(
        "import pickle\n\n\ndef a(b):\n    if b:\n        if b:\n"
        "            x = pickle.loads(b)\n    x = pickle.loads(b)\n    return x"
    )
    lines = sorted(f.line for f in run([source], tmp_path, select=["LG401"]).findings)
    assert lines == [7, 8]
