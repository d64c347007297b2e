"""A file that does not end in a newline reports every finding where it reports it with one.

About a third of real files lack a final newline; a statement on the last line used to
take the position of an identical statement earlier in the file.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
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


Positions = list[tuple[object, ...]]


def _strip_final_newlines(path: Path) -> None:
    for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
        file.write_bytes(file.read_bytes().rstrip(b"\r\n"))


def _positions_by_fixture(copies: list[Path], root: Path, rule: str) -> dict[str, Positions]:
    """The positions of `rule`'s findings in each of `copies` (fixtures copied under
    `root`), by fixture name. The fixture files share one run (each has the others as
    project context, and what a run reports on a file does not depend on which files of
    its project it was given: `leakguard.project_context`); a fixture folder is a project
    of its own and has a run of its own."""
    files = [c for c in copies if c.is_file()]
    runs = ([files] if files else []) + [[c] for c in copies if c.is_dir()]
    found: dict[str, Positions] = {}
    for targets in runs:
        result = run(targets, root, select=[rule])
        assert not result.errors, result.errors
        finding: Finding
        for finding in result.findings:
            found.setdefault(Path(finding.path).parts[0], []).append(
                (
                    finding.path,
                    finding.line,
                    finding.column,
                    finding.end_line,
                    finding.end_column,
                    finding.rule,
                    finding.message,
                )
            )
    return {name: sorted(positions) for name, positions in found.items()}


def _with_and_without_final_newlines(rule: str, into: Path) -> dict[str, tuple[Positions, ...]]:
    """Each positive fixture of `rule` (by name): its positions as written, then with every
    file's final newlines stripped (all the rule's fixtures copied and run at once: two
    runs over the files instead of two per fixture)."""
    positives = [fixture for code, fixture in _fixtures() if code == rule]
    ways: list[dict[str, Positions]] = []
    for way in ("with", "without"):
        folder = into / way
        folder.mkdir()
        copies = []
        for fixture in positives:
            copy = folder / fixture.name
            if fixture.is_dir():
                shutil.copytree(fixture, copy)
            else:
                shutil.copyfile(fixture, copy)
            if way == "without":
                _strip_final_newlines(copy)
            copies.append(copy)
        ways.append(_positions_by_fixture(copies, folder, rule))
    return {f.name: tuple(way.get(f.name, []) for way in ways) for f in positives}


@pytest.fixture(scope="module")
def positions_both_ways(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str, str], tuple[Positions, ...]]:
    """(rule, fixture name) -> the fixture's positions with and without final newlines,
    computed for all of a rule's fixtures on the first lookup of the rule."""
    computed: dict[str, dict[str, tuple[Positions, ...]]] = {}

    def lookup(rule: str, name: str) -> tuple[Positions, ...]:
        if rule not in computed:
            computed[rule] = _with_and_without_final_newlines(rule, tmp_path_factory.mktemp(rule))
        return computed[rule][name]

    return lookup


@pytest.mark.parametrize(
    ("rule", "fixture"), _fixtures(), ids=lambda v: v.name if isinstance(v, Path) else v
)
def test_positions_do_not_depend_on_the_final_newline(
    rule: str, fixture: Path, positions_both_ways: Callable[[str, str], tuple[Positions, ...]]
) -> None:
    expected, without = positions_both_ways(rule, fixture.name)
    assert expected, f"{fixture} reports nothing for {rule}"
    assert without == expected


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
