"""Every fix on realistic input: input/expected pairs for a safe run (`--fix`) and an
unsafe run (`--fix --unsafe-fixes`), idempotence, and never a file that fails to parse.

Layout: tests/fixtures/fixes/<RULE>/<case>.py is the input, <case>.safe.py and
<case>.unsafe.py the expected outputs. A missing <case>.unsafe.py means the same as
the safe output, a missing <case>.safe.py the input unchanged (no safe fix applies).
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from leakguard.engine import check_text
from leakguard.fixes.apply import fix_text
from leakguard.registry import rule_classes
from leakguard.testing import make_config

FIXTURES = Path(__file__).parent / "fixtures" / "fixes"
DISPLAY = "app/service.py"  # not a test file: LG201 skips those by default


def _cases() -> list[tuple[str, Path, str]]:
    cases = []
    for rule_dir in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        for item in sorted(rule_dir.glob("*.py")):
            if item.name.endswith((".safe.py", ".unsafe.py")):
                continue
            for mode in ("safe", "unsafe"):
                cases.append((rule_dir.name, item, mode))
    return cases


def _expected(case: Path, mode: str) -> str:
    for candidate in (mode, "safe") if mode == "unsafe" else (mode,):
        expected = case.with_name(f"{case.stem}.{candidate}.py")
        if expected.is_file():
            return expected.read_text(encoding="utf-8")
    return case.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("rule", "case", "mode"),
    _cases(),
    ids=lambda v: v.stem if isinstance(v, Path) else str(v),
)
def test_fix_gives_the_expected_file_and_is_idempotent(rule: str, case: Path, mode: str) -> None:
    config = make_config(FIXTURES, select=[rule])
    unsafe = mode == "unsafe"
    source = case.read_text(encoding="utf-8")
    # Project facts of the file itself, so calls through its own helpers count (LG201).
    project = check_text(source, DISPLAY, config).project
    outcome = fix_text(source, DISPLAY, config, project, unsafe=unsafe)
    assert outcome.fixed == _expected(case, mode)
    assert not outcome.result.errors
    ast.parse(outcome.fixed)
    again = fix_text(outcome.fixed, DISPLAY, config, project, unsafe=unsafe)
    assert again.fixed == outcome.fixed, "fixing a fixed file changed it again"
    if outcome.changed:
        assert sum(outcome.applied.values()) >= 1
        assert set(outcome.applied) == {rule}


def _fixable_rules() -> set[str]:
    return {
        code
        for code, cls in rule_classes().items()
        if "FixPlan(" in inspect.getsource(inspect.getmodule(cls))  # type: ignore[arg-type]
    }


def test_every_rule_that_offers_a_fix_has_fix_fixtures() -> None:
    fixable = _fixable_rules()
    assert "LG203" in fixable
    present = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert fixable <= present


def test_every_fixable_rule_page_says_what_its_fix_does_and_how_safe_it_is() -> None:
    docs = Path(__file__).parent.parent / "docs" / "rules"
    for rule in sorted(_fixable_rules()):
        page = (docs / f"{rule}.md").read_text(encoding="utf-8")
        section = page.split("\n## Fix\n", 1)[1].split("\n## ", 1)[0]
        assert "Safe (`--fix`)" in section or "Unsafe (`--unsafe-fixes`)" in section, rule
