"""LG502 exception-detail-leak: exception text returned to HTTP clients."""

from __future__ import annotations

import libcst as cst

from leakguard.analysis.exceptions import Carrier, ExceptionTracker
from leakguard.analysis.frameworks import enclosing_class_of, is_request_handler
from leakguard.analysis.imports import matches_any
from leakguard.rule import LintRule

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
_MAX_SHOWN = 60
_MAX_DEPTH = 5


class ExceptionDetailLeak(LintRule):
    code = "LG502"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._tracker = ExceptionTracker(self.context, self.option("text_calls"))
        self._reported: set[int] = set()

    # -- sinks ------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        if not node.args:
            return
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in self.option("response_methods"):
            self._inspect_args(node, f"`{func.attr.value}()`")
            return
        qualified = self.context.imports.call_name(node)
        if qualified is not None and matches_any(qualified, self.option("response_sinks")):
            self._inspect_args(node, f"`{qualified.rsplit('.', 1)[-1]}(...)`")

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is None:
            return
        function = self.context.enclosing_function()
        if function is None:
            return
        owner = enclosing_class_of(function, self.context)
        if not (
            is_request_handler(function, self.context, owner)
            or self._tracker.is_exception_handler(function)
        ):
            return
        sink = f"the response returned by `{function.name.value}()`"
        self._find_and_report(node.value, sink, _MAX_DEPTH)

    def _inspect_args(self, call: cst.Call, sink: str) -> None:
        ignored = self.option("ignored_keywords")
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in ignored:
                continue
            self._find_and_report(arg.value, sink, _MAX_DEPTH)

    # -- carriers ---------------------------------------------------------------------------

    def _scope(self) -> cst.CSTNode:
        function = self.context.enclosing_function()
        return function if function is not None else self.context.module

    def _find_and_report(self, value: cst.BaseExpression, sink: str, depth: int) -> None:
        """Report the outermost sub-expression of `value` that carries exception text."""
        if depth <= 0:
            return
        scope = self._scope()
        if self._tracker.carrier(value, scope) is not Carrier.NONE:
            if id(value) not in self._reported:
                self._reported.add(id(value))
                self.report(value, carrier=self._shown(value), sink=sink)
            return
        for part in self._parts(value):
            self._find_and_report(part, sink, depth - 1)

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
        """Constructors (CapWords: pydantic models, responses) and serializers."""
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
