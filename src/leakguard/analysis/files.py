"""Local file handles: calls that open a file on the local file system and the names a
function binds to them (`with open(path, "wb") as f`, `f = path.open()`,
`tmp = tempfile.NamedTemporaryFile()`).

Work on such a handle (`f.write(chunk)`, `f.read(n)`) is bounded local I/O: it neither
waits on a peer nor runs model code.

`in_memory_buffer(value, function, context)`: `value` is an `io.BytesIO`/`io.StringIO`
over bytes the function is handed as a parameter (directly or through a local only
bound to one): no file, no path of its own.

`read_path(value, scope, context)`: the path whose text `value` reads (`path.read_text()`,
`open(path)`, a handle bound to one, `f.read()`); `constant_path(path, scope, context)`:
the path string when it is built only from string literals, module constants and
`__file__` (`Path("docs/en") / "mkdocs.yml"`, `Path(__file__).parent / "config.yaml"`,
"<file>/" standing for the file's directory).

`io_offloaded(call, function, context)`: the file `call` opens is bound to a name whose
every read in `function` hands the file (or one of its methods) to a worker thread, so
its reads and writes run off the event loop and only the `open` syscall stays on it.
"""

from __future__ import annotations

import libcst as cst

from leakguard.analysis.asyncio_facts import offload_call
from leakguard.analysis.bindings import module_assigned_once
from leakguard.analysis.scopes import function_scope, is_read
from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, descendants, walk

# `open` itself, by each name it is reached through.
BUILTIN_OPENERS = frozenset({"open", "io.open", "builtins.open"})
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
        # A use inside a nested scope is a read too (it is not in an offload of the
        # function's own body).
        parent = stack[-2] if len(stack) >= 2 else None
        if isinstance(node, cst.Name) and node.value == name and is_read(node, parent):
            reads.append(node)

    walk(function.body, visit, stack=stack)
    return bool(reads) and all(id(read) in offloaded for read in reads)


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


# How a text file is read from its path: `path.read_text()`, `open(path)`/`path.open()`,
# or a handle bound to one (`with open(path) as f`) and `f.read()`.
_TEXT_READERS = frozenset({"read_text", "read"})
# Path functions whose result is the path of their first argument (or one above it).
_SAME_PATH = frozenset({"os.path.abspath", "os.path.realpath", "os.path.normpath", "os.fspath"})
_PATH_CONSTRUCTORS = frozenset({"pathlib.Path", "pathlib.PurePath", "os.path.join"})
_SAME_PATH_METHODS = frozenset({"resolve", "absolute"})
_ANCHOR = "<file>/"  # stands for the directory of the program's own file


def anchored(path: str) -> bool:
    """A `constant_path` result anchored at the program's own file."""
    return path.startswith(_ANCHOR)


def read_path(
    value: cst.BaseExpression, scope: cst.CSTNode, context: FileContext
) -> cst.BaseExpression | None:
    """The path whose text `value`, an expression of `scope`, reads (see the module
    docstring)."""
    return _read_path(value, scope, context, 3)


def constant_path(path: cst.BaseExpression, scope: cst.CSTNode, context: FileContext) -> str | None:
    """The path `path` builds from literals, module constants and `__file__` alone."""
    return _fold_path(path, scope, context, 10)


def _read_path(
    value: cst.BaseExpression, scope: cst.CSTNode, context: FileContext, depth: int
) -> cst.BaseExpression | None:
    """The path `value` reads the text of, when that is all it does."""
    if depth == 0 or not isinstance(value, (cst.Call, cst.Name)):
        return None
    if isinstance(value, cst.Name):
        bound = _single_binding(value.value, scope, context)
        return _read_path(bound, scope, context, depth - 1) if bound is not None else None
    if opens_file(value, context) and value.args and isinstance(value.func, cst.Name):
        return value.args[0].value  # `open(path)`
    if not isinstance(value.func, cst.Attribute):
        return None
    method = value.func.attr.value
    receiver = value.func.value
    if method == "open" or method == "read_text":
        return receiver  # `path.open()`, `path.read_text(encoding="utf-8")`
    if method in _TEXT_READERS:
        return _read_path(receiver, scope, context, depth - 1)  # `f.read()` of a handle
    return None


def _single_binding(
    name: str, scope: cst.CSTNode, context: FileContext
) -> cst.BaseExpression | None:
    """The one value `name` is bound to: in the function `scope` (not a parameter), or
    once at module level (`en_config_path: Path = en_docs_path / mkdocs_name`)."""
    if isinstance(scope, cst.FunctionDef):
        own = function_scope(scope, context)
        if name in own.params:
            return None
        if name in own.locals:
            values = _bindings(name, scope.body)  # `=` and `with ... as` bindings
            return values[0] if len(values) == 1 else None
    return module_assigned_once(name, context)


def _fold_path(
    node: cst.BaseExpression, scope: cst.CSTNode, context: FileContext, depth: int
) -> str | None:
    """The path `node` builds when it is made of string literals, module constants and
    `__file__` alone ("<file>/" standing for the file's directory), else None."""
    if depth == 0:
        return None
    folded = context.constants.fold(node)
    if isinstance(folded, str):
        return folded
    if isinstance(node, cst.Name):
        if node.value == "__file__":
            return _ANCHOR + "__file__"
        bound = _single_binding(node.value, scope, context)
        return _fold_path(bound, scope, context, depth - 1) if bound is not None else None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
        parts = [node.left, node.right]
    elif isinstance(node, cst.Attribute) and node.attr.value == "parent":
        parts = [node.value, cst.SimpleString('".."')]
    elif isinstance(node, cst.Call):
        name = context.imports.call_name(node) or ""
        args = [a.value for a in node.args if a.keyword is None and not a.star]
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _SAME_PATH_METHODS:
            return None if node.args else _fold_path(func.value, scope, context, depth - 1)
        if len(args) != len(node.args) or not args:
            return None
        if name in _PATH_CONSTRUCTORS:
            parts = args
        elif name in _SAME_PATH and len(args) == 1:
            return _fold_path(args[0], scope, context, depth - 1)
        elif name == "os.path.dirname" and len(args) == 1:
            parts = [args[0], cst.SimpleString('".."')]
        else:
            return None
    else:
        return None
    folded_parts = [_fold_path(part, scope, context, depth - 1) for part in parts]
    if any(part is None for part in folded_parts):
        return None
    path = ""
    for part in folded_parts:
        assert part is not None
        # A later absolute part replaces what came before, as `os.path.join` does.
        path = part if not path or part.startswith(("/", _ANCHOR)) else f"{path}/{part}"
    return path
