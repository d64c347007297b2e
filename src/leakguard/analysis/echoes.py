"""Whether a value of a function only reaches its response (or a log line).

A request number that is only echoed back (`return {"limit": limit}`) or never read
sizes no work, however it is named; a field of a request model is the same when the
handler returns the model whole. The question is asked per name of one function: every
read of the name must end in the returned value, a log or print call, or a local that
itself only reaches those, passing through nothing but containers, f-strings, attribute
reads and calls that only package a value for the response.
"""

from __future__ import annotations

import libcst as cst

from leakguard.analysis.imports import dotted_name
from leakguard.walker import walk

# Calls that package a value for the response or a log line without acting on it.
_PACKAGING_CALLS = frozenset(
    {
        "dict",
        "str",
        "repr",
        "print",
        "jsonify",
        "jsonable_encoder",
        "JSONResponse",
        "ORJSONResponse",
        "UJSONResponse",
        "PlainTextResponse",
        "HTMLResponse",
        "Response",
        "web.json_response",
        "json_response",
    }
)
_LOG_RECEIVERS = frozenset({"logger", "logging", "log", "_logger", "LOGGER", "_log"})
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical"})
# Nodes a value may pass through and still only be data for the response.
_PASS_THROUGH = (
    cst.Element,
    cst.List,
    cst.Tuple,
    cst.Set,
    cst.Dict,
    cst.DictElement,
    cst.StarredDictElement,
    cst.StarredElement,
    cst.FormattedString,
    cst.FormattedStringExpression,
    cst.ConcatenatedString,
    cst.Arg,
)
_MAX_HOPS = 3  # locals that forward the value before it is returned


def only_reaches_response(function: cst.FunctionDef, name: str) -> bool:
    """True when no read of `name` in `function` does anything but return or log it.

    Conservative: a read inside a nested function or lambda, a comparison, arithmetic,
    subscript, loop, or an argument to any other call counts as work.
    """
    return _only_echoed(function, name, _MAX_HOPS)


def _only_echoed(function: cst.FunctionDef, name: str, hops: int) -> bool:
    forwarded: list[str] = []
    verdict = True
    path: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        nonlocal verdict
        if not verdict or not isinstance(node, cst.Name) or node.value != name:
            return
        if len(path) < 2 or not _is_read(node, path[-2]):
            return
        if any(isinstance(a, (cst.FunctionDef, cst.Lambda)) for a in path[1:-1]):
            verdict = False  # captured by nested code we do not follow
            return
        target = _echo_end(path)
        if target is None:
            verdict = False
        elif target:
            forwarded.append(target)

    walk(function.body, visit, stack=path)
    if not verdict:
        return False
    for local in dict.fromkeys(forwarded):
        if local == name or hops == 0 or not _only_echoed(function, local, hops - 1):
            return False
    return True


def _is_read(node: cst.Name, parent: cst.CSTNode) -> bool:
    if isinstance(parent, cst.Attribute) and parent.attr is node:
        return False
    if isinstance(parent, (cst.AssignTarget, cst.Param, cst.AnnAssign, cst.AugAssign)):
        return getattr(parent, "target", None) is not node and not isinstance(parent, cst.Param)
    if isinstance(parent, cst.Arg) and parent.keyword is node:
        return False
    if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is node:
        return False
    return not isinstance(parent, (cst.ImportAlias, cst.FunctionDef, cst.ClassDef))


def _echo_end(path: list[cst.CSTNode]) -> str | None:
    """Where the read at `path[-1]` ends: "" for the response or a log line, a local's
    name when it is assigned to one, None when it is used for anything else."""
    child = path[-1]
    for parent in reversed(path[:-1]):
        if isinstance(parent, cst.Return):
            return ""
        if isinstance(parent, cst.Attribute) and parent.value is child:
            child = parent  # `params.limit`: a field of the value, still data
            continue
        if isinstance(parent, cst.DictElement) and parent.key is child:
            return None
        if isinstance(parent, _PASS_THROUGH):
            child = parent
            continue
        if isinstance(parent, cst.Call):
            if child is parent.func or not _packages(parent):
                return None
            child = parent
            continue
        if isinstance(parent, cst.Await) and isinstance(child, cst.Call) and _packages(child):
            child = parent
            continue
        if isinstance(parent, cst.Expr):
            if isinstance(child, cst.Await):
                child = child.expression
            return "" if isinstance(child, cst.Call) and _packages(child) else None
        if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is child:
            targets = (
                [t.target for t in parent.targets]
                if isinstance(parent, cst.Assign)
                else [parent.target]
            )
            if len(targets) == 1 and isinstance(targets[0], cst.Name):
                return targets[0].value
            return None
        return None
    return None


def _packages(call: cst.Call) -> bool:
    if _is_log_call(call):
        return True
    name = dotted_name(call.func) or ""
    if name in _PACKAGING_CALLS or name.rsplit(".", 1)[-1] in _PACKAGING_CALLS:
        return True
    # `item.model_dump()`, `item.dict()`: the model's data, not work on it;
    # `await websocket.send_json(...)`: a websocket's response.
    return isinstance(call.func, cst.Attribute) and call.func.attr.value in (
        "model_dump",
        "dict",
        "json",
        "model_dump_json",
        "send_json",
        "send_text",
    )


def _is_log_call(call: cst.Call) -> bool:
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in _LOG_METHODS:
        return False
    receiver = dotted_name(func.value) or ""
    return receiver.rsplit(".", 1)[-1] in _LOG_RECEIVERS
