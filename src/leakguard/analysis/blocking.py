"""Blocking and CPU-bound calls on the event loop: the verdict LG201 reports and LG202
counts as evidence, in one place.

`BlockingCalls(context, options)` reads LG201's options (`blocking_calls`,
`blocking_methods`, `estimator_methods`, `estimator_classes`, `blocking_clients`,
`blocking_client_methods`, `max_call_depth`) and answers, for a call in the file:

- `verdict(call)`: the call itself blocks (qualified names through imports and aliases,
  pathlib I/O and fitting methods, model methods on a receiver known to hold a model by
  class or by provenance: a loader's return value, a registry of loaded models,
  `app.state`, a function of the run that returns one), a call of an MLX model value
  (`model(x)` on `mlx_lm.load`'s model or an `mlx.nn.Module` instance), as (shown, what,
  fix);
- `chain(call)`: the call reaches such a call through plain functions of the run (the
  function summaries), as a `Chain` whose steps become related locations.

`runs_once(function, context)`: the current node sits in the branch of a lazy
initialiser inside `function`: `if not app.ready:` / `if _PATH is None:` /
`if not hasattr(obj, "_x"):` whose own body sets that same state (not to None or
False), where the state's root outlives the call (a module global, a closure
variable; not a parameter, such as the request or `self` of a per-request view, and
not a local). The block's work runs once per process, as a memoised helper's does.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

import libcst as cst

from leakguard.analysis.estimators import receiver_estimator
from leakguard.analysis.files import io_offloaded
from leakguard.analysis.imports import dotted_name, matches_any
from leakguard.analysis.model_loads import MODEL_LOADERS
from leakguard.analysis.scopes import function_scope, module_bindings
from leakguard.analysis.summaries import (
    DEFAULT_MAX_CALL_DEPTH,
    Chain,
    Vocabulary,
    summary_index,
)
from leakguard.config import bundled_rule_specs
from leakguard.context import FileContext
from leakguard.slicing import units_naming, units_naming_attribute
from leakguard.triage import TriageTree
from leakguard.walker import SCOPE_NODES, descendants, walk

OFFLOAD_FIX = "offload it with `await asyncio.to_thread(...)` or `await loop.run_in_executor(...)`"
_ESTIMATOR_FIX = (
    "run the model code in a worker with `await asyncio.to_thread(...)` or "
    "`await loop.run_in_executor(pool, ...)` (a process pool for long fits)"
)

# (qualified-name prefix, what it does, how to fix it); first match wins.
_CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("time.sleep", "sleeps the whole event loop", "use `await asyncio.sleep(...)`"),
    (
        "requests.",
        "does network I/O synchronously",
        "use an async client (httpx.AsyncClient, aiohttp) or " + OFFLOAD_FIX,
    ),
    (
        "urllib.",
        "does network I/O synchronously",
        "use an async client (httpx.AsyncClient, aiohttp) or " + OFFLOAD_FIX,
    ),
    (
        "subprocess.",
        "waits for a child process",
        "use `asyncio.create_subprocess_exec(...)` or " + OFFLOAD_FIX,
    ),
    ("os.system", "waits for a child process", "use `asyncio.create_subprocess_shell(...)`"),
    ("os.popen", "waits for a child process", "use `asyncio.create_subprocess_shell(...)`"),
    (
        "socket.",
        "does socket I/O synchronously",
        "use `asyncio.open_connection(...)` or " + OFFLOAD_FIX,
    ),
    ("open", "does file I/O synchronously", OFFLOAD_FIX + " (or use aiofiles / anyio.Path)"),
    ("io.open", "does file I/O synchronously", OFFLOAD_FIX + " (or use aiofiles / anyio.Path)"),
    ("shutil.", "does file I/O synchronously", OFFLOAD_FIX),
    ("joblib.", "reads or writes a model file synchronously", OFFLOAD_FIX),
    ("pickle.", "reads or writes a file synchronously", OFFLOAD_FIX),
    ("mlx_lm.", "runs MLX model code (load or generation)", _ESTIMATOR_FIX),
    ("mlx.core.eval", "evaluates the MLX graph synchronously", _ESTIMATOR_FIX),
)
PATH_METHODS = frozenset({"read_text", "read_bytes", "write_text", "write_bytes"})
_OPENERS = frozenset({"open", "io.open"})


# Facts of the run's functions that LG201 reports through a call chain.
CHAIN_KINDS = ("blocks", "cpu_heavy")


class BlockingCalls:
    """LG201's verdict on calls of one file (see the module docstring)."""

    def __init__(self, context: FileContext, options: Mapping[str, Any]) -> None:
        self.context = context
        self.options = options

    @cached_property
    def _blocking(self) -> tuple[frozenset[str], tuple[str, ...], frozenset[str]]:
        """(exact qualified names, prefix patterns, last segments worth qualifying)."""
        names = [str(n) for n in self.options["blocking_calls"]]
        exact = frozenset(n for n in names if not n.endswith(".*"))
        prefixes = tuple(n[:-1] for n in names if n.endswith(".*"))
        return exact, prefixes, frozenset(n.rsplit(".", 1)[-1] for n in exact)

    @cached_property
    def _blocking_methods(self) -> frozenset[str]:
        return frozenset(self.options["blocking_methods"])

    @cached_property
    def _estimator_methods(self) -> frozenset[str]:
        return frozenset(self.options["estimator_methods"])

    @cached_property
    def _client_methods(self) -> frozenset[str]:
        return frozenset(self.options["blocking_client_methods"])

    @cached_property
    def _estimator_classes(self) -> tuple[str, ...]:
        return tuple(self.options["estimator_classes"])

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """How summaries classify the names the run's functions call."""
        loaders = tuple(c for c in self._estimator_classes if c.rsplit(".", 1)[-1][:1].islower())
        return Vocabulary(
            blocking=tuple(str(n) for n in self.options["blocking_calls"]),
            loaders=MODEL_LOADERS + loaders,
            blocking_methods=self._blocking_methods,
            model_methods=self._estimator_methods,
        )

    @cached_property
    def max_depth(self) -> int:
        return int(self.options.get("max_call_depth", DEFAULT_MAX_CALL_DEPTH))

    def is_candidate(self, call: cst.Call) -> bool:
        """Cheap pre-check: could `verdict` say anything about this call?"""
        func = call.func
        if isinstance(func, cst.Attribute):
            last = func.attr.value
            if (
                last in self._blocking_methods
                or last in self._estimator_methods
                or last in self._client_methods
            ):
                return True
        elif isinstance(func, cst.Name):
            last = func.value
        else:
            return False
        _, prefixes, last_names = self._blocking
        return (
            last in last_names
            or bool(prefixes and self._imported_root(func))
            or self._called_model(call) is not None
        )

    def _called_model(self, call: cst.Call) -> str | None:
        """Why the callee of `model(x)` is a model that runs when called (an MLX model,
        by the provenance the run's summaries record), or None."""
        index = summary_index(self.context)
        if index is None:
            return None
        callee = dotted_name(call.func)
        if callee is None:
            return None
        line = self.context.line_of(call.func)
        return index.called_model_at(self.context.module_name, line, callee)

    def _imported_root(self, func: cst.BaseExpression) -> bool:
        while isinstance(func, cst.Attribute):
            func = func.value
        return isinstance(func, cst.Name) and func.value in self.context.imports.aliases

    def verdict(self, call: cst.Call) -> tuple[str, str, str] | None:
        """(shown callee, what it does, how to fix) when `call` itself blocks."""
        if not self.is_candidate(call):
            return None
        func = call.func
        last = func.attr.value if isinstance(func, cst.Attribute) else func.value  # type: ignore[attr-defined]
        exact, prefixes, _ = self._blocking
        qualified = self.context.imports.qualify(func)
        if qualified is not None and (
            qualified in exact or any(qualified.startswith(p) for p in prefixes)
        ):
            if qualified in _OPENERS and self._open_is_harmless(call, qualified):
                return None
            return (qualified, *describe(qualified))
        if self._called_model(call) is not None:
            return dotted_name(func) or last, "runs MLX model code", _ESTIMATOR_FIX
        if not isinstance(func, cst.Attribute) or _is_module_reference(func.value, self.context):
            return None
        shown = dotted_name(func) or f"….{last}"
        if last in self._blocking_methods:
            kind, what = describe_method(last)
            if kind == "blocks":
                return shown, what, OFFLOAD_FIX + " (or use anyio.Path)"
            return shown, what, _ESTIMATOR_FIX
        if last in self._estimator_methods and self._holds_model(func, last):
            return shown, "runs CPU-bound model code", _ESTIMATOR_FIX
        if last in self._client_methods and isinstance(func.value, cst.Name):
            client = self._blocking_client(func.value.value)
            if client is not None:
                what, fix = describe(client)
                return shown, what, fix
        return None

    def _holds_model(self, func: cst.Attribute, method: str) -> bool:
        if receiver_estimator(func.value, self.context, self._estimator_classes):
            return True
        index = summary_index(self.context)
        if index is None:
            return False
        line = self.context.line_of(func.attr)
        found = index.model_call_at(self.context.module_name, line, method, self.vocabulary)
        return found is not None

    def chain(self, call: cst.Call, kinds: tuple[str, ...] = CHAIN_KINDS) -> Chain | None:
        """The chain by which `call` reaches blocking work in plain functions of the run."""
        index = summary_index(self.context)
        if index is None:
            return None
        target = index.callee(call, self.context)
        if target is None:
            return None
        return index.find(target, self.vocabulary, kinds, self.max_depth)

    def _open_is_harmless(self, call: cst.Call, qualified: str) -> bool:
        """`open` is the file's own name for something else, or the file's reads and
        writes all run in a worker thread (`files.io_offloaded`): opening is one
        syscall, the blocking part is the I/O."""
        function = self.context.enclosing_function()
        if qualified == "open":
            if "open" in module_bindings(self.context):
                return True
            if function is not None:
                scope = function_scope(function, self.context)
                if "open" in scope.locals or "open" in scope.params:
                    return True
        return function is not None and io_offloaded(call, function, self.context)

    def _blocking_client(self, name: str) -> str | None:
        """The constructor of `name` when it is a blocking client (socket, requests
        session...) built in the current function or, if not bound there, at module level."""
        factories = tuple(self.options["blocking_clients"])
        function = self.context.enclosing_function()
        if function is not None:
            key = ("LG201.clients", id(function))
            local = self.context.memo.get(key)
            if local is None:
                local = _client_locals(function.body, self.context, factories)
                self.context.memo[key] = local
            if name in local:
                return local[name]
            scope = function_scope(function, self.context)
            if name in scope.locals or name in scope.params:
                return None
        module = self.context.memo.get("LG201.module_clients")
        if module is None:
            module = _client_locals(self.context.module, self.context, factories)
            self.context.memo["LG201.module_clients"] = module
        return module.get(name)


def _client_locals(
    body: cst.CSTNode, context: FileContext, factories: tuple[str, ...]
) -> dict[str, str]:
    """Names bound in `body`'s own scope by a blocking client constructor (and not made
    non-blocking)."""
    found: dict[str, str] = {}
    non_blocking: set[str] = set()
    for node in descendants(body, stop_at=SCOPE_NODES):
        if isinstance(node, cst.Call) and _makes_non_blocking(node):
            non_blocking.add(node.func.value.value)  # type: ignore[attr-defined]
            continue
        target: cst.BaseExpression | None = None
        value: cst.BaseExpression | None = None
        if isinstance(node, cst.Assign) and len(node.targets) == 1:
            target, value = node.targets[0].target, node.value
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            target, value = node.asname.name, node.item
        if isinstance(target, cst.Name) and isinstance(value, cst.Call):
            qualified = context.imports.call_name(value)
            if matches_any(qualified, factories):
                found[target.value] = qualified  # type: ignore[assignment]
    return {name: kind for name, kind in found.items() if name not in non_blocking}


def _makes_non_blocking(call: cst.Call) -> bool:
    """`sock.setblocking(False)` / `sock.settimeout(0)`: its I/O raises instead of waiting."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
        return False
    if len(call.args) != 1:
        return False
    value = call.args[0].value
    if func.attr.value == "setblocking":
        return (isinstance(value, cst.Name) and value.value == "False") or (
            isinstance(value, cst.Integer) and value.value == "0"
        )
    if func.attr.value == "settimeout":
        return isinstance(value, (cst.Integer, cst.Float)) and float(value.value) == 0.0
    return False


def _is_module_reference(receiver: cst.BaseExpression, context: FileContext) -> bool:
    """`np.linalg` in `np.linalg.fit(...)`: an imported module, not an object."""
    root = receiver
    while isinstance(root, cst.Attribute):
        root = root.value
    if not isinstance(root, cst.Name):
        return False
    target = context.imports.aliases.get(root.value)
    return target is not None and not target.rsplit(".", 1)[-1][:1].isupper()


def configured_options(context: FileContext) -> Mapping[str, Any]:
    """LG201's options as this run configures them: rules that reuse its verdict (LG202)
    honour a user's additions and removals."""
    specs = context.rules if context.rules is not None else bundled_rule_specs()
    spec = specs.get("LG201") or bundled_rule_specs()["LG201"]
    return spec.options


def describe_method(name: str) -> tuple[str, str]:
    """(kind, what) of a blocking method: pathlib I/O blocks, fitting (and a user's own
    configured method) is CPU-bound model code."""
    if name in PATH_METHODS:
        return "blocks", "does file I/O synchronously"
    if name.startswith(("fit", "partial_fit")):
        return "cpu_heavy", "runs CPU-bound model fitting"
    return "cpu_heavy", "is configured as blocking"


def describe(qualified: str) -> tuple[str, str]:
    for prefix, what, fix in _CATEGORIES:
        if qualified == prefix or (prefix.endswith(".") and qualified.startswith(prefix)):
            return what, fix
    return "is configured as blocking", OFFLOAD_FIX


def runs_once(function: cst.FunctionDef, context: FileContext) -> bool:
    """The current node is in a lazy initialiser's branch (see the module docstring)."""
    ancestors = list(context.ancestors())  # innermost first
    own = function_scope(function, context)
    for position, node in enumerate(ancestors):
        if node is function or isinstance(node, (cst.FunctionDef, cst.Lambda)):
            return False
        if not isinstance(node, cst.If) or position == 0:
            continue
        inner = ancestors[position - 1]
        if inner is not node.body:
            continue  # the `else` branch runs every time after the first
        state = _falsy_state(node.test)
        if state is None:
            continue
        root = state.split(".", 1)[0]
        if root in own.params or (root in own.locals and root not in own.globals):
            continue
        if _closure_state(root, function, ancestors, context) and not function.decorators:
            # An undecorated nested function is made afresh by each call of the one
            # around it (a per-request generator's `nonlocal ready`): its flag is per call.
            # A decorated one is registered once (a route in an app factory).
            continue
        if _sets_state(node.body, state) and not _reset_elsewhere(state, node, ancestors, context):
            return True
    return False


_LOOPS = (cst.For, cst.While)


def _reset_elsewhere(
    state: str, guard: cst.If, ancestors: list[cst.CSTNode], context: FileContext
) -> bool:
    """Some statement of the file other than the guard's own initialisation may unset
    `state`: a falsy value, an augmented assignment or a deletion in the guard's branch,
    or any binding or deletion of it outside the branch (for an attribute: of an
    attribute of that name on any receiver, `setattr`/`delattr` of that name included),
    unless it is the state's first binding: module-level code, the body of the
    function that defines the guarded one, or `self.<attribute> = ...` in a class's
    `__init__`, outside loops (each runs once per module, per object the closure serves,
    per object constructed). A reset in another handler or in a loop makes the
    guarded work run again."""
    outer = ancestors[ancestors.index(guard) + 1 :]
    functions = [n for n in outer if isinstance(n, cst.FunctionDef)]
    creator = functions[1] if len(functions) > 1 else None
    for path in _state_bindings(state, context):
        node = path[-1]
        if any(n is guard.body for n in path):
            if _unsets(node):
                return True
            continue
        scopes = [n for n in path[:-1] if isinstance(n, (cst.FunctionDef, cst.Lambda))]
        in_loop = any(isinstance(n, _LOOPS) for n in path[:-1])
        first = (
            not scopes
            or (creator is not None and scopes == [creator])
            or (
                len(scopes) == 1
                and isinstance(path[max(path.index(scopes[0]) - 2, 0)], cst.ClassDef)
                and _constructor_binding(scopes[0], node, context)
                # the object is built once only while nothing rebinds its name
                # (`global cache; cache = Cache()` in another handler builds it afresh)
                and not _reset_elsewhere(state.split(".", 1)[0], guard, ancestors, context)
            )
        )
        if in_loop or not first:
            return True
    return False


def _constructor_binding(scope: cst.CSTNode, node: cst.CSTNode, context: FileContext) -> bool:
    """`node` binds an attribute of `self` in a class's `__init__`: the attribute's first
    value, once per object (`self.monitoring_enabled = False` in `App.__init__`)."""
    if not isinstance(scope, cst.FunctionDef) or scope.name.value != "__init__":
        return False
    params = function_scope(scope, context, is_method=True).params
    receiver = params[0] if params else None
    targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else []
    if isinstance(node, cst.AnnAssign):
        targets = [node.target]
    return bool(targets) and all(
        isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value == receiver
        for t in targets
    )


def _state_bindings(state: str, context: FileContext) -> list[tuple[cst.CSTNode, ...]]:
    """The paths (module first) to every statement of the file that binds or deletes
    `state` (see `_reset_elsewhere`), memoised per file."""
    key = f"blocking.state_bindings:{state}"
    cached = context.memo.get(key)
    if isinstance(cached, list):
        return cached
    dotted = "." in state
    last = state.rsplit(".", 1)[-1]
    found: list[tuple[cst.CSTNode, ...]] = []
    stack: list[cst.CSTNode] = []

    def matches(target: cst.BaseExpression) -> bool:
        if isinstance(target, (cst.Tuple, cst.List)):
            return any(matches(e.value) for e in target.elements)
        if isinstance(target, cst.StarredElement):
            return matches(target.value)
        if dotted:
            return isinstance(target, cst.Attribute) and target.attr.value == last
        if not isinstance(target, cst.Name) or target.value != state:
            return False
        function = next((n for n in reversed(stack) if isinstance(n, cst.FunctionDef)), None)
        if function is None:
            return True
        scope = function_scope(function, context)
        return state in scope.globals or state in scope.nonlocals

    def visit(node: cst.CSTNode) -> None:
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.Del)):
            targets = [node.target]
        elif isinstance(node, cst.Call) and dotted and _attribute_call(node, last):
            found.append(tuple(stack))
            return
        if any(matches(t) for t in targets):
            found.append(tuple(stack))

    walk(context.module, visit, stack=stack)
    context.memo[key] = found
    return found


def once_state_regions(tree: TriageTree, functions: Iterable[ast.AST]) -> list[ast.AST]:
    """What `runs_once` reads beyond the guarded function (a rule's regions): the units
    of the file that mention a name or attribute a guard of `functions` tests (where the
    state may be reset), and those calling `setattr`/`delattr` when a guard tests an
    attribute."""
    names: set[str] = set()
    attributes: set[str] = set()
    for function in functions:
        for node in tree.walk(function):
            if not isinstance(node, ast.If) or not _may_find_unset(node.test):
                continue
            for inner in ast.walk(node.test):
                if isinstance(inner, ast.Name):
                    names.add(inner.id)
                elif isinstance(inner, ast.Attribute):
                    attributes.add(inner.attr)
                elif isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                    attributes.add(inner.value)  # hasattr(o, "a")
    found = [u for name in sorted(names) for u in units_naming(tree, name)]
    if attributes:
        found += [u for name in sorted(attributes) for u in units_naming_attribute(tree, name)]
        found += [u for name in ("setattr", "delattr") for u in units_naming(tree, name)]
    return found


def _may_find_unset(test: ast.expr) -> bool:
    """The `ast` shapes `_falsy_state` may accept (`not ...`, `... is None`, `... == False`):
    only such a guard can make a lazy initialiser, so only its names need regions."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return True
    return (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.Is, ast.Eq))
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value in (None, False)
    )


def _attribute_call(call: cst.Call, name: str) -> bool:
    """`setattr(o, "name", v)` / `delattr(o, "name")`."""
    if not isinstance(call.func, cst.Name) or call.func.value not in ("setattr", "delattr"):
        return False
    if len(call.args) < 2 or not isinstance(call.args[1].value, cst.SimpleString):
        return False
    return call.args[1].value.evaluated_value == name


def _unsets(node: cst.CSTNode) -> bool:
    """A binding in the initialising branch that leaves the state unset (or may)."""
    if isinstance(node, (cst.Assign, cst.AnnAssign)):
        return node.value is None or _falsy(node.value)
    if isinstance(node, cst.Call):  # setattr(o, "a", v) / delattr(o, "a")
        func = node.func
        return not (
            isinstance(func, cst.Name)
            and func.value == "setattr"
            and len(node.args) > 2
            and not _falsy(node.args[2].value)
        )
    return True  # `del`, `+=`


def _falsy(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Name):
        return value.value in ("None", "False")
    if isinstance(value, (cst.Integer, cst.SimpleString)):
        return not value.evaluated_value
    return False


def _closure_state(
    root: str, function: cst.FunctionDef, ancestors: list[cst.CSTNode], context: FileContext
) -> bool:
    """`root` is bound by a function around `function` (a closure variable), not a global."""
    if root in function_scope(function, context).globals:
        return False
    outer = ancestors[ancestors.index(function) + 1 :] if function in ancestors else []
    for node in outer:
        if isinstance(node, cst.FunctionDef):
            scope = function_scope(node, context)
            if root in scope.params or root in scope.locals:
                return True
    return False


def _falsy_state(test: cst.BaseExpression) -> str | None:
    """The dotted state a test finds unset: `not x.y`, `x is None`, `x == None`,
    `x is False`, `not hasattr(o, "a")`, `getattr(o, "a", None) is None`."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _state_of(test.expression, hasattr_form=True)
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        unset = isinstance(target.comparator, cst.Name) and target.comparator.value in (
            "None",
            "False",
        )
        if unset and isinstance(target.operator, (cst.Is, cst.Equal)):
            return _state_of(test.left, hasattr_form=False)
    return None


def _state_of(node: cst.BaseExpression, hasattr_form: bool) -> str | None:
    if isinstance(node, (cst.Name, cst.Attribute)):
        return dotted_name(node)
    if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Name):
        return None
    wanted = "hasattr" if hasattr_form else "getattr"
    if node.func.value != wanted or len(node.args) < 2:
        return None
    owner = dotted_name(node.args[0].value)
    attribute = node.args[1].value
    if owner is None or not isinstance(attribute, cst.SimpleString):
        return None
    name = attribute.evaluated_value
    return f"{owner}.{name}" if isinstance(name, str) else None


def _sets_state(body: cst.CSTNode, state: str) -> bool:
    """`body` assigns `state` a value that is not None, False or another falsy literal."""
    for node in descendants(body, stop_at=SCOPE_NODES, only=(cst.Assign, cst.AnnAssign)):
        if isinstance(node, cst.Assign):
            value: cst.BaseExpression | None = node.value
            targets = [t.target for t in node.targets]
        elif isinstance(node, cst.AnnAssign):
            value, targets = node.value, [node.target]
        else:
            continue
        if value is None or not any(dotted_name(t) == state for t in targets):
            continue
        falsy = isinstance(value, cst.Name) and value.value in ("None", "False")
        empty = isinstance(value, (cst.Integer, cst.SimpleString)) and not value.evaluated_value
        if not falsy and not empty:
            return True
    return False
