"""Untyped request data: collections a handler reads from the raw request, with no model
to bound them.

Flask `request.get_json()` / `request.json` / `request.files.getlist(...)` /
`request.form.getlist(...)`, Starlette/aiohttp `await request.json()` /
`await request.post()`, Django `json.loads(request.body)`, values taken from them
(`payload["items"]`, `payload.get("items")`) and locals assigned from any of these.

`data_parameters(function)`: the parameters through which a caller can hand a function
request-sized data (collections, text, bytes), as opposed to objects, options and
framework-injected values; `request_attribute(node)`: `request.files`-like data read
from the request object, not the application it belongs to (`request.app.state...`).
"""

from __future__ import annotations

import libcst as cst

from leakguard.analysis.bindings import assigned_values
from leakguard.analysis.imports import dotted_name
from leakguard.analysis.pydantic_models import (
    DEPENDENCY_MARKERS,
    DICT_VIEWS,
    ITERATION_WRAPPERS,
    JSON_LOADERS,
    NOT_REQUEST_DATA,
    Tree,
    handler_params,
    param_markers,
    param_tree,
    request_bindings,
    request_handlers,
    request_object_names,
)
from leakguard.context import FileContext

# Request methods that return the parsed body (JSON or form) as plain containers.
_BODY_METHODS = frozenset({"get_json", "json", "post"})
_MULTI_FIELDS = frozenset({"files", "form"})
# Roots of the request object in web handlers (also Flask's global `request`).
_REQUEST_ROOTS = frozenset({"request", "req"})


def untyped_collections(
    iterable: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> list[cst.BaseExpression]:
    """The collections that `for ... in iterable` walks which are untyped request data
    of `function` (unwrapping `enumerate(x)`, `zip(a, b)`, `x.items()`)."""
    tainted = _tainted_locals(function, context)
    requests = request_object_names(function, context)
    return [c for c in _walked(iterable) if _is_untyped(c, requests, tainted, context)]


def _walked(iterable: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(iterable, cst.Call):
        func = iterable.func
        positional = [a.value for a in iterable.args if a.keyword is None and not a.star]
        if isinstance(func, cst.Name):
            if func.value in ITERATION_WRAPPERS and positional:
                return _walked(positional[0])
            if func.value == "zip":
                return [c for p in positional for c in _walked(p)]
        if isinstance(func, cst.Attribute) and func.attr.value in DICT_VIEWS and not positional:
            return _walked(func.value)
    return [iterable]


def _is_untyped(
    node: cst.BaseExpression,
    requests: frozenset[str],
    tainted: set[str],
    context: FileContext,
) -> bool:
    while True:
        if isinstance(node, cst.Await):
            node = node.expression
        elif isinstance(node, cst.Subscript):
            node = node.value  # `payload["items"]`: a value taken from the data
        elif isinstance(node, cst.Name):
            return node.value in tainted
        elif isinstance(node, cst.Attribute):
            # Flask's `request.json` property.
            return node.attr.value == "json" and _is_request(node.value, requests)
        elif isinstance(node, cst.Call):
            func = node.func
            if context.imports.call_name(node) in JSON_LOADERS:
                return bool(node.args) and _reads_raw_body(node.args[0].value, requests, tainted)
            if not isinstance(func, cst.Attribute):
                return False
            method = func.attr.value
            if method in _BODY_METHODS and _is_request(func.value, requests):
                return True
            if method == "getlist":
                receiver = func.value
                return (
                    isinstance(receiver, cst.Attribute)
                    and receiver.attr.value in _MULTI_FIELDS
                    and _is_request(receiver.value, requests)
                )
            if method == "get":
                node = func.value  # `payload.get("items")`
                continue
            return False
        else:
            return False


def _is_request(node: cst.BaseExpression, requests: frozenset[str]) -> bool:
    return isinstance(node, cst.Name) and node.value in requests


def _reads_raw_body(node: cst.BaseExpression, requests: frozenset[str], tainted: set[str]) -> bool:
    """`request.body`, `await request.body()`, `request.data`, or a local holding one."""
    if isinstance(node, cst.Await):
        node = node.expression
    if isinstance(node, cst.Call):
        node = node.func
    if isinstance(node, cst.Name):
        return node.value in tainted
    return (
        isinstance(node, cst.Attribute)
        and node.attr.value in ("body", "data")
        and _is_request(node.value, requests)
    )


def _tainted_locals(function: cst.FunctionDef, context: FileContext) -> set[str]:
    """Locals assigned from untyped request data (`payload = request.get_json()`,
    `items = payload["items"]`, `raw = request.body`), through any chain of such
    assignments (`bindings.assigned_values`, whatever their order in the source)."""
    key = ("request_data.tainted", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, set):
        return cached
    requests = request_object_names(function, context)
    assigned = assigned_values(function, context)
    tainted: set[str] = set()
    grew = True
    while grew:
        grew = False
        for name, values in assigned.items():
            if name not in tainted and any(
                _is_untyped(v, requests, tainted, context) or _reads_raw_body(v, requests, set())
                for v in values
            ):
                tainted.add(name)
                grew = True
    context.memo[key] = tainted
    return tainted


def data_parameters(function: cst.FunctionDef, context: FileContext) -> frozenset[str]:
    """Parameters of `function` that carry request-sized data: typed as a collection,
    text or bytes (`list[Row]`, `Sequence[str]`, `bytes`, `str | None`), and in a route
    handler also those bound to a request model. Not: untyped parameters and objects (a
    `SecurityScopes`, an exception, a registry), `*args`/`**kwargs` (a wrapper's
    pass-through), dependencies, and outside route handlers a parameter with a default
    other than None: callers that omit it get configuration, such as a module's list of
    well-known file names. (In a route handler a default makes a query parameter.)"""
    key = ("request_data.parameters", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, frozenset):
        return cached
    handler = id(function) in request_handlers(context)
    names = {name for name in request_bindings(function, context)} if handler else set()
    for param in handler_params(function):
        if param.annotation is None or param.name.value in ("self", "cls"):
            continue
        marker, _ = param_markers(param, context)
        if marker in DEPENDENCY_MARKERS:
            continue
        if not handler and param.default is not None and not _is_none(param.default):
            continue
        if _sized(param_tree(param, context)):
            names.add(param.name.value)
    result = frozenset(names)
    context.memo[key] = result
    return result


def _sized(tree: Tree) -> bool:
    if tree["k"] == "union":
        return any(_sized(option) for option in tree["of"])
    return bool(tree["k"] == "seq")


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def request_attribute(node: cst.BaseExpression) -> str | None:
    """`request.files`, `req.json["items"]`: the dotted text of data read from a request
    object, or None (also for `request.app.state.models` and `request.headers`)."""
    dotted = dotted_name(node)
    if dotted is None:
        return None
    parts = dotted.split(".")
    if len(parts) < 2 or parts[0] not in _REQUEST_ROOTS or parts[1] in NOT_REQUEST_DATA:
        return None
    return dotted
