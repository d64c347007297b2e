"""Whether a value of a function only reaches its response (or a log line).

A request number that is only echoed back (`return {"limit": limit}`) or never read
sizes no work, however it is named; a field of a request model is the same when the
handler returns the model whole. The question is asked per name of one function: every
read of the name must end in the returned value, a log or print call, or a local that
itself only reaches those, passing through nothing but containers, f-strings, attribute
reads and calls that only package a value for the response.

More ends size no work either:
- a clamp (`min(limit, settings.max_limit)`): the result has an upper bound when another
  argument is a ceiling the request cannot raise (`analysis/clamps.py`; `min(limit,
  body.other)` is none); `max(limit, 1)` on the way only floors it (`min(max(limit, 1),
  100)`); and every read after a statement of the function's own body that clamps the
  value (`limit = min(limit, 100)`, `if limit > MAX: raise ...`);
- a bound of a slice of a list already built in memory (`sorted(rows)[:limit]`): the
  list cost what it cost before it was cut (a query's `[:limit]` is not such a list);
- a comparison or a branch test, also of arithmetic on the value (`if token_num +
  max_tokens > context_len:`): the value only validates or picks a branch (not in a
  `while` test, which repeats work while it holds, nor in the test of an `if` in a loop
  whose branch leaves it: `if count >= max_tokens: break` or `raise`, nor through a flag
  that test reads, `done = count >= max_tokens`, unless it compares the value with
  constants only: `if max_tokens > MAX: return error` validates); other arithmetic is
  work (`[0] * n`);
- a store into long-lived state (`self.limits[model] = limit`, `SETTINGS["k"] = k`): a
  setting kept for later, not work of this request. A store into a local (`params[...]
  = limit`, later handed to work) is not such an end; where a store is no end (a
  helper's, `_Module.terminal`), neither is binding a name declared `global`.
With the module, a call to a function or method of the same file (by name, like the
request paths of LG204) passes the value on when the called parameter itself only
reaches such ends. A module-level function of another file ends the value when its
parameter is *clamped* there (`clamps.COLLECTOR` facts: it only reaches clamps,
comparisons, logs or settings, and is never returned as it came): resolved at once
with the run's facts (`only_reaches_response`), or recorded for the run to resolve
(`sized_attributes`, which runs while the facts are collected).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from leakguard.analysis import clamps
from leakguard.analysis.calls import is_log_call_name, parameter_for
from leakguard.analysis.imports import class_like, dotted_name
from leakguard.analysis.project import FactCollector, register_collector
from leakguard.analysis.scopes import bound_names, function_scope, is_read
from leakguard.context import FileContext
from leakguard.triage import TriageTree
from leakguard.walker import SCOPE_NODES, descendants, walk

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
    cst.BooleanOperation,
    cst.IfExp,  # as a branch's value (its test ends in `_echo_end`)
)
# Locals that forward the value before it is returned, and calls into the file's functions.
MAX_HOPS = 3
# Roots of long-lived state a handler may store a setting into.
_STATE_ROOTS = frozenset({"self", "cls"})
# `_echo_end`'s answer for a read that is returned: the response of a handler, but
# handed back to the caller by a helper (`_Module.terminal`).
_RETURNED = "<return>"
# `_echo_end`'s prefix of a local holding a comparison of the value made in a loop
# (`done = count >= max_tokens`), judged by whether it stops the loop (`_flag_in_loop`).
_FLAG = "<flag>"
# What a call does with a value handed to it (`_inert_in_callee`): ends it (bounded or
# dropped there), gives it back in its result, or does work with it (None).
_ENDS = "ends"
_THROUGH = "through"
# A helper of another file the value was handed to: (qualified name, parameter).
Deferred = tuple[str, str | int]
# The parameter of a deferral for a class of another file built with the value
# (`ErrorResponse(message=...)`): the instance holds it and goes on to be judged; the
# run says whether building it does work (a model whose validators do none only holds it).
BUILT = "<built>"
# Methods that give a built model's data (`ErrorResponse(...).dict()`): data, not work.
_DUMP_METHODS = frozenset({"model_dump", "dict", "json", "model_dump_json"})


def only_reaches_response(
    function: cst.FunctionDef, name: str, context: FileContext | None = None
) -> bool:
    """True when no read of `name` in `function` does anything but return, log, compare
    or store it as a setting (see the module docstring); with the file's `context`, also
    through calls to functions of that file.

    Conservative: a read inside a nested function or lambda, a subscript, a loop, a
    `while` test, or an argument to any other call counts as work.
    """
    return _only_echoed(function, name, MAX_HOPS, _Module(context))


class _Module:
    """The file's module-level functions and its classes' methods by name, built on
    first use: `f(x)` calls the former, `obj.f(x)` the latter."""

    def __init__(
        self, context: FileContext | None, defer: bool = False, terminal: bool = False
    ) -> None:
        self.context = context
        # `defer`: helpers of other files are recorded (`deferred`), not resolved.
        self.defer = defer
        self.deferred: list[Deferred] = []
        # `terminal`: a returned value is no end (the caller gets it back), nor a stored
        # one (kept as it came for later work: a clamped parameter keeps nothing).
        self.terminal = terminal
        self._functions: dict[str, list[cst.FunctionDef]] = {}
        self._methods: dict[str, list[cst.FunctionDef]] = {}
        self._built = False

    def named(self, name: str, method: bool) -> list[cst.FunctionDef]:
        if self.context is None:
            return []
        if not self._built:
            self._built = True
            for statement in self.context.module.body:
                if isinstance(statement, cst.FunctionDef):
                    self._functions.setdefault(statement.name.value, []).append(statement)
                elif isinstance(statement, cst.ClassDef):
                    for member in statement.body.body:
                        if isinstance(member, cst.FunctionDef):
                            self._methods.setdefault(member.name.value, []).append(member)
        return (self._methods if method else self._functions).get(name, [])


def _only_echoed(function: cst.FunctionDef, name: str, hops: int, module: _Module) -> bool:
    paths = _read_paths(function, name)
    if paths is None:
        return False
    locals_ = _bound_locals(function, module.context)
    return all(
        _after_clamp(function, name, path, module)
        or _ends_inert(function, name, path, hops, module, locals_)
        for path in paths
    )


def _after_clamp(
    function: cst.FunctionDef, target: str, path: list[cst.CSTNode], module: _Module
) -> bool:
    """The read at `path` sits in a statement after the one that clamps `target` (a name
    or `name.attr`) for the rest of the function (`clamps.clamped_after`), or in that
    statement when it is the reassignment (`limit = min(limit, 100)`: bounded there)."""
    if module.context is None or len(path) < 2 or not isinstance(function.body, cst.IndentedBlock):
        return False
    clamp = clamps.clamped_after(function, target, module.context)
    if clamp is None:
        return False
    statements = list(function.body.body)
    position = next((i for i, s in enumerate(statements) if s is path[1]), None)
    at = next(i for i, s in enumerate(statements) if s is clamp)
    if position == at:
        return isinstance(clamp, cst.SimpleStatementLine)
    return position is not None and position > at


def _read_paths(function: cst.FunctionDef, name: str) -> list[list[cst.CSTNode]] | None:
    """The ancestor paths (root first, the `Name` last) of each read of `name` in the
    function's body; None when one sits in a nested function or lambda (code we do
    not follow)."""
    found: list[list[cst.CSTNode]] = []
    nested = False
    path: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        nonlocal nested
        if nested or not isinstance(node, cst.Name) or node.value != name:
            return
        if len(path) < 2 or not is_read(node, path[-2]) or _unpacked_into(path):
            return
        if any(isinstance(a, (cst.FunctionDef, cst.Lambda)) for a in path[1:-1]):
            nested = True
            return
        found.append(list(path))

    walk(function.body, visit, stack=path)
    return None if nested else found


def _unpacked_into(path: list[cst.CSTNode]) -> bool:
    """The `Name` ending `path` is bound by unpacking, not read: an element of a tuple
    or list target (`size, error = check(...)`, `for i, row in ...`)."""
    index = len(path) - 2
    while index > 0 and isinstance(path[index], (cst.Element, cst.StarredElement)):
        if not isinstance(path[index - 1], (cst.Tuple, cst.List)):
            return False
        index -= 2
    if index == len(path) - 2 or index < 0:
        return False
    target, holder = path[index + 1], path[index]
    if isinstance(holder, cst.AssignTarget):
        return holder.target is target
    if isinstance(holder, (cst.For, cst.CompFor)):
        return holder.target is target
    return isinstance(holder, cst.AsName)


def _ends_inert(
    function: cst.FunctionDef,
    name: str,
    path: list[cst.CSTNode],
    hops: int,
    module: _Module,
    locals_: frozenset[str],
) -> bool:
    """The read at `path` ends where it sizes no work: the response, a log line, a
    comparison, a clamp, a setting stored into long-lived state (not a local; without
    the file, no store counts), or a local that itself only reaches such ends."""
    context = module.context
    target = _echo_end(
        path,
        lambda call, arg: _inert_in_callee(call, arg, hops, module),
        lambda call, held: context is not None and clamps.clamps_at(call, held, function, context),
        lambda node: context is not None and context.constants.fold(node) is not None,
    )
    if target is None:
        return False
    if target == _RETURNED:
        return not module.terminal
    if target.startswith("store:"):
        return module.context is not None and not module.terminal and target[6:] not in locals_
    if not target:
        return True
    if target.startswith(_FLAG):
        return not _stops_a_loop(function, target[len(_FLAG) :])
    if module.terminal and _rebinds_outer(function, target, context):
        return False  # `global BUDGET; BUDGET = n`: kept as it came for later work
    return target != name and hops > 0 and _only_echoed(function, target, hops - 1, module)


def _rebinds_outer(function: cst.FunctionDef, target: str, context: FileContext | None) -> bool:
    """`target` is a name the function declares `global` or `nonlocal`: assigning it
    keeps the value in state that outlives the call (a module's `BUDGET` a worker reads),
    however the function itself reads it."""
    if context is None:
        return False
    scope = function_scope(function, context)
    return target in scope.globals or target in scope.nonlocals


def _bound_locals(function: cst.FunctionDef, context: FileContext | None) -> frozenset[str]:
    """Names the function binds itself: a store under one of them is no setting."""
    if context is None:
        return frozenset()  # without the file, no store counts (see `_echo_end`)
    scope = function_scope(function, context)
    return frozenset((set(scope.params) | scope.locals) - _STATE_ROOTS)


def _inert_in_callee(call: cst.Call, arg: cst.Arg, hops: int, module: _Module) -> str | None:
    """What the call does with `arg`: `_THROUGH` when it goes to a function of the
    module whose parameter only reaches ends that size no work (every function of that
    name, when several share it; its result may still carry the value), `_ENDS` when
    none of those ends gives it back (`return min(max_tokens, window), None`: the
    result holds a bounded value at most) or when it goes to a module-level function
    of another file that clamps it, None otherwise."""
    if hops == 0:
        return None
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
    method = isinstance(func, cst.Attribute)
    elsewhere = _clamped_elsewhere(call, arg, module)
    if elsewhere is not None:
        return elsewhere
    candidates = module.named(name, method) if isinstance(name, str) else []
    if not candidates:
        return None
    handed_back = False
    for callee in candidates:
        param = parameter_for(callee, call, arg, method)
        if param is None:
            return None
        if _never_returned(callee, param, hops - 1, module):
            continue
        if not _only_echoed(callee, param, hops - 1, module):
            return None
        handed_back = True
    return _THROUGH if handed_back else _ENDS


def _never_returned(callee: cst.FunctionDef, param: str, hops: int, module: _Module) -> bool:
    """`param` only reaches ends in `callee` none of which returns it as it came or
    stores it: judged with returns counting as no end (`_Module.terminal`). The helpers
    of other files it goes to are still recorded in `module.deferred`."""
    view = module
    if not module.terminal:
        view = _Module(module.context, defer=module.defer, terminal=True)
    if not _only_echoed(callee, param, hops, view):
        return False
    if view is not module:
        module.deferred.extend(view.deferred)
    return True


def _clamped_elsewhere(call: cst.Call, arg: cst.Arg, module: _Module) -> str | None:
    """`_ENDS` when `call` is an imported module-level function of another file (one
    this file does not define) and the run says it clamps the parameter `arg` goes to;
    with `module.defer`, recorded in `module.deferred` for the run to say later."""
    context = module.context
    if context is None or arg.star:
        return None
    qualified = context.imports.qualify(call.func)
    if qualified is None or "." not in qualified or qualified.startswith("builtins."):
        return None
    if isinstance(call.func, cst.Name) and module.named(call.func.value, False):
        return None
    parameter: str | int
    if arg.keyword is not None:
        parameter = arg.keyword.value
    else:
        positional = [a for a in call.args if a.keyword is None]
        if any(a.star for a in positional):
            return None
        parameter = next(i for i, a in enumerate(positional) if a is arg)
    if module.defer and class_like(qualified):
        # A class (PEP 8's CapWords) is built, not called for a result without the value:
        # it goes on in the instance (`_THROUGH`), if the run says building it is no work.
        module.deferred.append((qualified, BUILT))
        return _THROUGH
    if module.defer:
        module.deferred.append((qualified, parameter))
        return _ENDS
    return _ENDS if clamps.clamped_in_run(context, qualified, parameter) else None


def _echo_end(
    path: list[cst.CSTNode],
    inert_call: Callable[[cst.Call, cst.Arg], str | None],
    clamped: Callable[[cst.BaseExpression, cst.CSTNode], bool],
    constant: Callable[[cst.BaseExpression], bool],
) -> str | None:
    """Where the read at `path[-1]` ends: `_RETURNED` when it is returned, "" for a log
    line, a comparison or a clamp (`clamped(call, arg holding the value)`), a local's
    name when it is assigned to one, "store:<root>" when it is stored under
    `<root>[...]`/`<root>.x`, None when it is used for anything else. A comparison with
    constants only (`constant`: folds to a literal) in the test of an `if` that leaves a
    loop validates the value (`if item.max_tokens > LIMIT: return error`); one with a
    counter stops the loop (`if count >= max_tokens: break`)."""
    child = path[-1]
    for position in range(len(path) - 2, -1, -1):
        parent = path[position]
        if isinstance(parent, cst.Return):
            return _RETURNED
        if isinstance(parent, (cst.If, cst.IfExp, cst.Assert)) and child is parent.test:
            # Only picks a branch, unless the branch leaves a loop (`if i >= n: break`:
            # the loop goes on while the test fails, like a `while` test).
            return None if _in_loop_test(path, position + 1) else ""
        if isinstance(parent, cst.IfExp) and clamped(parent, child):
            return ""  # `v if v < MAX else MAX`: bounded whatever the value
        if isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
            child = parent  # `not x`: a bool
            continue
        if isinstance(parent, (cst.BinaryOperation, cst.UnaryOperation)):
            # Arithmetic sizes work (`[0] * n`), unless its result is only compared
            # (`token_num + max_tokens > context_len`) or clamped.
            above = position
            while above > 0 and isinstance(path[above], (cst.BinaryOperation, cst.UnaryOperation)):
                above -= 1
            outer = path[above]
            if isinstance(outer, cst.Comparison) or _ordered(outer):
                guard = _against_constants(path, above, constant)
                if _in_loop_test(path, above, guard):
                    return None
                return "" if guard else _flag_in_loop(path, above)
            if isinstance(outer, cst.Arg) and above > 0:
                call = path[above - 1]
                if isinstance(call, cst.Call) and clamped(call, outer):
                    return ""
            return None
        if _ordered(parent):
            child = parent  # `MAX < v`, `0 < v <= MAX`: compared all the same
            continue
        if isinstance(parent, cst.Comparison):
            guard = _against_constants(path, position, constant)
            if _in_loop_test(path, position, guard):
                return None
            return "" if guard else _flag_in_loop(path, position)
        if isinstance(parent, cst.Slice) and position >= 2:
            # `sorted(rows)[:limit]`: a list already built in memory is cut; the value
            # bounds nothing the list did not already cost. (A query's `[:limit]` is its
            # SQL LIMIT: work, kept.)
            subscript = path[position - 2]
            if isinstance(subscript, cst.Subscript) and _materialised(subscript.value, path[0]):
                return ""
            return None
        if isinstance(parent, cst.Attribute) and parent.value is child:
            child = parent  # `params.limit`: a field of the value, still data
            continue
        if isinstance(parent, cst.DictElement) and parent.key is child:
            return None
        if isinstance(parent, _PASS_THROUGH):
            child = parent
            continue
        if isinstance(parent, cst.Call):
            if child is parent.func and _dumps_built(child, parent):
                child = parent  # `ErrorResponse(message=m).dict()`: the instance's data
                continue
            if child is parent.func:
                return None
            if _type_test(parent, child):
                return ""  # `isinstance(v, int)`: a bool about the value
            if clamped(parent, child):
                return ""  # `min(limit, cap)`: bounded by a ceiling among the others
            if _bounds(parent, "max") or _bounds(parent, "min"):
                # `max(limit, 1)` is still the value (`min(max(limit, 1), 100)`), and so
                # is `min(limit, other)` with no ceiling among the others.
                child = parent
                continue
            if _packages(parent):
                child = parent
                continue
            handed = inert_call(parent, child) if isinstance(child, cst.Arg) else None
            if handed is None:
                return None
            if handed == _ENDS:
                return ""
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
            if len(targets) == 1 and isinstance(targets[0], (cst.Subscript, cst.Attribute)):
                root = _root_name(targets[0])
                return f"store:{root}" if root is not None else None
            return None
        return None
    return None


# Builtins that build a list (or tuple) in memory from what they are given.
_MATERIALISING = frozenset({"sorted", "list", "tuple"})


def _materialised(value: cst.BaseExpression, body: cst.CSTNode) -> bool:
    """`value` is a list built in memory: `sorted(...)`, `list(...)`, a comprehension or
    display, or a local of `body` only ever assigned such a value."""
    if isinstance(value, (cst.ListComp, cst.List, cst.Tuple)):
        return True
    if isinstance(value, cst.Call):
        return isinstance(value.func, cst.Name) and value.func.value in _MATERIALISING
    if not isinstance(value, cst.Name):
        return False
    assigned = [
        node.value
        for node in descendants(body, stop_at=SCOPE_NODES)
        if isinstance(node, cst.Assign)
        and any(
            isinstance(t.target, cst.Name) and t.target.value == value.value for t in node.targets
        )
    ]
    return bool(assigned) and all(
        not isinstance(v, cst.Name) and _materialised(v, body) for v in assigned
    )


def _ordered(node: cst.CSTNode) -> bool:
    """`node` is the right side of an order comparison (`MAX < v`): not of `in`
    (`x in [0] * n` builds what it searches)."""
    return isinstance(node, cst.ComparisonTarget) and isinstance(
        node.operator,
        (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual),
    )


def _dumps_built(func: cst.CSTNode, call: cst.Call) -> bool:
    """`call` is `X(...).dict()` (or `.model_dump()`, ...) with no arguments: the data
    of an instance just built (whether building it is work is judged where it was
    built: `BUILT`)."""
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value in _DUMP_METHODS
        and isinstance(func.value, cst.Call)
        and not call.args
    )


def _type_test(call: cst.Call, held: cst.CSTNode) -> bool:
    """`isinstance(v, T)` with the value as `held`, its first argument."""
    return (
        isinstance(call.func, cst.Name)
        and call.func.value == "isinstance"
        and len(call.args) == 2
        and call.args[0] is held
        and call.args[0].keyword is None
        and not call.args[0].star
    )


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
    return is_log_call_name(dotted_name(call.func))


def _root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, (cst.Subscript, cst.Attribute)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


# A value handed on under a label (a call's keyword, a dict's string key) with others:
# (its label, the labels of the call's other keywords or the dict's other keys).
Bundle = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class SizedReads:
    """The attributes of a request model parameter a handler may size work with:
    `sized` for certain, and `unless[attr]` the helpers of other files the attribute
    is handed to: it sizes no work when the run says each of them clamps it.
    `bundled[attr]`: for an attribute of those whose every such read hands the value on
    labelled (`_bundles`), the bundles it travels in; what the labels say (a sampler's
    parameters) is for the rule to judge (`analysis/sampling`)."""

    sized: frozenset[str]
    unless: Mapping[str, tuple[Deferred, ...]]
    bundled: Mapping[str, tuple[Bundle, ...]] = field(default_factory=dict)
    # `bundled_unless[attr]`: other reads of it size no work when these helpers end it.
    bundled_unless: Mapping[str, tuple[Deferred, ...]] = field(default_factory=dict)


def sized_attributes(
    function: cst.FunctionDef, name: str, context: FileContext
) -> SizedReads | None:
    """The attribute names read from `name` (a request model parameter) whose values
    may size work: read through attribute chains and loop variables over them
    (`for item in request.prompts: ... item.max_tokens`), each read judged like
    `only_reaches_response` (a read after a statement clamping `name.attr` is none),
    and through functions and methods of the file the value is handed to whole
    (`check_requests(request)`: the parameter's reads there, `_handed_whole`).
    None when the value itself goes anywhere else (handed whole to another call, say):
    then any of its fields may size work. Helpers of other files are not resolved here
    (this runs while the run's facts are collected): `SizedReads.unless`."""
    sized: set[str] = set()
    unless: dict[str, list[Deferred]] = {}
    bundles = _Bundles()
    pending: list[_Holder] = [(function, name, _Module(context, defer=True), MAX_HOPS)]
    seen: set[tuple[int, str, bool]] = set()
    while pending:
        current = pending.pop()
        key = (id(current[0]), current[1], current[2].terminal)
        if key in seen:
            continue
        seen.add(key)
        more = _attribute_reads(*current, sized, unless, bundles)
        if more is None:
            return None
        pending.extend(more)
    conditional = {
        attr: tuple(dict.fromkeys(helpers)) for attr, helpers in unless.items() if attr not in sized
    }
    kept = sorted(
        attr
        for attr in {*bundles.found, *bundles.pending}
        if attr not in bundles.loose and (attr in sized or attr in conditional)
    )
    bundled = {attr: tuple(sorted(set(bundles.found.get(attr, ())))) for attr in kept}
    conditions = {
        attr: tuple(dict.fromkeys(bundles.pending[attr]))
        for attr in kept
        if bundles.pending.get(attr)
    }
    return SizedReads(frozenset(sized), conditional, bundled, conditions)


@dataclass
class _Bundles:
    """What `sized_attributes` learns of how attributes are handed on: `found[attr]`, the
    bundles of its reads that size work; `loose`, attributes one such read of which is
    handed on otherwise (a slice, a loop, a positional argument, arithmetic ...)."""

    found: dict[str, list[Bundle]] = field(default_factory=dict)
    loose: set[str] = field(default_factory=set)
    # Reads handed on otherwise that size no work if the run says these helpers end them.
    pending: dict[str, list[Deferred]] = field(default_factory=dict)

    def add(self, attr: str, bundles: list[Bundle] | None) -> None:
        if bundles is None:
            self.loose.add(attr)
        else:
            self.found.setdefault(attr, []).extend(bundles)


# A name holding the request model (or an item of one of its collection fields) in a
# function, judged with a module view (`_Module.terminal`), with the hops left: a
# function the handler hands it to whole spends one, and the calls judged from there
# spend the rest (no function further than `MAX_HOPS` calls from the handler is read,
# as `pydantic_models.fact_regions` keeps no further one in a sliced file).
_Holder = tuple[cst.FunctionDef, str, _Module, int]


def _attribute_reads(
    function: cst.FunctionDef,
    name: str,
    module: _Module,
    hops: int,
    sized: set[str],
    unless: dict[str, list[Deferred]],
    bundles: _Bundles,
) -> list[_Holder] | None:
    """Adds to `sized` the attributes of `name` read for work (to `unless` those only
    handed to helpers of other files); returns the loop variables that walk its
    attributes and the parameters of the file's functions it is handed to whole, or
    None when `name` itself escapes."""
    paths = _read_paths(function, name)
    if paths is None:
        return None
    more: list[_Holder] = []
    locals_ = _bound_locals(function, module.context)
    for path in paths:
        top = len(path) - 1
        chain: list[str] = []
        while top >= 1 and isinstance(path[top - 1], cst.Attribute):
            parent = path[top - 1]
            assert isinstance(parent, cst.Attribute)
            if parent.value is not path[top]:
                break
            top -= 1
            chain.append(parent.attr.value)
        holder = path[top - 1] if top >= 1 else None
        if isinstance(holder, cst.Call) and holder.func is path[top] and chain:
            # A method call: on the value itself (`request.model_dump()`) it goes on
            # whole; on a field (`item.prompt.split()`) that field does the work.
            chain.pop()
            if not chain:
                return None
            sized.add(chain[-1])
            continue
        if (
            isinstance(holder, (cst.For, cst.CompFor))
            and holder.iter is path[top]
            and isinstance(holder.target, cst.Name)
        ):
            more.append((function, holder.target.value, module, hops))  # a collection's items
            continue
        if len(chain) == 1 and _after_clamp(function, f"{name}.{chain[0]}", path, module):
            continue  # `request.limit = min(request.limit, 100)` came before
        module.deferred = []
        inert = _ends_inert(function, name, path, hops, module, locals_)
        if chain and not inert:
            sized.add(chain[-1])
            bundles.add(chain[-1], _bundles(function, path, top, module, hops))
        elif chain and module.deferred:
            deferred = list(module.deferred)
            unless.setdefault(chain[-1], []).extend(deferred)
            found = _bundles(function, path, top, module, hops)
            if found is None:
                # Not handed on labelled, but no work either when the run says each
                # helper it reached ends it (`check_requests`'s refusal message).
                bundles.pending.setdefault(chain[-1], []).extend(deferred)
            else:
                bundles.add(chain[-1], found)
        elif not chain and (not inert or module.deferred):
            # The value itself goes to work, or to helpers of other files by some path
            # of its fields (which the whole value does not name): judged field by
            # field where the file's own functions read it, if that is where it goes.
            handed = _handed_whole(function, name, path, module, hops, locals_)
            if handed is None:
                return None
            more.extend(handed)
    return more


def _bundles(
    function: cst.FunctionDef, path: list[cst.CSTNode], top: int, module: _Module, hops: int
) -> list[Bundle] | None:
    """How the value read at `path[top]` (its attribute chain included) is handed on:
    as a keyword argument of a call or under a string key of a dict display, with the
    labels of the call's other keywords or of the dict's other keys; None when it goes
    anywhere else (a slice, a loop, a positional argument, a local, arithmetic ...). A
    call of the file's own functions or methods is followed: the bundles are those in
    which its parameter's reads there hand the value on (what is returned goes back to
    work, so a `return` is no end there)."""
    if top < 2:
        return None
    value, holder, outer = path[top], path[top - 1], path[top - 2]
    if (
        isinstance(holder, cst.DictElement)
        and holder.value is value
        and isinstance(outer, cst.Dict)
        and isinstance(holder.key, cst.SimpleString)
    ):
        label = holder.key.evaluated_value
        others = {_string_key(e) for e in outer.elements if e is not holder}
        if not isinstance(label, str):
            return None
        return [(label, tuple(sorted(o for o in others if o is not None)))]
    if not (
        isinstance(holder, cst.Arg)
        and holder.value is value
        and holder.keyword is not None
        and isinstance(outer, cst.Call)
    ):
        return None
    keywords = {a.keyword.value for a in outer.args if a is not holder and a.keyword is not None}
    func = outer.func
    method = isinstance(func, cst.Attribute)
    called = func.attr.value if isinstance(func, cst.Attribute) else None
    called = func.value if isinstance(func, cst.Name) else called
    callees = module.named(called, method) if called is not None else []
    if not callees:
        return [(holder.keyword.value, tuple(sorted(keywords)))]
    if hops <= 0:
        return None
    found: list[Bundle] = []
    for callee in callees:
        param = parameter_for(callee, outer, holder, method)
        reads = _read_paths(callee, param) if param is not None else None
        if param is None or reads is None:
            return None
        view = _Module(module.context, defer=True, terminal=True)
        locals_ = _bound_locals(callee, module.context)
        for read in reads:
            view.deferred = []
            if _ends_inert(callee, param, read, hops - 1, view, locals_) and not view.deferred:
                continue
            more = _bundles(callee, read, len(read) - 1, view, hops - 1)
            if more is None:
                return None
            found.extend(more)
    return found


def _string_key(element: cst.BaseDictElement) -> str | None:
    if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
        key = element.key.evaluated_value
        return key if isinstance(key, str) else None
    return None


def _handed_whole(
    function: cst.FunctionDef,
    name: str,
    path: list[cst.CSTNode],
    module: _Module,
    hops: int,
    locals_: frozenset[str],
) -> list[_Holder] | None:
    """The value read at `path` (the name itself) is an argument of a call of the
    file's own functions or methods (every one of that name): their parameters it goes
    to, to judge there. A `return` there ends a read only when the call's result only
    reaches ends here (`error = check_requests(request)`, then `return error`);
    otherwise what they return comes back to work (`checked = normalise(request)`) and
    is no end (`_Module.terminal`). None when it goes anywhere else."""
    if hops <= 0 or len(path) < 3:
        return None
    arg, call = path[-2], path[-3]
    if not isinstance(arg, cst.Arg) or arg.star or not isinstance(call, cst.Call):
        return None
    func = call.func
    method = isinstance(func, cst.Attribute)
    called = func.attr.value if isinstance(func, cst.Attribute) else None
    called = func.value if isinstance(func, cst.Name) else called
    candidates = module.named(called, method) if called is not None else []
    if not candidates:
        return None
    module.deferred = []
    result_ends = _ends_inert(function, name, path[:-2], hops, module, locals_)
    returns_end = result_ends and not module.deferred and not module.terminal
    callee_module = _Module(module.context, defer=True, terminal=not returns_end)
    handed: list[_Holder] = []
    for callee in candidates:
        param = parameter_for(callee, call, arg, method)
        if param is None:
            return None
        handed.append((callee, param, callee_module, hops - 1))
    return handed


def _bounds(call: cst.Call, builtin: str) -> bool:
    """`min(a, b, ...)` (`builtin` "min": each argument is capped by the others) or
    `max(a, b, ...)` ("max": a lower bound only; the result is as large as the largest)."""
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return isinstance(call.func, cst.Name) and call.func.value == builtin and len(positional) >= 2


def _against_constants(
    path: list[cst.CSTNode], position: int, constant: Callable[[cst.BaseExpression], bool]
) -> bool:
    """The comparison at or just above `path[position]` (the value's side being on the
    path) compares the value with constants only: every other operand folds."""
    index = position
    if isinstance(path[index], cst.ComparisonTarget):
        index -= 1
    comparison = path[index] if index >= 0 else None
    if not isinstance(comparison, cst.Comparison) or index + 1 >= len(path):
        return False
    held = path[index + 1]
    operands: list[tuple[cst.CSTNode, cst.BaseExpression]] = [
        (comparison.left, comparison.left),
        *((target, target.comparator) for target in comparison.comparisons),
    ]
    others = [value for node, value in operands if node is not held]
    return len(others) < len(operands) and all(constant(value) for value in others)


def _in_loop_test(path: list[cst.CSTNode], position: int, guard: bool = False) -> bool:
    """`path[position]` is inside a test that decides how long a loop repeats work: a
    `while` loop's, or an `if`'s inside a loop whose branches leave it (`for tok in
    stream(): if len(out) >= max_tokens: break`: the loop goes on while it fails),
    unless the test is a `guard` of the value against constants."""
    for i, p in enumerate(path[:position]):
        if isinstance(p, cst.While) and path[i + 1] is p.test:
            return True
        if (
            not guard
            and isinstance(p, cst.If)
            and path[i + 1] is p.test
            and any(isinstance(a, (cst.For, cst.While)) for a in path[:i])
            and _leaves_loop(p)
        ):
            return True
    return False


def _flag_in_loop(path: list[cst.CSTNode], position: int) -> str:
    """`_FLAG` and the local a comparison at `path[position]` inside a loop is assigned
    to, alone or in a boolean expression (`done = count >= max_tokens or eos`), when the
    flag may stop the loop later (`if done: break`); "" (only compared) otherwise."""
    if not any(isinstance(node, (cst.For, cst.While)) for node in path[:position]):
        return ""
    child = path[position]
    for parent in reversed(path[:position]):
        if isinstance(parent, cst.BooleanOperation) or (
            isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not)
        ):
            child = parent
            continue
        if isinstance(parent, cst.Assign) and parent.value is child and len(parent.targets) == 1:
            target: cst.BaseExpression = parent.targets[0].target
        elif isinstance(parent, cst.AnnAssign) and parent.value is child:
            target = parent.target
        else:
            return ""
        return _FLAG + target.value if isinstance(target, cst.Name) else ""
    return ""


def _stops_a_loop(function: cst.FunctionDef, flag: str) -> bool:
    """A read of local `flag` (a comparison's result) decides how long a loop repeats
    work (`_in_loop_test`); or we cannot see every read."""
    reads = _read_paths(function, flag)
    return reads is None or any(_in_loop_test(read, len(read) - 1) for read in reads)


def _leaves_loop(branch: cst.If) -> bool:
    """A `break`, `return` or `raise` of the loop holding `branch` in one of its branches
    (not of a loop or function nested in them): `if count >= max_tokens: raise
    StopGeneration` ends a decode loop as a `break` does."""
    parts: list[cst.CSTNode] = [branch.body]
    if branch.orelse is not None:
        parts.append(branch.orelse)
    nested: tuple[type[cst.CSTNode], ...] = (cst.For, cst.While, *SCOPE_NODES)
    return any(
        isinstance(node, (cst.Break, cst.Return, cst.Raise))
        for part in parts
        for node in descendants(part, stop_at=nested)
    )


# -- the clamped parameters of a file's helpers (`clamps.COLLECTOR`) -------------------


def bounded_parameter(function: cst.FunctionDef, name: str, context: FileContext) -> bool:
    """Every read of the parameter `name` ends where it sizes no work and nothing gets
    it back as it came: a clamp, a comparison, a log line (a `return` of it, or a store
    into module state a later call may size work with, is no end here). Helpers of
    other files it is handed to count as work (one hop across files)."""
    module = _Module(context, defer=True, terminal=True)
    return _only_echoed(function, name, MAX_HOPS, module) and not module.deferred


def _clamped_params(context: FileContext) -> dict[str, dict[str, Any]]:
    """Module-level functions of this file with parameters they clamp
    (`bounded_parameter`), by their positional parameters and the clamped ones. Only
    the parameters a function hands to `min(...)` are judged (`clamps.min_parameters`:
    judging every parameter of every function would cost the facts pass dearly)."""
    found: dict[str, dict[str, Any]] = {}
    try:
        # The triage's condition, also when the facts pass runs without triage.
        candidates = clamps.min_parameters(context.whole_ast())
    except (SyntaxError, ValueError):
        return found
    rebound = _bound_more_than_once(context)
    for statement in context.module.body:
        if not isinstance(statement, cst.FunctionDef):
            continue
        wanted = candidates.get(statement.name.value)
        if not wanted or statement.name.value in rebound:
            continue  # which definition a caller gets is not this one for certain
        params = statement.params
        positional = [p.name.value for p in (*params.posonly_params, *params.params)]
        every = [*positional, *(p.name.value for p in params.kwonly_params)]
        clamped = [p for p in every if p in wanted and bounded_parameter(statement, p, context)]
        if clamped:
            found[statement.name.value] = {"params": positional, "clamped": clamped}
    return found


def _bound_more_than_once(context: FileContext) -> frozenset[str]:
    """Module names bound more than once (`def page_rows` twice, or a faster
    `from .native import page_rows` under an `if` after the `def`)."""
    counts: dict[str, int] = {}
    for node in descendants(context.module, stop_at=SCOPE_NODES):
        names: list[str] = []
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            names = [node.name.value]
        elif isinstance(node, cst.Assign):
            names = [n for t in node.targets for n in bound_names(t.target)]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.For)):
            names = bound_names(node.target)
        elif isinstance(node, cst.ImportAlias):
            bound = node.asname.name if node.asname is not None else node.name
            names = [bound.value] if isinstance(bound, cst.Name) else []
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    return frozenset(name for name, count in counts.items() if count > 1)


def _may_clamp(tree: TriageTree) -> bool:
    return clamps.may_clamp(tree.tree)


register_collector(
    FactCollector(
        clamps.COLLECTOR, ("min(",), _clamped_params, triage=_may_clamp, gated_by_readers=True
    )
)
