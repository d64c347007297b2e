"""Issue 15 item 6: every rule says what is wrong in one line of at most 120 characters
(`message`) and how to fix it separately (`help`, from the rule's YAML).

The length check runs every rule on its positive fixtures, so a rule added later (with
the fixtures every rule must have) is held to the same limit by its real messages, not
only by its template."""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
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
# A name cut inside (`_park_custom_so…`); `…` after a separator or at a span's start is
# an elision a user can still act on (`…to_thread(...)`, `f"Could not…"`).
_CUT_NAME = re.compile(r"\w…")
# A cut code span that is not a string literal (whose text is cut between words).
_CUT_CODE = re.compile(r"`(?![rbfuRBFU]{0,2}[\"'])([^`]*)…`")


def _cut_inside_word(message: str, source: str) -> str | None:
    """A span of `message` whose name is cut in the middle of a word of `source`
    (`_park_custom_so…`), not at a word's end (`update_cluster_`, `PredefinedConfig`,
    `load_named` before `(`)."""
    for span in _CUT_CODE.finditer(message):
        word = re.search(r"\w*$", span.group(1))
        fragment = word.group() if word else ""
        if not fragment or fragment.endswith("_"):
            continue
        if not re.search(rf"\b{re.escape(fragment)}(?![a-z0-9])", source):
            return span.group()
    return None


def _positives(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith("pos_"))


def _findings_on_positives(
    positives: list[Path], root: Path, rule: str
) -> Iterator[tuple[Path, Finding]]:
    """`rule`'s findings on its positive fixtures (files and project folders directly
    under `root`), each with the fixture it is in.

    The fixture files share one run: a run of files in no package has the rest of their
    folder as project context (`leakguard.project_context`), so its facts are the whole
    folder's whichever of its files it is given, and it reports on each file what a run
    of that file alone reports, for one facts pass over the folder instead of one per
    file (a rule's fixtures ran ~4x slower one by one). A fixture folder is a project of
    its own (no context around it) and keeps a run of its own."""
    files = [p for p in positives if p.is_file()]
    runs = ([files] if files else []) + [[p] for p in positives if p.is_dir()]
    for targets in runs:
        for finding in run(targets, root, select=[rule]).findings:
            yield root / Path(finding.path).parts[0], finding


@pytest.mark.parametrize("rule", sorted(rule_classes()))
def test_rule_yaml_has_one_line_message_and_a_help(rule: str) -> None:
    spec = bundled_rule_specs()[rule]
    assert "\n" not in spec.message, f"{rule}: message template spans lines"
    assert spec.help, f"{rule}: rules/{rule}.yaml has no `help:` (how to fix)"


@pytest.mark.parametrize("rule", sorted(rule_classes()))
def test_every_reported_message_is_one_short_line_with_help(rule: str) -> None:
    positives = _positives(FIXTURES / rule)
    assert positives, f"no positive fixtures for {rule}"
    seen = 0
    for fixture, finding in _findings_on_positives(positives, FIXTURES / rule, rule):
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


def test_long_code_spans_are_shortened_to_their_head_and_short_ones_kept() -> None:
    long_call = "numpy.ones(shape=(1000, 10), dtype=numpy.float32)"
    assert len(long_call) > MAX_CODE_SPAN
    assert shorten_code_spans(f"`{long_call}` and `x`") == "`numpy.ones(...)` and `x`"
    assert shorten_code_spans("`short.call()` is fine") == "`short.call()` is fine"
    literal = 'f"Could not disconnect from the server at {url}: {error}"'
    assert shorten_code_spans(f"`{literal}` leaks") == '`f"Could not disconnect…"` leaks'
    # A long name has no head to keep: it stays whole while the line fits.
    name = "calculate_local_model_weight_of_the_checkpoint"
    assert shorten_code_spans(f"`{name}()` blocks") == f"`{name}()` blocks"


# Messages seen on the corpus (issue 10, session 9), each cut inside a name before.
_REAL_MESSAGES = [
    (
        "`await asyncio.to_thread(_park, source, target)` in `_park_custom_source_for_reuse` "
        "(reached from request handler `update_config` in ota_sources.py) has no timeout",
        "`await …to_thread(...)` in `_park_custom_source_for_reuse` "
        "(reached from request handler `update_config`) has no timeout",
    ),
    (
        "Field `DeleteFeedbackRequest.feedback_ids` is taken from the request by route "
        "handler `delete_feedback`, but has no length bound",
        "Field `…feedback_ids` is taken from the request by route handler `delete_feedback`, "
        "but has no length bound",
    ),
    (
        "`AsyncGrpcClient._create_channel` -> `load_from_file()` -> `open` (__init__.py:52) "
        "in `async def wait_until_server_ready`, blocking the loop",
        "`…_create_channel` -> `load_from_file()` -> `open` "
        "in `async def wait_until_server_ready`, blocking the loop",
    ),
    (
        "`onnxruntime.InferenceSession` loads `bento_model.path_of(MODEL_FILE_NAME)` with no "
        "integrity check before it in `load_model()`",
        "`onnxruntime.InferenceSession` loads `bento_model.path_of(...)` with no "
        "integrity check before it in `load_model()`",
    ),
    (
        "`tensorflow.keras.models.load_model` loads `downloaded_checkpoint_file_path` with no "
        "integrity check before it in `load_checkpoint()`",
        "`…models.load_model` loads `downloaded_checkpoint_file_path` with no "
        "integrity check before it in `load_checkpoint()`",
    ),
    (
        "`asyncio.gather` starts one job per item of `request.prompt` (request field "
        "`CompletionRequest.prompt`) with no concurrency limit",
        "`asyncio.gather` starts one job per item of `request.prompt` (request field "
        "`…prompt`) with no concurrency limit",
    ),
]


@pytest.mark.parametrize(("message", "expected"), _REAL_MESSAGES)
def test_bound_message_drops_what_matters_least_and_keeps_names_whole(
    message: str, expected: str
) -> None:
    assert len(message) > MAX_MESSAGE
    bounded = bound_message(message)
    assert bounded == expected
    assert len(bounded) <= MAX_MESSAGE
    assert not _CUT_NAME.search(bounded)


def test_bound_message_leaves_a_message_that_fits_as_written() -> None:
    for message in (
        "`await client.get(url, params=q)` in `fetch` (reached from `h` in app.py) has no timeout",
        "Field `Model.items` is the request body of route handler `add`, but has no length bound",
        "x" * MAX_MESSAGE,
    ):
        assert bound_message(message) == message


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
    assert bounded.startswith("Field `…") and bounded.endswith(" too")
    # Qualifiers went first: every name the message is about is still whole.
    assert all(f"{part}`" in bounded for part in ("first", "second", "third"))
    assert not _CUT_NAME.search(bounded)
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

    def __init__(self, names: set[str], suffix: str = _SUFFIX) -> None:
        super().__init__()
        self.names = {n for n in names if n not in _KEEP_NAMES and not n.startswith("__")}
        self.suffix = suffix
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
        return (
            name.with_changes(value=name.value + self.suffix) if name.value in self.names else name
        )

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        return updated if self.module_depth else self._long(updated)

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
        # `payload.items` reads the field `items` the model declares.
        return updated.with_changes(attr=self._long(updated.attr))


def _lengthened(fixture: Path, into: Path, suffix: str = _SUFFIX) -> Path:
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
        out.write_text(module.visit(_Lengthen(visitor.names, suffix)).code)
    return target


def _lengthened_positives(rule: str, into: Path, suffix: str) -> list[Path]:
    """Copies of `rule`'s positive fixtures in the folder `into` with long names, all made
    before any is checked (each copy's project context is the other copies, as each
    fixture's is the rest of its rule's folder)."""
    into.mkdir()
    return [_lengthened(fixture, into, suffix) for fixture in _positives(FIXTURES / rule)]


def test_messages_that_quote_long_names_stay_one_short_line(tmp_path: Path) -> None:
    """Every rule's positive fixtures with every name they bind made long: the messages
    that quote them are still one line of at most 120 characters (bounded once, in
    `LintRule.report`, not per rule)."""
    quoting: list[str] = []
    cut = 0
    for rule in sorted(rule_classes()):
        copies = _lengthened_positives(rule, tmp_path / rule, _SUFFIX)
        for _, finding in _findings_on_positives(copies, tmp_path / rule, rule):
            assert "\n" not in finding.message
            assert len(finding.message) <= MAX_MESSAGE, f"{rule}: {finding.message}"
            if _SUFFIX[:10] in finding.message:
                quoting.append(rule)
                cut += "…`" in finding.message
    # The renamed fixtures really quote long names, in most rules, and some had to be cut.
    assert len(set(quoting)) >= 20, sorted(set(quoting))
    assert cut >= 10


def _sources(copy: Path) -> list[Path]:
    return [copy] if copy.is_file() else sorted(copy.rglob("*.py"))


# Names as long as real code's (`_park_custom_source_for_reuse`, `DeleteFeedbackRequest`).
_REAL_SUFFIX = "_for_the_custom_source"


@pytest.mark.parametrize(
    "family", ["memory", "eventloop", "input_limits", "serialization", "web", "meta"]
)
def test_messages_with_real_long_names_keep_every_name_whole(family: str, tmp_path: Path) -> None:
    """Every rule of a family, on its positive fixtures with every bound name as long as
    names in real code: each message fits in 120 characters and no name is cut inside a
    word (what does not fit loses file references, arguments, qualifiers and clauses
    first, and a name that must still be cut is cut at the end of a word)."""
    rules = sorted(
        code for code, klass in rule_classes().items() if klass.__module__.split(".")[2] == family
    )
    assert rules, family
    quoting: set[str] = set()
    for rule in rules:
        copies = _lengthened_positives(rule, tmp_path / rule, _REAL_SUFFIX)
        for copy, finding in _findings_on_positives(copies, tmp_path / rule, rule):
            where = f"{rule} {copy.name}:{finding.line}"
            assert len(finding.message) <= MAX_MESSAGE, f"{where}: {finding.message}"
            source = "".join(p.read_text() for p in _sources(copy))
            assert not _cut_inside_word(finding.message, source), f"{where}: {finding.message}"
            if _REAL_SUFFIX in finding.message:
                quoting.add(rule)
    assert quoting or family == "meta", f"{family}: no message quotes a lengthened name"
