"""Model loads: calls that read a model from disk or a hub (`joblib.load(path)`,
`torch.load`, `AutoModel.from_pretrained(...)`, `SentenceTransformer(...)`,
`spacy.load`, `mlx_lm.load`, `xgboost.Booster(model_file=...)`), and the lazy
load-once idioms that make such a call run once per process, not once per call.

The vocabulary comes from the rule's YAML (so users extend it); this module only
knows how to match it:

- `calls`: qualified names (imports and aliases resolved; `x.*` matches a prefix);
- `methods`: method names that load whatever the receiver (`from_pretrained`);
- `keyword_calls`: qualified name -> keyword that makes the call a load
  (`xgboost.Booster(model_file=path)` loads, `xgboost.Booster()` does not);
- `generic_calls`: general-purpose loaders (`pickle.load`) that count only in a file
  that imports one of `ml_packages`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import libcst as cst

from leakguard.analysis.caches import cache_decorator
from leakguard.analysis.calls import keyword_arg
from leakguard.analysis.imports import dotted_name, matches_any
from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, descendants

_PERSISTENT_ROOTS = frozenset({"self", "cls", "app", "application", "state"})

# The one built-in list of model loaders (rules' YAML lists are the users' knobs; this is
# what code without a rule option uses: the function summaries' provenance of models,
# LG201's model receivers, the estimator defaults). Loaders whose value is a fitted
# estimator-like model (`predict`/`transform` apply to it) come first.
FITTED_MODEL_LOADERS: tuple[str, ...] = (
    "joblib.load",
    "pickle.load",
    "pickle.loads",
    "cloudpickle.load",
    "cloudpickle.loads",
    "dill.load",
    "skops.io.load",
    "mlflow.sklearn.load_model",
    "mlflow.pyfunc.load_model",
)
MODEL_LOADERS: tuple[str, ...] = (
    *FITTED_MODEL_LOADERS,
    "torch.load",
    "torch.jit.load",
    "onnxruntime.InferenceSession",
    "keras.models.load_model",
    "tensorflow.keras.models.load_model",
    "sentence_transformers.SentenceTransformer",
    "xgboost.Booster",
    "lightgbm.Booster",
    "mlx_lm.load",
)
# Method names that load whatever the receiver or module (`AutoModel.from_pretrained`).
_LOADER_LAST_NAMES = ("from_pretrained", "load_model")


def is_model_loader(name: str, loaders: Iterable[str] = MODEL_LOADERS) -> bool:
    """`joblib.load`, configured loaders, and any `*.from_pretrained` / `*.load_model`."""
    return name.rsplit(".", 1)[-1] in _LOADER_LAST_NAMES or matches_any(name, loaders)


@dataclass(frozen=True)
class LoaderVocabulary:
    calls: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    keyword_calls: Mapping[str, str] = field(default_factory=dict)
    generic_calls: tuple[str, ...] = ()
    ml_packages: tuple[str, ...] = ()

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> LoaderVocabulary:
        def strings(name: str) -> tuple[str, ...]:
            value = options.get(name) or ()
            return tuple(str(v) for v in value)  # type: ignore[attr-defined]

        keyword_calls = options.get("keyword_loaders") or {}
        return cls(
            calls=strings("loaders"),
            methods=strings("loader_methods"),
            keyword_calls={str(k): str(v) for k, v in keyword_calls.items()},  # type: ignore[attr-defined]
            generic_calls=strings("generic_loaders"),
            ml_packages=strings("ml_packages"),
        )

    def last_names(self) -> frozenset[str]:
        """Last name segments worth resolving: a call ending otherwise is no load."""
        names = {n.rsplit(".", 1)[-1] for n in (*self.calls, *self.generic_calls)}
        names.update(n.rsplit(".", 1)[-1] for n in self.keyword_calls)
        names.update(self.methods)
        return frozenset(names)


def _imports_ml_package(context: FileContext, packages: Sequence[str]) -> bool:
    return any(t.split(".", 1)[0] in packages for t in context.imports.aliases.values())


def loader_name(
    expr: cst.BaseExpression, context: FileContext, vocabulary: LoaderVocabulary
) -> str | None:
    """The qualified loader `expr` names (the callee of a call, or a callable handed to
    a thread offload), when it always loads a model; keyword loaders need the call."""
    qualified = context.imports.qualify(expr)
    if qualified is not None:
        if matches_any(qualified, vocabulary.calls):
            return qualified
        if matches_any(qualified, vocabulary.generic_calls) and _imports_ml_package(
            context, vocabulary.ml_packages
        ):
            return qualified
    if isinstance(expr, cst.Attribute) and expr.attr.value in vocabulary.methods:
        return dotted_name(expr) or f"….{expr.attr.value}"
    return None


def model_load(
    call: cst.Call, context: FileContext, vocabulary: LoaderVocabulary, last_names: frozenset[str]
) -> str | None:
    """The loader's display name when `call` loads a model, else None."""
    func = call.func
    if isinstance(func, cst.Attribute):
        last = func.attr.value
    elif isinstance(func, cst.Name):
        last = context.imports.aliases.get(func.value, func.value).rsplit(".", 1)[-1]
    else:
        return None
    if last not in last_names:
        return None
    found = loader_name(func, context, vocabulary)
    if found is not None:
        return found
    qualified = context.imports.qualify(func)
    if qualified is not None:
        keyword = vocabulary.keyword_calls.get(qualified)
        if keyword is not None and keyword_arg(call, keyword) is not None:
            return qualified
    return None


def is_memoised(function: cst.FunctionDef, context: FileContext, decorators: Sequence[str]) -> bool:
    """Decorated with a memoising decorator (`functools.cache`, `lru_cache`,
    `cached_property`, `cachetools.cached`, ...): its body runs once per key."""
    return any(cache_decorator(d, context, decorators) for d in function.decorators)


def persistent_key(target: cst.BaseExpression, globals_: frozenset[str]) -> str | None:
    """Text of a store target that outlives the call (`self._model`, `app.state.model`,
    `request.app.state.model`, `MODELS[name]` -> `MODELS`, a name declared `global`),
    else None."""
    if isinstance(target, cst.Subscript):
        target = target.value
    name = dotted_name(target)
    if name is None:
        return None
    parts = name.split(".")
    if isinstance(target, cst.Attribute) and (
        parts[0] in _PERSISTENT_ROOTS or parts[0][:1].isupper() or "state" in parts[1:]
    ):
        return name
    if isinstance(target, cst.Name) and (name in globals_ or name.isupper()):
        return name
    return None


def returns_value_of(function: cst.FunctionDef, statement: cst.CSTNode, call: cst.Call) -> bool:
    """`call` (in `statement` of `function`) is what the function returns: `return
    call(...)`, or `name = call(...)` with a `return name` in the function (a helper that
    loads and hands the model to its caller)."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    names: set[str] = set()
    for small in statement.body:
        if isinstance(small, cst.Return) and small.value is call:
            return True
        if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is call:
            names.update(t.value for t in assignment_targets(small) if isinstance(t, cst.Name))
    return bool(names) and any(
        isinstance(node, cst.Return)
        and isinstance(node.value, cst.Name)
        and node.value.value in names
        for node in descendants(function.body, stop_at=SCOPE_NODES)
    )


def assignment_targets(small: cst.BaseSmallStatement) -> list[cst.BaseAssignTargetExpression]:
    """What `a = b = value` or `a: T = value` assigns to; nothing for other statements."""
    if isinstance(small, cst.Assign):
        return [t.target for t in small.targets]
    if isinstance(small, cst.AnnAssign):
        return [small.target]
    return []


def stores_persistently(small: cst.BaseSmallStatement, globals_: frozenset[str]) -> bool:
    """An assignment whose every target outlives the call (`persistent_key`)."""
    targets = assignment_targets(small)
    return bool(targets) and all(persistent_key(t, globals_) is not None for t in targets)


def declared_globals(function: cst.FunctionDef) -> frozenset[str]:
    names: set[str] = set()
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        if isinstance(node, (cst.Global, cst.Nonlocal)):
            names.update(n.name.value for n in node.names)
    return frozenset(names)


def persistent_stores(function: cst.FunctionDef) -> set[str]:
    """Keys (see `persistent_key`) the function assigns to."""
    globals_ = declared_globals(function)
    stored: set[str] = set()
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            targets = [node.target]
        elif (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("setdefault", "update", "__setitem__")
        ):
            # `MODELS.setdefault(...)`/`update(...)` store into the receiver.
            targets = [node.func.value]
        for target in targets:
            key = persistent_key(target, globals_)
            if key is not None:
                stored.add(key)
    return stored


def is_lazy_initialiser(function: cst.FunctionDef, context: FileContext) -> bool:
    """The function stores into state that outlives it and tests that same state
    (`if self._model is None: self._model = load()`, `if name not in MODELS: ...`,
    `return _model or _load()`): what it loads is kept and loaded once (per key)."""
    key = ("model_loads.lazy", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, bool):
        return cached
    stored = persistent_stores(function)
    result = False
    if stored:
        # `cached = getattr(request.app.state, "model", None)` reads the slot itself:
        # testing `cached` tests the stored state.
        stored |= {local for local, slot in _getattr_locals(function).items() if slot in stored}
        for node in descendants(function.body, stop_at=SCOPE_NODES):
            test: cst.BaseExpression | None = None
            if isinstance(node, (cst.If, cst.While, cst.IfExp)):
                test = node.test
            elif isinstance(node, cst.BooleanOperation):
                test = node.left
            elif isinstance(node, cst.Assert):
                test = node.test
            if test is not None and _mentions_any(test, stored):
                result = True
                break
    context.memo[key] = result
    return result


def _getattr_locals(function: cst.FunctionDef) -> dict[str, str]:
    """Locals bound to `getattr(obj, "name"[, default])`, to the dotted `obj.name` read."""
    found: dict[str, str] = {}
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        if not (
            isinstance(node, cst.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0].target, cst.Name)
            and isinstance(node.value, cst.Call)
            and isinstance(node.value.func, cst.Name)
            and node.value.func.value == "getattr"
            and len(node.value.args) in (2, 3)
        ):
            continue
        owner = dotted_name(node.value.args[0].value)
        attribute = node.value.args[1].value
        if owner is not None and isinstance(attribute, cst.SimpleString):
            name = attribute.evaluated_value
            if isinstance(name, str):
                found[node.targets[0].target.value] = f"{owner}.{name}"
    return found


def _mentions_any(test: cst.BaseExpression, keys: set[str]) -> bool:
    for node in (test, *descendants(test)):
        if isinstance(node, (cst.Name, cst.Attribute)) and dotted_name(node) in keys:
            return True
    return False
