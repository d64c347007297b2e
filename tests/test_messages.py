"""Issue 15 item 6: every rule says what is wrong in one line of at most 120 characters
(`message`) and how to fix it separately (`help`, from the rule's YAML).

The length check runs every rule on its positive fixtures, so a rule added later (with
the fixtures every rule must have) is held to the same limit by its real messages, not
only by its template."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from leakguard.config import bundled_rule_specs
from leakguard.engine import RunResult
from leakguard.finding import FileResult, Finding, Severity
from leakguard.registry import rule_classes
from leakguard.report import ReportOptions, json_report, sarif, text
from leakguard.rule import MAX_CODE_SPAN, shorten_code_spans
from leakguard.testing import make_config, run

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
MAX_MESSAGE = 120


@pytest.mark.parametrize("rule", sorted(rule_classes()))
def test_rule_yaml_has_one_line_message_and_a_help(rule: str) -> None:
    spec = bundled_rule_specs()[rule]
    assert "\n" not in spec.message, f"{rule}: message template spans lines"
    assert spec.help, f"{rule}: rules/{rule}.yaml has no `help:` (how to fix)"


@pytest.mark.parametrize("rule", sorted(rule_classes()))
def test_every_reported_message_is_one_short_line_with_help(rule: str) -> None:
    positives = sorted(p for p in (FIXTURES / rule).iterdir() if p.name.startswith("pos_"))
    assert positives, f"no positive fixtures for {rule}"
    seen = 0
    for fixture in positives:
        result = run([fixture], fixture.parent, select=[rule])
        for finding in result.findings:
            if finding.rule != rule:
                continue
            seen += 1
            where = f"{fixture.name}:{finding.line}"
            assert "\n" not in finding.message, f"{where}: message spans lines"
            assert len(finding.message) <= MAX_MESSAGE, (
                f"{where}: message is {len(finding.message)} characters "
                f"(max {MAX_MESSAGE}; move the explanation to `help`): {finding.message}"
            )
            assert finding.help, f"{where}: finding has no help"
            assert finding.help != finding.message
    assert seen, f"{rule}: positive fixtures produced no findings"


def test_long_code_spans_are_cut_and_short_ones_kept() -> None:
    long_call = "numpy.ones(shape=(1000, 10), dtype=numpy.float32)"
    assert len(long_call) > MAX_CODE_SPAN
    shortened = shorten_code_spans(f"`{long_call}` and `x`")
    assert shortened.endswith("…` and `x`")
    assert len(shortened) < len(long_call)
    assert shorten_code_spans("`short.call()` is fine") == "`short.call()` is fine"


def _finding() -> tuple[Finding, RunResult]:
    finding = Finding(
        rule="LG401",
        name="unsafe-deserialization",
        severity=Severity.ERROR,
        path="app.py",
        line=2,
        column=8,
        end_line=2,
        end_column=20,
        message="`pickle.loads` unpickles its input",
        source_line="data = pickle.loads(blob)\n",
        help="Use a format that holds data only: JSON.",
    )
    return finding, RunResult(results=[FileResult("app.py", findings=[finding], lines=2)])


def test_text_output_shows_help_under_the_excerpt(tmp_path: Path) -> None:
    _, result = _finding()
    out = io.StringIO()
    text.write(result, out, ReportOptions(config=make_config(tmp_path), color=False))
    lines = out.getvalue().splitlines()
    first = next(i for i, line in enumerate(lines) if "LG401" in line)
    assert "^" in lines[first + 2]
    assert lines[first + 3].strip() == "= help: Use a format that holds data only: JSON."


def test_json_has_optional_help_and_sarif_puts_it_second(tmp_path: Path) -> None:
    finding, result = _finding()
    options = ReportOptions(config=make_config(tmp_path))
    document = json_report.to_document(result)
    assert document["findings"][0]["help"] == finding.help
    bare = finding._replace(help="")
    assert "help" not in bare.to_json()
    log = sarif.to_document(result, options)
    assert log["runs"][0]["results"][0]["message"]["text"].split("\n") == [
        finding.message,
        finding.help,
    ]
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    static = bundled_rule_specs()["LG403"].help
    assert "{" not in static
    assert rules["LG403"]["help"]["text"].endswith(f"How to fix: {static}\n")
    assert "How to fix" not in rules["LG401"]["help"]["text"]  # its advice varies per finding
    json.dumps(log)
