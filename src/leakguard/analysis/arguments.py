"""What the callers of a function pass it: does a parameter ever receive request data?

A parameter is request data when a request handler hands it over, directly or through
helpers. `fed_by_server_data(function, param, context)` proves the opposite: every call
of `function` in the run is a plain call in this file, and each passes for `param` a
value that holds no request data (a database query's result, a configuration list, a
local list of a few groups built in place), so the collection is bounded by the
server's state, not by what a client sends. Anything this cannot see keeps the
parameter request data: a call from another file on a request path, a use of the
function as a value (a callback, a route registration), a public function with no
caller in the run, a method, a starred argument.

`from_command_line(value, scope, context)`: whether a value of a function or of the
module derives from the program's command line: `sys.argv`, the namespace argparse
parses (`args = parser.parse_args()`, or a function of the file returning one), a
parameter of a CLI command (click, Typer), or a parameter every caller in the file
feeds such a value (`main(parse_args())`), through locals, operators, path builders
(`os.path.join(args.model_dir, "model.bin")`, `sorted(glob.glob(...), key=...)`),
methods of the value, comprehensions (the element; `if` clauses only filter), what a
plain function of the file returns for the arguments of that call, and a list handed to
a function of the file that only walks it (`_only_iterated`); any other call's result
is not the path typed (`fetch(args.url)` downloads it). A script run on the path its
operator typed loads the operator's own file.

`carries_request_data(value, function, context)`: whether an expression of `function`
may hold request data: the request object or data read from it (`await request.json()`,
`request.files`, not `request.app.state...`), a handler's parameters that carry
request-sized data (`request_data.data_parameters`: bodies, typed collections), a
parameter of a helper its callers feed request data (as above, a few calls back),
through the function's locals (every value bound to one, items appended to it, a loop
variable's collection) and any expression built from them, including the result of a
call that is handed one (`fetch(body.ids)` may return one row per id). Module-level
names, literals and calls on none of these hold none.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from enum import Enum

import libcst as cst

from leakguard.analysis.bindings import assigned_values
from leakguard.analysis.containers import FILLING_METHODS
from leakguard.analysis.entrypoints import is_cli_command
from leakguard.analysis.pydantic_models import (
    handler_params,
    param_tree,
    request_bindings,
    request_handlers,
    request_object_names,
)
from leakguard.analysis.request_data import data_parameters, request_attribute
from leakguard.analysis.request_paths import qualified_name
from leakguard.analysis.scopes import (
    MUTABLE_LITERALS,
    bound_names,
    function_scope,
    is_mutable_constructor,
    module_bindings,
)
from leakguard.analysis.summaries import summary_index
from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, descendants, walk

# How many callers back a parameter is followed.
DEFAULT_DEPTH = 3


def fed_by_server_data(
    function: cst.FunctionDef, param: str, context: FileContext, depth: int = DEFAULT_DEPTH
) -> bool:
    """Every caller of `function` passes `param` a value holding no request data (see
    the module docstring)."""
    key = ("arguments.fed", id(function), param, depth)
    cached = context.memo.get(key)
    if isinstance(cached, bool):
        return cached
    context.memo[key] = False  # a recursive call back here proves nothing
    result = depth > 0 and _fed(function, param, context, depth)
    context.memo[key] = result
    return result


def _fed(function: cst.FunctionDef, param: str, context: FileContext, depth: int) -> bool:
    if _called_from_other_files(function, context):
        return False
    passed = _passed_values(function, param, context)
    return passed is not None and not any(
        carries_request_data(value, caller, context, depth - 1)
        and not _fixed_size(value, caller, context)
        for value, caller in passed
    )


def _passed_values(
    function: cst.FunctionDef, param: str, context: FileContext
) -> list[tuple[cst.BaseExpression, cst.FunctionDef | None]] | None:
    """(value, the function passing it; None at module level) for `param` at every call
    of the module-level `function` in this file (a default the caller leaves is a
    module-level value); None when a call is not seen or may pass it by `*args`."""
    calls = _call_sites(function, context) if _module_level(function, context) else []
    if not calls:
        return None  # a method or nested function, or no caller in the file
    found: list[tuple[cst.BaseExpression, cst.FunctionDef | None]] = []
    for call, caller in calls:
        passed = _passed_value(call, function, param)
        if passed is None:
            return None
        value, default = passed
        found.append((value, None if default else caller))
    return found


def _module_level(function: cst.FunctionDef, context: FileContext) -> bool:
    """Its calls are looked up by name: a method's or nested function's are not."""
    return any(statement is function for statement in context.module.body)


_UNKNOWN = cst.Ellipsis()  # a sentinel: compared by identity


def _argument(call: cst.Call, param: str, position: int | None) -> cst.BaseExpression | None:
    """The value `call` passes for `param` (None: not passed; `_UNKNOWN`: a starred
    argument may pass it)."""
    positional = 0
    for arg in call.args:
        if arg.star:
            return _UNKNOWN
        if arg.keyword is not None:
            if arg.keyword.value == param:
                return arg.value
            continue
        if positional == position:
            return arg.value
        positional += 1
    return None


def _called_from_other_files(function: cst.FunctionDef, context: FileContext) -> bool:
    """A function of another file on a request path calls it (or the run's summaries
    are missing, so nothing is known)."""
    index = summary_index(context)
    if index is None:
        return True
    fid = f"{context.module_name}:{qualified_name(function, context)}"
    return any(caller.partition(":")[0] != context.module_name for caller in index.callers(fid))


def _call_sites(
    function: cst.FunctionDef, context: FileContext
) -> list[tuple[cst.Call, cst.FunctionDef | None]]:
    """Each `name(...)` call of the module-level `function` in this file, with the
    function making it (None at module level); empty when the name is also read as a
    value (handed over, registered, stored), whose calls cannot be seen."""
    key = ("arguments.calls", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, list):
        return cached
    name = function.name.value
    calls: list[tuple[cst.Call, cst.FunctionDef | None]] = []
    called: set[int] = set()
    reads: list[cst.Name] = []
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
            if node.func.value == name:
                owner = next(
                    (n for n in reversed(stack[:-1]) if isinstance(n, cst.FunctionDef)), None
                )
                calls.append((node, owner))
                called.add(id(node.func))
        elif isinstance(node, cst.Name) and node.value == name and node is not function.name:
            parent = stack[-2]
            if not (isinstance(parent, cst.Attribute) and parent.attr is node) and not (
                isinstance(parent, cst.Arg) and parent.keyword is node
            ):
                reads.append(node)

    walk(context.module, visit, stack=stack)
    found = [] if any(id(read) not in called for read in reads) else calls
    context.memo[key] = found
    return found


def carries_request_data(
    value: cst.BaseExpression,
    function: cst.FunctionDef | None,
    context: FileContext,
    depth: int = DEFAULT_DEPTH,
) -> bool:
    """`value`, an expression of `function` (None: module level), may hold request data
    (see the module docstring)."""
    return _carries(value, function, context, depth, set())


def _carries(
    value: cst.CSTNode,
    function: cst.FunctionDef | None,
    context: FileContext,
    depth: int,
    seen: set[str],
) -> bool:
    if function is None:
        return False  # module-level values are the program's own
    requests = request_object_names(function, context)

    def judge(node: cst.CSTNode) -> bool | None:
        if isinstance(node, cst.Name):
            return _name_carries(node.value, function, context, depth, seen)
        if isinstance(node, cst.Call) and function is not None:
            # A request model handed whole to a call (a tenant context, parsed options)
            # does not size what the call returns; a collection of it does (`body.ids`).
            handed = [
                arg.value
                for arg in node.args
                if not _whole_request_model(arg.value, function, context)
            ]
            if isinstance(node.func, cst.Attribute):
                handed.append(node.func)
            return any(_carries(v, function, context, depth, seen) for v in handed)
        if not isinstance(node, cst.Attribute):
            return None
        root = node.value
        while isinstance(root, (cst.Attribute, cst.Subscript, cst.Call)):
            root = root.func if isinstance(root, cst.Call) else root.value
        if isinstance(root, cst.Name) and root.value in requests:
            # `request.app.state...`, `request.headers`: not its data
            return request_attribute(node) is not None
        return None

    return _flows_from(value, judge)


def _whole_request_model(
    value: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> bool:
    """`value` is a route handler's parameter bound to a request model, not a collection
    of them (`body: Batch`, not `items: list[Item]`)."""
    if not isinstance(value, cst.Name) or id(function) not in request_handlers(context):
        return False
    if value.value not in request_bindings(function, context):
        return False
    param = next((p for p in handler_params(function) if p.name.value == value.value), None)
    return param is not None and param_tree(param, context)["k"] != "seq"


def _fixed_size(
    value: cst.BaseExpression, function: cst.FunctionDef | None, context: FileContext
) -> bool:
    """`value` is a local list its function builds in place with a fixed number of items:
    only list/tuple displays without unpacking are bound to it, and only `append` or
    `insert` calls outside loops fill it (`groups = []; if main: groups.append(main)`),
    and no call but the one passing `value` is handed it. However large each item, the
    fan-out over it starts that many jobs."""
    if function is None or not isinstance(value, cst.Name):
        return False
    name = value.value
    if name in function_scope(function, context).params:
        return False
    bound = False
    stack: list[cst.CSTNode] = []
    verdict = True

    def visit(node: cst.CSTNode) -> None:
        nonlocal bound, verdict
        if isinstance(node, cst.Name) and node.value == name and len(stack) >= 2:
            parent = stack[-2]
            if isinstance(parent, cst.AssignTarget):
                assign = stack[-3] if len(stack) >= 3 else None
                fixed = isinstance(assign, cst.Assign) and isinstance(
                    assign.value, (cst.List, cst.Tuple)
                )
                if not fixed or any(
                    isinstance(e, cst.StarredElement)
                    for e in assign.value.elements  # type: ignore[union-attr]
                ):
                    verdict = False
                bound = True
            elif isinstance(parent, cst.Attribute) and parent.value is node:
                method = parent.attr.value
                if method in FILLING_METHODS and (
                    method not in ("append", "insert") or _in_loop(stack)
                ):
                    verdict = False
            elif (
                isinstance(parent, (cst.AugAssign, cst.AnnAssign, cst.For, cst.CompFor))
                and getattr(parent, "target", None) is node
            ) or (isinstance(parent, cst.Arg) and node is not value):
                verdict = False  # rebound, or handed to a call that may fill it

    walk(function.body, visit, stack=stack)
    return bound and verdict


def _in_loop(stack: list[cst.CSTNode]) -> bool:
    """A node of `stack` (the path to a node) repeats: a loop, a comprehension, a nested
    function or lambda (called any number of times)."""
    return any(
        isinstance(node, (cst.For, cst.While, cst.CompFor, cst.FunctionDef, cst.Lambda))
        for node in stack[1:-1]
    )


def _flows_from(value: cst.CSTNode, judge: Callable[[cst.CSTNode], bool | None]) -> bool:
    """Whether `judge` says True of a node `value`'s data flows from: names, receivers
    and arguments of calls, attribute and subscript bases, operands (not a callee's
    own name, an attribute's name, a keyword, or code in a lambda). `judge` returns
    None to look inside a node, False to skip it."""
    todo: list[cst.CSTNode] = [value]
    while todo:
        node = todo.pop()
        if isinstance(node, (cst.Lambda, cst.FunctionDef, cst.ClassDef)):
            continue
        verdict = judge(node)
        if verdict:
            return True
        if verdict is not None or isinstance(node, cst.Name):
            continue
        if isinstance(node, cst.Attribute):
            todo.append(node.value)
        elif isinstance(node, cst.Call):
            if isinstance(node.func, cst.Attribute):
                todo.append(node.func)
            todo.extend(arg.value for arg in node.args)
        elif isinstance(node, cst.Arg):
            todo.append(node.value)
        else:
            todo.extend(node.children)
    return False


def _name_carries(
    name: str, function: cst.FunctionDef, context: FileContext, depth: int, seen: set[str]
) -> bool:
    if name in seen:
        return False
    seen.add(name)
    if name in request_object_names(function, context):
        return True
    scope = function_scope(function, context)
    if name in scope.params:
        if id(function) in request_handlers(context):
            return name in data_parameters(function, context)
        return not fed_by_server_data(function, name, context, depth)
    sources = _local_sources(function, context)
    if name not in scope.locals and name not in sources:
        # A module-level name or a builtin is the program's own, unless a function of
        # the file fills it: a module-level list a handler appends to holds what the
        # requests put there. A nested function's free name is its enclosing
        # function's local, not looked up.
        if name in module_bindings(context):
            return name in filled_at_runtime(context)
        return not hasattr(builtins, name)
    return any(_carries(source, function, context, depth, seen) for source in sources.get(name, []))


def _local_sources(
    function: cst.FunctionDef | cst.Module, context: FileContext
) -> dict[str, list[cst.CSTNode]]:
    """name -> every expression the scope's own body puts into the name: values
    bound to it (a whole value for each name of a tuple target), the collection a loop
    variable walks, a `with` item, items appended or assigned into it, `+=` operands,
    and for a container, the other arguments of a call it is handed to."""
    key = ("arguments.sources", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, dict):
        return cached
    sources: dict[str, list[cst.CSTNode]] = {}

    def add(target: cst.BaseExpression, value: cst.CSTNode) -> None:
        for bound in bound_names(target):
            sources.setdefault(bound, []).append(value)

    body = function.body if isinstance(function, cst.FunctionDef) else function
    for node in descendants(body, stop_at=SCOPE_NODES):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                add(target.target, node.value)
                if isinstance(target.target, cst.Subscript):
                    add(target.target.value, node.value)
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.NamedExpr)):
            if node.value is not None:
                add(node.target, node.value)
        elif isinstance(node, (cst.For, cst.CompFor)):
            add(node.target, node.iter)
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            add(node.asname.name, node.item)
        elif (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in FILLING_METHODS
            and isinstance(node.func.value, cst.Name)
        ):
            for arg in node.args:
                add(node.func.value, arg.value)
    # A container handed to a call may be filled there with what the call is given
    # (`fill(targets, body)`).
    containers = {
        name
        for name, values in sources.items()
        if any(isinstance(v, MUTABLE_LITERALS) for v in values)
    }
    for node in descendants(body, stop_at=SCOPE_NODES):
        if not isinstance(node, cst.Call):
            continue
        handed = [
            a.value.value
            for a in node.args
            if isinstance(a.value, cst.Name) and not _only_iterated(node, a, context)
        ]
        for name in containers.intersection(handed):
            sources[name].extend(
                a.value
                for a in node.args
                if not (isinstance(a.value, cst.Name) and a.value.value == name)
            )
    context.memo[key] = sources
    return sources


def _only_iterated(call: cst.Call, arg: cst.Arg, context: FileContext) -> bool:
    """`call` is of a plain module-level function of the file (`_file_function`) whose
    parameter receiving `arg` its body only walks (`for p in paths`, a comprehension's
    `for`) or measures (`len(paths)`): it puts nothing into the container."""
    if not isinstance(call.func, cst.Name) or arg.star:
        return False
    function = _file_function(call.func.value, context)
    if function is None:
        return False
    params = [*function.params.posonly_params, *function.params.params]
    if arg.keyword is not None:
        param = arg.keyword.value
    else:
        position = [a for a in call.args if a.keyword is None].index(arg)
        if position >= len(params):
            return False
        param = params[position].name.value
    ok = True
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        nonlocal ok
        if not ok or not isinstance(node, cst.Name) or node.value != param or len(stack) < 2:
            return
        parent = stack[-2]
        if any(isinstance(a, SCOPE_NODES) for a in stack[1:-1]):
            ok = False  # a nested function or lambda may do anything with it
        elif isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is node:
            return
        elif isinstance(parent, cst.Arg) and len(stack) >= 3:
            holder = stack[-3]
            ok = isinstance(holder, cst.Call) and context.imports.call_name(holder) == "len"
        else:
            ok = False

    walk(function.body, visit, stack=stack)
    return ok


def filled_at_runtime(context: FileContext) -> frozenset[str]:
    """Module-level names a function of the file puts items into: a filling method
    (`PENDING.append(x)`, `JOBS.update(...)`, `CACHE.setdefault(k, v)`), an item store
    (`JOBS[key] = job`) or `+=`. What they hold is whatever the calls put there, which
    may be request data; a container only the module's own code fills at import is
    configuration."""
    key = "arguments.filled_at_runtime"
    cached = context.memo.get(key)
    if isinstance(cached, frozenset):
        return cached
    module = {
        name
        for name, statement in module_bindings(context).items()
        if _binds_container(name, statement, context)
    }
    filled: set[str] = set()
    functions = descendants(context.module, only=(cst.FunctionDef,)) if module else iter(())
    for function in functions:
        if not isinstance(function, cst.FunctionDef):
            continue
        own = function_scope(function, context)
        for node in descendants(
            function.body, stop_at=SCOPE_NODES, only=(cst.Call, cst.AssignTarget, cst.AugAssign)
        ):
            target: cst.BaseExpression | None = None
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
                if node.func.attr.value in FILLING_METHODS:
                    target = node.func.value
            elif isinstance(node, cst.AssignTarget) and isinstance(node.target, cst.Subscript):
                target = node.target.value
            elif isinstance(node, cst.AugAssign):
                target = node.target
            if isinstance(target, cst.Subscript):
                target = target.value  # `GROUPS[key].append(x)`
            if (
                isinstance(target, cst.Name)
                and target.value in module
                and target.value not in own.locals
                and target.value not in own.params
            ):
                filled.add(target.value)
    result = frozenset(filled)
    context.memo[key] = result
    return result


def _binds_container(name: str, statement: cst.CSTNode, context: FileContext) -> bool:
    """The module-level `statement` binds `name` to a mutable container (`[]`, `{}`,
    `defaultdict(list)`)."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        if isinstance(small, cst.Assign) and any(
            isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets
        ):
            return is_mutable_constructor(small.value, context)
        if isinstance(small, cst.AnnAssign):
            target = small.target
            if isinstance(target, cst.Name) and target.value == name:
                return is_mutable_constructor(small.value, context)
    return False


# Calls whose result is the path built from their arguments (or the paths it matches).
_PATH_BUILDERS = frozenset(
    {
        "str",
        "sorted",
        "glob.glob",
        "glob.iglob",
        "os.fspath",
        "os.path.join",
        "os.path.abspath",
        "os.path.dirname",
        "os.path.realpath",
        "os.path.normpath",
        "os.path.expanduser",
        "os.path.expandvars",
        "pathlib.Path",
        "pathlib.PurePath",
    }
)
# argparse methods returning the parsed namespace.
_PARSE_METHODS = frozenset({"parse_args", "parse_known_args", "parse_intermixed_args"})


def from_command_line(
    value: cst.BaseExpression,
    scope: cst.CSTNode,
    context: FileContext,
    depth: int = DEFAULT_DEPTH,
) -> bool:
    """`value`, an expression of `scope` (a function or the module), derives from the
    command line (see the module docstring): in every calling context, every source of
    it does or is a literal or a module-level constant, and at least one does."""
    if not isinstance(scope, (cst.FunctionDef, cst.Module)):
        return False
    return _in_callers(value, scope, context, depth) is _Origin.ARGV


class _Origin(Enum):
    """Where the data of an expression comes from, for `from_command_line`."""

    CONSTANT = 0  # literals and module-level constants: the program's own text
    ARGV = 1  # the command line, possibly joined with constants
    OTHER = 2  # anything else (a download, a parameter another caller feeds, state)


# The origin of a parameter in one calling context.
_Parameters = Callable[[str], "_Origin"]


def _combine(origins: Iterable[_Origin]) -> _Origin:
    """All of a value's parts: any other source makes it other, else one from the
    command line makes it the command line's."""
    result = _Origin.CONSTANT
    for origin in origins:
        if origin is _Origin.OTHER:
            return origin
        if origin is _Origin.ARGV:
            result = origin
    return result


def _in_callers(
    value: cst.CSTNode, scope: cst.FunctionDef | cst.Module, context: FileContext, depth: int
) -> _Origin:
    """The origin of `value` the same in every calling context of `scope`, else other:
    a helper one caller hands `args.model` and another a fixed path loads a fixed file
    on that second call. Each call binds all parameters at once
    (`load(args.dir, "base.pt")`)."""
    if isinstance(scope, cst.Module) or is_cli_command(scope, context):
        return _argv(value, scope, context, lambda name: _Origin.ARGV, set())
    sites = _call_sites(scope, context) if depth > 0 and _module_level(scope, context) else []
    if not sites or _called_from_other_files(scope, context):
        return _argv(value, scope, context, lambda name: _Origin.OTHER, set())
    found: set[_Origin] = set()
    for call, caller in sites:
        found.add(
            _argv(value, scope, context, _bound_by(call, caller, scope, context, depth), set())
        )
        if len(found) > 1 or _Origin.OTHER in found:
            return _Origin.OTHER
    return found.pop()


def _bound_by(
    call: cst.Call,
    caller: cst.FunctionDef | None,
    function: cst.FunctionDef,
    context: FileContext,
    depth: int,
) -> _Parameters:
    """The origin of each parameter of `function` in the context of `call`, computed
    when first asked (a default the call leaves is a module-level value)."""
    memo: dict[str, _Origin] = {}

    def origin(name: str) -> _Origin:
        if name not in memo:
            memo[name] = _Origin.OTHER
            passed = _passed_value(call, function, name)
            if passed is not None:
                value, default = passed
                scope = context.module if default or caller is None else caller
                memo[name] = _in_callers(value, scope, context, depth - 1)
        return memo[name]

    return origin


def _argv(
    value: cst.CSTNode,
    scope: cst.FunctionDef | cst.Module,
    context: FileContext,
    params: _Parameters,
    seen: set[str],
) -> _Origin:
    def parts(nodes: Iterable[cst.CSTNode]) -> _Origin:
        return _combine(_argv(node, scope, context, params, seen) for node in nodes)

    if isinstance(value, (cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary)):
        return _Origin.CONSTANT
    if isinstance(value, (cst.ConcatenatedString, cst.BinaryOperation, cst.BooleanOperation)):
        return parts([value.left, value.right])
    if isinstance(value, cst.FormattedString):
        return parts(
            p.expression for p in value.parts if isinstance(p, cst.FormattedStringExpression)
        )
    if isinstance(value, cst.IfExp):
        return parts([value.body, value.orelse])  # the test only picks one
    if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
        return parts(e.value for e in value.elements)
    if isinstance(value, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
        # `[p for p in files if p.endswith(".bin")]`: the element, whose loop names are
        # bound to what they walk (`_local_sources`); the `if` clauses only filter.
        return _argv(value.elt, scope, context, params, seen)
    if isinstance(value, cst.Name):
        return _name_from_argv(value.value, scope, context, params, seen)
    if isinstance(value, cst.Attribute):
        if context.imports.qualify(value) == "sys.argv":
            return _Origin.ARGV
        # `args.model_dir`: an attribute of a parsed namespace is one of its values.
        return _argv(value.value, scope, context, params, seen)
    if isinstance(value, cst.Subscript):
        return _argv(value.value, scope, context, params, seen)  # `sys.argv[2]`: one of them
    if not isinstance(value, cst.Call):
        return _Origin.OTHER
    if _parses_arguments(value, context):
        return _Origin.ARGV
    handed = [arg.value for arg in value.args]
    called = context.imports.call_name(value)
    if called in _PATH_BUILDERS:
        if called == "sorted":
            # `sorted(files, key=os.path.getmtime, reverse=True)`: the keywords only order.
            handed = [a.value for a in value.args if a.keyword is None]
        return parts(handed)  # `os.path.join(args.model_dir, "model.bin")`
    if isinstance(value.func, cst.Name):
        function = _file_function(value.func.value, context)
        if function is not None:
            return _returned(value, function, scope, context, params, seen)
    if isinstance(value.func, cst.Attribute):
        # A method of the value itself (`args.model.strip()`, `base.joinpath(name)`) is
        # the value; any other call returns something else than the path typed
        # (`fetch(args.url)` downloads it).
        return parts([value.func.value, *handed])
    return _Origin.OTHER


def _file_function(name: str, context: FileContext) -> cst.FunctionDef | None:
    """The one module-level, plain (not async, not a generator) function `name` of the
    file, when nothing else at module level binds the name."""
    found = [
        s for s in context.module.body if isinstance(s, cst.FunctionDef) and s.name.value == name
    ]
    if len(found) != 1:
        return None
    function = found[0]
    if module_bindings(context).get(name) is not function or name in assigned_values(
        context.module, context
    ):
        return None
    if function.asynchronous is not None or any(
        isinstance(node, (cst.Yield, cst.Await))
        for node in descendants(function.body, stop_at=SCOPE_NODES)
    ):
        return None
    return function


def _returned(
    call: cst.Call,
    function: cst.FunctionDef,
    scope: cst.FunctionDef | cst.Module,
    context: FileContext,
    params: _Parameters,
    seen: set[str],
) -> _Origin:
    """The origin of what `call` of the file's `function` returns: every `return` value
    (falling off the end returns None), its parameters bound by this call. A recursive
    call, or more than `DEFAULT_DEPTH` nested, is other."""
    marker = f"<returns {id(function)}>"
    markers = {m for m in seen if m.startswith("<returns ")}
    if marker in markers or len(markers) >= DEFAULT_DEPTH:
        return _Origin.OTHER

    def bound(name: str) -> _Origin:
        passed = _passed_value(call, function, name)
        if passed is None:
            return _Origin.OTHER
        value, default = passed
        if default:
            return _argv(value, context.module, context, lambda _: _Origin.OTHER, set(markers))
        return _argv(value, scope, context, params, set(markers))

    returns = [
        node.value
        for node in descendants(function.body, stop_at=SCOPE_NODES)
        if isinstance(node, cst.Return) and node.value is not None
    ]
    inner = {*markers, marker}
    return _combine(_argv(r, function, context, bound, set(inner)) for r in returns)


def _name_from_argv(
    name: str,
    scope: cst.FunctionDef | cst.Module,
    context: FileContext,
    params: _Parameters,
    seen: set[str],
) -> _Origin:
    if name in seen:
        return _Origin.CONSTANT  # a cycle adds no source the other bindings lack
    seen.add(name)
    if name in ("None", "True", "False"):
        return _Origin.CONSTANT
    sources = _local_sources(scope, context)
    origins: list[_Origin] = []
    if isinstance(scope, cst.FunctionDef):
        own = function_scope(scope, context)
        if name in own.params:
            origins.append(params(name))  # and whatever the body rebinds it to, below
        elif name in own.locals and name not in sources:
            return _Origin.OTHER  # bound by an import, a `def`, an `except ... as`
        elif name not in sources:
            scope = context.module  # a module-level name (`args` of the main block)
            sources = _local_sources(scope, context)
    if not origins and name in context.constants.values:
        return _Origin.CONSTANT
    if name not in sources and not origins:
        return _Origin.OTHER  # an import, a function, a builtin: not a value typed
    origins.extend(_argv(source, scope, context, params, seen) for source in sources.get(name, []))
    return _combine(origins)


def _passed_value(
    call: cst.Call, function: cst.FunctionDef, param: str
) -> tuple[cst.BaseExpression, bool] | None:
    """(the value `call` passes for `param`, whether it is the default); None when a
    starred argument may pass it or it is `*args`/`**kwargs`."""
    params = [*function.params.posonly_params, *function.params.params]
    position = next((i for i, p in enumerate(params) if p.name.value == param), None)
    keyword_only = {p.name.value: p for p in function.params.kwonly_params}
    declared = params[position] if position is not None else keyword_only.get(param)
    if declared is None:
        return None
    value = _argument(call, param, position)
    if value is _UNKNOWN:
        return None
    if value is None:
        return None if declared.default is None else (declared.default, True)
    return value, False


def _parses_arguments(call: cst.Call, context: FileContext) -> bool:
    """`parser.parse_args()`, or a call of a module-level function of the file that
    returns one (`args = parse_args()`)."""
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value in _PARSE_METHODS
    if not isinstance(func, cst.Name):
        return False
    for statement in context.module.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == func.value:
            return any(
                isinstance(node, cst.Return)
                and isinstance(node.value, cst.Call)
                and isinstance(node.value.func, cst.Attribute)
                and node.value.func.attr.value in _PARSE_METHODS
                for node in descendants(statement.body, stop_at=SCOPE_NODES)
            )
    return False
