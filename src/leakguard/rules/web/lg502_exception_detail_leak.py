"""LG502 exception-detail-leak: exception text returned to HTTP clients."""

from __future__ import annotations

import ast
import contextlib
import json
import re
from http import HTTPStatus
from typing import ClassVar

import libcst as cst

from leakguard.analysis.caller_trust import COLLECTOR as CALLER_TRUST
from leakguard.analysis.caller_trust import OPTION as PRIVILEGED
from leakguard.analysis.caller_trust import privileged_handler
from leakguard.analysis.calls import keyword_arg
from leakguard.analysis.client_input import STATE_COLLECTOR as REQUEST_STATE
from leakguard.analysis.client_input import helper_regions
from leakguard.analysis.constant_callables import COLLECTOR as CONSTANT_CALLABLES
from leakguard.analysis.constant_callables import (
    callee_facts,
    carried_arguments,
    current_exception_readers,
    is_constant_callable,
)
from leakguard.analysis.curated_exceptions import COLLECTOR as EXCEPTION_TEXTS
from leakguard.analysis.exceptions import (
    TRACEBACK_TEXT_CALLS,
    Carrier,
    ExceptionTracker,
    exception_sites,
)
from leakguard.analysis.frameworks import (
    enclosing_class_of,
    is_request_handler,
    may_be_handlers,
    may_have_request_handlers,
    route_decorator,
    route_registrations,
)
from leakguard.analysis.imports import matches_any
from leakguard.analysis.pydantic_models import COLLECTOR as MODELS
from leakguard.analysis.run_modules import COLLECTOR as RUN_MODULES
from leakguard.analysis.summaries import COLLECTOR as SUMMARIES
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.fixes import Applicability, FixPlan, replace
from leakguard.rule import LintRule, ReadConditions
from leakguard.triage import TriageTree, calls_resolving_to, imports_any

# Calls whose arguments end up in the value they build (so in the response).
_PASS_THROUGH = frozenset(
    {
        "dict",
        "list",
        "tuple",
        "json.dumps",
        "orjson.dumps",
        "ujson.dumps",
        "fastapi.encoders.jsonable_encoder",
    }
)
# Serializing methods: `model.model_dump_json()` carries whatever `model` holds.
_SERIALIZING_METHODS = frozenset(
    {"model_dump", "model_dump_json", "dict", "json", "to_dict", "encode", "decode"}
)
# Text that any file registering routes by call (not by decorator) contains; a file
# without them needs no module-wide route index.
_TRACEBACK_CALLS = frozenset(name.rsplit(".", 1)[-1] for name in TRACEBACK_TEXT_CALLS)
# Text every registered exception handler needs (decorators, registration calls and
# Starlette's `exception_handlers=` keyword; see analysis.exceptions): a file without
# any has no handler to look for (`_registers_exception_handlers`).
_HANDLER_TOKENS = (
    "exception_handler",
    "errorhandler",
    "add_exception_handler",
    "register_error_handler",
)
_REGISTRATION_TOKENS = (
    "add_url_rule",
    "add_api_route",
    "add_route",
    "add_get",
    "add_post",
    "add_put",
    "add_patch",
    "add_delete",
    "Route(",
    "APIRoute",
    "as_view",
    "MethodView",
    "HTTPEndpoint",
    "View)",
    "web.get",
    "web.post",
    "web.put",
    "web.patch",
    "web.delete",
    "web.route",
    "web.view",
    "endpoint=",
    "view_func",
    "handler=",
)
_MAX_SHOWN = 60
_MAX_DEPTH = 5


class ExceptionDetailLeak(LintRule):
    code = "LG502"
    PROJECT_FACTS = (
        CONSTANT_CALLABLES,
        EXCEPTION_TEXTS,
        MODELS,
        SUMMARIES,
        CALLER_TRUST,
        RUN_MODULES,
        REQUEST_STATE,
    )
    # the trust of callers is asked of the file's request handlers (`_in_privileged_route`)
    READS_WHERE: ClassVar[ReadConditions] = {CALLER_TRUST: may_have_request_handlers}

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """Exception text (an `except ... as` name, a traceback call or an exception
        handler) and a way out to a client (a response call, a web framework import, a
        call decorator or a route registration)."""
        handlers = _registers_exception_handlers(tree)
        carriers = (
            handlers
            or any(h.name is not None for h in tree.of(ast.ExceptHandler))
            or bool(tree.called & _TRACEBACK_CALLS)
            or bool(spec.option("text_calls"))
            # `detail=trace_text()` in a bare `except:`: a helper reading the traceback.
            or (
                tree.has(ast.ExceptHandler)
                and tree.in_run("current_exception_readers", tree.called)
            )
        )
        if not carriers:
            return False
        sinks = {p.split(".", 1)[0] for p in spec.option("response_sinks")}
        return (
            handlers
            or bool(tree.called & set(spec.option("response_methods")))
            or imports_any(tree, sinks)
            # a route registered by call (`endpoint=`, `add_url_rule`) is one of these
            or may_have_request_handlers(tree)
        )

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """The scopes that may hold exception text (`exceptions.exception_sites`) and
        may send it out: through a call that may be a sink, or by returning a value
        from a registered exception handler or a request handler (which may be
        registered anywhere in the file: `frameworks.route_registrations`)."""
        project = tree.project
        readers = None if project is None else current_exception_readers(project)
        sites = exception_sites(tree, spec.option("text_calls"), readers)
        sinks = {id(call) for call in calls_resolving_to(tree, spec.option("response_sinks"))}
        methods = set(spec.option("response_methods"))
        requests = {id(function) for function in may_be_handlers(tree)}
        found: list[ast.AST] = [*sites.registrations]
        returns = False
        for scope in sites.scopes:
            own = sites.own(tree, scope)
            if any(
                isinstance(node, ast.Call)
                and (
                    id(node) in sinks
                    or (isinstance(node.func, ast.Attribute) and node.func.attr in methods)
                )
                for node in own
            ):
                found.append(scope)
            elif (id(scope) in sites.handlers or id(scope) in requests) and any(
                isinstance(node, ast.Return) and node.value is not None for node in own
            ):
                found.append(scope)
                returns = True
        # A name validated in a try may hold what a helper of the file returned
        # (`body = await _get_request_body(request)`): `client_input` reads its body.
        found.extend(helper_regions(tree, list(found)))
        return [*found, *route_registrations(tree)] if returns else found

    def __init__(self, context: FileContext, spec: RuleSpec) -> None:
        super().__init__(context, spec)
        self._tracker = ExceptionTracker(self.context, self.option("text_calls"))
        self._reported: set[int] = set()
        # Per enclosing function (innermost last): has an `except ... as name` been seen
        # so far? A return before any handler cannot carry that handler's exception.
        self._handler_seen: list[bool] = []
        source = self.context.source
        self._mentions_traceback = "traceback" in source or "exc_info" in source
        self._registers_routes = any(token in source for token in _REGISTRATION_TOKENS)
        self._sink_roots = {p.split(".", 1)[0] for p in self.option("response_sinks")}
        self._aliases_seen = -1
        self._web_imported = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._handler_seen.append(False)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._handler_seen.pop()

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None and self._handler_seen:
            self._handler_seen[-1] = True

    # -- sinks ------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        if not node.args:
            return
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in self.option("response_methods"):
            self._inspect_args(node, f"`{func.attr.value}()`")
            return
        if not self._imports_web_framework():
            return
        qualified = self.context.imports.call_name(node)
        if qualified is not None and matches_any(qualified, self.option("response_sinks")):
            self._inspect_args(node, f"`{qualified.rsplit('.', 1)[-1]}(...)`")

    def _imports_web_framework(self) -> bool:
        """Whether any sink's top-level package is imported (checked lazily, as imports
        inside functions are added to the table during the walk)."""
        aliases = self.context.imports.aliases
        if len(aliases) != self._aliases_seen:
            self._aliases_seen = len(aliases)
            self._web_imported = any(
                target.split(".", 1)[0] in self._sink_roots for target in aliases.values()
            )
        return self._web_imported

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is None:
            return
        function = self.context.enclosing_function()
        if function is None:
            return
        # Cheap gates first: finding route handlers may walk the whole module.
        is_exception_handler = self._tracker.is_exception_handler(function)
        may_carry = self._mentions_traceback or (self._handler_seen and self._handler_seen[-1])
        if not (may_carry or is_exception_handler):
            return
        if not (
            is_exception_handler
            or self._registers_routes
            or any(route_decorator(d, self.context) for d in function.decorators)
        ):
            return
        carriers = self._carriers(node.value, _MAX_DEPTH)
        if not carriers:
            return
        owner = enclosing_class_of(function, self.context)
        if is_exception_handler or is_request_handler(function, self.context, owner):
            self._report_all(carriers, f"the response returned by `{function.name.value}()`")

    def _inspect_args(self, call: cst.Call, sink: str) -> None:
        ignored = self.option("ignored_keywords")
        for arg in call.args:
            if arg.keyword is None or arg.keyword.value not in ignored:
                self._report_all(self._carriers(arg.value, _MAX_DEPTH), sink, status_of(call))

    def _report_all(
        self, carriers: list[cst.BaseExpression], sink: str, status: int | None = None
    ) -> None:
        if carriers and self._in_privileged_route():
            return
        for carrier in carriers:
            if id(carrier) not in self._reported:
                self._reported.add(id(carrier))
                self.report(
                    carrier,
                    carrier=self._shown(carrier),
                    sink=sink,
                    fix_plan=None
                    if self._helper_call(carrier)
                    else generic_message_fix(carrier, status),
                )

    def _in_privileged_route(self) -> bool:
        """The text goes to a client of a route only privileged callers reach
        (`analysis/caller_trust`): an administrator, the local machine, the program's own
        worker; the disclosure CWE-209 is about is to an untrusted client."""
        function = self.context.enclosing_function()
        if function is None or not privileged_handler(
            function, self.context, self.option(PRIVILEGED)
        ):
            return False
        return is_request_handler(
            function, self.context, enclosing_class_of(function, self.context)
        )

    def _helper_call(self, carrier: cst.BaseExpression) -> bool:
        """A call into a function of the run (`error_response(e)`): its result may be a
        response or a dict, not a message a string can stand for, so no fix."""
        return (
            isinstance(carrier, cst.Call)
            and not is_constant_callable(carrier)
            and callee_facts(carrier, self.context) is not None
        )

    # -- carriers ---------------------------------------------------------------------------

    def _scope(self) -> cst.CSTNode:
        function = self.context.enclosing_function()
        return function if function is not None else self.context.module

    def _carriers(self, value: cst.BaseExpression, depth: int) -> list[cst.BaseExpression]:
        """The outermost sub-expressions of `value` that carry exception text."""
        if depth <= 0:
            return []
        if self._tracker.carrier(value, self._scope()) is not Carrier.NONE:
            return [value]
        found: list[cst.BaseExpression] = []
        for part in self._parts(value):
            found.extend(self._carriers(part, depth - 1))
        return found

    def _parts(self, value: cst.BaseExpression) -> list[cst.BaseExpression]:
        """Sub-expressions whose text ends up in `value`'s serialized form."""
        if isinstance(value, cst.Dict):
            return [e.value for e in value.elements if isinstance(e, cst.DictElement)]
        if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            return [e.value for e in value.elements]
        if isinstance(value, cst.IfExp):
            return [value.body, value.orelse]
        if isinstance(value, cst.Call):
            func = value.func
            if isinstance(func, cst.Attribute) and func.attr.value in _SERIALIZING_METHODS:
                return [func.value]
            if self._passes_through(value):
                return [a.value for a in value.args]
        if isinstance(value, cst.Name):
            # `body = {"error": str(e)}` ... `return body`: look at what was assigned.
            assigned = self._tracker.latest_value(value, self._scope())
            return [assigned] if assigned is not None else []
        return []

    def _passes_through(self, call: cst.Call) -> bool:
        """Constructors (CapWords: pydantic models, responses) and serializers; not a
        constant callable of the run, which the tracker judges by its body."""
        if carried_arguments(call, self.context) is not None:
            return False
        qualified = self.context.imports.call_name(call)
        if qualified in _PASS_THROUGH:
            return True
        if matches_any(qualified, self.option("response_sinks")):
            return False  # visit_Call reports it, naming the response class
        func = call.func
        last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
        return isinstance(last, str) and last[:1].isupper()

    def _shown(self, node: cst.CSTNode) -> str:
        text = " ".join(self.context.code_of(node).split())
        return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


# -- fix ------------------------------------------------------------------------------------

GENERIC_MESSAGE = "Internal server error"
_STATUS_NAME = re.compile(r"HTTP_(\d{3})_")


def status_of(call: cst.Call) -> int | None:
    """A literal HTTP status of a response call: `status_code=409`, `HTTPException(400,
    ...)` or `status.HTTP_422_UNPROCESSABLE_ENTITY`."""
    arg = keyword_arg(call, "status_code") or keyword_arg(call, "status")
    if arg is None and call.args and call.args[0].keyword is None:
        arg = call.args[0]
    if arg is None:
        return None
    value = arg.value
    if isinstance(value, cst.Integer):
        number = value.evaluated_value
        return number if isinstance(number, int) else None
    if isinstance(value, cst.Attribute):
        match = _STATUS_NAME.match(value.attr.value)
        return int(match.group(1)) if match else None
    return None


def generic_message_fix(carrier: cst.BaseExpression, status: int | None = None) -> FixPlan:
    """The exception text replaced by a constant: "Internal server error", or the
    standard reason phrase of a literal 4xx status (`"Conflict"` for 409), which tells
    the client what kind of error it made without the exception's text. Unsafe: clients
    that parsed the detail lose it; log the exception where it is caught."""
    text = GENERIC_MESSAGE
    if status is not None and 400 <= status < 500:
        with contextlib.suppress(ValueError):
            text = HTTPStatus(status).phrase
    return FixPlan(
        "Return a generic message; log the exception instead",
        Applicability.UNSAFE,
        lambda: replace(carrier, cst.SimpleString(json.dumps(text))),
    )


def _registers_exception_handlers(tree: TriageTree) -> bool:
    """Triage: whether some function of the file may be a registered exception handler
    (`ExceptionTracker.is_exception_handler`: decorated by `@app.exception_handler(...)`,
    named in `add_exception_handler(...)` or an `exception_handlers=` mapping), not just
    text that mentions one (asyncio's `loop.call_exception_handler(context)`)."""
    if not any(token in tree.text for token in _HANDLER_TOKENS):
        return False
    return bool(exception_sites(tree).handlers)
