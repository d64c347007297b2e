"""LG402 pickle-model-persistence: models (and other objects) written with pickle."""

from __future__ import annotations

import ast

import libcst as cst

from leakguard.analysis.bindings import assigned_values, module_assigned_once
from leakguard.analysis.calls import keyword_arg, positional_arg, value_discarded
from leakguard.analysis.imports import matches_any
from leakguard.analysis.pickled_values import (
    bytes_only_sent,
    bytes_written,
    exception_object,
    pickled_by_reference,
)
from leakguard.config import RuleSpec
from leakguard.rule import LintRule
from leakguard.triage import TriageTree, calls_resolve_to, calls_resolving_to

_MODEL_FIX = (
    "Save models with skops.io.dump (and load them with skops.io.load and an explicit "
    "trusted= list), export them to ONNX, or store tensors with safetensors."
)
_DATA_FIX = (
    "Store plain data as JSON, CSV/parquet or numpy .npy (allow_pickle=False); for models "
    "use skops.io, ONNX or safetensors."
)
# Class-like names under model packages that are not models (data holders, errors).
_NOT_MODELS = ("Bunch", "Error", "Warning", "Display", "Dataset", "Config")
# Method calls that return the estimator itself (`Pipeline(...).fit(X, y)`).
_RETURNS_SELF = frozenset({"fit", "set_params", "set_output"})
_MAX_SHOWN = 40


class PickleModelPersistence(LintRule):
    code = "LG402"

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A call that may resolve to one of the configured dump functions."""
        return calls_resolve_to(tree, spec.option("dump_calls"))

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """The candidate dump calls: the model is judged from the call's function (its
        assignments) or from module-level assignments, which are always kept."""
        return [*calls_resolving_to(tree, spec.option("dump_calls"))]

    def visit_Call(self, node: cst.Call) -> None:
        if not node.args:
            return
        name = self.context.imports.call_name(node)
        if name is None or not matches_any(name, self.option("dump_calls")):
            return
        if name.endswith(".dumps") and value_discarded(next(self.context.ancestors(), None)):
            return  # the bytes are dropped: a picklability probe writes nothing
        argument = keyword_arg(node, "obj") or keyword_arg(node, "value") or positional_arg(node, 0)
        if argument is None:
            return
        if pickled_by_reference(argument.value, self.context):
            return  # a class object: pickle stores its import path, no model state
        shown = self._shown(argument.value)
        constructor = self._model_constructor(argument.value)
        if constructor is not None:
            what = f"the model `{shown}` (built by `{constructor}`)"
        elif self._named_like_model(argument.value):
            what = f"`{shown}` (named like a model)"
        elif self._in_flight(name, node, argument.value):
            return
        elif self.option("report_plain_data"):
            what = f"`{shown}` (plain data, not a recognised model)"
            self.report(node, call=name, what=what, fix=_DATA_FIX)
            return
        else:
            return
        self.report(node, call=name, what=what, fix=_MODEL_FIX)

    def _in_flight(self, name: str, node: cst.Call, value: cst.BaseExpression) -> bool:
        """Bytes made in memory to cross a channel, not a file: an exception pickled
        (to reach another process) and written to no file here, or any plain data whose
        bytes only go to a channel's send (`pickled_values`)."""
        if not name.endswith(".dumps"):
            return False
        function = self.context.enclosing_function()
        if exception_object(value, function, self.context):
            return not bytes_written(node, function, self.context)
        return bytes_only_sent(node, function, self.context)

    def _shown(self, expression: cst.BaseExpression) -> str:
        text = " ".join(self.context.code_of(expression).split())
        return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."

    # -- model-ness -----------------------------------------------------------------------

    def _model_constructor(self, expression: cst.BaseExpression) -> str | None:
        """The constructor that built `expression`, when it is a known model class."""
        if isinstance(expression, cst.Call):
            return self._constructor_of_call(expression)
        if not isinstance(expression, cst.Name):
            return None
        scope = self.context.enclosing_function()
        if scope is not None:
            for value in assigned_values(scope, self.context).get(expression.value, []):
                found = self._constructor_of_call(value)
                if found is not None:
                    return found
            return None
        module_value = module_assigned_once(expression.value, self.context)
        return self._constructor_of_call(module_value) if module_value is not None else None

    def _constructor_of_call(self, value: cst.BaseExpression) -> str | None:
        # Unwrap `Estimator(...).fit(X, y)`: sklearn's fit returns the estimator.
        while (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and value.func.attr.value in _RETURNS_SELF
        ):
            value = value.func.value
        if not isinstance(value, cst.Call):
            return None
        qualified = self.context.imports.call_name(value)
        if qualified is None:
            return None
        if matches_any(qualified, self.option("model_factories")):
            return qualified
        last = qualified.rsplit(".", 1)[-1]
        if (
            last[:1].isupper()
            and not last.endswith(_NOT_MODELS)
            and matches_any(qualified, self.option("model_constructors"))
        ):
            return qualified
        return None

    def _named_like_model(self, expression: cst.BaseExpression) -> bool:
        if isinstance(expression, cst.Attribute):
            identifier = expression.attr.value
        elif isinstance(expression, cst.Name):
            identifier = expression.value
        else:
            return False
        lowered = identifier.lower()
        return any(part in lowered for part in self.option("model_name_parts"))
