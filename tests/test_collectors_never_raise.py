"""Every fact collector on every fixture file: none raises. The facts pass swallows a
collector's exception so that one bug costs a file's facts, not the run
(`analyzer.collect_file`); that hides the bug, and the file silently loses every fact of
that kind (all its function summaries once, for a `return MODELS` of a dict of models)."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.analysis.project import COLLECTORS, module_name_for
from leakguard.analyzer import parse
from leakguard.context import FileContext
from leakguard.finding import FileError
from leakguard.registry import project_facts, rule_classes
from leakguard.testing import make_config
from leakguard.triage import TriageTree, parse_ast

FIXTURES = Path(__file__).parent / "fixtures"
# each rule's fixtures, and the other fixture folders (the service, fixes, options...)
_GROUPS = sorted(
    p
    for p in [*(FIXTURES / "rules").iterdir(), *FIXTURES.iterdir()]
    if p.is_dir() and p.name != "rules"
)


@pytest.mark.parametrize("group", _GROUPS, ids=lambda p: p.name)
def test_no_collector_raises_on_a_fixture(group: Path) -> None:
    rule_classes()  # registers the collectors
    needed = project_facts(make_config(group).enabled)
    for path in sorted(group.rglob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        tree = parse_ast(text)
        if tree is None:
            continue
        triage = TriageTree(tree, text, deferring=True)
        context: FileContext | None = None
        for name in needed:
            collector = COLLECTORS[name]
            if not collector.applies_to(text):
                continue
            if collector.from_tree is not None:
                collector.from_tree(triage, text, str(path))
            elif collector.from_source is not None:
                collector.from_source(text, str(path))
            else:
                if context is None:
                    module = parse(text, str(path))
                    if isinstance(module, FileError):
                        break
                    context = FileContext(
                        str(path), text, module, module_name_for(str(path)), ast_tree=tree
                    )
                collector.facts_of(context)
