"""A lean pre-order/post-order traversal of a LibCST tree.

LibCST's own `CSTNode.visit` rebuilds every node on the way back up, which costs more
than parsing (measured: 4.0 s vs 1.6 s for this walk over 92k lines). Linting never
changes the tree, so we walk the dataclass fields directly and skip pure-syntax leaves
(whitespace, commas, parentheses, operators) that no rule inspects.

Children are visited in source order: the few node types whose dataclass field order
differs from source order (decorators are declared after the body) are listed in
`_SOURCE_ORDER`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import libcst as cst

_SKIPPED_TYPES: tuple[type[cst.CSTNode], ...] = (
    cst.BaseParenthesizableWhitespace,
    cst.EmptyLine,
    cst.TrailingWhitespace,
    cst.Newline,
    cst.Comment,
    cst.Comma,
    cst.Dot,
    cst.Colon,
    cst.Semicolon,
    cst.AssignEqual,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
    cst.BaseBinaryOp,
    cst.BaseBooleanOp,
    cst.BaseCompOp,
    cst.BaseUnaryOp,
    cst.BaseAugOp,
    cst.ImportStar,
    cst.Asynchronous,
)

_SOURCE_ORDER: dict[type[cst.CSTNode], tuple[str, ...]] = {
    cst.FunctionDef: ("decorators", "name", "type_parameters", "params", "returns", "body"),
    cst.ClassDef: ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    cst.IfExp: ("body", "test", "orelse"),
}

_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}
_SKIP_CACHE: dict[type, bool] = {}


def _child_fields(node_type: type[cst.CSTNode]) -> tuple[str, ...]:
    names = _FIELDS.get(node_type)
    if names is None:
        declared = [f.name for f in dataclasses.fields(node_type)]
        ordered = _SOURCE_ORDER.get(node_type)
        if ordered is not None:
            names = tuple(n for n in ordered if n in declared)
        else:
            names = tuple(declared)
        _FIELDS[node_type] = names
    return names


def _skipped(value_type: type) -> bool:
    skip = _SKIP_CACHE.get(value_type)
    if skip is None:
        skip = not issubclass(value_type, cst.CSTNode) or issubclass(value_type, _SKIPPED_TYPES)
        _SKIP_CACHE[value_type] = skip
    return skip


def iter_children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The semantically interesting children of `node`, in source order."""
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        value_type = type(value)
        if value_type is list or value_type is tuple:
            for item in value:
                if not _skipped(type(item)):
                    yield item
        elif value is not None and not _skipped(value_type):
            yield value


VisitFn = Callable[[cst.CSTNode], None]


def walk(
    root: cst.CSTNode,
    on_visit: VisitFn,
    on_leave: VisitFn | None = None,
    stack: list[cst.CSTNode] | None = None,
) -> None:
    """Call `on_visit` before and `on_leave` after each node's children.

    While a node's callbacks run, `stack` (if given) holds the path from the root to
    that node inclusive, so callbacks can look at ancestors without a parent map.
    """
    path = stack if stack is not None else []
    _LEAVE = object()
    todo: list[object] = [root]
    while todo:
        item = todo.pop()
        if item is _LEAVE:
            node = path[-1]
            if on_leave is not None:
                on_leave(node)
            path.pop()
            continue
        node = item  # type: ignore[assignment]
        path.append(node)
        on_visit(node)
        todo.append(_LEAVE)
        children = list(iter_children(node))
        children.reverse()
        todo.extend(children)


def descendants(
    root: cst.CSTNode, *, stop_at: tuple[type[cst.CSTNode], ...] = ()
) -> Iterator[cst.CSTNode]:
    """All nodes below `root` (pre-order), not descending into `stop_at` node types.

    A `stop_at` node is itself yielded; only its children are skipped. Typical use:
    `stop_at=SCOPE_NODES` to stay within one function's own body.
    """
    todo = list(iter_children(root))
    todo.reverse()
    while todo:
        node = todo.pop()
        yield node
        if stop_at and isinstance(node, stop_at):
            continue
        children = list(iter_children(node))
        children.reverse()
        todo.extend(children)


SCOPE_NODES: tuple[type[cst.CSTNode], ...] = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
