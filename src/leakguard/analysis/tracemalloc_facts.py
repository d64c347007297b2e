"""Facts about memory diagnostics (`tracemalloc`, `psutil`, `resource`, `memory_profiler`)
shared by LG104 (unstopped-tracemalloc) and LG105 (unenforced-memory-measurement).

- `calls_to(node, names, context)`: is this call one of the configured qualified names
  (aliases resolved), with a cheap last-segment check before `qualify`?
- `references_callable(root, names, context)`: is one of those functions passed as a
  value (not called) under `root`, e.g. `self.addCleanup(tracemalloc.stop)`,
  `atexit.register(tracemalloc.stop)`, `stack.callback(tracemalloc.stop)`: a stop that
  the framework guarantees.
- `exits_in(statement, ...)`: the explicit early exits (`return`, `raise`, `break`,
  `continue`, `yield`) in a statement that leave the enclosing block.
- `opt_in_switch(path, function, context)`: a start under `if not tracemalloc.is_tracing():`
  and an opt-in configuration test (the environment, an imported setting): tracing
  switched on for the process on purpose (see its docstring).
- `process_receivers(context)`: dotted names assigned a `psutil.Process(...)` anywhere in
  the file (`proc`, `self._process`) or parameters annotated `psutil.Process`, so
  `proc.memory_info()` is recognised as a reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import libcst as cst

from leakguard.analysis.imports import dotted_name, matches_any
from leakguard.analysis.scopes import function_scope, module_bindings
from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, descendants, iter_children

BLOCK_TYPES = (cst.Module, cst.IndentedBlock, cst.SimpleStatementSuite, cst.SimpleStatementLine)
LOOP_TYPES = (cst.For, cst.While)
TRY_TYPES = (cst.Try, cst.TryStar)


def last_segments(names: Iterable[str]) -> frozenset[str]:
    """`{"stop"}` for `["tracemalloc.stop"]`: the cheap pre-check before `qualify`."""
    return frozenset(name.rsplit(".", 1)[-1] for name in names)


def calls_to(
    node: cst.CSTNode, names: Sequence[str], segments: frozenset[str], context: FileContext
) -> bool:
    """True when `node` is a call to one of `names` (qualified, aliases resolved).

    A bare name is always qualified (`from tracemalloc import stop as halt` renames it);
    an attribute call is qualified only when its last segment is one of `segments`.
    """
    return isinstance(node, cst.Call) and _is_callable_reference(
        node.func, names, segments, context
    )


def _is_callable_reference(
    node: cst.CSTNode, names: Sequence[str], segments: frozenset[str], context: FileContext
) -> bool:
    if isinstance(node, cst.Attribute):
        if node.attr.value not in segments:
            return False
    elif not isinstance(node, cst.Name):
        return False
    return matches_any(context.imports.qualify(node), names)


def references_callable(
    root: cst.CSTNode, names: Sequence[str], segments: frozenset[str], context: FileContext
) -> cst.CSTNode | None:
    """A call argument under `root` that is one of `names` passed uncalled."""
    for node in descendants(root, stop_at=SCOPE_NODES):
        if isinstance(node, cst.Arg) and _is_callable_reference(
            node.value, names, segments, context
        ):
            return node
    return None


def contains_call(
    root: cst.CSTNode, names: Sequence[str], segments: frozenset[str], context: FileContext
) -> cst.Call | None:
    """The first call to one of `names` under `root` (root included), not entering
    nested functions or classes (a nested def's body does not run here)."""
    if isinstance(root, SCOPE_NODES):
        return None
    if calls_to(root, names, segments, context):
        return root  # type: ignore[return-value]
    for node in descendants(root, stop_at=SCOPE_NODES):
        if calls_to(node, names, segments, context):
            return node  # type: ignore[return-value]
    return None


def exits_in(statement: cst.CSTNode, *, count_yield: bool) -> list[cst.CSTNode]:
    """Explicit exits in `statement` that leave the block it sits in.

    `break`/`continue` inside a loop nested in `statement` stay in that loop; a `raise`
    inside a `try` that has `except` handlers may be caught there, so it does not count.
    A `yield` counts when `count_yield`: the consumer may never resume the generator (and
    a `@contextmanager` re-raises the `with` body's exception at the `yield`).
    """
    found: list[cst.CSTNode] = []
    if isinstance(statement, SCOPE_NODES):
        return found  # a nested def's `return` leaves that def, not this block
    _collect_exits(statement, 0, False, count_yield, found)
    return found


def _collect_exits(
    node: cst.CSTNode, loop_depth: int, guarded: bool, count_yield: bool, out: list[cst.CSTNode]
) -> None:
    if isinstance(node, cst.Return):
        out.append(node)
    elif isinstance(node, cst.Raise):
        if not guarded:
            out.append(node)
    elif isinstance(node, (cst.Break, cst.Continue)):
        if loop_depth == 0:
            out.append(node)
    elif isinstance(node, cst.Yield) and count_yield:
        out.append(node)
    if isinstance(node, LOOP_TYPES):
        for child in iter_children(node):
            _collect_exits(child, loop_depth + 1, guarded, count_yield, out)
        return
    if isinstance(node, TRY_TYPES) and node.handlers:
        _collect_exits(node.body, loop_depth, True, count_yield, out)
        for part in (*node.handlers, node.orelse, node.finalbody):
            if part is not None:
                _collect_exits(part, loop_depth, guarded, count_yield, out)
        return
    for child in iter_children(node):
        if isinstance(child, SCOPE_NODES):
            continue
        _collect_exits(child, loop_depth, guarded, count_yield, out)


def process_receivers(context: FileContext, constructors: Sequence[str]) -> frozenset[str]:
    """Dotted names assigned a process object (`proc = psutil.Process()`) in this file."""
    key = ("tracemalloc_facts.process_receivers", tuple(constructors))
    cached = context.memo.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    segments = last_segments(constructors)
    found: set[str] = set()
    for node in descendants(context.module):
        if isinstance(node, cst.Assign) and calls_to(node.value, constructors, segments, context):
            for target in node.targets:
                name = dotted_name(target.target)
                if name is not None:
                    found.add(name)
        elif (
            isinstance(node, cst.AnnAssign)
            and node.value is not None
            and calls_to(node.value, constructors, segments, context)
        ):
            name = dotted_name(node.target)
            if name is not None:
                found.add(name)
        elif (
            isinstance(node, cst.Param)
            and node.annotation is not None
            and matches_any(context.imports.qualify(node.annotation.annotation), constructors)
        ):
            found.add(node.name.value)  # `def sample(proc: psutil.Process)`
    result = frozenset(found)
    context.memo[key] = result
    return result


# Reads of the process's configuration: the environment.
_ENVIRONMENT_READS = frozenset({"os.getenv", "os.environ.get", "os.environ.__getitem__"})


def opt_in_switch(
    path: Sequence[cst.CSTNode], function: cst.FunctionDef, context: FileContext
) -> bool:
    """The start call at the end of `path` (a statement of `function`'s own body, not in a
    loop) switches tracing on for the process, on purpose: it sits in the body branch of
    `if not tracemalloc.is_tracing():` (never re-armed, a process-wide switch) and of an
    `if` whose test only reads configuration the operator sets: the environment
    (`os.getenv("X")`, `os.environ.get(...)`, `"X" in os.environ`) or a setting of an
    imported module or a module-level object (`envs.DEBUG_TRACEMALLOC`,
    `settings.trace_memory`), alone, compared with literals (`==`, `in`; never `None`;
    an environment read without a default) or joined with `and`; not
    negated (an opt-out switch traces by default), not a parameter or local (a request's
    flag)."""
    start = path.index(function) if function in path else -1
    if start < 0:
        return False
    inner = path[start + 1 :]
    if any(isinstance(n, (*LOOP_TYPES, cst.Lambda, cst.FunctionDef)) for n in inner[:-1]):
        return False
    guarded = configured = False
    for position, node in enumerate(inner[:-1]):
        if not isinstance(node, cst.If) or inner[position + 1] is not node.body:
            continue
        if _not_tracing(node.test, context):
            guarded = True
        elif _reads_configuration(node.test, function, context):
            configured = True
    return guarded and configured


def _not_tracing(test: cst.BaseExpression, context: FileContext) -> bool:
    """`not tracemalloc.is_tracing()` (aliases resolved)."""
    return (
        isinstance(test, cst.UnaryOperation)
        and isinstance(test.operator, cst.Not)
        and isinstance(test.expression, cst.Call)
        and context.imports.qualify(test.expression.func) == "tracemalloc.is_tracing"
    )


def _reads_configuration(
    test: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> bool:
    if isinstance(test, cst.BooleanOperation):
        return isinstance(test.operator, cst.And) and all(
            _reads_configuration(side, function, context) for side in (test.left, test.right)
        )
    if isinstance(test, cst.Comparison):
        sides = [test.left, *(c.comparator for c in test.comparisons)]
        # Only a test an unset value fails is an opt-in: `!=`, `not in`, `is None` hold
        # for an unset variable (`os.getenv("TRACE") != "0"` traces by default).
        if not all(isinstance(c.operator, (cst.Equal, cst.In)) for c in test.comparisons):
            return False
        if any(isinstance(s, cst.Name) and s.value == "None" for s in sides):
            return False
        settings = [s for s in sides if not _literal(s)]
        environment = any(
            isinstance(s, (cst.Name, cst.Attribute)) and context.imports.qualify(s) == "os.environ"
            for s in settings
        )
        if environment:  # `"X" in os.environ`
            return all(_literal(s) for s in sides if s is not settings[0])
        return len(settings) == 1 and _setting(settings[0], function, context)
    if (
        isinstance(test, cst.Call)
        and isinstance(test.func, cst.Name)
        and test.func.value
        in (
            "bool",
            "int",
        )
    ):
        return len(test.args) == 1 and _setting(test.args[0].value, function, context)
    return _setting(test, function, context)


def _literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float)):
        return True
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return all(_literal(e.value) for e in node.elements)
    return isinstance(node, cst.Name) and node.value in ("True", "False", "None")


def _setting(node: cst.BaseExpression, function: cst.FunctionDef, context: FileContext) -> bool:
    """An environment read of a literal name without a default, or an attribute of an
    imported module or of a module-level name the function does not bind."""
    if isinstance(node, cst.Call):
        name = context.imports.call_name(node)
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "get":
            name = name or ""
            if context.imports.qualify(node.func.value) == "os.environ":
                name = "os.environ.get"
        # The variable's name alone: a default (`os.getenv("TRACE", "1")`) may switch
        # tracing on when the operator sets nothing.
        return name in _ENVIRONMENT_READS and len(node.args) == 1 and _literal(node.args[0].value)
    if isinstance(node, cst.Subscript):
        return context.imports.qualify(node.value) == "os.environ" and all(
            isinstance(e.slice, cst.Index) and _literal(e.slice.value) for e in node.slice
        )
    if not isinstance(node, cst.Attribute):
        return False
    root = dotted_name(node)
    if root is None:
        return False
    head = root.split(".", 1)[0]
    scope = function_scope(function, context)
    if head in scope.params or head in scope.locals:
        return False
    return head in context.imports.aliases or head in module_bindings(context)
