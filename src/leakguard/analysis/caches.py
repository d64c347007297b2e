"""Cache facts for LG108 (unbounded-cache): memoising decorators, dict caches, request
reachability and "is this stored value a model".

- `cache_decorator(decorator, context, names)`: the qualified name when a decorator is
  `functools.lru_cache`/`functools.cache` (bare, called, aliased), else None.
- `is_unbounded_cache_decorator(decorator, qualified)`: `@cache`, `@lru_cache(maxsize=None)`,
  `@lru_cache(None)`; a bare `@lru_cache` or `@lru_cache()` keeps 128 entries.
- `cache_decorator_maxsize(decorator, qualified, context)`: how many entries the decorator
  keeps at most, when the code fixes it at decoration time (128 for a bare `@lru_cache`, a
  literal or a module-level constant `maxsize`), else None.
- `is_dict_constructor(value, context)`: `{}`, `{...}`, `dict()`, `OrderedDict()`,
  `defaultdict(...)`: a plain, unbounded mapping.
- `uses_web_framework(context)`: the file imports a web framework.
- `request_reachable_names(context)`: names a request handler of this file calls or
  passes on (`handler -> helper(...)`, `run_in_threadpool(helper, ...)`).
- `eviction_index(context)`: the module names and attribute names that something in
  the file evicts from, resets, size-checks or hands to other code (one pass per file).
- `reads_by_key(function, key)`: `key[k]` loads, `key.get(k)`, `k in key`: the memo idiom.
- `constant_key(subscript, context)` / `is_constant(value, context)`: a fixed key (a
  literal, a tuple of literals, a module-level constant).
- `reference_scopes(context)`: for each name, the functions that mention it (`""` for
  module level), to tell helpers only constructors call.
- `key_bounded_by_source(function, store, key, ancestors, context)`: the key must name an
  element of a collection the program holds, or a file, or the function raises first.
- `key_bounded_by_program(store, function, context, owner)`: the whole key is a process
  or thread id, or a function/class object or its `id()`: one entry per process, thread
  or piece of code.
- `is_enum_class(classdef, context)`: an enum, whose instances live for the process.
- `model_value(value, function, context, factories, methods)`: the stored value is a
  fitted or loaded model (an estimator constructor, `.fit(...)`, `joblib.load(...)`,
  or a local assigned from one of those in the same function).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from leakguard.analysis.calls import keyword_arg, positional_arg
from leakguard.analysis.class_bases import derives_from
from leakguard.analysis.cleanup import CONSTRUCTOR_NAMES
from leakguard.analysis.files import BUILTIN_OPENERS
from leakguard.analysis.frameworks import is_request_handler
from leakguard.analysis.imports import dotted_name, matches_any
from leakguard.analysis.scopes import module_bindings
from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, descendants, plan_for, walk_targets

_DICT_FACTORIES = frozenset(
    {"dict", "collections.OrderedDict", "collections.defaultdict", "typing.OrderedDict"}
)


def decorator_target(decorator: cst.Decorator) -> tuple[cst.BaseExpression, cst.Call | None]:
    """(the decorator's callee, the call when it is called with arguments)."""
    target = decorator.decorator
    if isinstance(target, cst.Call):
        return target.func, target
    return target, None


def cache_decorator(
    decorator: cst.Decorator, context: FileContext, names: Sequence[str]
) -> str | None:
    target, _ = decorator_target(decorator)
    last = target.attr.value if isinstance(target, cst.Attribute) else None
    if last is not None and last not in {n.rsplit(".", 1)[-1] for n in names}:
        return None
    if not isinstance(target, (cst.Attribute, cst.Name)):
        return None
    qualified = context.imports.qualify(target)
    return qualified if matches_any(qualified, names) else None


def is_unbounded_cache_decorator(decorator: cst.Decorator, qualified: str) -> bool:
    _, call = decorator_target(decorator)
    if qualified.endswith(".cache"):
        return True
    if call is None:
        return False  # bare @lru_cache: maxsize=128
    maxsize = keyword_arg(call, "maxsize") or positional_arg(call, 0)
    return (
        maxsize is not None
        and isinstance(maxsize.value, cst.Name)
        and maxsize.value.value == "None"
    )


_LRU_CACHE_DEFAULT_MAXSIZE = 128  # functools.lru_cache's own default


def cache_decorator_maxsize(
    decorator: cst.Decorator, qualified: str, context: FileContext, owner: cst.ClassDef | None
) -> int | None:
    """The most entries a memoising decorator keeps, when the code fixes it: functools'
    default 128 for a bare `@lru_cache`/`@lru_cache()` (or `maxsize` not given), the folded
    value of `@lru_cache(1)`/`@lru_cache(maxsize=N)` with N a literal or a module-level
    constant bound once (`context.constants`: a variable or a call is not certain).
    `maxsize` is read once, when the decorator runs, so a later rebinding of the name
    cannot change it; but a name is looked up in the scope the decorator runs in, so it
    is only taken for a method of a module-level class `owner` (the decorated function's
    class, None for a plain function) whose body does not bind it.
    None: unbounded (`@cache`, `maxsize=None`), not known, or not `functools.lru_cache`."""
    if qualified != "functools.lru_cache":
        # `@cache`, or a configured decorator whose arguments mean something else
        # (`memoize(5)` may be a time to live): functools' meaning cannot be assumed.
        return None
    _, call = decorator_target(decorator)
    if call is None:
        return _LRU_CACHE_DEFAULT_MAXSIZE
    if any(arg.star for arg in call.args):
        return None  # `lru_cache(*sizes)`, `lru_cache(**options)`: the size is not in the code
    maxsize = keyword_arg(call, "maxsize") or positional_arg(call, 0)
    if maxsize is None:
        return _LRU_CACHE_DEFAULT_MAXSIZE
    size = maxsize.value
    names = {n.value for n in [size, *descendants(size)] if isinstance(n, cst.Name)}
    if names and (
        owner is None
        or owner not in context.module.body
        or (names | {"*"}) & _class_body_bindings(owner)
    ):
        return None
    folded = context.constants.fold_int(size)
    # functools treats a negative maxsize as 0 (no caching at all).
    return None if folded is None else max(folded, 0)


def _class_body_bindings(owner: cst.ClassDef) -> set[str]:
    """Names the class body itself binds (assignment, `for`, `with`, walrus and import
    targets, nested defs and classes), which shadow module-level names for code running
    in the body, decorators included. A star import binds anything: `{"*"}` then, which
    callers treat as binding every name."""
    bound: set[str] = set()
    for statement in owner.body.body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            bound.add(statement.name.value)
            continue
        for node in descendants(statement, stop_at=SCOPE_NODES):
            targets: list[cst.CSTNode] = []
            if isinstance(
                node, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.NamedExpr)
            ):
                targets = [node.target]
            elif isinstance(node, cst.AsName) or (
                isinstance(node, cst.ImportAlias) and node.asname is None
            ):
                targets = [node.name]
            elif isinstance(node, cst.ImportStar):
                bound.add("*")
            for target in targets:
                bound.update(
                    n.value for n in [target, *descendants(target)] if isinstance(n, cst.Name)
                )
    return bound


def is_dict_constructor(value: cst.BaseExpression | None, context: FileContext) -> bool:
    if isinstance(value, (cst.Dict, cst.DictComp)):
        return True
    if isinstance(value, cst.Call):
        return context.imports.qualify(value.func) in _DICT_FACTORIES
    return False


WEB_FRAMEWORKS = (
    "fastapi",
    "starlette",
    "flask",
    "aiohttp",
    "django",
    "quart",
    "sanic",
    "litestar",
    "tornado",
    "bottle",
    "falcon",
)


def uses_web_framework(context: FileContext) -> bool:
    """The file imports a web framework (cheap gate before looking for handlers)."""
    return any(
        target.split(".", 1)[0] in WEB_FRAMEWORKS for target in context.imports.aliases.values()
    )


def request_reachable_names(context: FileContext) -> frozenset[str]:
    """Names called or passed on by the request handlers of this file."""
    cached = context.memo.get("caches.request_reachable_names")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    names: set[str] = set()
    for node in descendants(context.module, only=(cst.FunctionDef,)):
        if not isinstance(node, cst.FunctionDef) or not is_request_handler(node, context):
            continue
        for inner in descendants(node.body, stop_at=SCOPE_NODES, only=(cst.Call, cst.Arg)):
            if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Name):
                names.add(inner.func.value)
            elif isinstance(inner, cst.Arg) and isinstance(inner.value, cst.Name):
                names.add(inner.value.value)
    result = frozenset(names)
    context.memo["caches.request_reachable_names"] = result
    return result


@dataclass(frozen=True)
class EvictionIndex:
    """Everything in one file that may evict from a dict, found in one pass.

    Names are module-level names (`CACHE`); attributes are attribute names whatever the
    receiver (`_cache` for `self._cache`, `doc._cache`, `Cls._cache`): a cache cleared
    through another reference to its owner (`logger._cache.clear()` from a manager) is
    still cleared.
    """

    names: frozenset[str]
    attributes: frozenset[str]


def eviction_index(context: FileContext) -> EvictionIndex:
    """Dicts with an eviction path: `pop`/`popitem`/`clear`/... calls, `del x[k]`,
    `del x`, reassignment in a function (`global` names; attributes outside
    constructors), a `len(x)` comparison (a size check), or the dict handed to other
    code (a call argument or a return value) that might evict."""
    cached = context.memo.get("caches.eviction_index")
    if isinstance(cached, EvictionIndex):
        return cached
    names: set[str] = set()
    attributes: set[str] = set()

    def record(expr: cst.BaseExpression, strip_subscript: bool = False) -> None:
        if strip_subscript and isinstance(expr, cst.Subscript):
            expr = expr.value
        if isinstance(expr, cst.Name):
            names.add(expr.value)
        elif isinstance(expr, cst.Attribute):
            attributes.add(expr.attr.value)

    scanned = (cst.Attribute, cst.Del, cst.Comparison, cst.Call, cst.Return, cst.FunctionDef)
    for node in descendants(context.module, only=scanned):
        if isinstance(node, cst.Attribute):
            if node.attr.value in _EVICTING_METHODS:
                record(node.value)  # `CACHE.pop(k)`, or `CACHE.clear` handed over as a callback
        elif isinstance(node, cst.Del):
            for target in _del_targets(node.target):
                record(target, strip_subscript=True)
        elif isinstance(node, cst.Comparison):
            for inner in [node.left, *(t.comparator for t in node.comparisons)]:
                if isinstance(inner, cst.Call) and _is_len_call(inner):
                    record(inner.args[0].value)
        elif isinstance(node, cst.Call) and not _is_read_only_builtin(node):
            for arg in node.args:
                record(arg.value)  # handed to other code, which may evict
        elif isinstance(node, cst.Return) and node.value is not None:
            record(node.value)
        elif isinstance(node, cst.FunctionDef):
            _record_reassignments(node, names, attributes)
    index = EvictionIndex(frozenset(names), frozenset(attributes))
    context.memo["caches.eviction_index"] = index
    return index


_EVICTING_METHODS = frozenset({"pop", "popitem", "clear", "popleft", "remove", "discard"})
# Builtins that only read their argument: `len(CACHE)` in a key is not an eviction path.
_READ_ONLY_BUILTINS = frozenset(
    {
        "len",
        "iter",
        "sorted",
        "list",
        "tuple",
        "set",
        "str",
        "repr",
        "print",
        "isinstance",
        "bool",
        "any",
        "all",
        "sum",
        "min",
        "max",
        "enumerate",
        "reversed",
        "id",
        "hash",
        "type",
    }
)


def _is_read_only_builtin(call: cst.Call) -> bool:
    return isinstance(call.func, cst.Name) and call.func.value in _READ_ONLY_BUILTINS


def _is_len_call(node: cst.BaseExpression) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value == "len"
        and len(node.args) == 1
    )


def _del_targets(target: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(target, (cst.Tuple, cst.List)):
        found: list[cst.BaseExpression] = []
        for element in target.elements:
            found.extend(_del_targets(element.value))
        return found
    return [target]


def _record_reassignments(function: cst.FunctionDef, names: set[str], attributes: set[str]) -> None:
    """`global N; N = ...` and `obj.attr = ...` outside constructors, in `function`."""
    declared: set[str] = set()
    assignments: list[cst.BaseExpression] = []
    scanned = (cst.Global, cst.Assign, cst.AnnAssign)
    for node in descendants(function.body, stop_at=SCOPE_NODES, only=scanned):
        if isinstance(node, cst.Global):
            declared.update(n.name.value for n in node.names)
        elif isinstance(node, cst.Assign):
            assignments.extend(t.target for t in node.targets)
        elif isinstance(node, cst.AnnAssign) and node.value is not None:
            assignments.append(node.target)
    is_constructor = function.name.value in CONSTRUCTOR_NAMES
    for target in assignments:
        for element in _del_targets(target):
            if isinstance(element, cst.Name) and element.value in declared:
                names.add(element.value)
            elif isinstance(element, cst.Attribute) and not is_constructor:
                attributes.add(element.attr.value)


_READS_BY_KEY_NODES = (
    cst.Assign,
    cst.AugAssign,
    cst.AnnAssign,
    cst.Del,
    cst.Subscript,
    cst.Call,
    cst.ComparisonTarget,
)


def reads_by_key(function: cst.CSTNode, key: str) -> bool:
    """`key[k]` read (not stored or deleted), `key.get(k)`, `k in key` in `function`."""
    written: set[int] = set()
    nodes = list(descendants(function, stop_at=SCOPE_NODES, only=_READS_BY_KEY_NODES))
    for node in nodes:
        if isinstance(node, cst.Assign):
            written.update(id(t.target) for t in node.targets)
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.Del)):
            written.add(id(node.target))
    for node in nodes:
        if isinstance(node, cst.Subscript):
            if id(node) not in written and dotted_name(node.value) == key:
                return True
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value == "get" and dotted_name(node.func.value) == key:
                return True
        elif (
            isinstance(node, cst.ComparisonTarget)
            and isinstance(node.operator, (cst.In, cst.NotIn))
            and dotted_name(node.comparator) == key
        ):
            return True
    return False


def model_value(
    value: cst.BaseExpression,
    function: cst.CSTNode | None,
    context: FileContext,
    factories: Sequence[str],
    methods: frozenset[str],
) -> bool:
    """The stored value is a model: built by a configured factory or a `.fit(...)` call,
    directly or through a local assigned in the same function."""
    if isinstance(value, cst.Name):
        if function is None:
            return False
        return any(
            _builds_model(assigned, context, factories, methods)
            for assigned in _assigned_values(function, value.value)
        )
    return _builds_model(value, context, factories, methods)


def _builds_model(
    value: cst.BaseExpression,
    context: FileContext,
    factories: Sequence[str],
    methods: frozenset[str],
) -> bool:
    if not isinstance(value, cst.Call):
        return False
    if isinstance(value.func, cst.Attribute) and value.func.attr.value in methods:
        return True
    return matches_any(context.imports.qualify(value.func), factories)


def _assigned_values(function: cst.CSTNode, name: str) -> list[cst.BaseExpression]:
    """Every value assigned to the local `name` in `function` (any branch)."""
    values: list[cst.BaseExpression] = []
    for node in descendants(function, stop_at=SCOPE_NODES, only=(cst.Assign,)):
        if isinstance(node, cst.Assign) and any(
            isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets
        ):
            values.append(node.value)
    return values


def constant_key(subscript: cst.Subscript, context: FileContext | None = None) -> bool:
    """`d["fetched_at"] = ...`, `d[()] = ...`, `d[DEFAULT_KEY] = ...`: a literal key (or a
    tuple of literals, or a module-level constant bound once to a literal) names one
    slot, which a store replaces; a dict written only under fixed keys cannot grow."""
    if len(subscript.slice) != 1:
        return False
    index = subscript.slice[0].slice
    if not isinstance(index, cst.Index):
        return False
    return is_constant(index.value, context)


def literal_key(subscript: ast.Subscript) -> bool:
    """Triage: what `constant_key` accepts that CPython's `ast` can tell: a string, bytes,
    number, `True`, `False` or `None` index (a tuple may be two slices to LibCST, and
    module constants are not known here)."""
    index = subscript.slice
    return isinstance(index, ast.Constant) and type(index.value) in _LITERAL_KEYS


_LITERAL_KEYS = (str, bytes, int, float, bool, type(None))


def is_constant(value: cst.BaseExpression, context: FileContext | None = None) -> bool:
    """A literal, a tuple of literals, or a module-level constant bound once to one."""
    if isinstance(value, (cst.SimpleString, cst.Integer, cst.Float, cst.ConcatenatedString)):
        return True
    if isinstance(value, cst.Name):
        if value.value in ("True", "False", "None"):
            return True
        return context is not None and value.value in context.constants.values
    if isinstance(value, cst.Tuple):
        return all(
            isinstance(e, cst.Element) and is_constant(e.value, context) for e in value.elements
        )
    return False


_ENUM_BASES = ("enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.IntFlag")


def is_enum_class(classdef: cst.ClassDef, context: FileContext) -> bool:
    """The class derives from `enum.Enum` (directly, or through classes of this file or
    of the run: `class_bases.derives_from`): its instances are its members, created once
    and alive for the whole process, so caching on `self` keeps nothing alive that would
    otherwise be freed."""
    return derives_from(classdef, context, _ENUM_BASES)


def returns_stored_value(function: cst.CSTNode, key: str) -> bool:
    """`return key[k]` somewhere in `function`: the hit path of the memo idiom
    (`if k in CACHE: return CACHE[k]`, `if k not in CACHE: CACHE[k] = f(k)` then
    `return CACHE[k]`), as opposed to a membership check that only refuses duplicates."""
    for node in descendants(function, stop_at=SCOPE_NODES, only=(cst.Return,)):
        if (
            isinstance(node, cst.Return)
            and isinstance(node.value, cst.Subscript)
            and dotted_name(node.value.value) == key
        ):
            return True
    return False


def updates_existing_key(function: cst.FunctionDef, store: cst.Subscript, key: str) -> bool:
    """The function reads `key[k]` unguarded (a plain subscript load, which raises for a
    missing key) before it stores under the same `k` in its top-level statements: the
    store replaces an entry that already exists, so the dict does not grow."""
    wanted = _slice_code(store)
    if wanted is None:
        return False
    for statement in function.body.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and any(t.target is store for t in small.targets):
                return False
            value = small.value if isinstance(small, (cst.Assign, cst.Expr)) else None
            if value is None:
                continue
            for node in [value, *descendants(value, stop_at=SCOPE_NODES)]:
                if (
                    isinstance(node, cst.Subscript)
                    and dotted_name(node.value) == key
                    and _slice_code(node) == wanted
                ):
                    return True
    return False


def reference_scopes(context: FileContext) -> dict[str, frozenset[str]]:
    """name -> the names of the innermost functions whose bodies mention it (called or
    passed on), `""` for a mention outside any function. One pass per file."""
    cached = context.memo.get("caches.reference_scopes")
    if isinstance(cached, dict):
        return cached
    found: dict[str, set[str]] = {}
    path: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        if not isinstance(node, cst.Name):
            return
        parent = path[-2] if len(path) > 1 else None
        if isinstance(parent, (cst.FunctionDef, cst.ClassDef)) and parent.name is node:
            return  # the definition's own name
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return
        scope = next(
            (n.name.value for n in reversed(path[:-1]) if isinstance(n, cst.FunctionDef)), ""
        )
        found.setdefault(node.value, set()).add(scope)

    names = frozenset({cst.Name})
    walk_targets(context.module, plan_for(names), {cst.Name: visit}, {}, stack=path)
    result = {name: frozenset(scopes) for name, scopes in found.items()}
    context.memo["caches.reference_scopes"] = result
    return result


def key_bounded_by_source(
    function: cst.FunctionDef,
    store: cst.Subscript,
    key: str,
    ancestors: Sequence[cst.CSTNode],
    context: FileContext,
) -> bool:
    """The key can only name an element of a finite source, because a key outside it
    raises before the store: an unguarded lookup of the same key in a collection the
    program holds (`self.raw_data[i]`, `TABLE[k]`, in the function's top-level statements
    before the store; not the stored dict, not a parameter such as request data), or the
    store sits in `with open(path)` whose path is built from the key (a cache of files:
    a name with no file raises). The dict then holds at most one entry per element."""
    wanted = _slice_code(store)
    if wanted is None:
        return False
    for statement in function.body.body:
        if any(
            n is store for n in descendants(statement, stop_at=SCOPE_NODES, only=(cst.Subscript,))
        ):
            break
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for node in descendants(statement, stop_at=SCOPE_NODES, only=(cst.Subscript,)):
            if (
                isinstance(node, cst.Subscript)
                and _slice_code(node) == wanted
                and _program_collection(node.value, key, function, context)
            ):
                return True
    names = _key_names(store)
    if not names:
        return False
    locals_ = _single_assignments(function)
    for ancestor in ancestors:
        if ancestor is function:
            break
        if not isinstance(ancestor, cst.With):
            continue
        for item in ancestor.items:
            call = item.item
            if (
                isinstance(call, cst.Call)
                and context.imports.qualify(call.func) in BUILTIN_OPENERS
                and call.args
                and _mentions(call.args[0].value, names, locals_)
            ):
                return True
    return False


def _program_collection(
    value: cst.BaseExpression, key: str, function: cst.FunctionDef, context: FileContext
) -> bool:
    """`self.<attr>` or a module-level name other than the store itself."""
    name = dotted_name(value)
    if name is None or name == key:
        return False
    receiver = function.params.params[0].name.value if function.params.params else None
    head, _, rest = name.partition(".")
    if receiver is not None and head == receiver:
        return rest.count(".") == 0 and rest != ""
    return "." not in name and name in module_bindings(context)


def _key_names(store: cst.Subscript) -> set[str]:
    index = store.slice[0].slice
    if not isinstance(index, cst.Index):
        return set()
    value = index.value
    return {n.value for n in [value, *descendants(value)] if isinstance(n, cst.Name)}


def _mentions(
    expr: cst.BaseExpression, names: set[str], locals_: dict[str, cst.BaseExpression]
) -> bool:
    """`expr` uses one of `names`, directly or through a local assigned once from one."""
    for node in [expr, *descendants(expr)]:
        if isinstance(node, cst.Name):
            if node.value in names:
                return True
            bound = locals_.get(node.value)
            if bound is not None and any(
                isinstance(n, cst.Name) and n.value in names for n in [bound, *descendants(bound)]
            ):
                return True
    return False


def _slice_code(subscript: cst.Subscript) -> str | None:
    if len(subscript.slice) != 1 or not isinstance(subscript.slice[0].slice, cst.Index):
        return None
    return cst.Module([]).code_for_node(subscript.slice[0].slice.value)


_PAYLOAD_METHODS = frozenset({"model_dump", "dict", "copy", "model_copy", "json", "to_dict"})
_PAYLOAD_CALLS = frozenset({"dict", "jsonable_encoder", "fastapi.encoders.jsonable_encoder"})


def is_request_payload(
    value: cst.BaseExpression,
    function: cst.FunctionDef,
    nearest: dict[str, cst.BaseExpression] | None = None,
    depth: int = 2,
) -> bool:
    """The stored value is the caller's own data: built only from the function's
    parameters by literals, containers and serialisation (`item.model_dump()`,
    `{"name": name}`, `jsonable_encoder(item)`), possibly through a local assigned once
    from such an expression. A dict of such values is an in-memory store of what
    clients sent (a tutorial's "database"), not a cache of computed results. `nearest`
    gives, for locals assigned more than once, the assignment that reaches the store."""
    params = {
        p.name.value
        for p in (
            *function.params.posonly_params,
            *function.params.params,
            *function.params.kwonly_params,
        )
    }
    locals_ = {**_single_assignments(function), **(nearest or {})}
    mentioned: list[str] = []  # a literal default (`{"hits": 0}`) is not what clients sent

    def payload(node: cst.BaseExpression, hops: int) -> bool:
        if isinstance(node, cst.Name):
            if node.value in params:
                mentioned.append(node.value)
                return True
            bound = locals_.get(node.value)
            return bound is not None and hops > 0 and payload(bound, hops - 1)
        if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float, cst.ConcatenatedString)):
            return True
        if isinstance(node, cst.Attribute):
            return payload(node.value, hops)
        if isinstance(node, (cst.Dict, cst.List, cst.Tuple, cst.Set)):
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    if not (payload(element.key, hops) and payload(element.value, hops)):
                        return False
                elif not payload(element.value, hops):
                    return False
            return True
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in _PAYLOAD_METHODS:
                inner = payload(func.value, hops)
            elif (dotted_name(func) or "") in _PAYLOAD_CALLS:
                inner = True
            else:
                return False
            return inner and all(payload(a.value, hops) for a in node.args)
        return False

    return payload(value, depth) and bool(mentioned)


def _single_assignments(function: cst.FunctionDef) -> dict[str, cst.BaseExpression]:
    """Locals of `function` assigned exactly once (`name = value`), with their value."""
    seen: dict[str, list[cst.BaseExpression]] = {}
    scanned = (cst.Assign, cst.AugAssign, cst.For)
    for node in descendants(function.body, stop_at=SCOPE_NODES, only=scanned):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    seen.setdefault(target.target.value, []).append(node.value)
        elif isinstance(node, (cst.AugAssign, cst.For)) and isinstance(node.target, cst.Name):
            seen.setdefault(node.target.value, []).extend([node.target, node.target])
    return {name: values[0] for name, values in seen.items() if len(values) == 1}


# Values with one distinct result per process or per live thread: a dict keyed only by
# them holds one entry per process or thread the program runs, not one per request.
_RUNTIME_IDENTITIES = frozenset(
    {
        "os.getpid",
        "os.getppid",
        "threading.get_ident",
        "threading.get_native_id",
        "threading.current_thread",
        "_thread.get_ident",
    }
)
# `inspect` functions that raise TypeError unless given a module, class, function, method,
# frame or code object: an argument they are applied to is a piece of the program's code.
_CODE_ONLY_INSPECTORS = frozenset(
    {
        "inspect.getsourcefile",
        "inspect.getsourcelines",
        "inspect.getsource",
        "inspect.getfile",
        "inspect.findsource",
    }
)
_CODE_ANNOTATIONS = frozenset(
    {"typing.Callable", "collections.abc.Callable", "type", "typing.Type"}
)


def key_bounded_by_program(
    store: cst.Subscript,
    function: cst.FunctionDef,
    context: FileContext,
    owner: cst.ClassDef | None = None,
) -> bool:
    """The whole key is an identity the running program bounds: the process or thread id
    (`os.getpid()`, `threading.get_ident()`), or a function or class object or its `id()`
    (a `def`/`class` of the module, a parameter annotated `Callable`/`type`, or one the
    function hands to `inspect.getsourcefile`-like calls that accept only code), or a
    tuple of those and constants. Seen through locals assigned once and through a
    zero-argument helper (`self._session_key()`, a module function) whose every return is
    such a value. The dict then holds one entry per process, thread or piece of code."""
    if len(store.slice) != 1 or not isinstance(store.slice[0].slice, cst.Index):
        return False
    return _program_identity(store.slice[0].slice.value, function, context, owner, depth=2)


def _program_identity(
    value: cst.BaseExpression,
    function: cst.FunctionDef,
    context: FileContext,
    owner: cst.ClassDef | None,
    depth: int,
) -> bool:
    if is_constant(value, context):
        return True
    if isinstance(value, cst.Tuple):
        return bool(value.elements) and all(
            isinstance(e, cst.Element)
            and _program_identity(e.value, function, context, owner, depth)
            for e in value.elements
        )
    if isinstance(value, cst.Name):
        if _is_code_object(value.value, function, context):
            return True
        bound = _single_assignments(function).get(value.value)
        return (
            bound is not None
            and bound is not value
            and _program_identity(bound, function, context, owner, depth)
        )
    if not isinstance(value, cst.Call):
        return False
    qualified = context.imports.qualify(value.func)
    if qualified in _RUNTIME_IDENTITIES and not value.args:
        return True
    if qualified in ("id", "builtins.id") and len(value.args) == 1:
        argument = value.args[0].value
        return isinstance(argument, cst.Name) and _is_code_object(argument.value, function, context)
    if value.args or depth == 0:
        return False
    helper = _zero_argument_helper(value.func, function, context, owner)
    if helper is None:
        return False
    returned = [
        node.value
        for node in descendants(helper.body, stop_at=SCOPE_NODES)
        if isinstance(node, cst.Return)
    ]
    return bool(returned) and all(
        r is not None and _program_identity(r, helper, context, owner, depth - 1) for r in returned
    )


def _zero_argument_helper(
    callee: cst.BaseExpression,
    function: cst.FunctionDef,
    context: FileContext,
    owner: cst.ClassDef | None,
) -> cst.FunctionDef | None:
    """The function `callee` names in this file: `self.m` (a method of `owner`, called on
    the caller's receiver) or a module-level `def`."""
    if isinstance(callee, cst.Name):
        statement = module_bindings(context).get(callee.value)
        return statement if isinstance(statement, cst.FunctionDef) else None
    if (
        owner is not None
        and isinstance(callee, cst.Attribute)
        and isinstance(callee.value, cst.Name)
        and function.params.params
        and callee.value.value == function.params.params[0].name.value
    ):
        for statement in owner.body.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == callee.attr.value:
                return statement
    return None


def _is_code_object(name: str, function: cst.FunctionDef, context: FileContext) -> bool:
    """`name` is a `def`/`class` of the module, or a parameter of `function` annotated as a
    callable or a class, or one it passes to an `inspect` call that accepts only code."""
    parameters = [
        *function.params.posonly_params,
        *function.params.params,
        *function.params.kwonly_params,
    ]
    parameter = next((p for p in parameters if p.name.value == name), None)
    if parameter is None:
        statement = module_bindings(context).get(name)
        return isinstance(statement, (cst.FunctionDef, cst.ClassDef))
    if parameter.annotation is not None:
        annotation = parameter.annotation.annotation
        if isinstance(annotation, cst.Subscript):
            annotation = annotation.value
        if context.imports.qualify(annotation) in _CODE_ANNOTATIONS:
            return True
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        if (
            isinstance(node, cst.Call)
            and context.imports.qualify(node.func) in _CODE_ONLY_INSPECTORS
            and node.args
            and isinstance(node.args[0].value, cst.Name)
            and node.args[0].value.value == name
        ):
            return True
    return False
