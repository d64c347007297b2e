"""sklearn-style estimator facts: is this expression an estimator constructor, and is
this receiver known to hold an estimator?

An estimator constructor is a call whose callee resolves (through imports and aliases)
to a configured class name, or to a class-like name under `sklearn.` (CapWords last
segment, plus the `make_pipeline`-style factories). Unresolved names are never guessed:
a local class that happens to be called `PCA` is not an estimator.

A receiver is known to hold one when it is
- a local assigned from a constructor in the same function (or a parameter annotated
  with an estimator class),
- `self.attr` / `cls.attr` assigned one anywhere in the class (any method, or the class
  body), or annotated with an estimator class,
- `Class.attr` for a class defined at module level with such an attribute,
- a module global assigned one (or annotated with an estimator class).

Facts are built once per function / class / module and memoised in `FileContext.memo`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst

from leakguard.analysis.imports import matches_any
from leakguard.analysis.model_loads import FITTED_MODEL_LOADERS
from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, descendants

# Functions under sklearn that return an estimator although they are not classes.
SKLEARN_FACTORIES = frozenset(
    {
        "sklearn.pipeline.make_pipeline",
        "sklearn.pipeline.make_union",
        "sklearn.compose.make_column_transformer",
        "sklearn.base.clone",
    }
)
# Class-like sklearn names that are not estimators (data containers, exceptions, ...).
_SKLEARN_NON_ESTIMATORS = ("Error", "Warning", "Bunch", "Display")

DEFAULT_ESTIMATOR_CLASSES: tuple[str, ...] = (
    "sklearn.*",
    "xgboost.XGBClassifier",
    "xgboost.XGBRegressor",
    "xgboost.XGBRanker",
    "lightgbm.LGBMClassifier",
    "lightgbm.LGBMRegressor",
    "lightgbm.LGBMRanker",
    "catboost.CatBoostClassifier",
    "catboost.CatBoostRegressor",
    "umap.UMAP",
    "hdbscan.HDBSCAN",
    "imblearn.pipeline.Pipeline",
    # Model loaders: what they return is a fitted model.
    *FITTED_MODEL_LOADERS,
)


@dataclass(frozen=True)
class EstimatorBinding:
    """Where a receiver got its estimator: the binding node and a display name."""

    name: str  # e.g. `self.scaler`, `SCALER`, `model`
    definition: cst.CSTNode  # the assignment (or annotation / parameter) that binds it
    constructor: (
        str  # qualified constructor or annotation, e.g. `sklearn.preprocessing.StandardScaler`
    )


def describe(binding: EstimatorBinding) -> str:
    """`a StandardScaler`, or `a model loaded by joblib.load` for loader functions."""
    last = binding.constructor.rsplit(".", 1)[-1]
    if last[:1].isupper():
        return f"a `{last}`"
    return f"a model loaded by `{binding.constructor}`"


def _class_like(qualified: str) -> bool:
    last = qualified.rsplit(".", 1)[-1]
    return last[:1].isupper() and not last.endswith(_SKLEARN_NON_ESTIMATORS)


def estimator_class_name(
    expr: cst.BaseExpression,
    context: FileContext,
    classes: Iterable[str] = DEFAULT_ESTIMATOR_CLASSES,
) -> str | None:
    """Qualified name when `expr` (a Name/Attribute, e.g. an annotation or a callee)
    names an estimator class or factory, else None."""
    if isinstance(expr, cst.Subscript):  # Optional[StandardScaler], Annotated[...]
        for element in expr.slice:
            if isinstance(element.slice, cst.Index):
                found = estimator_class_name(element.slice.value, context, classes)
                if found is not None:
                    return found
        return None
    if isinstance(expr, cst.BinaryOperation):  # StandardScaler | None
        return estimator_class_name(expr.left, context, classes) or estimator_class_name(
            expr.right, context, classes
        )
    if not isinstance(expr, (cst.Name, cst.Attribute)):
        return None
    qualified = context.imports.qualify(expr)
    if qualified is None:
        return None
    if qualified.startswith("sklearn."):
        if qualified in SKLEARN_FACTORIES or _class_like(qualified):
            return qualified if _sklearn_allowed(classes) else None
        return None
    if matches_any(qualified, [c for c in classes if c != "sklearn.*"]):
        return qualified
    return None


def _sklearn_allowed(classes: Iterable[str]) -> bool:
    return any(c == "sklearn.*" or c.startswith("sklearn.") for c in classes)


def estimator_constructor(
    expr: cst.BaseExpression | None,
    context: FileContext,
    classes: Iterable[str] = DEFAULT_ESTIMATOR_CLASSES,
) -> str | None:
    """Qualified constructor when `expr` is a call that builds an estimator, also on one
    branch of a conditional (`StandardScaler() if HAVE_SKLEARN else None`: the other
    branch only disables the feature)."""
    if isinstance(expr, cst.IfExp):
        return estimator_constructor(expr.body, context, classes) or estimator_constructor(
            expr.orelse, context, classes
        )
    if not isinstance(expr, cst.Call):
        return None
    return estimator_class_name(expr.func, context, classes)


# -- per-scope binding tables -----------------------------------------------------------


def _assignments(
    body: cst.CSTNode,
) -> Iterable[
    tuple[cst.BaseExpression, cst.CSTNode, cst.BaseExpression | None, cst.BaseExpression | None]
]:
    """(target, statement node, value, annotation) for assignments in `body`'s own scope."""
    for node in descendants(body, stop_at=SCOPE_NODES):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                yield target.target, node, node.value, None
        elif isinstance(node, cst.AnnAssign):
            yield node.target, node, node.value, node.annotation.annotation
        elif isinstance(node, cst.NamedExpr):
            yield node.target, node, node.value, None


def _binding_from(
    display: str,
    node: cst.CSTNode,
    value: cst.BaseExpression | None,
    annotation: cst.BaseExpression | None,
    context: FileContext,
    classes: tuple[str, ...],
) -> EstimatorBinding | None:
    constructor = estimator_constructor(value, context, classes)
    if constructor is None and annotation is not None:
        constructor = estimator_class_name(annotation, context, classes)
    return EstimatorBinding(display, node, constructor) if constructor is not None else None


def local_estimators(
    function: cst.FunctionDef, context: FileContext, classes: tuple[str, ...]
) -> dict[str, EstimatorBinding]:
    """Locals (and annotated parameters) of `function` bound to an estimator."""
    key = ("estimators.local", id(function), classes)
    cached = context.memo.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    found: dict[str, EstimatorBinding] = {}
    params = function.params
    for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
        if param.annotation is not None:
            qualified = estimator_class_name(param.annotation.annotation, context, classes)
            if qualified is not None:
                found[param.name.value] = EstimatorBinding(param.name.value, param, qualified)
    for target, node, value, annotation in _assignments(function.body):
        if isinstance(target, cst.Name):
            binding = _binding_from(target.value, node, value, annotation, context, classes)
            if binding is not None:
                found.setdefault(target.value, binding)
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        if isinstance(node, cst.WithItem) and node.asname is not None:
            target = node.asname.name
            if isinstance(target, cst.Name):
                constructor = estimator_constructor(node.item, context, classes)
                if constructor is not None:
                    found.setdefault(
                        target.value, EstimatorBinding(target.value, node, constructor)
                    )
    context.memo[key] = found
    return found


def class_estimators(
    klass: cst.ClassDef, context: FileContext, classes: tuple[str, ...]
) -> dict[str, EstimatorBinding]:
    """Attribute name -> binding, for `self.x = Estimator()` in any method of `klass`
    and `x = Estimator()` in its body."""
    key = ("estimators.class", id(klass), classes)
    cached = context.memo.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    found = _name_bindings(klass.body, context, classes)
    for statement in klass.body.body:
        if not isinstance(statement, cst.FunctionDef):
            continue
        receiver = _first_param(statement)
        if receiver is None:
            continue
        for target, node, value, annotation in _assignments(statement.body):
            if (
                isinstance(target, cst.Attribute)
                and isinstance(target.value, cst.Name)
                and target.value.value == receiver
            ):
                attr = target.attr.value
                binding = _binding_from(
                    f"{receiver}.{attr}", node, value, annotation, context, classes
                )
                if binding is not None:
                    found.setdefault(attr, binding)
    context.memo[key] = found
    return found


def module_estimators(
    context: FileContext, classes: tuple[str, ...]
) -> dict[str, EstimatorBinding]:
    """Module globals bound to an estimator at module level (including under if/try)."""
    key = ("estimators.module", classes)
    cached = context.memo.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    found = _name_bindings(context.module, context, classes)
    context.memo[key] = found
    return found


def _name_bindings(
    body: cst.CSTNode, context: FileContext, classes: tuple[str, ...]
) -> dict[str, EstimatorBinding]:
    """Plain names bound to an estimator by the assignments of `body` (first wins)."""
    found: dict[str, EstimatorBinding] = {}
    for target, node, value, annotation in _assignments(body):
        if isinstance(target, cst.Name):
            binding = _binding_from(target.value, node, value, annotation, context, classes)
            if binding is not None:
                found.setdefault(target.value, binding)
    return found


def module_classes(context: FileContext) -> dict[str, cst.ClassDef]:
    """Top-level classes of the file, by name."""
    cached = context.memo.get("estimators.module_classes")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    found = {s.name.value: s for s in context.module.body if isinstance(s, cst.ClassDef)}
    context.memo["estimators.module_classes"] = found
    return found


def _first_param(function: cst.FunctionDef) -> str | None:
    params = [*function.params.posonly_params, *function.params.params]
    return params[0].name.value if params else None


# -- receivers --------------------------------------------------------------------------


def enclosing_function_and_class(
    context: FileContext,
) -> tuple[cst.FunctionDef | None, cst.ClassDef | None]:
    """Innermost function around the current node, and the class defining it directly
    (None for plain functions). A lambda between them hides the function."""
    ancestors = context.stack[:-1]
    for index in range(len(ancestors) - 1, -1, -1):
        node = ancestors[index]
        if isinstance(node, cst.Lambda):
            continue
        if isinstance(node, cst.ClassDef):
            return None, None
        if isinstance(node, cst.FunctionDef):
            owner = None
            for outer in reversed(ancestors[:index]):
                if isinstance(outer, cst.ClassDef):
                    owner = outer
                    break
                if isinstance(outer, (cst.FunctionDef, cst.Lambda)):
                    break
            return node, owner
    return None, None


def receiver_estimator(
    receiver: cst.BaseExpression,
    context: FileContext,
    classes: tuple[str, ...] = DEFAULT_ESTIMATOR_CLASSES,
) -> EstimatorBinding | None:
    """How `receiver` (seen from the current node) is known to hold an estimator."""
    function, owner = enclosing_function_and_class(context)
    if isinstance(receiver, cst.Name):
        name = receiver.value
        if function is not None:
            local = local_estimators(function, context, classes).get(name)
            if local is not None:
                return local
            if _binds_locally(function, name, context):
                return None  # a local of another kind shadows the global
        return module_estimators(context, classes).get(name)
    if isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name):
        root, attr = receiver.value.value, receiver.attr.value
        if function is not None and owner is not None and root == _first_param(function):
            return _renamed(class_estimators(owner, context, classes).get(attr), root, attr)
        klass = module_classes(context).get(root)
        if klass is not None:
            return _renamed(class_estimators(klass, context, classes).get(attr), root, attr)
    return None


def _renamed(binding: EstimatorBinding | None, root: str, attr: str) -> EstimatorBinding | None:
    if binding is None:
        return None
    return EstimatorBinding(f"{root}.{attr}", binding.definition, binding.constructor)


def _binds_locally(function: cst.FunctionDef, name: str, context: FileContext) -> bool:
    from leakguard.analysis.scopes import function_scope

    scope = function_scope(function, context)
    return name in scope.locals or name in scope.params
