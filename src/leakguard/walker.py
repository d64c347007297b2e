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
import typing
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


def _hinted_classes(hint: object, out: set[type]) -> bool:
    """Collect the classes a type hint allows; False when it cannot be told."""
    origin = typing.get_origin(hint)
    if origin is None:
        if isinstance(hint, type):
            out.add(hint)
            return True
        return False
    return all(_hinted_classes(arg, out) for arg in typing.get_args(hint))


def _may_hold_children(hint: object) -> bool:
    """Whether a field with this type hint can hold a node the walk visits. Most
    fields are whitespace, punctuation or strings; not reading them halves the work."""
    allowed: set[type] = set()
    if not _hinted_classes(hint, allowed):
        return True
    return any(issubclass(c, cst.CSTNode) and not issubclass(c, _SKIPPED_TYPES) for c in allowed)


def _child_fields(node_type: type[cst.CSTNode]) -> tuple[str, ...]:
    names = _FIELDS.get(node_type)
    if names is None:
        declared = [f.name for f in dataclasses.fields(node_type)]
        ordered = _SOURCE_ORDER.get(node_type)
        if ordered is not None:
            declared = [n for n in ordered if n in declared]
        try:
            hints = typing.get_type_hints(node_type)
        except Exception:  # unresolvable annotations: read every field
            hints = {}
        names = tuple(n for n in declared if n not in hints or _may_hold_children(hints[n]))
        _FIELDS[node_type] = names
    return names


def _skipped(value_type: type) -> bool:
    skip = _SKIP_CACHE.get(value_type)
    if skip is None:
        skip = not issubclass(value_type, cst.CSTNode) or issubclass(value_type, _SKIPPED_TYPES)
        # Keyed by LibCST node types, a fixed and finite set: bounded by construction.
        _SKIP_CACHE[value_type] = skip  # leakguard: ignore[LG108]
    return skip


def _children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The semantically interesting children of `node`, in source order."""
    found: list[cst.CSTNode] = []
    skip_cache = _SKIP_CACHE
    for name in _FIELDS.get(type(node)) or _child_fields(type(node)):
        value = getattr(node, name)
        value_type = type(value)
        if value_type is list or value_type is tuple:
            for item in value:
                skip = skip_cache.get(type(item))
                if skip is None:
                    skip = _skipped(type(item))
                if not skip:
                    found.append(item)
        elif value is not None:
            skip = skip_cache.get(value_type)
            if skip is None:
                skip = _skipped(value_type)
            if not skip:
                found.append(value)
    return found


def iter_children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The semantically interesting children of `node`, in source order."""
    return iter(_children(node))


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
        children = _children(node)
        children.reverse()
        todo.extend(children)


def descendants(
    root: cst.CSTNode, *, stop_at: tuple[type[cst.CSTNode], ...] = ()
) -> Iterator[cst.CSTNode]:
    """All nodes below `root` (pre-order), not descending into `stop_at` node types.

    A `stop_at` node is itself yielded; only its children are skipped. Typical use:
    `stop_at=SCOPE_NODES` to stay within one function's own body.
    """
    todo = _children(root)
    todo.reverse()
    stops: dict[type, bool] = {}  # isinstance on LibCST's ABC-based classes is slow
    while todo:
        node = todo.pop()
        yield node
        if stop_at:
            node_type = type(node)
            stop = stops.get(node_type)
            if stop is None:
                stop = stops[node_type] = issubclass(node_type, stop_at)
            if stop:
                continue
        children = _children(node)
        children.reverse()
        todo.extend(children)


SCOPE_NODES: tuple[type[cst.CSTNode], ...] = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
