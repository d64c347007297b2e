"""LG109 cyclic-retention: reference cycles built per iteration and kept."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst

from leakguard.analysis.cleanup import container_key, find_release, is_weak_container
from leakguard.analysis.loops import (
    GROW_METHODS,
    Growth,
    LoopTrackingRule,
    Persistence,
    growth_of_assign,
    growth_of_call,
    is_unbounded,
    persistence_of,
    release_of,
)
from leakguard.config import RuleSpec
from leakguard.triage import SCOPES, TriageTree, dotted, root_name
from leakguard.walker import SCOPE_NODES, descendants

_FIX = (
    "Hold the back-reference weakly (`weakref.ref(obj)`, `weakref.proxy(obj)`, a "
    "`weakref.WeakValueDictionary`), break the cycle when done (`obj.parent = None`), or "
    "run `gc.collect()` after releasing the container."
)
_NO_GC_KEY = "\0"


@dataclass(frozen=True)
class _Edge:
    source: str  # a loop-created name or a persistent container key
    target: str
    node: cst.CSTNode  # the statement or call creating the reference
    order: int  # source order inside the loop
    text: str  # `b.ref = a`
    attribute: str | None = None  # `b.ref` for attribute edges (to see it broken later)
    into_sink: bool = False  # container -> object it holds


_Growth = tuple[Growth, int, tuple[str, ...]]  # growth, source order, names it adds


@dataclass(frozen=True)
class _Sink:
    growth: Growth
    persistence: Persistence
    value_names: tuple[str, ...]
    order: int


class CyclicRetention(LoopTrackingRule):
    code = "LG109"

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A loop whose body could close a cycle: `_may_cycle` over a superset of the
        references `_scan` records (any constructor keeps its arguments)."""
        if any(_may_cycle_in(tree, loop, set()) for loop in tree.loops):
            return True
        # `_created_before`: objects the enclosing function made (anywhere, here). More
        # names made before only admit more cycles, and only names the loop links count:
        # a loop that closes no cycle even if all of them were made needs no function scan.
        if not any(_may_cycle_in(tree, loop, _linked_names(tree, loop)) for loop in tree.loops):
            return False
        loops = (ast.For, ast.AsyncFor, ast.While)
        for function in tree.functions:
            own = tree.within(function, SCOPES)
            made = {
                target.id
                for node in own
                if isinstance(node, ast.Assign) and _is_new_object_ast(node.value)
                for target in node.targets
                if isinstance(target, ast.Name)
            }
            if made and any(_may_cycle_in(tree, n, made) for n in own if isinstance(n, loops)):
                return True
        return False

    def visit_For(self, node: cst.For) -> None:
        super().visit_For(node)
        if len(self._frames[-1]) == 1:
            self._analyse(node)

    def visit_While(self, node: cst.While) -> None:
        super().visit_While(node)
        if len(self._frames[-1]) == 1:
            self._analyse(node)

    def _analyse(self, loop: cst.For | cst.While) -> None:
        count = self._frames[-1][0].count
        minimum = self.option("min_iterations")
        if minimum and count is not None and count < minimum:
            return
        created, edges, growths = self._scan(loop)
        # An object made once before the loop (a tree's root) that each iteration's
        # objects point back at closes a cycle with every one of them.
        created |= self._created_before(loop)
        if not growths or not self._may_cycle(created, edges, growths):
            return  # the common case: no reference can close a cycle, nothing to resolve
        sinks: list[_Sink] = []
        for growth, order, names in growths:
            self._resolve_growth(growth, order, names, edges, sinks)
        if not sinks:
            return
        graph: dict[str, list[_Edge]] = {}
        for edge in edges:
            graph.setdefault(edge.source, []).append(edge)
        sink_keys = {s.growth.key for s in sinks}
        # Sink edges: container -> each object added to it.
        for sink in sinks:
            for name in sink.value_names:
                graph.setdefault(sink.growth.key, []).append(
                    _Edge(
                        sink.growth.key,
                        name,
                        sink.growth.node,
                        sink.order,
                        sink.growth.spelled,
                        into_sink=True,
                    )
                )
        allowed = created | sink_keys
        reported: set[int] = set()
        for sink in sinks:
            for start in sink.value_names:
                cycle = _find_cycle(graph, start, allowed)
                if cycle is None:
                    continue
                closing = _closing_edge(cycle)
                if closing is None or id(closing.node) in reported:
                    continue
                if self._broken_or_collected(loop, cycle):
                    continue
                reported.add(id(closing.node))
                self._report(loop, closing, cycle, sink)

    def _created_before(self, loop: cst.For | cst.While) -> set[str]:
        """Locals bound to a new object in the enclosing function's own top-level
        statements before `loop`."""
        function = self.context.enclosing_function()
        if function is None:
            return set()
        names: set[str] = set()
        for statement in function.body.body:
            if statement is loop:
                break
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and _is_new_object(small.value)
                ):
                    names.add(small.targets[0].target.value)
        return names

    @staticmethod
    def _may_cycle(created: set[str], edges: list[_Edge], growths: list[_Growth]) -> bool:
        """Could any cycle exist if every growth were both a sink and a local reference?
        (Cheap and syntactic; persistence is only resolved when this says yes.)"""
        return _cycle_possible(
            created,
            [(edge.source, edge.target) for edge in edges],
            [(growth.key, _root(growth.container), names) for growth, _, names in growths],
        )

    def _scan(self, loop: cst.For | cst.While) -> tuple[set[str], list[_Edge], list[_Growth]]:
        created: set[str] = set()
        edges: list[_Edge] = []
        growths: list[_Growth] = []
        for order, node in enumerate(descendants(loop.body, stop_at=SCOPE_NODES)):
            if isinstance(node, cst.Assign):
                self._scan_assign(node, order, created, edges, growths)
            elif isinstance(node, cst.Call):
                func = node.func
                if isinstance(func, cst.Attribute) and func.attr.value in GROW_METHODS:
                    growth = growth_of_call(node)
                    if growth is not None and growth.value is not None:
                        names = tuple(_held_names(growth.value))
                        if names:
                            growths.append((growth, order, names))
        return created, edges, growths

    def _scan_assign(
        self,
        node: cst.Assign,
        order: int,
        created: set[str],
        edges: list[_Edge],
        growths: list[_Growth],
    ) -> None:
        value = node.value
        for target in node.targets:
            expr = target.target
            if isinstance(expr, cst.Name):
                if _is_new_object(value):
                    created.add(expr.value)
                    for name in _held_names(value):
                        if name != expr.value:  # `x = Wrapper(x)` holds the old `x`
                            edges.append(_Edge(expr.value, name, node, order, self._code(node)))
                continue
            if isinstance(expr, cst.Subscript):
                growth = growth_of_assign(node)
                names = tuple(_held_names(value)) if growth is not None else ()
                if growth is not None and names:
                    growths.append((growth, order, names))
                    continue
            holder = _root(expr)
            if holder is None:
                continue
            attribute = container_key(expr) if isinstance(expr, cst.Attribute) else None
            for name in _held_names(value):
                edges.append(_Edge(holder, name, node, order, self._code(node), attribute))

    def _resolve_growth(
        self,
        growth: Growth,
        order: int,
        names: tuple[str, ...],
        edges: list[_Edge],
        sinks: list[_Sink],
    ) -> None:
        """A growth of a persistent container is a sink; of a local object, an edge."""
        persistence = persistence_of(growth, self.context)
        if persistence is not None:
            if is_weak_container(persistence.binding, self.context):
                return
            if release_of(persistence, self.context) is None and is_unbounded(
                persistence, self.context
            ):
                sinks.append(_Sink(growth, persistence, names, order))
            return
        holder = _root(growth.container)
        if holder is not None:
            for name in names:
                edges.append(_Edge(holder, name, growth.node, order, growth.spelled))

    def _broken_or_collected(self, loop: cst.For | cst.While, cycle: list[_Edge]) -> bool:
        scope = self.context.enclosing_function() or self.context.module
        if find_release(scope, _NO_GC_KEY, self.context, include_gc=True) is not None:
            return True
        attributes = {e.attribute for e in cycle if e.attribute is not None}
        if not attributes:
            return False
        for node in descendants(scope, stop_at=SCOPE_NODES):
            if isinstance(node, cst.Del) and container_key(node.target) in attributes:
                return True
            if (
                isinstance(node, cst.Assign)
                and isinstance(node.value, cst.Name)
                and node.value.value == "None"
                and any(container_key(t.target) in attributes for t in node.targets)
            ):
                return True
        return False

    def _report(
        self, loop: cst.For | cst.While, closing: _Edge, cycle: list[_Edge], sink: _Sink
    ) -> None:
        names = [cycle[0].source] + [e.target for e in cycle]
        count = self._frames[-1][0].count
        line = self.context.line_of(loop)
        loop_text = f"loop on line {line}" + (
            f" ({count} iterations)" if count is not None else " (iteration count unknown)"
        )
        self.report(
            closing.node,
            edge=closing.text,
            cycle=" -> ".join(names),
            loop=loop_text,
            container=sink.growth.key,
            where=sink.persistence.where(self.context),
            growth=sink.growth.spelled,
            why=(
                "nothing in this scope calls gc.collect() or breaks the cycle and no "
                "back-reference is weak, so dropping them from the container does not free "
                "them: only the cyclic garbage collector can, at an unpredictable time"
            ),
            fix=_FIX,
        )

    def _code(self, node: cst.CSTNode) -> str:
        text = self.context.code_of(node).strip()
        return text if len(text) <= 60 else text[:57] + "..."


def _root(expr: cst.BaseExpression) -> str | None:
    while isinstance(expr, (cst.Attribute, cst.Subscript)):
        expr = expr.value
    return expr.value if isinstance(expr, cst.Name) else None


def _is_new_object(value: cst.BaseExpression) -> bool:
    if isinstance(value, (cst.Dict, cst.List, cst.Set, cst.DictComp, cst.ListComp)):
        return True
    if isinstance(value, cst.Call):
        func = value.func
        callee = (
            func.attr.value
            if isinstance(func, cst.Attribute)
            else (func.value if isinstance(func, cst.Name) else "")
        )
        return callee[:1].isupper() or callee in ("dict", "list", "set", "object")
    return False


def _held_names(value: cst.BaseExpression) -> list[str]:
    """Names (and container keys) that `value` keeps a strong reference to.

    Weak references (`weakref.ref(x)`, `weakref.proxy(x)`) hold nothing."""
    key = container_key(value)
    if key is not None:
        return [] if key in ("None", "True", "False") else [key]
    found: list[str] = []
    if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
        for element in value.elements:
            found.extend(_held_names(element.value))
    elif isinstance(value, cst.Dict):
        for dict_element in value.elements:
            if isinstance(dict_element, cst.DictElement):
                found.extend(_held_names(dict_element.value))
    elif isinstance(value, cst.Call):
        func = value.func
        callee = (
            func.attr.value
            if isinstance(func, cst.Attribute)
            else (func.value if isinstance(func, cst.Name) else "")
        )
        # A constructor keeps its arguments (`Node(parent=a)`); weakref wrappers do not.
        if callee[:1].isupper() and callee not in ("WeakValueDictionary", "WeakSet"):
            for arg in value.args:
                found.extend(_held_names(arg.value))
    return found


def _find_cycle(graph: dict[str, list[_Edge]], start: str, allowed: set[str]) -> list[_Edge] | None:
    """A path of edges from `start` back to `start` through `allowed` nodes (DFS)."""
    stack: list[tuple[str, list[_Edge]]] = [(start, [])]
    visited: set[str] = set()
    while stack:
        node, path = stack.pop()
        for edge in graph.get(node, ()):
            if edge.target == start:
                return [*path, edge]
            if edge.target in allowed and edge.target not in visited and len(path) < 6:
                visited.add(edge.target)
                stack.append((edge.target, [*path, edge]))
    return None


def _closing_edge(cycle: list[_Edge]) -> _Edge | None:
    """The back-reference a reviewer would change: the last reference created between
    the objects (not the append into the container), unless that is all there is."""
    references = [e for e in cycle if not e.into_sink]
    chosen = references or cycle
    return max(chosen, key=lambda e: e.order) if chosen else None


# References as plain names: (source, target) edges and (container key, its root name,
# names added) growths.
_Link = tuple[str, str]
_Added = tuple[str, str | None, tuple[str, ...]]


def _cycle_possible(created: set[str], edges: list[_Link], growths: list[_Added]) -> bool:
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
    keys = set()
    for key, root, names in growths:
        keys.add(key)
        graph.setdefault(key, set()).update(names)
        if root is not None:
            graph.setdefault(root, set()).update(names)
    allowed = created | keys
    for start in allowed:
        todo, seen = [start], set()
        while todo:
            node = todo.pop()
            for target in graph.get(node, ()):
                if target == start:
                    return True
                if target in allowed and target not in seen:
                    seen.add(target)
                    todo.append(target)
    return False


# -- triage: the same scan on CPython's ast, keeping every reference `_scan` could -----

_CONSTANT_INDEX = (str, int, float)


def _may_cycle_in(
    tree: TriageTree, loop: ast.For | ast.AsyncFor | ast.While, made_before: set[str]
) -> bool:
    created, edges, growths = _loop_references(tree, loop)
    return _cycle_possible(created | made_before, edges, growths)


_LoopReferences = tuple[set[str], list[_Link], list[_Added]]


def _linked_names(tree: TriageTree, loop: ast.For | ast.AsyncFor | ast.While) -> set[str]:
    """Every name a loop's references link from or to."""
    _, edges, growths = _loop_references(tree, loop)
    names = {name for edge in edges for name in edge}
    for key, root, held in growths:
        names.add(key)
        names.update(held)
        if root is not None:
            names.add(root)
    return names


def _loop_references(tree: TriageTree, loop: ast.For | ast.AsyncFor | ast.While) -> _LoopReferences:
    """What a loop's body creates, links and adds (a superset of `_scan`'s): it does not
    depend on what was made before the loop, so each loop is scanned once, however
    many times `could_fire` asks about it."""
    memo: dict[int, _LoopReferences] = tree.memo.setdefault("lg109.loops", {})
    found = memo.get(id(loop))
    if found is None:
        found = memo[id(loop)] = _scan_loop(tree, loop)
    return found


def _scan_loop(tree: TriageTree, loop: ast.For | ast.AsyncFor | ast.While) -> _LoopReferences:
    created: set[str] = set()
    edges: list[_Link] = []
    growths: list[_Added] = []
    # Each statement's own subtree, down to nested scopes (a `def` in the body is entered).
    nodes: list[ast.AST] = []
    for statement in loop.body:
        nodes.append(statement)
        nodes.extend(tree.within(statement, SCOPES))
    for node in nodes:
        if isinstance(node, ast.Assign):
            _scan_assign_ast(node, created, edges, growths)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr not in GROW_METHODS:
                continue
            key = dotted(node.func.value)
            positional = [a for a in node.args if not isinstance(a, ast.Starred)]
            if key is None or not positional:
                continue
            second = node.func.attr in ("insert", "setdefault") and len(positional) > 1
            names = tuple(_held_names_ast(positional[1 if second else 0]))
            if names:
                growths.append((key, root_name(node.func.value), names))
    return created, edges, growths


def _scan_assign_ast(
    node: ast.Assign, created: set[str], edges: list[_Link], growths: list[_Added]
) -> None:
    held = _held_names_ast(node.value)
    for target in node.targets:
        if isinstance(target, ast.Name):
            if _is_new_object_ast(node.value):
                created.add(target.id)
                edges.extend((target.id, name) for name in held if name != target.id)
            continue
        if isinstance(target, ast.Subscript):
            index = target.slice
            constant = isinstance(index, ast.Constant) and isinstance(index.value, _CONSTANT_INDEX)
            key = dotted(target.value)
            if not constant and key is not None and held:
                growths.append((key, root_name(target.value), tuple(held)))
                continue
        holder = root_name(target)
        if holder is not None:
            edges.extend((holder, name) for name in held)


def _is_new_object_ast(value: ast.expr) -> bool:
    if isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp)):
        return True
    if isinstance(value, ast.Call):
        callee = (dotted(value.func) or "").rsplit(".", 1)[-1]
        return callee[:1].isupper() or callee in ("dict", "list", "set", "object")
    return False


def _held_names_ast(value: ast.expr) -> list[str]:
    key = dotted(value)
    if key is not None:
        return [key]
    found: list[str] = []
    if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        for element in value.elts:
            inner = element.value if isinstance(element, ast.Starred) else element
            found.extend(_held_names_ast(inner))
    elif isinstance(value, ast.Dict):
        for item in value.values:
            found.extend(_held_names_ast(item))
    elif isinstance(value, ast.Call):
        callee = (dotted(value.func) or "").rsplit(".", 1)[-1]
        if callee[:1].isupper():
            for arg in value.args:
                found.extend(_held_names_ast(arg.value if isinstance(arg, ast.Starred) else arg))
            for keyword in value.keywords:
                found.extend(_held_names_ast(keyword.value))
    return found
