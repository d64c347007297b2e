"""LG101 shared-fitted-state: a shared estimator re-fit per call leaks data across calls."""

from __future__ import annotations

from functools import cached_property

import libcst as cst

from leakguard.analysis.estimators import describe, receiver_estimator
from leakguard.analysis.imports import dotted_name
from leakguard.analysis.lifecycle import STARTUP, is_lifecycle_hook
from leakguard.analysis.scopes import Storage, locate
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.fixes import Applicability, FixPlan, Rewrite, replace
from leakguard.fixes.names import reference
from leakguard.rule import LintRule
from leakguard.triage import TriageTree
from leakguard.walker import SCOPE_NODES, descendants

_SHARED = (Storage.INSTANCE_ATTRIBUTE, Storage.CLASS_ATTRIBUTE, Storage.MODULE_GLOBAL)


class SharedFittedState(LintRule):
    code = "LG101"

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """Only a refit method call (`model.fit(...)`) can be reported."""
        return bool(tree.called & set(spec.option("refit_methods")))

    @cached_property
    def _refit_methods(self) -> frozenset[str]:
        return frozenset(self.option("refit_methods"))

    @cached_property
    def _classes(self) -> tuple[str, ...]:
        return tuple(self.option("estimator_classes"))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in self._refit_methods:
            return
        receiver = func.value
        if not isinstance(receiver, (cst.Name, cst.Attribute)):
            return
        function, owner = self._per_call_function()
        if function is None:
            return
        location = locate(receiver, self.context)
        if location.storage not in _SHARED:
            return
        binding = receiver_estimator(receiver, self.context, self._classes)
        if binding is None or _rebinds(function, receiver):
            return
        name = function.name.value
        self.report(
            node,
            receiver=binding.name,
            storage=location.storage.value,
            estimator=describe(binding),
            line=self.context.line_of(binding.definition),
            method=func.attr.value,
            function=f"{owner.name.value}.{name}" if owner is not None else name,
            fix_plan=clone_fix(node, receiver, self.context),
        )

    def _per_call_function(self) -> tuple[cst.FunctionDef | None, cst.ClassDef | None]:
        """The innermost function around the call, with its class, unless the call runs
        once at start-up or inside an estimator's own fit."""
        innermost: cst.FunctionDef | None = None
        innermost_owner: cst.ClassDef | None = None
        stack = self.context.stack
        for index in range(len(stack) - 2, -1, -1):
            node = stack[index]
            if not isinstance(node, cst.FunctionDef):
                continue
            owner = _direct_owner(stack, index)
            if self._runs_once(node, owner):
                return None, None
            if innermost is None:
                innermost, innermost_owner = node, owner
        if innermost is not None and innermost_owner is not None:
            if innermost.name.value in self.option("own_fit_methods"):
                return None, None
            if _is_estimator_class(innermost_owner, self.context):
                return None, None
        return innermost, innermost_owner

    def _runs_once(self, function: cst.FunctionDef, owner: cst.ClassDef | None) -> bool:
        name = function.name.value
        if owner is not None:
            return name in self.option("startup_methods")
        return is_lifecycle_hook(
            function, self.context, STARTUP, extra_names=self.option("startup_functions")
        )


def _direct_owner(stack: list[cst.CSTNode], index: int) -> cst.ClassDef | None:
    for node in reversed(stack[:index]):
        if isinstance(node, cst.ClassDef):
            return node
        if isinstance(node, (cst.FunctionDef, cst.Lambda)):
            return None
    return None


def _is_estimator_class(klass: cst.ClassDef, context: FileContext) -> bool:
    """A class built on sklearn's base classes fits its parts as part of its own fit."""
    return any(context.imports.is_imported_from(base.value, "sklearn") for base in klass.bases)


def _rebinds(function: cst.FunctionDef, receiver: cst.BaseExpression) -> bool:
    """The function assigns the receiver itself (`self.scaler = StandardScaler()`), so the
    estimator it fits is created per call."""
    wanted = dotted_name(receiver)
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        if isinstance(node, cst.Assign):
            if any(dotted_name(t.target) == wanted for t in node.targets):
                return True
        elif isinstance(node, cst.AnnAssign) and dotted_name(node.target) == wanted:
            return True
    return False


# -- fix ------------------------------------------------------------------------------------


def clone_fix(node: cst.Call, receiver: cst.BaseExpression, context: FileContext) -> FixPlan | None:
    """`self.scaler.fit_transform(X)` -> `clone(self.scaler).fit_transform(X)`, importing
    `sklearn.base.clone`: each call fits a fresh copy. Unsafe: code that later reads the
    shared estimator's fitted state (`self.scaler.transform`) must change too. Offered
    only where the call's result is used: `clone(est).fit(X)` as a bare statement would
    just throw the fit away."""
    parent = context.stack[-2] if len(context.stack) >= 2 else None
    if isinstance(parent, cst.Expr):
        return None

    def build() -> Rewrite | None:
        found = reference(context, "sklearn.base.clone", from_import=True)
        if found is None:
            return None
        clone, needed = found
        return replace(
            receiver, cst.Call(clone, [cst.Arg(receiver)]), *([needed] if needed else [])
        )

    return FixPlan("Fit a fresh `clone(...)` per call", Applicability.UNSAFE, build)
