"""Local file handles: calls that open a file on the local file system and the names a
function binds to them (`with open(path, "wb") as f`, `f = path.open()`,
`tmp = tempfile.NamedTemporaryFile()`).

Work on such a handle (`f.write(chunk)`, `f.read(n)`) is bounded local I/O: it neither
waits on a peer nor runs model code.

`in_memory_buffer(value, function, context)`: `value` is an `io.BytesIO`/`io.StringIO`
over bytes the function is handed as a parameter (directly or through a local only
bound to one): no file, no path of its own.

`io_offloaded(call, function, context)`: the file `call` opens is bound to a name whose
every read in `function` hands the file (or one of its methods) to a worker thread, so
its reads and writes run off the event loop and only the `open` syscall stays on it.
"""

from __future__ import annotations

import libcst as cst

from leakguard.analysis.asyncio_facts import offload_call
from leakguard.analysis.scopes import function_scope
from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, descendants, walk

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


def io_offloaded(call: cst.Call, function: cst.FunctionDef, context: FileContext) -> bool:
    """`with open(p, "rb") as f: data = await asyncio.to_thread(f.read, n)`: `call` is
    bound to a name in `function`'s own body and every read of that name is the
    callable or an argument of an offload (`f.read`, `f`), in that body. A handle with
    no read, one read on the loop, or one a nested function or lambda uses, is not."""
    name: str | None = None
    offloaded: set[int] = set()
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        bound = name_binding(node)
        if bound is not None and bound[1] is call:
            name = bound[0]
        if isinstance(node, cst.Call) and offload_call(node, context) is not None:
            for arg in node.args:
                value = arg.value
                if isinstance(value, cst.Attribute):
                    value = value.value
                if isinstance(value, cst.Name):
                    offloaded.add(id(value))
    if name is None:
        return False
    reads: list[cst.Name] = []
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        if isinstance(node, cst.Name) and node.value == name and _is_load(node, stack):
            reads.append(node)

    walk(function.body, visit, stack=stack)
    return bool(reads) and all(id(read) in offloaded for read in reads)


def _is_load(node: cst.Name, stack: list[cst.CSTNode]) -> bool:
    """`node` (the last of `stack`) reads a variable: not an attribute's name, a
    keyword, a binding target (`f += x` reads `f`) or a definition's name. A use inside
    a nested scope is a read too (it is not in an offload of the function's own body)."""
    parent = stack[-2] if len(stack) >= 2 else None
    if isinstance(parent, cst.Attribute):
        return parent.attr is not node
    if isinstance(parent, cst.Arg):
        return parent.keyword is not node
    if isinstance(parent, (cst.AsName, cst.AssignTarget, cst.Param)):
        return False
    if isinstance(parent, (cst.For, cst.CompFor, cst.AnnAssign)):
        return getattr(parent, "target", None) is not node
    return not isinstance(parent, (cst.FunctionDef, cst.ClassDef, cst.ImportAlias))


_BUFFERS = frozenset({"io.BytesIO", "io.StringIO"})


def in_memory_buffer(value: cst.BaseExpression, scope: cst.CSTNode, context: FileContext) -> bool:
    """`io.BytesIO(payload)`, or a local of the function `scope` every binding of which is
    one, where `payload` is a parameter the function never rebinds: bytes its caller
    holds (an IPC payload, an archive member). Bytes the function obtains itself (a
    download's `response.content`, a file's `read_bytes()`) keep their source's finding."""
    if not isinstance(scope, cst.FunctionDef):
        return False
    own = function_scope(scope, context)
    handed = set(own.params) - own.locals
    return _buffer_over(value, scope.body, handed, context)


def _buffer_over(
    value: cst.BaseExpression, body: cst.CSTNode, handed: set[str], context: FileContext
) -> bool:
    if isinstance(value, cst.Name):
        values = _bindings(value.value, body)
        return bool(values) and all(_buffer_over(v, body, handed, context) for v in values)
    if not isinstance(value, cst.Call) or context.imports.call_name(value) not in _BUFFERS:
        return False
    return bool(value.args) and all(
        isinstance(arg.value, cst.Name) and arg.value.value in handed for arg in value.args
    )


def _bindings(name: str, scope: cst.CSTNode) -> list[cst.BaseExpression]:
    return [
        bound[1]
        for node in descendants(scope, stop_at=SCOPE_NODES)
        if (bound := name_binding(node)) is not None
        and bound[0] == name
        and not isinstance(bound[1], cst.Name)  # `a = b`: not followed
    ]
