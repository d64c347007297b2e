"""The `ast` triage (leakguard.triage) only saves parses: every fixture gives exactly the
same findings and errors with it on and off, and a rule without a condition is parsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.analyzer import analyze_text
from leakguard.engine import RunResult, check
from leakguard.registry import rule_classes
from leakguard.testing import make_config
from leakguard.triage import TriageTree, parse_triage

TESTS = Path(__file__).parent
REPOSITORY = TESTS.parent
RULE_FIXTURES = TESTS / "fixtures" / "rules"


def _targets() -> list[Path]:
    # One run per rule folder keeps cross-file fixtures (a directory per case) together.
    folders = sorted(p for p in RULE_FIXTURES.iterdir() if p.is_dir())
    return [
        *folders,
        TESTS / "fixtures" / "ml_service_vulnerable",
        REPOSITORY / "services" / "ml-service",
    ]


def _outcome(run: RunResult) -> list[tuple[object, ...]]:
    findings = [(f.path, f.line, f.column, f.rule, f.message, f.suppressed) for f in run.findings]
    errors = [(e.path, e.message) for e in run.errors]
    return [*findings, *errors]


@pytest.mark.parametrize("target", _targets(), ids=lambda p: p.name)
def test_findings_are_identical_with_and_without_triage(target: Path) -> None:
    config = make_config(target, select=["ALL"])
    with_triage = check([target], config, jobs=1, use_cache=False, triage=True)
    without = check([target], config, jobs=1, use_cache=False, triage=False)
    if target.is_relative_to(TESTS):  # the service itself is meant to be clean
        assert with_triage.findings, f"{target} has no findings: the comparison proves nothing"
    assert _outcome(with_triage) == _outcome(without)


def test_a_failing_condition_lets_the_file_through(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(tree: TriageTree, spec: object) -> bool:
        raise RuntimeError("bug in a condition")

    cls = rule_classes()["LG401"]
    monkeypatch.setattr(cls, "could_fire", staticmethod(broken))
    config = make_config(Path.cwd(), select=["LG401"])
    result = analyze_text("import pickle\npickle.loads(b'')\n", "x.py", config)
    assert result.parsed and [f.rule for f in result.findings] == ["LG401"]


def test_triage_tree_resolves_imported_call_names() -> None:
    tree = parse_triage("import numpy as np\nfrom pickle import loads as l\nnp.load(f)\nl(b)\n")
    assert tree is not None
    assert {"numpy.load", "pickle.loads", "np.load", "l"} <= tree.call_names()
    assert parse_triage("def (:\n") is None
