"""Event-loop facts shared by the LG2xx rules.

- `coroutine_of(context)`: the `async def` whose OWN body holds the current node (not a
  nested def, lambda or class body, and not its decorators/defaults, which run in the
  enclosing scope).
- `offload_call(call, context)`: recognises calls that run a callable in a worker thread
  (`loop.run_in_executor`, `asyncio.to_thread`, `anyio.to_thread.run_sync`,
  `starlette/fastapi.concurrency.run_in_threadpool`, `trio.to_thread.run_sync`).
- `under_timeout(context)`: whether the current node runs under a timeout in the same
  function: inside `async with asyncio.timeout(...)`/`timeout_at`/`anyio.fail_after`/
  `anyio.move_on_after` (anywhere up the `with` stack) or inside the awaitable argument of
  `asyncio.wait_for(..., timeout)`. A literal `None` timeout is no timeout.
- `calls_with_timeout_state(function, context)`: the same fact for every call of a
  function's own body, without an ancestor stack (for call-graph building).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import libcst as cst

from leakguard.analysis.calls import keyword_arg, positional_arg
from leakguard.analysis.imports import dotted_name
from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, iter_children

OFFLOAD_FUNCTIONS: dict[str, int] = {
    # qualified name -> index of the positional argument holding the offloaded callable
    "asyncio.to_thread": 0,
    "asyncio.threads.to_thread": 0,
    "anyio.to_thread.run_sync": 0,
    "starlette.concurrency.run_in_threadpool": 0,
    "fastapi.concurrency.run_in_threadpool": 0,
    "trio.to_thread.run_sync": 0,
}
# Method names that offload whatever the receiver (`loop`, `self._loop`, `get_running_loop()`).
OFFLOAD_METHODS: dict[str, int] = {"run_in_executor": 1}
# Last segments worth qualifying: a call whose callee ends otherwise is not an offload.
_OFFLOAD_LAST_NAMES = frozenset({"to_thread", "run_sync", "run_in_threadpool"})

TIMEOUT_CONTEXTS = frozenset(
    {
        "asyncio.timeout",
        "asyncio.timeout_at",
        "asyncio.timeouts.timeout",
        "asyncio.timeouts.timeout_at",
        "anyio.fail_after",
        "anyio.move_on_after",
        "trio.fail_after",
        "trio.move_on_after",
        "async_timeout.timeout",
    }
)
WAIT_FOR_FUNCTIONS = frozenset({"asyncio.wait_for", "asyncio.tasks.wait_for"})


@dataclass(frozen=True)
class Offload:
    name: str  # display name, e.g. `loop.run_in_executor` or `asyncio.to_thread`
    target: cst.BaseExpression | None  # the callable handed to the worker thread


def coroutine_of(context: FileContext) -> cst.FunctionDef | None:
    """The `async def` whose own body directly contains the current node, else None."""
    stack = context.stack
    for index in range(len(stack) - 2, -1, -1):
        node = stack[index]
        if isinstance(node, cst.FunctionDef):
            # Decorators, defaults and annotations run in the enclosing scope.
            if stack[index + 1] is not node.body:
                return None
            return node if node.asynchronous is not None else None
        if isinstance(node, (cst.Lambda, cst.ClassDef)):
            return None
    return None


def is_awaited(context: FileContext) -> bool:
    """The current node is the operand of `await`."""
    stack = context.stack
    return len(stack) >= 2 and isinstance(stack[-2], cst.Await)


def offload_call(call: cst.Call, context: FileContext) -> Offload | None:
    """The offload `call` performs (and the callable it hands over), else None."""
    func = call.func
    if isinstance(func, cst.Attribute):
        last = func.attr.value
        if last in OFFLOAD_METHODS:
            arg = positional_arg(call, OFFLOAD_METHODS[last])
            receiver = dotted_name(func.value) or "loop"
            return Offload(f"{receiver}.{last}", arg.value if arg is not None else None)
    elif isinstance(func, cst.Name):
        # `from starlette.concurrency import run_in_threadpool as offload`
        last = context.imports.aliases.get(func.value, func.value).rsplit(".", 1)[-1]
    else:
        return None
    if last not in _OFFLOAD_LAST_NAMES:
        return None
    qualified = context.imports.qualify(func)
    if qualified is None or qualified not in OFFLOAD_FUNCTIONS:
        return None
    arg = positional_arg(call, OFFLOAD_FUNCTIONS[qualified])
    if arg is None:
        arg = keyword_arg(call, "func")
    return Offload(qualified, arg.value if arg is not None else None)


# -- timeouts ----------------------------------------------------------------------------


def _is_none(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def is_timeout_context(
    item: cst.BaseExpression, context: FileContext, extra: frozenset[str] = frozenset()
) -> bool:
    """`asyncio.timeout(5)`, `anyio.fail_after(t)` ... (not with a literal None delay).
    `extra`: more qualified context-manager names that bound their body in time."""
    if not isinstance(item, cst.Call):
        return False
    name = context.imports.call_name(item)
    if name in extra:
        return True
    if name not in TIMEOUT_CONTEXTS:
        return False
    first = positional_arg(item, 0)
    delay = first.value if first is not None else None
    if delay is None:
        for name in ("delay", "when", "seconds", "deadline", "timeout"):
            keyword = keyword_arg(item, name)
            if keyword is not None:
                delay = keyword.value
    return not _is_none(delay)


def _wait_for_awaitable(call: cst.Call, context: FileContext) -> cst.BaseExpression | None:
    """The awaitable `asyncio.wait_for(aw, timeout)` bounds, or None if it is no timeout."""
    func = call.func
    last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
    if last != "wait_for" or context.imports.call_name(call) not in WAIT_FOR_FUNCTIONS:
        return None
    timeout = positional_arg(call, 1) or keyword_arg(call, "timeout")
    if timeout is None or _is_none(timeout.value):
        return None
    awaitable = positional_arg(call, 0) or keyword_arg(call, "fut") or keyword_arg(call, "aw")
    return awaitable.value if awaitable is not None else None


def under_timeout(context: FileContext, extra: frozenset[str] = frozenset()) -> bool:
    """The current node runs under a timeout set up in its own function."""
    stack = context.stack
    for index in range(len(stack) - 2, -1, -1):
        node = stack[index]
        if isinstance(node, SCOPE_NODES):
            return False
        child = stack[index + 1]
        if isinstance(node, cst.With) and child is node.body:
            if any(is_timeout_context(item.item, context, extra) for item in node.items):
                return True
        elif isinstance(node, cst.Arg) and index >= 1 and isinstance(stack[index - 1], cst.Call):
            awaitable = _wait_for_awaitable(stack[index - 1], context)  # type: ignore[arg-type]
            if awaitable is not None and awaitable is child:
                return True
    return False


def calls_with_timeout_state(
    function: cst.FunctionDef, context: FileContext, extra: frozenset[str] = frozenset()
) -> Iterator[tuple[cst.Call, bool]]:
    """(call, is under a timeout) for every call in `function`'s own body."""
    todo: list[tuple[cst.CSTNode, bool]] = [(function.body, False)]
    while todo:
        node, timed = todo.pop()
        if isinstance(node, cst.Call):
            yield node, timed
            awaitable = _wait_for_awaitable(node, context)
            if awaitable is not None:
                todo.append((awaitable, True))
                todo.extend((a, timed) for a in _other_args(node, awaitable))
                todo.append((node.func, timed))
                continue
        if isinstance(node, cst.With):
            inner = timed or any(is_timeout_context(i.item, context, extra) for i in node.items)
            todo.extend((i, timed) for i in node.items)
            todo.append((node.body, inner))
            continue
        for child in iter_children(node):
            if not isinstance(child, SCOPE_NODES):
                todo.append((child, timed))


def _other_args(call: cst.Call, awaitable: cst.BaseExpression) -> Sequence[cst.CSTNode]:
    return [a.value for a in call.args if a.value is not awaitable]


# -- test code ---------------------------------------------------------------------------


def is_test_file(path: str) -> bool:
    """`test*.py` (unittest's pattern, which covers pytest's `test_*.py`), `*_test.py`
    and `conftest.py`. Blocking the loop in a test stalls no other request, so event-loop
    rules skip tests. Directories are not looked at: fixture trees under `tests/` hold
    code that is linted as production code."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return name == "conftest.py" or name.startswith("test") or name.endswith("_test.py")


def is_test_module(module_name: str) -> bool:
    """`is_test_file` for a dotted module name of the run (`tests.test_api`): test code
    is not deployed, so the request models its test apps take are no service's."""
    return bool(module_name) and is_test_file(module_name.rsplit(".", 1)[-1] + ".py")
