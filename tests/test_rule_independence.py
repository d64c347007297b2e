"""A rule's findings do not depend on which other rules are enabled.

The facts pass collects a fact only for a run with an enabled rule that reads it
(`PROJECT_FACTS`, and the gates of `engine._RuleGates`): a rule that reads a fact it
does not list answers differently when the rule that does list it is off (LG402 once
read the curated-exception facts LG502 asks for). Each rule's fixtures, as one run,
give the rule the same findings alone and with every rule on. LG001 reports
suppressions of the other rules, so it depends on them by design.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.finding import Finding
from leakguard.registry import rule_classes
from leakguard.testing import run

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
_DEPENDS_BY_DESIGN = {"LG001"}


@pytest.mark.parametrize("rule", sorted(set(rule_classes()) - _DEPENDS_BY_DESIGN))
def test_rule_findings_are_the_same_alone_and_with_every_rule(rule: str) -> None:
    folder = FIXTURES / rule
    fixtures = sorted(p for p in folder.iterdir() if p.name.startswith(("pos_", "neg_")))
    alone = run(fixtures, folder, project_context=False, select=[rule])
    every = run(fixtures, folder, project_context=False)
    assert not alone.errors and not every.errors

    def places(findings: list[Finding]) -> list[tuple[str, int, int, str]]:
        return sorted((f.path, f.line, f.column, f.message) for f in findings if f.rule == rule)

    assert places(alone.findings) == places(every.findings)
