"""LG105 unenforced-memory-measurement: a memory reading that is only printed or logged.

For each reading (`tracemalloc.get_traced_memory()`, `psutil.Process().memory_info()`,
`resource.getrusage(...).ru_maxrss`, `memory_profiler.memory_usage(...)`) the rule follows
the value through the function (or module) that takes it: tuple unpacking
(`current, peak = ...`), indexing and attribute access (`.rss`, `[0]`), arithmetic and
simple reassignments (`mb = current / 2**20`), walrus targets and `for` targets. Each use
of the value is then classified:

- *enforced*: a condition on it whose branch raises, breaks, continues, returns, deletes
  or calls a corrective action (`gc.collect()`, `cache.clear()`, `tracemalloc.stop()`...),
  a `while` condition, an `assert`, a test assertion (`self.assertLess(peak, LIMIT)`);
- *escaped*: returned, yielded, stored on an attribute or in a subscript, or passed to a
  call that is neither a display nor a pure transform (the callee or the caller decides);
- *observed*: passed to `print`/`logging`/`warnings.warn`/`.write`, or compared in a
  condition whose branch only displays it. A `logger.debug(...)` line is diagnostics,
  not monitoring, and counts as no use at all.

A reading is reported when it is observed and neither enforced nor escaped. A value
that is never used is not reported (nothing claims to monitor it).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import libcst as cst

from leakguard.analysis.imports import dotted_name, matches_any
from leakguard.analysis.scopes import bound_names
from leakguard.analysis.tracemalloc_facts import calls_to, last_segments, process_receivers
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.rule import LintRule
from leakguard.triage import TriageTree, calls_match, calls_matching, last_parts
from leakguard.walker import SCOPE_NODES, descendants, iter_children

_TRY_TYPES = (cst.Try, cst.TryStar)
_EXIT_STATEMENTS = (cst.Return, cst.Raise, cst.Break, cst.Continue, cst.Del)
_EMPTY_RESET = (cst.List, cst.Dict, cst.Set)


@dataclass
class _Flow:
    """One reading and what happens to its value."""

    reading: cst.Call
    names: set[str] = field(default_factory=set)
    first_names: tuple[str, ...] = ()
    enforced: bool = False
    escaped: bool = False
    observed: bool = False
    compared_without_action: cst.CSTNode | None = None
    memory_field_used: bool = False
    bound_directly: bool = False  # `info = proc.memory_info()`: a record, not a number


class UnenforcedMemoryMeasurement(LintRule):
    code = "LG105"

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A call that may read memory use."""
        return calls_match(tree, spec.option("measurement_calls")) or bool(
            tree.called & set(spec.option("process_memory_methods"))
        )

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Each reading (its value is followed in its own scope), and where a process
        object may be bound (`tracemalloc_facts.process_receivers` reads the whole
        file): constructor calls, and functions taking a parameter annotated with one."""
        constructors = list(spec.option("process_constructors"))
        methods = set(spec.option("process_memory_methods"))
        found: list[ast.AST] = [
            *calls_matching(tree, spec.option("measurement_calls")),
            *calls_matching(tree, constructors),
        ]
        found.extend(
            call
            for call in tree.of(ast.Call)
            if isinstance(call.func, ast.Attribute) and call.func.attr in methods
        )
        segments = last_segments(constructors)
        for function in tree.functions:
            arguments = function.args
            annotations = [
                a.annotation
                for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
                if a.annotation is not None
            ]
            if any(last_parts(tree, n) & segments for n in annotations):
                found.append(function)
        return found

    def __init__(self, context: FileContext, spec: RuleSpec) -> None:
        super().__init__(context, spec)
        self._measurements: list[str] = list(self.option("measurement_calls"))
        self._measurement_segments = last_segments(self._measurements)
        self._process_constructors: list[str] = list(self.option("process_constructors"))
        self._process_segments = last_segments(self._process_constructors)
        self._process_methods = frozenset(self.option("process_memory_methods"))
        self._rusage_fields = frozenset(self.option("rusage_memory_fields"))
        self._observation_methods = frozenset(self.option("observation_methods"))
        self._transform_methods = frozenset(self.option("transform_methods"))
        self._action_methods = frozenset(self.option("action_methods"))
        self._assertion_prefixes = tuple(self.option("assertion_prefixes"))

    def visit_Call(self, node: cst.Call) -> None:
        if not self._is_reading(node):
            return
        function = self.context.enclosing_function()
        scope: cst.CSTNode = function if function is not None else self.context.module
        flows = self._flows(scope)
        flow = flows.get(id(node))
        if flow is None or not flow.observed or flow.enforced or flow.escaped:
            return
        if self._is_rusage(node) and not flow.memory_field_used:
            return  # getrusage read for CPU times, not memory
        self._report(node, function, flow)

    # -- what is a reading ----------------------------------------------------------------

    def _is_reading(self, node: cst.Call) -> bool:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in self._process_methods:
            receiver = func.value
            if calls_to(receiver, self._process_constructors, self._process_segments, self.context):
                return True
            name = dotted_name(receiver)
            if name is not None and name in process_receivers(
                self.context, tuple(self._process_constructors)
            ):
                return True
        return calls_to(node, self._measurements, self._measurement_segments, self.context)

    def _is_rusage(self, node: cst.Call) -> bool:
        return (self.context.imports.qualify(node.func) or "").endswith("getrusage")

    # -- flow analysis --------------------------------------------------------------------

    def _flows(self, scope: cst.CSTNode) -> dict[int, _Flow]:
        key = ("LG105.flows", id(scope))
        cached = self.context.memo.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        readings = [
            n for n in _scope_nodes(scope) if isinstance(n, cst.Call) and self._is_reading(n)
        ]
        flows: dict[int, _Flow] = {}
        for reading in readings:
            flow = _Flow(reading)
            # Propagate names to a fixed point (loops use values assigned further down).
            for _ in range(3):
                before = len(flow.names)
                self._statements(_body_of(scope), flow, classify=False)
                if len(flow.names) == before:
                    break
            self._statements(_body_of(scope), flow, classify=True)
            flow.memory_field_used = self._uses_memory_field(scope, flow)
            flows[id(reading)] = flow
        self.context.memo[key] = flows
        return flows

    def _statements(self, statements: Iterable[cst.CSTNode], flow: _Flow, classify: bool) -> None:
        for statement in statements:
            self._statement(statement, flow, classify)

    def _statement(self, node: cst.CSTNode, flow: _Flow, classify: bool) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                self._small(small, flow, classify)
        elif isinstance(node, cst.If):
            self._expression(node.test, flow, classify)
            if classify and self._mentions(node.test, flow):
                if self._has_action(node.body) or (
                    node.orelse is not None and self._has_action(node.orelse)
                ):
                    flow.enforced = True
                else:
                    flow.observed = True
                    flow.compared_without_action = flow.compared_without_action or node
            self._block(node.body, flow, classify)
            if node.orelse is not None:
                self._statement(node.orelse, flow, classify)
        elif isinstance(node, cst.Else):
            self._block(node.body, flow, classify)
        elif isinstance(node, cst.While):
            self._expression(node.test, flow, classify)
            if classify and self._mentions(node.test, flow):
                flow.enforced = True  # the loop ends on the measured value
            self._block(node.body, flow, classify)
            if node.orelse is not None:
                self._statement(node.orelse, flow, classify)
        elif isinstance(node, cst.For):
            self._expression(node.iter, flow, classify)
            if self._mentions(node.iter, flow):
                flow.names.update(bound_names(node.target))
            self._block(node.body, flow, classify)
            if node.orelse is not None:
                self._statement(node.orelse, flow, classify)
        elif isinstance(node, cst.With):
            for item in node.items:
                self._expression(item.item, flow, classify)
                if item.asname is not None and self._mentions(item.item, flow):
                    flow.names.update(bound_names(item.asname.name))
            self._block(node.body, flow, classify)
        elif isinstance(node, cst.FunctionDef):
            # A closure that checks the captured value still enforces it.
            self._block(node.body, flow, classify)
        elif isinstance(node, _TRY_TYPES):
            self._block(node.body, flow, classify)
            for handler in node.handlers:
                self._block(handler.body, flow, classify)
            for part in (node.orelse, node.finalbody):
                if part is not None:
                    self._block(part.body, flow, classify)

    def _block(self, suite: cst.BaseSuite, flow: _Flow, classify: bool) -> None:
        if isinstance(suite, cst.IndentedBlock):
            self._statements(suite.body, flow, classify)
        elif isinstance(suite, cst.SimpleStatementSuite):
            for small in suite.body:
                self._small(small, flow, classify)

    def _small(self, node: cst.CSTNode, flow: _Flow, classify: bool) -> None:
        if isinstance(node, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
            value = node.value
            if value is None:
                return
            self._expression(value, flow, classify)
            if not self._mentions(value, flow):
                return
            targets = (
                [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            )
            for target in targets:
                names = bound_names(target)
                if names:
                    if not flow.first_names and _wraps(value, flow):
                        flow.first_names = tuple(names)
                        flow.bound_directly = value is flow.reading
                    flow.names.update(names)
                elif classify:
                    flow.escaped = True  # stored on an attribute or in a container
        elif isinstance(node, cst.Expr):
            self._expression(node.value, flow, classify)
        elif isinstance(node, cst.Return):
            if node.value is not None:
                self._expression(node.value, flow, classify)
                if classify and self._mentions(node.value, flow):
                    flow.escaped = True
        elif isinstance(node, (cst.Assert, cst.Raise)):
            parts = [node.test, node.msg] if isinstance(node, cst.Assert) else [node.exc]
            for part in parts:
                if part is not None and classify and self._mentions(part, flow):
                    flow.enforced = True

    def _expression(self, expr: cst.BaseExpression, flow: _Flow, classify: bool) -> None:
        """Walrus propagation, and (when classifying) the calls and yields using the value."""
        for node in [expr, *descendants(expr, stop_at=(cst.Lambda,))]:
            if isinstance(node, cst.NamedExpr) and self._mentions(node.value, flow):
                flow.names.update(bound_names(node.target))
            if not classify:
                continue
            if isinstance(node, cst.Yield):
                if node.value is not None and self._mentions(node.value, flow):
                    flow.escaped = True
            elif (
                isinstance(node, cst.Call)
                and node is not flow.reading
                and any(self._mentions(arg.value, flow) for arg in node.args)
            ):
                self._classify_call(node, flow)

    def _classify_call(self, call: cst.Call, flow: _Flow) -> None:
        func = call.func
        method = func.attr.value if isinstance(func, cst.Attribute) else None
        if method is not None and method.startswith(self._assertion_prefixes):
            flow.enforced = True
            return
        qualified = self.context.imports.qualify(func)
        if method == "debug" or qualified == "logging.debug":
            # A debug log line is diagnostics by definition: it claims to monitor nothing
            # (ludwig logs memory per batch at debug level), so it is neither an
            # observation to enforce nor an escape.
            return
        if matches_any(qualified, self.option("observation_calls")) or (
            method is not None and method in self._observation_methods
        ):
            flow.observed = True
            return
        if matches_any(qualified, self.option("transform_calls")) or (
            method is not None and method in self._transform_methods
        ):
            return
        if self._is_reading(call):
            return
        flow.escaped = True

    def _has_action(self, suite: cst.CSTNode) -> bool:
        for node in descendants(suite, stop_at=SCOPE_NODES):
            if isinstance(node, _EXIT_STATEMENTS):
                return True
            if isinstance(node, cst.Call):
                func = node.func
                name = (
                    func.attr.value
                    if isinstance(func, cst.Attribute)
                    else func.value
                    if isinstance(func, cst.Name)
                    else None
                )
                if name in self._action_methods or (
                    name is not None and name.startswith(self._assertion_prefixes)
                ):
                    return True
            if isinstance(node, cst.Assign) and _is_reset_value(node.value):
                return True
        return False

    def _mentions(self, expr: cst.CSTNode, flow: _Flow) -> bool:
        return any(True for _ in _mentioning(expr, flow))

    def _uses_memory_field(self, scope: cst.CSTNode, flow: _Flow) -> bool:
        for node in _scope_nodes(scope):
            if (
                isinstance(node, cst.Attribute)
                and node.attr.value in self._rusage_fields
                and self._mentions(node.value, flow)
            ):
                return True
        return False

    # -- reporting ------------------------------------------------------------------------

    def _report(self, node: cst.Call, function: cst.FunctionDef | None, flow: _Flow) -> None:
        line_of = self.context.line_of
        call = f"`{self.context.code_of(node)}`"
        where = (
            "at module level"
            if function is None
            else f"in `{function.name.value}` (line {line_of(function)})"
        )
        names = tuple(n for n in flow.first_names or sorted(flow.names) if n != "_")
        value = "its value (" + ", ".join(f"`{n}`" for n in names) + ")" if names else "its result"
        example = names[0] if names else "usage"
        if flow.bound_directly and len(names) == 1:
            # A record, not a number: name the field to compare.
            method = node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
            if method in ("memory_info", "memory_full_info", "memory_info_ex"):
                example += ".rss"
            elif self._is_rusage(node):
                example += ".ru_maxrss"
            elif (self.context.imports.qualify(node.func) or "").endswith("memory_usage"):
                example = f"max({example})"  # a list of samples
        if flow.compared_without_action is not None:
            how = (
                f"compared at line {line_of(flow.compared_without_action)} with a branch that "
                "only prints or logs it"
            )
        else:
            how = "printed or logged"
        self.report(node, call=call, where=where, value=value, how=how, example=example)


def _body_of(scope: cst.CSTNode) -> list[cst.CSTNode]:
    if isinstance(scope, cst.Module):
        return list(scope.body)
    body = getattr(scope, "body", None)
    if isinstance(body, cst.IndentedBlock):
        return list(body.body)
    if isinstance(body, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=body.body)]
    return []


def _scope_nodes(scope: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Nodes of a function or module body, not entering nested functions or classes."""
    for statement in _body_of(scope):
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        yield statement
        yield from descendants(statement, stop_at=SCOPE_NODES)


def _mentioning(node: cst.CSTNode, flow: _Flow) -> Iterator[cst.CSTNode]:
    """Names of the tracked value (and the reading call itself) under `node`.

    Attribute names (`x.current`) and keyword names (`f(current=1)`) are not uses.
    """
    if node is flow.reading:
        yield node
        return
    if isinstance(node, cst.Name):
        if node.value in flow.names:
            yield node
        return
    if isinstance(node, cst.Attribute):
        yield from _mentioning(node.value, flow)
        return
    if isinstance(node, cst.Arg):
        yield from _mentioning(node.value, flow)
        return
    for child in iter_children(node):
        if isinstance(child, (cst.FunctionDef, cst.ClassDef)):
            continue
        yield from _mentioning(child, flow)


def _wraps(value: cst.BaseExpression, flow: _Flow) -> bool:
    """`reading[0]`, `reading.rss`: the value is the reading itself, reshaped."""
    while isinstance(value, (cst.Subscript, cst.Attribute)):
        value = value.value
    return value is flow.reading


def _is_reset_value(value: cst.BaseExpression) -> bool:
    if isinstance(value, _EMPTY_RESET):
        return not getattr(value, "elements", ())
    return isinstance(value, cst.Name) and value.value == "None"
