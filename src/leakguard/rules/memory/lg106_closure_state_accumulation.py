"""LG106 closure-state-accumulation: captured mutable state that grows per call, and
generators that yield their growing collection."""

from __future__ import annotations

import ast

import libcst as cst

from leakguard.analysis.cleanup import (
    binding_value,
    container_key,
    find_release,
    is_bounded_container,
)
from leakguard.analysis.loops import (
    GROW_METHODS,
    Growth,
    GrowthRule,
    binding_accepts,
    container_names,
    growth_container,
    growth_of_assign,
    growth_of_augassign,
    growth_of_call,
    inside_test,
    is_container_binding,
    is_dict_binding,
    persistence_of,
    release_of,
)
from leakguard.analysis.scopes import Storage, own_bindings
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.triage import (
    SCOPES,
    TriageTree,
    nested_functions,
    per_tree,
    root_name,
    spans_any,
)
from leakguard.walker import SCOPE_NODES, descendants

_LOOPS = (cst.For, cst.While)
_SNAPSHOT_CALLS = frozenset({"list", "tuple", "set", "frozenset", "dict", "sorted"})


class ClosureStateAccumulation(GrowthRule):
    code = "LG106"

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A candidate (`_candidates`)."""
        return bool(_candidates(tree))

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """The candidates (`_candidates`): the capture's binder and what releases it lie
        in the functions around the nested one, the generator around the loop."""
        return _candidates(tree)

    def __init__(self, context: FileContext, spec: RuleSpec) -> None:
        super().__init__(context, spec)
        self._depth = 0
        self._reported: set[tuple[str, int]] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._depth -= 1

    # -- captured state grown by a nested function ---------------------------------------
    def watching(self) -> bool:
        return self._depth >= 2

    def growth_of_assignment(self, node: cst.Assign) -> Growth | None:
        return growth_of_assign(node) or _rebinding_growth(node)

    def on_growth(self, growth: Growth) -> None:
        inner = self.context.enclosing_function()
        if inner is None:
            return
        dedupe = (growth.key, id(inner))
        if dedupe in self._reported:
            return
        persistence = persistence_of(growth, self.context)
        if persistence is None or persistence.storage is not Storage.CLOSURE:
            return
        binder = persistence.location.definition
        if not isinstance(binder, cst.FunctionDef):
            return
        binding = persistence.binding
        if not is_container_binding(binding, self.context) or is_bounded_container(
            binding, self.context
        ):
            return  # immutable, unknown or bounded capture
        if not binding_accepts(growth, persistence, self.context):
            return
        if growth.method in ("[]=", "add") and _reads_by_key(inner, growth.key):
            # A memo (keyed look-ups: LG108's territory) or a seen-set consulted before
            # each add (`while port in produced: ...`): deduplication state, not a leak.
            return
        if _registers_argument(inner, growth):
            return  # `REGISTRY[key] = func; return func`: a registration decorator
        if find_release(inner, growth.key, self.context, into_functions=True) is not None:
            return  # reset per call (`finally: state.clear()`) or evicted
        if release_of(persistence, self.context) is not None:
            return  # released by the owner (`finally: state.clear()` in the binder)
        self._reported.add(dedupe)
        kind = _kind_of(inner, self.context)
        defined = self.context.line_of(binding) if binding is not None else None
        message = (
            f"`{growth.key}` captured by {kind} `{inner.name.value}()` grows via "
            f"`{growth.spelled}` per call, never reset"
        )
        help = (
            f"It is a mutable {_container_word(binding)} created in `{binder.name.value}()`"
            + (f" on line {defined}" if defined is not None else "")
            + f" and kept for as long as `{inner.name.value}` exists (for a decorator, the life "
            "of the decorated function). Reset it per call (`try/finally: "
            f"{growth.key}.clear()`), bound it (`collections.deque(maxlen=...)`) or keep "
            "only what you need (a counter, the last item)."
        )
        self.report(growth.node, message=message, help=help)

    # -- generators yielding the growing collection ----------------------------------------
    def visit_Yield(self, node: cst.Yield) -> None:
        value = node.value
        if value is None or isinstance(value, cst.From):
            return
        key = self._yielded_collection(value)
        if key is None:
            return
        function = self.context.enclosing_function()
        loop = self._outermost_loop()
        if function is None or loop is None or self._returns_after_yield():
            return
        growth = _growth_in(loop.body, key)
        if growth is None or not self._binding_fits(growth, function):
            return
        if is_bounded_container(binding_value(key, function, self.context), self.context):
            return  # `deque(maxlen=n)`: a sliding window, it never grows past n
        if find_release(loop.body, key, self.context, into_functions=False) is not None:
            return  # `yield batch; batch = []`: a new collection per yield
        loop_line = self.context.line_of(loop)
        message = (
            f"Generator `{function.name.value}()` yields `{self.context.code_of(value)}` while it "
            f"keeps growing via `{growth.spelled}`"
        )
        help = (
            f"`{key}` grows on each iteration of the loop on line {loop_line} (line "
            f"{self.context.line_of(growth.node)}) and is never reset, so a consumer that keeps "
            "what it receives holds the whole, ever-growing collection each time. Yield the new "
            f"item instead, or yield a batch and start a new one (`yield {key}; {key} = []`)."
        )
        self.report(node, message=message, help=help)

    def _binding_fits(self, growth: Growth, function: cst.FunctionDef) -> bool:
        """`acc[k] = v` grows a dict, not a list; `acc.add(x)` needs a known container."""
        if not (growth.needs_known_binding or growth.needs_dict_binding):
            return True
        binding = binding_value(growth.key, function, self.context)
        if growth.needs_dict_binding:
            return is_dict_binding(binding, self.context)
        return is_container_binding(binding, self.context)

    def _yielded_collection(self, value: cst.BaseExpression) -> str | None:
        key = container_key(value)
        if key is not None:
            return key
        if not self.option("include_snapshots"):
            return None
        if isinstance(value, cst.Call):
            func = value.func
            if isinstance(func, cst.Name) and func.value in _SNAPSHOT_CALLS and value.args:
                return container_key(value.args[0].value) if len(value.args) == 1 else None
            if isinstance(func, cst.Attribute) and func.attr.value == "copy" and not value.args:
                return container_key(func.value)
        if isinstance(value, cst.Subscript) and len(value.slice) == 1:
            part = value.slice[0].slice
            if isinstance(part, cst.Slice) and part.lower is None and part.upper is None:
                return container_key(value.value)
        return None

    def _outermost_loop(self) -> cst.For | cst.While | None:
        """The outermost loop around the yield in its function: a collection re-created
        by an outer loop (`while True: batch = []; for ...: batch.append(x)`) is reset."""
        found: cst.For | cst.While | None = None
        for ancestor in self.context.ancestors():
            if isinstance(ancestor, _LOOPS):
                found = ancestor
            if isinstance(ancestor, SCOPE_NODES):
                break
        return found

    def _returns_after_yield(self) -> bool:
        """`yield tuple(batch); return`: the collection is yielded once, not per step."""
        stack = self.context.stack
        for index in range(len(stack) - 1, 0, -1):
            if isinstance(stack[index], cst.SimpleStatementLine):
                block = stack[index - 1]
                body = getattr(block, "body", None)
                if not isinstance(body, (list, tuple)):
                    return False
                position = next((i for i, s in enumerate(body) if s is stack[index]), -1)
                following = body[position + 1] if 0 <= position < len(body) - 1 else None
                return isinstance(following, cst.SimpleStatementLine) and any(
                    isinstance(small, (cst.Return, cst.Raise)) for small in following.body
                )
        return False


def _reads_by_key(function: cst.FunctionDef, key: str) -> bool:
    """Does `function` look `key` up by key (`key[k]` read, `key.get(k)`, `k in key`)?"""
    written: set[int] = set()
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        if isinstance(node, cst.Assign):
            written.update(id(t.target) for t in node.targets)
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
            written.add(id(node.target))
        elif isinstance(node, cst.Subscript) and id(node) not in written:
            if container_key(node.value) == key:
                return True
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value == "get" and container_key(node.func.value) == key:
                return True
        elif isinstance(node, cst.Comparison) and any(
            isinstance(c.operator, (cst.In, cst.NotIn)) and container_key(c.comparator) == key
            for c in node.comparisons
        ):
            return True
    return False


def _registers_argument(function: cst.FunctionDef, growth: Growth) -> bool:
    """The value stored is a parameter that the function returns unchanged."""
    value = growth.value
    if not isinstance(value, cst.Name):
        return False
    params = function.params
    names = {p.name.value for p in (*params.posonly_params, *params.params)}
    if value.value not in names:
        return False
    return any(
        isinstance(node, cst.Return)
        and isinstance(node.value, cst.Name)
        and node.value.value == value.value
        for node in descendants(function.body, stop_at=SCOPE_NODES)
    )


def _growth_in(body: cst.BaseSuite, key: str) -> Growth | None:
    for node in descendants(body, stop_at=SCOPE_NODES):
        growth: Growth | None = None
        if isinstance(node, cst.Call):
            growth = growth_of_call(node)
        elif isinstance(node, cst.Assign):
            growth = growth_of_assign(node) or _rebinding_growth(node)
        elif isinstance(node, cst.AugAssign):
            growth = growth_of_augassign(node)
        if growth is not None and growth.key == key:
            return growth
    return None


def _rebinding_growth(node: cst.Assign) -> Growth | None:
    """`state = state + [item]` / `state = (*state, item)`: grows by rebinding."""
    if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
        return None
    name = node.targets[0].target.value
    value = node.value
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
        sides = (value.left, value.right)
        if any(isinstance(s, cst.Name) and s.value == name for s in sides) and any(
            isinstance(s, (cst.List, cst.Tuple, cst.ListComp)) for s in sides
        ):
            return Growth(node, node.targets[0].target, name, "+", value)
    return None


def _kind_of(inner: cst.FunctionDef, context: FileContext) -> str:
    for child in descendants(inner.body, stop_at=SCOPE_NODES):
        if isinstance(child, cst.Yield):
            return "the generator"
    for decorator in inner.decorators:
        target = decorator.decorator
        callee = target.func if isinstance(target, cst.Call) else target
        name = context.imports.qualify(callee) or container_key(callee) or ""
        if name.endswith("wraps"):
            return "the decorator's wrapper"
    return "the closure"


def _container_word(binding: cst.BaseExpression | None) -> str:
    if isinstance(binding, (cst.List, cst.ListComp)):
        return "list"
    if isinstance(binding, (cst.Dict, cst.DictComp)):
        return "dict"
    if isinstance(binding, (cst.Set, cst.SetComp)):
        return "set"
    if isinstance(binding, cst.Call):
        return container_key(binding.func) or "container"
    return "container"


@per_tree
def _candidates(tree: TriageTree) -> list[ast.AST]:
    """Triage: the nested functions growing a container that they do not bind
    themselves and that an enclosing function creates, and the loops holding a `yield`
    of a collection the loop grows (by root name)."""
    found: list[ast.AST] = []
    # Only a loop that spans a `yield` can yield in its own scope.
    yields = sorted((n.lineno, n.col_offset) for n in tree.of(ast.Yield))
    for loop in tree.loops if yields else ():
        if not spans_any(loop, yields):
            continue
        inside = tree.within(loop, SCOPES)
        yielded = {
            _yielded_root(n.value)
            for n in inside
            if isinstance(n, ast.Yield) and n.value is not None
        }
        if yielded - {None} and any(
            root_name(container) in yielded
            for n in inside
            if (container := growth_container(tree, n, GROW_METHODS, rebinding=True)) is not None
        ):
            found.append(loop)
    nested = nested_functions(tree)
    captured: dict[int, set[str]] = {}
    chosen: set[int] = set()
    for outer in tree.functions:
        if id(outer) not in nested or inside_test(tree, outer):
            continue  # no nested function, or a test's state: it ends with the test
        # The outer function's bindings are read only when an inner one grows something.
        containers: set[str] | None = None
        pending = list(nested[id(outer)])  # every function below `outer`, at any depth
        while pending:
            inner = pending.pop()
            pending.extend(nested.get(id(inner), ()))
            if id(inner) not in captured:
                captured[id(inner)] = _captured_growth_roots(tree, inner)
            if not captured[id(inner)] or id(inner) in chosen:
                continue
            if containers is None:
                containers = container_names(tree, outer)
            if captured[id(inner)] & containers:
                chosen.add(id(inner))
                found.append(inner)
    return found


def _yielded_root(value: ast.expr) -> str | None:
    """The root name of what a `yield` hands out: `x`, `self.x`, a snapshot of one
    (`list(x)`, `x.copy()`, `x[:]`); a superset of `_yielded_collection`."""
    if isinstance(value, ast.Call):
        if isinstance(value.func, ast.Attribute) and value.func.attr == "copy":
            value = value.func.value
        elif len(value.args) == 1:
            value = value.args[0]
    return root_name(value)


def _captured_growth_roots(
    tree: TriageTree, inner: ast.FunctionDef | ast.AsyncFunctionDef
) -> set[str]:
    """Roots of the containers `inner` grows that it does not bind itself (a name it
    binds is its own local, not a capture)."""
    # The analysis grows `inner`'s captures from its lambdas and class bodies too
    # (`FileContext.enclosing_function`).
    own = tree.within(inner, (ast.FunctionDef, ast.AsyncFunctionDef))
    grown = {
        root_name(container)
        for node in own
        if (container := growth_container(tree, node, GROW_METHODS, rebinding=True)) is not None
    }
    return {r for r in grown if r is not None} - own_bindings(tree, inner)
