"""Exception-derived values: which expressions carry an exception's text?

An *exception value* is a name bound by `except E as e` (inside that handler's body), or
the exception parameter of a registered exception handler (`@app.exception_handler(E)`,
`app.add_exception_handler(E, fn)`, Flask `@app.errorhandler(E)`), except handlers for
HTTP/validation exceptions, whose text is meant for clients.

A *derived* value carries its text: `str(e)`, `repr(e)`, `format(e)`, `e.args`,
`f"...{e}"`, `"..." + str(e)`, `"%s" % e`, `"{}".format(e)`, `traceback.format_exc()`,
`traceback.format_exception(...)`, string methods and slices of a derived value,
`"".join(<derived>)`, a call into a function, message template or sanitiser of the run
whose result carries an argument's text or the handled exception's
(`analysis.constant_callables`: `format_error(e)` does when its body returns
`f"Error: {e}"`; `ERROR_MESSAGES.DEFAULT(e, "x")` does not when its body answers the
fallback for any exception), and locals assigned from any
of these earlier in the same function (the last assignment before the use decides, in
source order).

Facts are built once per function (memoised in `FileContext.memo`) from one walk of its
own body; nested functions and classes are separate scopes.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

import libcst as cst

from leakguard.analysis.calls import positional_arg
from leakguard.analysis.client_input import parses_client_input
from leakguard.analysis.constant_callables import carried_arguments
from leakguard.analysis.curated_exceptions import (
    curated_exception_type,
    handler_handed_other_exceptions,
    run_classes_only,
)
from leakguard.analysis.decode_errors import catches_only_decode_errors
from leakguard.analysis.imports import dotted_name, matches_any
from leakguard.analysis.raised_texts import curated_raises
from leakguard.analysis.scopes import bound_names
from leakguard.analysis.status_guards import client_error_branches
from leakguard.context import FileContext
from leakguard.triage import TriageTree, calls_resolving_to, dotted
from leakguard.walker import descendants, iter_children

_OWN_BODY_STOP = (cst.FunctionDef, cst.ClassDef)
TRACEBACK_TEXT_CALLS = (
    "traceback.format_exc",
    "traceback.format_exception",
    "traceback.format_exception_only",
    "traceback.format_tb",
    "traceback.format_stack",
    "traceback.extract_tb",
    "sys.exc_info",
)
_TEXT_BUILTINS = frozenset({"str", "repr", "format", "ascii"})
# Exception handlers registered for these carry client-facing text, not internals.
_CLIENT_FACING_EXCEPTIONS = ("HTTPException", "ValidationError", "RequestValidationError")
# (decorator or registration method, index of the exception parameter)
_HANDLER_DECORATORS = {"exception_handler": 1, "errorhandler": 0, "app_errorhandler": 0}
_HANDLER_REGISTRATIONS = {"add_exception_handler": 1, "register_error_handler": 0}
# Starlette/FastAPI constructor keyword: `exception_handlers={Exception: handler}`.
_HANDLER_MAPPING_KEYWORD = "exception_handlers"
# Starlette's decorator and registration method: the handler registered for status 500
# there is handed every unhandled exception (`ServerErrorMiddleware`), not an HTTP
# error (Flask's `errorhandler(500)` is handed a generic `InternalServerError`).
_STARLETTE_REGISTRARS = frozenset({"exception_handler", "add_exception_handler"})
_SERVER_ERROR = "500"
_MAX_DEPTH = 6


class Carrier(Enum):
    NONE = 0
    EXCEPTION = 1  # the exception object itself
    DERIVED = 2  # text computed from it


@dataclass
class ExceptionFacts:
    """Per-scope facts: handler spans, assignments in order, exception parameters."""

    index: dict[int, int] = field(default_factory=dict)  # id(node) -> pre-order index
    handlers: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, name)
    # Handlers (by start) whose caught exceptions all carry curated text: see
    # `analysis.curated_exceptions`, `analysis.client_input` and `analysis.decode_errors`.
    curated: set[int] = field(default_factory=set)
    # (start, end, name) of the branches of a clause catching only the run's classes
    # that run only for a client error (`analysis.status_guards`): `name` is curated there.
    client_errors: list[tuple[int, int, str]] = field(default_factory=list)
    assignments: dict[str, list[tuple[int, cst.BaseExpression | None]]] = field(
        default_factory=dict
    )  # name -> [(index, value or None when rebound by something else)]
    # The exception parameter of a registered exception handler (`handler_params`), and
    # of those the ones whose text may not be the run's own (`exception_params`): that
    # a parameter holds an exception object needs no curated facts (LG402 asks it).
    handler_params: frozenset[str] = frozenset()
    exception_params: frozenset[str] = frozenset()
    # ids of the `old + added` nodes made for each `name += added`; such a node is not
    # in the tree, so it is never handed out as a value to report.
    augmented: set[int] = field(default_factory=set)


class ExceptionTracker:
    """Answers "does this expression carry exception text?" for one file."""

    def __init__(self, context: FileContext, extra_text_calls: Iterable[str] = ()) -> None:
        self.context = context
        self.text_calls = (*TRACEBACK_TEXT_CALLS, *extra_text_calls)

    # -- facts ------------------------------------------------------------------------------

    def facts(self, scope: cst.CSTNode) -> ExceptionFacts:
        key = ("exception_facts", id(scope))
        cached = self.context.memo.get(key)
        if isinstance(cached, ExceptionFacts):
            return cached
        facts = ExceptionFacts()
        if isinstance(scope, cst.FunctionDef):
            registrations = self._handler_registrations(scope)
            facts.handler_params = _handler_params(scope, registrations)
            if facts.handler_params and not self._curated_handler(scope, registrations):
                facts.exception_params = facts.handler_params
        handler_starts: dict[int, int] = {}
        # Named clauses whose `try` body's raises are to be judged (`curated_raises`).
        raises_asked: set[int] = set()
        ends: dict[int, int] = {}
        for node, start, end in _spans(scope):
            facts.index[id(node)] = start
            ends[id(node)] = end
            if isinstance(node, cst.Try):
                # After its handlers (spans end in post-order): a try that only parses
                # the client's request raises only errors describing that request.
                starts = [handler_starts[id(h)] for h in node.handlers if id(h) in handler_starts]
                function = scope if isinstance(scope, cst.FunctionDef) else None
                if starts and parses_client_input(node, function, self.context):
                    facts.curated.update(starts)
                # A clause catching only decode errors (`except json.JSONDecodeError`,
                # `except ValueError` around `response.json()`): positions, no internals.
                facts.curated.update(
                    handler_starts[id(h)]
                    for h in node.handlers
                    if id(h) in handler_starts
                    and catches_only_decode_errors(node, h, function, self.context)
                )
                # Asked here, where the clauses before each are known: what they catch
                # never reaches it (`except HTTPException: raise` first).
                facts.curated.update(
                    handler_starts[id(h)]
                    for position, h in enumerate(node.handlers)
                    if id(h) in raises_asked
                    and curated_raises(h, self.context, function, node.handlers[:position])
                )
            if isinstance(node, cst.ExceptHandler) and node.name is not None:
                bound = node.name.name
                if isinstance(bound, cst.Name):
                    facts.handlers.append((start, end, bound.value))
                    handler_starts[id(node)] = start
                    if node.type is not None and curated_exception_type(node.type, self.context):
                        facts.curated.add(start)
                    elif node.type is not None and run_classes_only(node.type, self.context):
                        self._record_client_errors(node, bound.value, (start, end), ends, facts)
                    elif node.type is not None:
                        # builtin classes (`raised_texts`): asked at its `try`, below
                        raises_asked.add(id(node))
            elif isinstance(node, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
                # The new value is visible after the whole statement (`x = str(x)`).
                self._record_assignment(node, end, facts)
            elif isinstance(node, (cst.For, cst.CompFor)):
                for name in bound_names(node.target):
                    facts.assignments.setdefault(name, []).append((start, None))
        self.context.memo[key] = facts
        return facts

    @staticmethod
    def _record_client_errors(
        handler: cst.ExceptHandler,
        name: str,
        span: tuple[int, int],
        ends: dict[int, int],
        facts: ExceptionFacts,
    ) -> None:
        """The branches of `handler` that run only for a client error's status."""

        def single_value(guard: cst.Name) -> cst.BaseExpression | None:
            # The clause's one assignment of the guard (`status = exc.error_code.value`).
            inside = [
                (at, value)
                for at, value in facts.assignments.get(guard.value, ())
                if span[0] <= at <= span[1]
            ]
            position = facts.index.get(id(guard))
            if len(inside) != 1 or position is None or inside[0][0] >= position:
                return None
            return inside[0][1]

        for body in client_error_branches(handler, name, single_value):
            start = facts.index.get(id(body))
            if start is not None:
                facts.client_errors.append((start, ends[id(body)], name))

    @staticmethod
    def _record_assignment(
        node: cst.Assign | cst.AnnAssign | cst.AugAssign, position: int, facts: ExceptionFacts
    ) -> None:
        if isinstance(node, cst.Assign):
            for target in node.targets:
                names = bound_names(target.target)
                single = isinstance(target.target, cst.Name)
                for name in names:
                    value = node.value if single else None
                    facts.assignments.setdefault(name, []).append((position, value))
        elif isinstance(node.target, cst.Name):
            if isinstance(node, cst.AugAssign):
                # `message += str(e)`: derived if either the old or the added value is.
                combined = cst.BinaryOperation(node.target, cst.Add(), node.value)
                facts.augmented.add(id(combined))
                facts.assignments.setdefault(node.target.value, []).append((position, combined))
            elif node.value is not None:
                facts.assignments.setdefault(node.target.value, []).append((position, node.value))

    def _curated_handler(
        self, function: cst.FunctionDef, registrations: list[tuple[int, cst.BaseExpression]]
    ) -> bool:
        """A handler registered only for classes of the run whose text the run writes
        itself (`@app.exception_handler(RecurrenceEvaluationTimeout)`) is handed only
        those, as an `except` of them is (not when Starlette also hands it any unhandled
        exception as the handler for status 500, nor when another file may register it
        for other classes or a call hands it another exception)."""
        return (
            not self._handles_server_errors(function)
            and all(curated_exception_type(h, self.context) for _, h in registrations)
            and not handler_handed_other_exceptions(function.name.value, self.context)
        )

    def _handles_server_errors(self, function: cst.FunctionDef) -> bool:
        """Registered in this file as Starlette's handler for status 500
        (`@app.exception_handler(500)`, `add_exception_handler(500, fn)`,
        `exception_handlers={500: fn}`)."""
        for decorator in function.decorators:
            target = decorator.decorator
            if (
                isinstance(target, cst.Call)
                and isinstance(target.func, cst.Attribute)
                and target.func.attr.value in _STARLETTE_REGISTRARS
                and _is_server_error(positional_arg(target, 0))
            ):
                return True
        self._registered_handlers()
        names = self.context.memo.get("server_error_handlers")
        return isinstance(names, set) and function.name.value in names

    def _handler_param_index(self, function: cst.FunctionDef) -> int | None:
        registrations = self._handler_registrations(function)
        return registrations[0][0] if registrations else None

    def _handler_registrations(
        self, function: cst.FunctionDef
    ) -> list[tuple[int, cst.BaseExpression]]:
        """Each registration of `function` as a handler for a broad exception class: the
        index of its exception parameter and the class (by decorator first)."""
        found: list[tuple[int, cst.BaseExpression]] = []
        for decorator in function.decorators:
            target = decorator.decorator
            if not isinstance(target, cst.Call) or not isinstance(target.func, cst.Attribute):
                continue
            position = _HANDLER_DECORATORS.get(target.func.attr.value)
            handled = positional_arg(target, 0)
            if position is not None and handled is not None and self._broad_exception(handled):
                found.append((position, handled.value))
        found.extend(self._registered_handlers().get(function.name.value, ()))
        return found

    def _registered_handlers(self) -> dict[str, list[tuple[int, cst.BaseExpression]]]:
        cached = self.context.memo.get("exception_handler_registrations")
        if isinstance(cached, dict):
            return cached
        found: dict[str, list[tuple[int, cst.BaseExpression]]] = {}
        server_errors: set[str] = set()
        self.context.memo["server_error_handlers"] = server_errors
        source = self.context.source
        tokens = (*_HANDLER_REGISTRATIONS, _HANDLER_MAPPING_KEYWORD)
        if not any(token in source for token in tokens):
            self.context.memo["exception_handler_registrations"] = found
            return found
        for node in descendants(self.context.module):
            if isinstance(node, cst.Call):
                self._record_handler_mapping(node, found, server_errors)
            if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
                continue
            position = _HANDLER_REGISTRATIONS.get(node.func.attr.value)
            handler = positional_arg(node, 1)
            handled = positional_arg(node, 0)
            if (
                node.func.attr.value in _STARLETTE_REGISTRARS
                and handler is not None
                and isinstance(handler.value, cst.Name)
                and _is_server_error(handled)
            ):
                server_errors.add(handler.value.value)
            if (
                position is not None
                and handler is not None
                and handled is not None
                and isinstance(handler.value, cst.Name)
                and self._broad_exception(handled)
            ):
                found.setdefault(handler.value.value, []).append((position, handled.value))
        self.context.memo["exception_handler_registrations"] = found
        return found

    def _record_handler_mapping(
        self,
        call: cst.Call,
        found: dict[str, list[tuple[int, cst.BaseExpression]]],
        server_errors: set[str],
    ) -> None:
        mapping = next(
            (
                a.value
                for a in call.args
                if a.keyword is not None and a.keyword.value == _HANDLER_MAPPING_KEYWORD
            ),
            None,
        )
        if not isinstance(mapping, cst.Dict):
            return
        for element in mapping.elements:
            if not isinstance(element, cst.DictElement) or not isinstance(element.value, cst.Name):
                continue
            if self._broad_exception(cst.Arg(element.key)):
                found.setdefault(element.value.value, []).append((1, element.key))
            elif _is_server_error(cst.Arg(element.key)):
                server_errors.add(element.value.value)

    def _broad_exception(self, argument: cst.Arg | None) -> bool:
        """An exception class whose text is not meant for clients (not a status code)."""
        if argument is None:
            return False
        name = dotted_name(argument.value)
        if name is None:
            return False  # status codes (`errorhandler(500)`) wrap generic HTTP errors
        return not name.endswith(_CLIENT_FACING_EXCEPTIONS)

    # -- queries ----------------------------------------------------------------------------

    def is_exception_handler(self, function: cst.FunctionDef) -> bool:
        """A registered handler for a broad exception type (its result is the response)."""
        return self._handler_param_index(function) is not None

    def latest_value(self, name: cst.Name, scope: cst.CSTNode) -> cst.BaseExpression | None:
        """The value last assigned to `name` before this use, in `scope`'s own body."""
        facts = self.facts(scope)
        position = facts.index.get(id(name))
        if position is None:
            return None
        latest = _latest_assignment(facts, name.value, position)
        if latest is None or id(latest[1]) in facts.augmented:
            return None  # `name += x` is no single expression of the tree
        return latest[1]

    def carrier(self, expression: cst.BaseExpression, scope: cst.CSTNode) -> Carrier:
        """Whether `expression` (inside `scope`'s own body) is or carries exception text."""
        facts = self.facts(scope)
        return self._carrier(expression, facts, _MAX_DEPTH, frozenset())

    def _carrier(
        self,
        node: cst.BaseExpression,
        facts: ExceptionFacts,
        depth: int,
        seen: frozenset[tuple[str, int]],
    ) -> Carrier:
        if depth <= 0:
            return Carrier.NONE
        if isinstance(node, cst.Name):
            return self._name_carrier(node, facts, depth, seen)
        if isinstance(node, cst.Call):
            return self._call_carrier(node, facts, depth, seen)
        if isinstance(node, cst.Attribute):
            if node.attr.value == "args" and self._is_exception(node.value, facts, depth, seen):
                return Carrier.DERIVED
            return Carrier.NONE
        if isinstance(node, cst.FormattedString):
            expressions = [
                part.expression
                for part in node.parts
                if isinstance(part, cst.FormattedStringExpression)
            ]
            found = (self._carrier(e, facts, depth - 1, seen) for e in expressions)
            if any(carrier is not Carrier.NONE for carrier in found):
                return Carrier.DERIVED
            return Carrier.NONE
        if isinstance(node, cst.BinaryOperation):
            return self._binary_carrier(node, facts, depth, seen)
        if isinstance(node, cst.Subscript):
            inner = self._carrier(node.value, facts, depth - 1, seen)
            return Carrier.DERIVED if inner is Carrier.DERIVED else Carrier.NONE
        if isinstance(node, (cst.IfExp, cst.BooleanOperation)):
            branches = (
                (node.body, node.orelse) if isinstance(node, cst.IfExp) else (node.left, node.right)
            )
            results = [self._carrier(b, facts, depth - 1, seen) for b in branches]
            return max(results, key=lambda c: c.value)
        return Carrier.NONE

    def _is_exception(
        self,
        node: cst.BaseExpression,
        facts: ExceptionFacts,
        depth: int,
        seen: frozenset[tuple[str, int]],
    ) -> bool:
        return self._carrier(node, facts, depth - 1, seen) is Carrier.EXCEPTION

    def caught(self, node: cst.Name, scope: cst.CSTNode) -> bool:
        """`node` reads the exception an enclosing `except E as name` bound (or a
        registered handler's exception parameter) not rebound since: an exception
        object, whatever its text says (`carrier` also asks what the text holds)."""
        facts = self.facts(scope)
        position = facts.index.get(id(node))
        if position is None:
            return False
        latest = _latest_assignment(facts, node.value, position)
        if _binding_handler(facts, node.value, position, latest) is not None:
            return True
        return latest is None and node.value in facts.handler_params

    def _name_carrier(
        self,
        node: cst.Name,
        facts: ExceptionFacts,
        depth: int,
        seen: frozenset[tuple[str, int]],
    ) -> Carrier:
        name = node.value
        position = facts.index.get(id(node))
        if position is None:
            return Carrier.NONE
        latest = _latest_assignment(facts, name, position)
        handler_start = _binding_handler(facts, name, position, latest)
        if handler_start is not None:
            # A class of the run made only with text of its own: no internals to leak.
            # So is one whose status says its sender was at fault, where the clause
            # sends only those (`analysis.status_guards`).
            if handler_start in facts.curated or any(
                bound == name and handler_start < start <= position <= end
                for start, end, bound in facts.client_errors
            ):
                return Carrier.NONE
            return Carrier.EXCEPTION
        if latest is None:
            return Carrier.EXCEPTION if name in facts.exception_params else Carrier.NONE
        assigned_at, value = latest
        if value is None or (name, assigned_at) in seen:
            return Carrier.NONE
        inner = self._carrier(value, facts, depth - 1, seen | {(name, assigned_at)})
        return Carrier.DERIVED if inner is not Carrier.NONE else Carrier.NONE

    def _call_carrier(
        self,
        node: cst.Call,
        facts: ExceptionFacts,
        depth: int,
        seen: frozenset[tuple[str, int]],
    ) -> Carrier:
        func = node.func
        if isinstance(func, cst.Name) and func.value in _TEXT_BUILTINS:
            first = positional_arg(node, 0)
            if first is not None and self._carrier(first.value, facts, depth - 1, seen) is not (
                Carrier.NONE
            ):
                return Carrier.DERIVED
            return Carrier.NONE
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            receiver = self._carrier(func.value, facts, depth - 1, seen)
            if method in ("__str__", "__repr__") and receiver is Carrier.EXCEPTION:
                return Carrier.DERIVED
            if receiver is Carrier.DERIVED:
                return Carrier.DERIVED  # str methods: .strip(), .splitlines(), .encode() ...
            if method in ("format", "join", "format_map") and any(
                self._carrier(a.value, facts, depth - 1, seen) is not Carrier.NONE
                for a in node.args
            ):
                return Carrier.DERIVED
        qualified = self.context.imports.call_name(node)
        if qualified is not None and matches_any(qualified, self.text_calls):
            # Configured as exception text: that wins over the body's reading below.
            return Carrier.DERIVED
        carried = carried_arguments(node, self.context)
        if carried is not None:
            # A helper, message template or sanitiser of the run (`format_error(e)`,
            # `ERROR_MESSAGES.DEFAULT(e, "x")`): its body says which arguments' text
            # reaches its result.
            if carried.current:
                return Carrier.DERIVED
            for arg in carried.text:
                inner = self._carrier(arg.value, facts, depth - 1, seen)
                if inner is Carrier.DERIVED or (
                    inner is Carrier.EXCEPTION and arg in carried.exception
                ):
                    return Carrier.DERIVED
            return Carrier.NONE
        return Carrier.NONE

    def _binary_carrier(
        self,
        node: cst.BinaryOperation,
        facts: ExceptionFacts,
        depth: int,
        seen: frozenset[tuple[str, int]],
    ) -> Carrier:
        if isinstance(node.operator, cst.Add):
            # A `+=` chain costs one level per statement, not two: the old value is the
            # name's previous assignment, strictly earlier, so the chain still ends.
            old_depth = depth if id(node) in facts.augmented else depth - 1
            if self._carrier(node.left, facts, old_depth, seen) is Carrier.DERIVED:
                return Carrier.DERIVED
            if self._carrier(node.right, facts, depth - 1, seen) is Carrier.DERIVED:
                return Carrier.DERIVED
        elif isinstance(node.operator, cst.Modulo):
            right = node.right
            items = [e.value for e in right.elements] if isinstance(right, cst.Tuple) else [right]
            if any(self._carrier(i, facts, depth - 1, seen) is not Carrier.NONE for i in items):
                return Carrier.DERIVED
        return Carrier.NONE


def _is_server_error(argument: cst.Arg | None) -> bool:
    """The status code 500 (`exception_handler(500)`)."""
    return (
        argument is not None
        and isinstance(argument.value, cst.Integer)
        and argument.value.value == _SERVER_ERROR
    )


_AST_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass
class ExceptionSites:
    """Where an `ExceptionTracker` may find exception text, on `ast` (for a rule's
    regions): `scopes`, the functions whose own code (nested defs and classes apart)
    holds an `except ... as name`, a call that may be a traceback or other text call,
    or which may be registered exception handlers (`handlers`, by id: by decorator, or
    named in a registration call or an `exception_handlers=` mapping); and those
    `registrations` (`_registered_handlers` reads the whole file)."""

    scopes: list[ast.FunctionDef | ast.AsyncFunctionDef]
    handlers: set[int]
    registrations: list[ast.Call]

    def own(self, tree: TriageTree, scope: ast.AST) -> list[ast.AST]:
        """The nodes of `scope`'s own code, as `ExceptionTracker.facts` sees it."""
        return tree.within(scope, _AST_SCOPES)


def exception_sites(
    tree: TriageTree, text_calls: Iterable[str] = (), readers: frozenset[str] | None = None
) -> ExceptionSites:
    """`readers`: last names of the run's callables that return the text of the
    exception being handled (`constant_callables.current_exception_readers`); None when
    the run is not known yet, where any function called by name in an `except` block
    without a name may be one."""
    handlers = tree.of(ast.ExceptHandler)
    sources: set[int] = {id(h) for h in handlers if h.name is not None}
    sources.update(id(c) for c in calls_resolving_to(tree, [*TRACEBACK_TEXT_CALLS, *text_calls]))
    if readers is None:
        sources.update(
            id(node)
            for handler in handlers
            if handler.name is None
            for node in tree.walk(handler)
            if isinstance(node, ast.Call) and _by_name(node.func, tree)
        )
    elif not readers.isdisjoint(tree.called):
        sources.update(id(c) for c in tree.of(ast.Call) if last_name(c.func) in readers)
    registered: set[str] = set()
    registrations: list[ast.Call] = []
    for call in tree.of(ast.Call):
        mapping = [k.value for k in call.keywords if k.arg == _HANDLER_MAPPING_KEYWORD]
        func = call.func
        if mapping or (isinstance(func, ast.Attribute) and func.attr in _HANDLER_REGISTRATIONS):
            registrations.append(call)
            for argument in [*call.args, *mapping]:
                registered.update(n.id for n in tree.walk(argument) if isinstance(n, ast.Name))
    sites = ExceptionSites([], set(), registrations)
    for function in tree.functions:
        if function.name in registered or any(
            isinstance(d, ast.Call)
            and isinstance(d.func, ast.Attribute)
            and d.func.attr in _HANDLER_DECORATORS
            for d in function.decorator_list
        ):
            sites.handlers.add(id(function))
            sites.scopes.append(function)
        elif sources and any(id(node) in sources for node in sites.own(tree, function)):
            sites.scopes.append(function)
    return sites


def _by_name(func: ast.expr, tree: TriageTree) -> bool:
    """`trace_text()`, `errors.trace_text()`: a function, not a method of an object."""
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id in tree.aliases
    return isinstance(func, ast.Name)


def last_name(func: ast.expr) -> str | None:
    name = dotted(func)
    return None if name is None else name.rsplit(".", 1)[-1]


def _binding_handler(
    facts: ExceptionFacts,
    name: str,
    position: int,
    latest: tuple[int, cst.BaseExpression | None] | None,
) -> int | None:
    """The start of the innermost `except ... as name` clause holding `position` whose
    binding `name` still is there (no assignment since, `latest`), or None."""
    start = max(
        (
            start
            for start, end, bound in facts.handlers
            if bound == name and start < position <= end
        ),
        default=None,
    )
    return start if start is not None and (latest is None or latest[0] < start) else None


def _latest_assignment(
    facts: ExceptionFacts, name: str, position: int
) -> tuple[int, cst.BaseExpression | None] | None:
    latest: tuple[int, cst.BaseExpression | None] | None = None
    for assigned_at, value in facts.assignments.get(name, ()):
        if assigned_at < position and (latest is None or assigned_at > latest[0]):
            latest = (assigned_at, value)
    return latest


def _spans(scope: cst.CSTNode) -> Iterable[tuple[cst.CSTNode, int, int]]:
    """(node, pre-order index, index of its last descendant) for `scope`'s own body."""
    counter = 0
    # Entries: (node, start) for a pending exit, or a node still to enter.
    todo: list[cst.CSTNode | tuple[cst.CSTNode, int]] = []
    children = list(iter_children(scope))
    children.reverse()
    todo.extend(children)
    while todo:
        item = todo.pop()
        if isinstance(item, tuple):
            node, start = item
            yield node, start, counter - 1
            continue
        start = counter
        counter += 1
        todo.append((item, start))
        if isinstance(item, _OWN_BODY_STOP):
            continue
        nested = list(iter_children(item))
        nested.reverse()
        todo.extend(nested)


def _handler_params(
    function: cst.FunctionDef, registrations: list[tuple[int, cst.BaseExpression]]
) -> frozenset[str]:
    """The exception parameter of `function`, registered as a handler by `registrations`
    (`ExceptionTracker._handler_registrations`)."""
    params = [*function.params.posonly_params, *function.params.params]
    if not registrations or registrations[0][0] >= len(params):
        return frozenset()
    return frozenset({params[registrations[0][0]].name.value})
