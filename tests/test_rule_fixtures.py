"""Every rule fixture: each `# expect: LGxxx` line is reported with exactly that rule
and line, and nothing else is (negative fixtures stay silent).

Layout: tests/fixtures/rules/<RULE>/pos_*.py|dir and neg_*.py|dir. A directory is
analysed as one run (for cross-file cases).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.registry import rule_classes
from leakguard.testing import check_fixture

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
MIN_FIXTURES_PER_SIDE = 6


def _cases() -> list[tuple[str, Path]]:
    cases = []
    for rule_dir in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        for item in sorted(rule_dir.iterdir()):
            if item.name.startswith(("pos_", "neg_")) and (item.is_dir() or item.suffix == ".py"):
                cases.append((rule_dir.name, item))
    return cases


@pytest.mark.parametrize(
    ("rule", "fixture"), _cases(), ids=lambda v: v.name if isinstance(v, Path) else v
)
def test_fixture_reports_exactly_the_expected_lines(rule: str, fixture: Path) -> None:
    expected, reported = check_fixture(fixture, rule)
    if fixture.name.startswith("pos_"):
        assert expected, f"positive fixture {fixture} has no `# expect: {rule}` marker"
    else:
        assert not expected, f"negative fixture {fixture} must not carry expect markers"
    missing = sorted(expected - reported)
    unexpected = sorted(reported - expected)
    assert not missing and not unexpected, f"missing={missing} unexpected={unexpected}"


@pytest.mark.parametrize("rule", sorted(rule_classes()))
def test_every_rule_has_enough_positive_and_negative_fixtures(rule: str) -> None:
    folder = FIXTURES / rule
    assert folder.is_dir(), f"no fixtures for {rule}"
    positives = [p for p in folder.iterdir() if p.name.startswith("pos_")]
    negatives = [p for p in folder.iterdir() if p.name.startswith("neg_")]
    assert len(positives) >= MIN_FIXTURES_PER_SIDE, f"{rule}: {len(positives)} positive fixtures"
    assert len(negatives) >= MIN_FIXTURES_PER_SIDE, f"{rule}: {len(negatives)} negative fixtures"
