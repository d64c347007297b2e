"""Generated documentation matches the bundled rule YAML, and the README's commands
are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from leakguard.docgen import OPTIONS, RULES_TABLE, options_reference, replace_between, rules_table

ROOT = Path(__file__).resolve().parents[1]


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_rules_table_matches_rule_yaml() -> None:
    text = _readme()
    assert replace_between(text, RULES_TABLE, rules_table()) == text, (
        "README rules table is stale: run `python -m leakguard.docgen`"
    )


def test_configuration_options_reference_matches_rule_yaml() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert replace_between(text, OPTIONS, options_reference()) == text, (
        "docs/configuration.md is stale: run `python -m leakguard.docgen`"
    )


def _quick_start_commands() -> list[str]:
    section = _readme().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    return [
        line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")
    ]


def test_quick_start_is_exactly_two_commands() -> None:
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert "leakguard check" in commands[0]
    assert commands[1].rstrip().endswith("pytest")


def test_ci_runs_the_readme_test_command() -> None:
    test_command = _quick_start_commands()[1].split("activate && ", 1)[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci


def test_memory_criteria_coverage_names_existing_fixtures() -> None:
    text = (ROOT / "docs" / "memory-criteria-coverage.md").read_text(encoding="utf-8")
    fixtures = ROOT / "tests" / "fixtures" / "rules"
    missing = []
    for row in text.splitlines():
        rule_dir = None
        for name in re.findall(r"`([^`]+\.py)`", row):
            if name.startswith("tests/"):
                if not (ROOT / name).exists():
                    missing.append(name)
                continue
            if "/" in name:
                rule_dir, name = name.split("/", 1)
            if rule_dir is not None and not (fixtures / rule_dir / name).exists():
                missing.append(f"{rule_dir}/{name}")
    assert missing == []
