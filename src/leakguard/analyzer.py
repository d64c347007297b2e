"""Analyse one file: prefilter -> triage -> parse -> one combined walk of all rules -> findings.

Everything here runs inside worker processes, so it takes plain values and returns
plain values (`FileResult`).
"""

from __future__ import annotations

import ast
import contextlib
import gc
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import libcst as cst

try:
    import ahocorasick
except ImportError:  # an environment installed before leakguard required it (`pip install -e .`)
    ahocorasick = None

from leakguard.analysis.project import COLLECTORS, FactCollector, ProjectIndex
from leakguard.analysis.project import module_name_for as module_name_for
from leakguard.config import Config, RuleSpec
from leakguard.context import FileContext
from leakguard.finding import FileError, FileResult, Finding
from leakguard.fingerprint import fingerprints
from leakguard.fixes import Applicability, Fix
from leakguard.fixes.sliced import render_fix, whole_file_needed
from leakguard.registry import rule_classes, visitor_methods
from leakguard.rule import LintRule, Report, declares_regions, declares_triage
from leakguard.slicing import PLAN_KEY, Span, elide, elided, parsed_lines, plan
from leakguard.suppression import comment_lines, suppressions_of, without_noqa
from leakguard.triage import TriageTree, Verdict, parse_ast, parse_triage
from leakguard.walker import WalkPlan, plan_for, walk_targets


def active_specs(text: str, specs: Sequence[RuleSpec]) -> list[RuleSpec]:
    """Rules whose prefilter tokens occur in `text` (no tokens: always active).

    Most tokens occur in no file, and looking for each in turn scanned every text about
    a hundred times (~6% of the facts pass): one Aho-Corasick pass over the text finds
    every token of the run's rules at once (`_TokenSearch`)."""
    search = _token_search(tuple(spec.prefilter for spec in specs))
    found = search.occurring(text)
    return [
        spec
        for spec, tokens in zip(specs, search.indexes, strict=True)
        if not tokens or not found.isdisjoint(tokens)
    ]


class _TokenSearch:
    """The distinct prefilter tokens of a list of rules, searched for in one pass."""

    def __init__(self, prefilters: tuple[tuple[str, ...], ...]) -> None:
        numbers: dict[str, int] = {}
        # For each rule, the numbers of its tokens.
        self.indexes = [
            frozenset(numbers.setdefault(token, len(numbers)) for token in tokens)
            for tokens in prefilters
        ]
        # An empty token occurs in every text (`"" in text`); an automaton cannot hold it.
        self.always = frozenset(number for token, number in numbers.items() if not token)
        self.numbers = {token: number for token, number in numbers.items() if token}
        self.automaton: Any = None
        if ahocorasick is not None and self.numbers:
            self.automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
            for token, number in self.numbers.items():
                self.automaton.add_word(token, number)
            self.automaton.make_automaton()

    def occurring(self, text: str) -> set[int]:
        """The numbers of the tokens that occur in `text`."""
        found = set(self.always)
        if self.automaton is not None:
            found.update(number for _, number in self.automaton.iter(text))
        else:
            found.update(number for token, number in self.numbers.items() if token in text)
        return found


@lru_cache(maxsize=8)
def _token_search(prefilters: tuple[tuple[str, ...], ...]) -> _TokenSearch:
    """Built once per set of rules (a run asks with the same rules for nearly every file)."""
    return _TokenSearch(prefilters)


def triaged_specs(
    text: str,
    specs: list[RuleSpec],
    project: ProjectIndex | None,
    ast_tree: ast.Module | None = None,
    display: str | None = None,
) -> tuple[list[RuleSpec], list[Span], ast.Module | None]:
    """The rules whose triage condition admits this file (see `leakguard.triage`), the
    line spans LibCST need not parse for them (see `leakguard.slicing`), and the text's
    `ast` tree when it has one (for `FileContext.whole_ast`).

    One rule without a condition means LibCST parses the file anyway, and then all
    rules share its single walk, so nothing is dropped. A file CPython cannot parse is
    left to LibCST, which reports the error. `ast_tree` is the text's `ast` tree when
    the caller already has one (flake8 hands its plugins one), so it is not parsed twice.
    `display`: the file's path as the analysis names it (its relative imports resolve
    from there).
    """
    classes = rule_classes()
    if not all(declares_triage(classes[spec.id]) for spec in specs):
        return specs, [], ast_tree
    tree = (
        TriageTree(ast_tree, text, project, display=display)
        if ast_tree is not None
        else parse_triage(text, project, display)
    )
    if tree is None:
        return specs, [], None
    specs = [spec for spec in specs if _could_fire(classes[spec.id], tree, spec)]
    admitted = [spec.id for spec in specs]
    return specs, elided(_slicing_plan(tree, specs, admitted), admitted), tree.tree


def _slicing_plan(
    tree: TriageTree, specs: Sequence[RuleSpec], certain: Collection[str]
) -> dict[str, object] | None:
    """The slicing plan for the rules that may be admitted (`slicing.plan`); None when
    one of the `certain` ones (admitted whatever the run) needs the whole file. A rule
    without regions, or whose regions fail, needs the whole file when admitted."""
    classes = rule_classes()
    if any(spec.id in certain and not declares_regions(classes[spec.id]) for spec in specs):
        return None
    regions: dict[str, list[ast.AST] | None] = {}
    for spec in specs:
        rule = classes[spec.id]
        if not declares_regions(rule):
            continue
        try:
            regions[spec.id] = rule.regions(tree, spec)
        except Exception:  # a faulty region must cost time, never a finding
            continue
    return plan(tree, regions) if regions else None


def unskipped(specs: list[RuleSpec], display: str) -> list[RuleSpec]:
    """The rules that do not skip the file `display` whatever its code
    (`LintRule.skips_file`: event-loop and request rules skip test files), for the
    triage: a skipped rule costs neither its condition nor a parse of the file."""
    classes = rule_classes()
    return [spec for spec in specs if not _skips_file(classes[spec.id], display, spec)]


def _skips_file(rule: type[LintRule], display: str, spec: RuleSpec) -> bool:
    try:
        return rule.skips_file(display, spec)
    except Exception:  # a faulty test must cost time, never a finding
        return False


def _could_fire(rule: type[LintRule], tree: TriageTree, spec: RuleSpec) -> bool:
    try:
        return rule.could_fire(tree, spec)
    except Exception:  # a faulty condition must cost time, never a finding
        return True


@contextmanager
def _unvalidated_nodes() -> Iterator[None]:
    """Skip LibCST's per-node validation while the parser builds a tree.

    `CSTNode.__post_init__` validates each new node (about a sixth of the parse time);
    a tree the parser builds from source is valid by construction, so parsing does not
    need it. This patches LibCST's non-public hook: pyproject pins LibCST to the tested
    range and `tests/test_parse.py` checks that trees and the source round trip are
    identical with validation."""
    base = cst.CSTNode
    validating = base.__dict__["__post_init__"]
    base.__post_init__ = _no_validation  # type: ignore[method-assign]
    try:
        yield
    finally:
        base.__post_init__ = validating  # type: ignore[method-assign]


def _no_validation(self: cst.CSTNode) -> None:
    return None


def parse_module(text: str) -> cst.Module:
    """`libcst.parse_module`, without re-validating the nodes the parser builds and
    with the cyclic garbage collector paused (`_gc_paused`): the parser's nodes are
    acyclic, and the collections their allocations trigger cost ~13 % of the parse."""
    with _unvalidated_nodes(), _gc_paused():
        return cst.parse_module(text)


# CPython's parser refuses more than 200 nested brackets; LibCST's native parser has no
# such check and overflows its stack at ~1300 (a segfault, not an exception).
_MAX_NESTING = 200
_NOT_BRACKETS = re.compile(r"[^()\[\]{}]+")


def _bracket_depth(text: str) -> int:
    """Deepest bracket nesting, counting brackets in strings and comments too (so an
    over-estimate, which only costs a confirmation by CPython's parser)."""
    if text.count("(") + text.count("[") + text.count("{") <= _MAX_NESTING:
        return 0
    depth = deepest = 0
    for char in _NOT_BRACKETS.sub("", text):
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def parse(text: str, display: str) -> cst.Module | FileError:
    # First line of defence only: the engine runs every parse in a supervised worker, so
    # crashes nobody predicted cost just their file too.
    if _bracket_depth(text) > _MAX_NESTING:
        refused = _python_syntax_error(text)
        if refused is not None:
            return FileError(display, refused)
    try:
        return parse_module(text)
    except cst.ParserSyntaxError as exc:
        # LibCST's native parser reports where it gave up (often the next line) with a
        # token list; CPython's own parser pinpoints the mistake and explains it.
        precise = _python_syntax_error(text)
        if precise is not None:
            return FileError(display, precise)
        # Python accepts the file but LibCST does not (e.g. a parenthesised annotated
        # name, `(x): int`): say so rather than call valid code a syntax error.
        return FileError(
            display,
            f"cannot analyse: LibCST's parser gives up at line {exc.raw_line}, column "
            f"{exc.raw_column + 1}, although Python accepts this file (a LibCST limitation)",
        )
    except RecursionError:
        return FileError(display, "cannot parse: expressions nested too deeply")
    except Exception as exc:  # the native parser reports some problems as other types
        return FileError(display, f"cannot parse: {type(exc).__name__}: {exc}")


def _python_syntax_error(text: str) -> str | None:
    try:
        compile(text, "<source>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        line, column = exc.lineno or 1, exc.offset or 1
        return f"syntax error at line {line}, column {column}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError):
        return None
    return None  # valid for CPython but not for LibCST: keep LibCST's message


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while one file's trees are built (its facts
    collected, or LibCST parsing it).

    `ast.parse`, LibCST's parser and the indexes allocate a million small objects on a
    large file, and each few hundred allocations trigger a collection that scans the
    young ones: a sixth of the facts pass's CPU. The trees are acyclic (freed by
    reference counting when the file is done), and the collector runs again at the next
    allocations once it is back on, so garbage held up here is at most one file's."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@_gc_paused()
def analyze_text(
    text: str,
    display: str,
    config: Config,
    project: ProjectIndex | None = None,
    module: cst.Module | None = None,
    *,
    triage: bool = True,
    fixes: bool = False,
    admitted: Collection[str] | None = None,
    ast_tree: ast.Module | None = None,
    noqa: bool = True,
    elide_spans: Sequence[Span] = (),
    slicing: bool = True,
) -> FileResult:
    """Findings and errors for one file's decoded source text; with `fixes`, each
    finding whose rule offers a fix carries it, computed. `admitted`: the rules the
    facts pass's triage let through (`triage_verdict`), so the file is not triaged again.
    `ast_tree`, when given, is CPython's `ast` tree of `text` (so the text is valid
    Python): triage uses it instead of parsing the text again. Without `noqa`, `# noqa`
    comments suppress nothing (a host such as flake8 applies them itself).
    `elide_spans`: with `admitted`, the units LibCST need not parse for those rules
    (`slicing.elided`); not used when a `module` is given. With `fixes`, a sliced
    file's fixes render from the sliced module when that gives the whole module's
    edits, and the file is analysed again whole when one does not (`fixes.sliced`).
    Without `slicing`, admitted files are parsed whole.

    The cyclic garbage collector is paused meanwhile (`_gc_paused`), as in the facts
    pass: the walk and the findings' positions allocate many small objects around a
    large LibCST tree that reference counting frees when the file is done."""
    result = FileResult(path=display, lines=text.count("\n") + (0 if text.endswith("\n") else 1))
    if not text.strip():
        result.lines = 0
        return result
    classes = rule_classes()
    enabled = config.rules_for_path(display)
    specs = [config.rules[r] for r in sorted(enabled) if r in classes]
    used: set[tuple[int, str]] = set()  # (line, code) of suppressions findings hit
    # A verdict exists only for text CPython parsed: no syntax check is needed below.
    pretriaged = admitted is not None and triage
    if pretriaged:
        # The facts pass triaged this file already, after the same text prefilter
        # (one `ast` parse serves both).
        specs = [spec for spec in specs if spec.id in (admitted or ())]
        spans = list(elide_spans)
    else:
        spans = []
        specs = active_specs(text, specs)
        if specs and module is None and triage:
            specs = unskipped(specs, display)
            specs, spans, ast_tree = triaged_specs(text, specs, project, ast_tree, display)
    if module is not None or not slicing:
        spans = []
    if not specs:
        # No rule needs the tree, but a file that does not parse must still be
        # reported. CPython's parser is ~10x faster than LibCST's; LibCST confirms, so
        # syntax newer than this interpreter is not reported as an error.
        valid = pretriaged or ast_tree is not None
        if module is None and not valid and _python_syntax_error(text) is not None:
            parsed = parse(text, display)
            if isinstance(parsed, FileError):
                result.errors.append(parsed)
                return result
        return _with_unused_suppressions(result, text, config, used, noqa)
    parsed_text = elide(text, spans)
    if module is None:
        parsed = parse(parsed_text, display)
        result.parsed = True
        result.parsed_lines += parsed_lines(result.lines, spans)
        if isinstance(parsed, FileError):
            result.errors.append(parsed)
            return result
        module = parsed
    try:
        context = FileContext(
            display,
            text,
            module,
            module_name_for(display),
            project,
            config.rules,
            parsed_source=parsed_text,
            ast_tree=ast_tree,
            elided=spans,
        )
    except Exception as exc:  # RecursionError included: shared facts no rule can do without
        result.errors.append(FileError(display, _internal("shared analysis", exc)))
        return result
    rules: list[LintRule] = []
    for spec in specs:
        try:
            rules.append(classes[spec.id](context, spec))
        except Exception as exc:
            result.errors.append(FileError(display, _internal(f"rule {spec.id}", exc)))
    rules, failed = _resolve_metadata(context, rules)
    result.errors.extend(failed)
    result.errors.extend(_walk(module, context, rules))
    reports = [report for rule in rules for report in rule.reports]
    if reports:
        findings, failed = _to_findings(reports, context, config, used, fixes, noqa)
        result.findings = findings
        result.errors.extend(failed)
    if fixes and context.sliced and whole_file_needed(context):
        # Some fix renders only from the whole module (`fixes.sliced`): the file is
        # analysed again whole, with fixes.
        whole = analyze_text(
            text,
            display,
            config,
            project,
            triage=triage,
            fixes=True,
            admitted=[spec.id for spec in specs],
            ast_tree=ast_tree,
            noqa=noqa,
            slicing=False,
        )
        whole.parsed_lines += result.parsed_lines
        return whole
    return _with_unused_suppressions(result, text, config, used, noqa)


def _internal(where: str, exc: BaseException) -> str:
    return f"internal error in {where} (skipped for this file): {type(exc).__name__}: {exc}"


def _resolve_metadata(
    context: FileContext, rules: list[LintRule]
) -> tuple[list[LintRule], list[FileError]]:
    """Rules with their metadata; a rule whose metadata cannot be computed is dropped
    for this file (with an error), the others still run."""
    wanted = {p for rule in rules for p in rule.get_inherited_dependencies()}
    if not wanted:
        return rules, []
    try:
        resolved = context.metadata_wrapper.resolve_many(wanted)
    except Exception as exc:
        needing = [rule for rule in rules if rule.get_inherited_dependencies()]
        errors = [FileError(context.path, _internal(f"rule {r.code}", exc)) for r in needing]
        return [rule for rule in rules if not rule.get_inherited_dependencies()], errors
    for rule in rules:
        rule.metadata = {p: resolved[p] for p in rule.get_inherited_dependencies()}
    return rules, []


# node type -> the (rule index, visitor method name) pairs to call for it
_Handlers = dict[type, tuple[tuple[int, str], ...]]


@lru_cache(maxsize=64)
def _dispatch_plan(rule_types: tuple[type[LintRule], ...]) -> tuple[WalkPlan, _Handlers, _Handlers]:
    """For a rule set (one class per rule, in run order): the walk's plan and, per node
    type, the (rule index, method name) pairs to visit and to leave with. Made once per
    rule set, not per file."""
    visits: dict[type, list[tuple[int, str]]] = {}
    leaves: dict[type, list[tuple[int, str]]] = {}
    for index, rule_type in enumerate(rule_types):
        for name, node_type, is_leave in visitor_methods(rule_type):
            (leaves if is_leave else visits).setdefault(node_type, []).append((index, name))
    plan = plan_for(frozenset(visits) | frozenset(leaves))
    return (
        plan,
        {t: tuple(pairs) for t, pairs in visits.items()},
        {t: tuple(pairs) for t, pairs in leaves.items()},
    )


def _walk(module: cst.Module, context: FileContext, rules: list[LintRule]) -> list[FileError]:
    """One traversal for all rules. A rule that raises is dropped for this file only."""
    plan, visit_names, leave_names = _dispatch_plan(tuple(type(rule) for rule in rules))
    failed: dict[str, str] = {}

    def callback(pairs: tuple[tuple[int, str], ...]) -> Callable[[cst.CSTNode], None]:
        handlers = [(rules[index], getattr(rules[index], name)) for index, name in pairs]

        def call(node: cst.CSTNode) -> None:
            for rule, method in handlers:
                if failed and rule.code in failed:
                    continue
                try:
                    method(node)
                except Exception as exc:
                    failed[rule.code] = f"{type(exc).__name__}: {exc}"

        return call

    walk_targets(
        module,
        plan,
        {node_type: callback(pairs) for node_type, pairs in visit_names.items()},
        {node_type: callback(pairs) for node_type, pairs in leave_names.items()},
        stack=context.stack,
    )
    errors = []
    for code, problem in sorted(failed.items()):
        for rule in rules:
            if rule.code == code:
                rule.reports.clear()
        errors.append(
            FileError(
                context.path, f"internal error in rule {code} (skipped for this file): {problem}"
            )
        )
    return errors


def _to_findings(
    reports: list[Report],
    context: FileContext,
    config: Config,
    used: set[tuple[int, str]],
    fixes: bool = False,
    noqa: bool = True,
) -> tuple[list[Finding], list[FileError]]:
    """Findings of the reports; adds to `used` each (line, code) suppression they hit.
    A report that cannot be placed costs its rule's findings in this file (reported as
    an internal error), not the other rules' findings."""
    # On failure, positions are computed one by one below, each guarded.
    with contextlib.suppress(Exception):
        context.prefetch_positions(
            node for r in reports for node in (r.node, r.statement) if node is not None
        )
    comments = _comments(context.source, noqa)
    source_lines = context.source.splitlines()
    # A dict, not a set: duplicates go, and the rules' own order breaks what ties the
    # sort key leaves, the same in every run (a set's order follows the hash seed).
    findings: dict[Finding, None] = {}
    failed: dict[str, str] = {}
    for report in reports:
        if report.rule in failed:
            continue
        try:
            findings[_finding(report, context, config, comments, source_lines, used, fixes)] = None
        except Exception as exc:
            failed[report.rule] = _internal(f"rule {report.rule}", exc)
    errors = [FileError(context.path, problem) for _, problem in sorted(failed.items())]
    kept = [f for f in findings if f.rule not in failed]
    # Hashed once the lines are known: only those lines' fingerprints are computed.
    hashes = fingerprints(context.source, (f.line for f in kept))
    placed = (f._replace(fingerprint=hashes.get(f.line, "")) for f in kept)
    return sorted(placed, key=Finding.sort_key), errors


def _finding(
    report: Report,
    context: FileContext,
    config: Config,
    comments: dict[int, str],
    source_lines: list[str],
    used: set[tuple[int, str]],
    fixes: bool,
) -> Finding:
    spec = config.rules[report.rule]
    where = context.position(report.node)
    start, end = where.start, where.end
    statement_lines = _statement_lines(context, report, start.line, end.line)
    line_text = source_lines[start.line - 1] if start.line <= len(source_lines) else ""
    fixable, fix = _fix_of(report, context, fixes)
    return Finding(
        rule=report.rule,
        name=spec.name,
        severity=report.severity or spec.severity,
        path=context.path,
        line=start.line,
        column=start.column + 1,
        end_line=end.line,
        end_column=end.column + 1,
        message=report.message,
        help=report.help,
        suppressed=_suppressed(report.rule, statement_lines, comments, used),
        source_line=line_text,
        related=report.related,
        fixable=fixable,
        fix=fix,
    )


def _fix_of(
    report: Report, context: FileContext, compute: bool
) -> tuple[Applicability | None, Fix | None]:
    """The report's fix applicability and, when asked, its computed fix. A fix that
    fails to build (or would not parse) is dropped: the finding stays, unfixable."""
    plan = report.fix
    if plan is None:
        return None, None
    if not compute:
        return plan.applicability, None
    try:
        fix = render_fix(context, plan)
    except Exception:  # a fix bug must never cost the finding or the run
        fix = None
    return (plan.applicability, fix) if fix is not None else (None, None)


def _suppressed(
    rule: str, lines: range, comments: dict[int, str], used: set[tuple[int, str]]
) -> bool:
    hits = suppressions_of(rule, lines, comments)
    used |= hits
    return bool(hits)


def _comments(text: str, noqa: bool) -> dict[int, str]:
    comments = comment_lines(text)
    return comments if noqa else without_noqa(comments)


def _with_unused_suppressions(
    result: FileResult, text: str, config: Config, used: set[tuple[int, str]], noqa: bool = True
) -> FileResult:
    """LG001 (opt-in) judges the file's suppression comments once every rule reported."""
    from leakguard.rules.meta import lg001_unused_suppression as lg001

    enabled = config.rules_for_path(result.path)
    spec = config.rules.get(lg001.CODE)
    if spec is None or lg001.CODE not in enabled:
        return result
    if spec.prefilter and not any(token in text for token in spec.prefilter):
        return result
    comments = _comments(text, noqa)
    if not comments:
        return result
    unused = lg001.unused_suppressions(
        result.path, comments, text.splitlines(), used, spec, enabled, rule_classes()
    )
    result.findings = sorted([*result.findings, *unused], key=Finding.sort_key)
    return result


def _statement_lines(context: FileContext, report: Report, first: int, last: int) -> range:
    """Lines on which a suppression comment applies: the whole simple statement, or a
    compound statement's header (never its whole body)."""
    statement = report.statement
    if statement is None:
        return range(first, last + 1)
    where = context.position(statement)
    if isinstance(statement, cst.SimpleStatementLine):
        return range(min(first, where.start.line), max(last, where.end.line) + 1)
    return range(min(first, where.start.line), last + 1)


def collect_facts(
    text: str, display: str, collectors: Sequence[str], *, triage: bool = True
) -> dict[str, object]:
    """Project facts of one file, for the collectors whose tokens occur in it."""
    return collect_file(text, display, collectors, None, triage=triage)[0]


@_gc_paused()
def collect_file(
    text: str,
    display: str,
    collectors: Sequence[str],
    config: Config | None,
    *,
    triage: bool = True,
    leave_out: Callable[[Verdict | None, TriageTree | None], Collection[str]] | None = None,
) -> tuple[dict[str, object], Verdict | None]:
    """Project facts of one file and, given the run's `config` with the triage on, its
    triage verdict (`triage_verdict`): one `ast` parse serves the `ast` collectors,
    the collectors' triage and the rules' triage. `leave_out(verdict, tree)`, when
    given, names collectors not to collect once the verdict is known
    (`engine._RuleGates`: a gate no rule the file admits opens). The cyclic garbage
    collector is paused meanwhile (`_gc_paused`)."""
    wanted = [COLLECTORS[name] for name in collectors if name in COLLECTORS]
    wanted = [c for c in wanted if c.applies_to(text)]
    verdict_wanted = config is not None and triage
    shared: list[TriageTree | None] = []

    def shared_tree() -> TriageTree | None:
        if not shared:
            tree = parse_ast(text)
            shared.append(
                None if tree is None else TriageTree(tree, text, deferring=True, display=display)
            )
        return shared[0]

    # the verdict first: which gated collectors it leaves out (`leave_out`)
    verdict = triage_verdict(text, display, config, shared_tree()) if verdict_wanted else None
    if leave_out is not None:
        left_out = frozenset(leave_out(verdict, shared[0] if shared else None))
        wanted = [c for c in wanted if c.name not in left_out]
    facts: dict[str, object] = {}
    for collector in [c for c in wanted if c.from_source is not None]:
        try:
            # one parse for every collector that reads an `ast` tree, with the triage on
            # or off (and when the engine completes a file's facts, with no verdict)
            if collector.from_tree is not None:
                tree = shared_tree()
                value = None if tree is None else collector.from_tree(tree, text, display)
            else:
                value = collector.from_source(text, display)  # type: ignore[misc]
        except Exception:  # a collector bug must not stop the run; the file just adds no facts
            continue
        if value:
            facts[collector.name] = value
    wanted = [c for c in wanted if c.from_source is None]
    if wanted and triage and all(c.triage is not None for c in wanted):
        tree = shared_tree()
        if tree is not None:
            wanted = [c for c in wanted if _collector_could_apply(c, tree)]
    if not wanted:
        return facts, verdict
    parsed = parse(text, display)
    if isinstance(parsed, FileError):
        return facts, verdict
    try:
        # the `ast` tree the collectors' triage parsed, for those that read one
        whole = shared[0].tree if shared and shared[0] is not None else None
        context = FileContext(display, text, parsed, module_name_for(display), ast_tree=whole)
    except Exception:  # the analysis phase reports it, with the file
        return facts, verdict
    for collector in wanted:
        try:
            value = collector.facts_of(context)
        except Exception:  # a collector bug must not stop the run; the file just adds no facts
            continue
        if value:
            facts[collector.name] = value
    return facts, verdict


def triage_verdict(
    text: str, display: str, config: Config | None, tree: TriageTree | None
) -> Verdict | None:
    """Which rules could fire in this file, before the run's facts are known: rule
    code -> True, or the run conditions its condition asked (`TriageTree.in_run`),
    answered by `triage.admitted` once the facts are in. None: not triaged (a rule
    without a condition, or a file CPython cannot parse), so the analysis decides."""
    if config is None or tree is None:
        return None
    classes = rule_classes()
    specs = [config.rules[r] for r in sorted(config.rules_for_path(display)) if r in classes]
    specs = unskipped(active_specs(text, specs), display)
    if not all(declares_triage(classes[spec.id]) for spec in specs):
        return None
    verdict: Verdict = {}
    for spec in specs:
        tree.deferred = []
        if _could_fire(classes[spec.id], tree, spec):
            verdict[spec.id] = True
        elif tree.deferred:
            verdict[spec.id] = [[query, list(names)] for query, names in tree.deferred]
    tree.deferred = []
    # Regions are asked of every rule the run may admit; `slicing.elided` keeps, for
    # the rules finally admitted, the units any of them needs.
    certain = [code for code, value in verdict.items() if value is True]
    sliced = _slicing_plan(tree, [spec for spec in specs if spec.id in verdict], certain)
    if sliced is not None:
        verdict[PLAN_KEY] = sliced
    return verdict


def _collector_could_apply(collector: FactCollector, tree: TriageTree) -> bool:
    try:
        return collector.triage is None or collector.triage(tree)
    except Exception:  # a faulty condition must cost time, never a fact
        return True
