"""Issue 15 item 9: rule pages that cannot lie. Every `docs/rules/LGxxx.md` "Example"
code block must make its rule fire, and every "Use instead" block must leave it silent
(as Fixit keeps each rule's valid and invalid cases next to the rule).

A block is checked as one file named `app.py`; an HTML comment right before the block,
`<!-- file: settings.py -->`, names the file (e.g. for a rule that reads module names),
and `<!-- not checked: reason -->` opts a block out (prose fragments, shell commands).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leakguard.registry import rule_classes
from leakguard.testing import run

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"
_SECTION = re.compile(r"^## (?P<title>.+?)\s*$", re.M)
_BLOCK = re.compile(
    r"(?:<!--\s*(?P<directive>file|not checked):\s*(?P<value>[^>]*?)\s*-->\s*\n)?"
    r"```python\n(?P<code>.*?)```",
    re.S,
)


def _sections(page: str) -> dict[str, str]:
    parts = _SECTION.split(page)
    return {parts[i].strip().lower(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _blocks(section: str) -> list[tuple[str, str]]:
    """(file name, code) of each checked python block."""
    found = []
    for match in _BLOCK.finditer(section):
        if match.group("directive") == "not checked":
            continue
        name = match.group("value") if match.group("directive") == "file" else "app.py"
        found.append((name, match.group("code")))
    return found


def _cases() -> list[object]:
    cases = []
    for rule in sorted(rule_classes()):
        page = (DOCS / f"{rule}.md").read_text(encoding="utf-8")
        sections = _sections(page)
        for kind in ("example", "use instead"):
            for index, (name, code) in enumerate(_blocks(sections.get(kind, ""))):
                case_id = f"{rule}-{kind.replace(' ', '-')}-{index + 1}"
                cases.append(pytest.param(rule, kind, index, name, code, id=case_id))
    return cases


@pytest.mark.parametrize("rule", sorted(rule_classes()))
def test_every_page_has_an_example_and_a_use_instead(rule: str) -> None:
    sections = _sections((DOCS / f"{rule}.md").read_text(encoding="utf-8"))
    assert _blocks(sections.get("example", "")), f"{rule}: no checked python block in Example"
    assert _blocks(sections.get("use instead", "")), f"{rule}: no checked block in Use instead"


@pytest.mark.parametrize(
    ("rule", "kind", "index", "name", "code"),
    _cases(),
)
def test_page_examples_fire_and_use_instead_is_silent(
    tmp_path: Path, rule: str, kind: str, index: int, name: str, code: str
) -> None:
    target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(code, encoding="utf-8")
    result = run([tmp_path], tmp_path, select=[rule])
    assert not result.errors, f"docs/rules/{rule}.md {kind} block {index + 1}: {result.errors}"
    reported = [f for f in result.findings if f.rule == rule and not f.suppressed]
    where = f"docs/rules/{rule}.md, {kind} block {index + 1}"
    if kind == "example":
        assert reported, f"{where} does not make {rule} fire:\n{code}"
    else:
        lines = [f"{f.line}: {f.message}" for f in reported]
        assert not reported, f"{where} makes {rule} fire: {lines}\n{code}"
