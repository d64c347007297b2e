"""The rules' walk skips nodes by LibCST's field type hints (`WalkPlan`): it must still
reach every node a rule handles, with the same ancestors, on real and unusual code."""

from __future__ import annotations

import ast
import inspect
import json
import tokenize
from collections.abc import Callable, Iterator
from pathlib import Path

import libcst as cst
import pytest

from leakguard.analyzer import parse_module
from leakguard.registry import rule_classes, visitor_methods
from leakguard.walker import (
    SCOPE_NODES,
    _derives,
    _field_kinds,
    _skipped,
    _subclasses,
    children,
    descendants,
    plan_for,
    walk,
    walk_targets,
)

FIXTURES = Path(__file__).parent / "fixtures"

# Syntax the fixtures may not cover: every kind of statement and expression.
_UNUSUAL = """
from __future__ import annotations
import a.b.c as d, e
from .f import (g as h, i)
from . import *
@decorator(arg)
@other.attribute
class C(Base, metaclass=M, **kw):
    x: int = 1
    y: "list[int]"
    async def m(self, a, /, b=2, *args, c: int = f(x), **kwargs) -> g(y):
        async with lock() as (p, q), other():
            async for i, *rest in aiter():
                await h(i)
        try:
            yield from gen()
        except* ValueError as err:
            raise Other() from err
        else:
            pass
        finally:
            del self.x[0], y
        return (yield)
def outer():
    total = 0
    def inner():
        nonlocal total
        global G
        total += 1
        return [j async for j in k(total) if j] or {a: b for a, b in c()} or {*s, *t}
    lam = lambda u=call(), *v, w=w(), **z: (u, {**z}, [*v])
    while (n := next_item()) is not None:
        if n > 1: break
        elif n: continue
        else: assert n, msg()
    match command(parse()):
        case [Point(x=0, y=y), *others] if guard(y):
            print(f"{y!r:>{width()}} {others}")
        case {"key": value, **rest} | str() as s:
            pass
        case _:
            pass
    with open(p) as f, ctx():
        data = f.read()[1:2:call()]
    x = a if b(c) else d(e)
    x = not -~(a @ b) < c() <= d in e not in f is g is not h
    x = a and b or c(d)
    s = "a" "b" f"c{d()}" rb"e"
    x[i], y.z = t = 1, 2
    print(*args, sep=sep(), **kw)
    return ...
"""


def _sources() -> Iterator[tuple[str, str]]:
    for path in sorted(FIXTURES.rglob("*.py")):
        with tokenize.open(path) as handle:
            yield str(path.relative_to(FIXTURES)), handle.read()
    for module in (ast, inspect, json, tokenize, pytest):
        path = Path(inspect.getsourcefile(module) or "")
        yield path.name, path.read_text(encoding="utf-8")
    yield "unusual", _UNUSUAL


def _modules() -> list[tuple[str, cst.Module]]:
    modules = []
    for name, text in _sources():
        try:
            modules.append((name, parse_module(text)))
        except cst.ParserSyntaxError:
            continue  # fixtures of unparsable files
    return modules


MODULES = _modules()


def _all_nodes(module: cst.Module) -> list[cst.CSTNode]:
    nodes: list[cst.CSTNode] = []
    walk(module, nodes.append)
    return nodes


def test_fields_hold_only_the_node_types_their_hints_allow() -> None:
    """The soundness of the plans: a child the walk visits is always of a type its
    field's hint allows, and fields left out never hold one."""
    for name, module in MODULES:
        for node in _all_nodes(module):
            kinds = dict(_field_kinds(type(node)))
            for field in type(node).__dataclass_fields__:
                value = getattr(node, field)
                items = value if isinstance(value, (list, tuple)) else [value]
                for item in items:
                    if not isinstance(item, cst.CSTNode) or _skipped(type(item)):
                        continue
                    where = f"{name}: {type(node).__name__}.{field} holds {type(item).__name__}"
                    assert field in kinds, where
                    allowed = kinds[field]
                    assert allowed is None or type(item) in allowed, where


def _events(module: cst.Module, targets: frozenset[type[cst.CSTNode]], full: bool) -> list[object]:
    """(visit or leave, node, path) for each callback on a target type."""
    events: list[object] = []
    stack: list[cst.CSTNode] = []

    def record(kind: str) -> Callable[[cst.CSTNode], None]:
        def callback(node: cst.CSTNode) -> None:
            if type(node) in targets:
                events.append((kind, id(node), tuple(map(id, stack))))

        return callback

    if full:
        walk(module, record("visit"), record("leave"), stack=stack)
    else:
        table = {t: record("visit") for t in targets}
        leaves = {t: record("leave") for t in targets}
        walk_targets(module, plan_for(targets), table, leaves, stack=stack)
    return events


_TARGETS_OF_EACH_RULE = [
    frozenset(node_type for _, node_type, _ in visitor_methods(cls))
    for cls in rule_classes().values()
]
_RULE_TARGETS = frozenset().union(*_TARGETS_OF_EACH_RULE)


@pytest.mark.parametrize(
    "targets",
    [
        _RULE_TARGETS,
        frozenset({cst.Call}),
        frozenset({cst.ClassDef}),
        frozenset({cst.FunctionDef, cst.Return}),
        frozenset({cst.Lambda, cst.While}),
        frozenset({cst.Name}),
        frozenset({cst.DictElement, cst.Tuple, cst.CompFor}),
        frozenset({cst.MatchAs, cst.FormattedStringExpression, cst.Param}),
    ],
    ids=lambda targets: "+".join(sorted(t.__name__ for t in targets))[:60],
)
def test_targeted_walk_calls_back_as_the_full_walk_does(
    targets: frozenset[type[cst.CSTNode]],
) -> None:
    for name, module in MODULES:
        assert _events(module, targets, full=False) == _events(module, targets, full=True), name


def test_a_plan_skips_what_cannot_hold_a_target() -> None:
    plan = plan_for(frozenset({cst.ClassDef}))
    assert plan.enters[cst.If] and plan.enters[cst.FunctionDef]
    assert not plan.enters[cst.Call] and not plan.enters[cst.Name]  # no class in an expression
    assert not plan.enters[type(None)] and not plan.enters[str]
    calls = plan_for(frozenset({cst.Call}))
    assert calls.enters[cst.Attribute] and not calls.enters[cst.Name]
    assert "value" in calls.fields[cst.Attribute] and "attr" not in calls.fields[cst.Attribute]


def _reference_reaches(node_type: type, targets: frozenset[type[cst.CSTNode]]) -> bool:
    """A target may occur strictly below `node_type`: a search down the field hints
    from it, stopping at the first field that may hold a target (or anything)."""
    seen, todo = {node_type}, [node_type]
    while todo:
        for _, kinds in _field_kinds(todo.pop()):
            if kinds is None or not kinds.isdisjoint(targets):
                return True
            todo.extend(kinds - seen)
            seen |= kinds
    return False


_NODE_TYPES = sorted(_subclasses(cst.CSTNode), key=lambda t: (t.__module__, t.__qualname__))


@pytest.mark.parametrize(
    "targets",
    [_RULE_TARGETS, *_TARGETS_OF_EACH_RULE, frozenset({cst.Name}), frozenset({cst.Assign})],
    ids=lambda targets: "+".join(sorted(t.__name__ for t in targets))[:60],
)
def test_a_plan_enters_what_a_search_down_the_hints_says_may_hold_a_target(
    targets: frozenset[type[cst.CSTNode]],
) -> None:
    """Each plan searches backwards from its targets once (`walker._holding`): it
    enters exactly the types a search down from each would."""
    plan = plan_for(targets)
    for node_type in _NODE_TYPES:
        expected = not _skipped(node_type) and (
            node_type in targets or _reference_reaches(node_type, targets)
        )
        assert plan.enters[node_type] == expected, node_type


def test_subclasses_are_told_by_the_mro_as_issubclass_tells_them() -> None:
    bases = [cst.CSTNode, cst.BaseExpression, cst.BaseStatement, cst.BaseSuite, *SCOPE_NODES]
    for node_type in [*_NODE_TYPES, str, type(None), list]:
        for base in bases:
            assert _derives(node_type, (base,)) == issubclass(node_type, base), (node_type, base)


def _reference_descendants(
    root: cst.CSTNode, stop_at: tuple[type[cst.CSTNode], ...]
) -> Iterator[cst.CSTNode]:
    for child in children(root):
        yield child
        if not isinstance(child, stop_at):
            yield from _reference_descendants(child, stop_at)


@pytest.mark.parametrize(
    ("only", "stop_at"),
    [
        (None, ()),
        (None, SCOPE_NODES),
        ((cst.Call,), ()),
        ((cst.Assign, cst.AugAssign, cst.For), SCOPE_NODES),
        ((cst.BaseCompoundStatement, cst.Global), SCOPE_NODES),
        ((cst.FunctionDef, cst.Lambda), (cst.ClassDef,)),
        ((cst.Name, cst.WithItem, cst.NamedExpr), SCOPE_NODES),
    ],
)
def test_descendants_of_some_types_are_the_filtered_descendants(
    only: tuple[type[cst.CSTNode], ...] | None, stop_at: tuple[type[cst.CSTNode], ...]
) -> None:
    for name, module in MODULES:
        for root in (module, *module.body[:3]):
            expected = [
                n
                for n in _reference_descendants(root, stop_at)
                if only is None or isinstance(n, only)
            ]
            found = list(descendants(root, stop_at=stop_at, only=only))
            assert [id(n) for n in found] == [id(n) for n in expected], name
