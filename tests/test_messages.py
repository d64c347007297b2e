"""Issue 15 item 6: every rule says what is wrong in one line of at most 120 characters
(`message`) and how to fix it separately (`help`, from the rule's YAML).

The length check runs every rule on its positive fixtures, so a rule added later (with
the fixtures every rule must have) is held to the same limit by its real messages, not
only by its template."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import libcst as cst
import pytest

from leakguard.config import bundled_rule_specs
from leakguard.engine import RunResult
from leakguard.finding import FileResult, Finding, Severity
from leakguard.registry import rule_classes
from leakguard.report import ReportOptions, json_report, sarif, text
from leakguard.rule import MAX_CODE_SPAN, bound_message, shorten_code_spans
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


def test_bound_message_fits_three_long_names_in_one_line() -> None:
    names = [f"`{'very_long_module_name.' * 3}{part}`" for part in ("first", "second", "third")]
    message = f"Field {names[0]} is taken from the request by {names[1]} via {names[2]} too"
    assert len(shorten_code_spans(message)) > MAX_MESSAGE  # the per-span cut alone is not enough
    bounded = bound_message(message)
    assert len(bounded) <= MAX_MESSAGE
    assert bounded.count("`") == 6  # every span still quoted and closed
    assert bounded.startswith("Field `very_long_module_name") and bounded.endswith(" too")
    assert bound_message("short `x`\nand `y`") == "short `x` and `y`"


def test_bound_message_cuts_long_prose_last_and_keeps_spans_closed() -> None:
    prose = "word " * 40 + "`" + "n" * 30 + "` end"
    bounded = bound_message(prose)
    assert len(bounded) == MAX_MESSAGE and bounded.endswith("…")
    spans = bound_message("x" * 100 + " `" + "name" * 10 + "` tail" * 5)
    assert len(spans) <= MAX_MESSAGE and spans.count("`") % 2 == 0


# Names the rules read by convention (the request object, the receiver, FastAPI's app
# and router), which a rename would turn into other code rather than longer names.
_KEEP_NAMES = frozenset({"self", "cls", "request", "req", "app", "router", "bp", "_"})
_SUFFIX = "_with_a_deliberately_long_descriptive_name"


class _BoundNames(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def _add(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Name):
            self.names.add(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                self._add(element.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._add(node.name)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._add(node.name)

    def visit_Param(self, node: cst.Param) -> None:
        self._add(node.name)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._add(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._add(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._add(node.target)


class _Lengthen(cst.CSTTransformer):
    """Every name bound in the fixture, everywhere it is used, made long."""

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = {n for n in names if n not in _KEEP_NAMES and not n.startswith("__")}
        self.module_depth = 0

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.module_depth += 1  # a module path is not a bound name

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        self.module_depth -= 1
        names = updated.names
        if isinstance(names, cst.ImportStar):
            return updated
        return updated.with_changes(
            names=[
                alias.with_changes(name=self._long(alias.name))
                if isinstance(alias.name, cst.Name)
                else alias
                for alias in names
            ]
        )

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def _long(self, name: cst.Name) -> cst.Name:
        return name.with_changes(value=name.value + _SUFFIX) if name.value in self.names else name

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        return updated if self.module_depth else self._long(updated)

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
        # `payload.items` reads the field `items` the model declares.
        return updated.with_changes(attr=self._long(updated.attr))


def _lengthened(fixture: Path, into: Path) -> Path:
    """A copy of `fixture` (a file or a project directory) with long names."""
    files = [fixture] if fixture.is_file() else sorted(fixture.rglob("*.py"))
    modules = {path: cst.parse_module(path.read_text()) for path in files}
    visitor = _BoundNames()
    for module in modules.values():
        module.visit(visitor)
    target = into / fixture.name
    if fixture.is_dir():
        shutil.copytree(fixture, target)
    for path, module in modules.items():
        out = target if fixture.is_file() else target / path.relative_to(fixture)
        out.write_text(module.visit(_Lengthen(visitor.names)).code)
    return target


def test_messages_that_quote_long_names_stay_one_short_line(tmp_path: Path) -> None:
    """Every rule's positive fixtures with every name they bind made long: the messages
    that quote them are still one line of at most 120 characters (bounded once, in
    `LintRule.report`, not per rule)."""
    quoting: list[str] = []
    cut = 0
    for rule in sorted(rule_classes()):
        positives = sorted(p for p in (FIXTURES / rule).iterdir() if p.name.startswith("pos_"))
        for fixture in positives:
            into = tmp_path / rule
            into.mkdir(exist_ok=True)
            copy = _lengthened(fixture, into)
            result = run([copy], copy.parent, select=[rule])
            for finding in result.findings:
                assert "\n" not in finding.message
                assert len(finding.message) <= MAX_MESSAGE, f"{rule}: {finding.message}"
                if _SUFFIX[:10] in finding.message:
                    quoting.append(rule)
                    cut += "…`" in finding.message
    # The renamed fixtures really quote long names, in most rules, and some had to be cut.
    assert len(set(quoting)) >= 20, sorted(set(quoting))
    assert cut >= 10
