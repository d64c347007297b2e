"""Local file handles: calls that open a file on the local file system and the names a
function binds to them (`with open(path, "wb") as f`, `f = path.open()`,
`tmp = tempfile.NamedTemporaryFile()`).

Work on such a handle (`f.write(chunk)`, `f.read(n)`) is bounded local I/O: it neither
waits on a peer nor runs model code.
"""

from __future__ import annotations

import libcst as cst

from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, descendants

_OPENERS = frozenset(
    {
        "open",
        "io.open",
        "gzip.open",
        "bz2.open",
        "lzma.open",
        "tempfile.NamedTemporaryFile",
        "tempfile.TemporaryFile",
        "tempfile.SpooledTemporaryFile",
    }
)


def opens_file(call: cst.Call, context: FileContext) -> bool:
    """`open(path)`, `gzip.open(path)`, a `tempfile` file, or `path.open("wb")` on a
    pathlib path (the receiver is the path)."""
    name = context.imports.call_name(call) or ""
    if name in _OPENERS:
        return True
    return isinstance(call.func, cst.Attribute) and call.func.attr.value == "open"


def file_handles(function: cst.FunctionDef, context: FileContext) -> frozenset[str]:
    """Names that `function`'s own body binds only to opened local files (a name also
    bound to anything else is left out)."""
    key = ("files.handles", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, frozenset):
        return cached
    opened: set[str] = set()
    other: set[str] = set()
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        bound = name_binding(node)
        if bound is None:
            continue
        name, value = bound
        if isinstance(value, cst.Call) and opens_file(value, context):
            opened.add(name)
        else:
            other.add(name)
    result = frozenset(opened - other)
    context.memo[key] = result
    return result


def name_binding(node: cst.CSTNode) -> tuple[str, cst.BaseExpression] | None:
    """(name, value) when `node` binds one plain name: `with value as name` or
    `name = value`."""
    value: cst.BaseExpression | None = None
    target: cst.BaseExpression | None = None
    if isinstance(node, cst.WithItem) and node.asname is not None:
        value, target = node.item, node.asname.name
    elif isinstance(node, cst.Assign) and len(node.targets) == 1:
        value, target = node.value, node.targets[0].target
    if not isinstance(target, cst.Name) or value is None:
        return None
    return target.value, value
