"""Where a generator function's body runs: where its generator is iterated.

Calling a plain function with `yield` of its own only builds a generator; its body runs,
a step at a time, wherever the generator is consumed: by a `for` loop or comprehension over
the call itself, by a consuming builtin handed the call (`list(rows())`, `sum(...)`,
`next(...)`, `"".join(...)`), or by `yield from` (and a returned generator is counted as
consumed: its caller iterates it). A generator kept in a variable or handed
elsewhere (`chunks = read(f)` then `await asyncio.to_thread(next, chunks)`) runs its body
where that code iterates it, not at the call (real-world review: a log reader's
generator built in a coroutine and stepped in a worker thread).

`consumed_in_place(nodes)` (CPython `ast`, for the function summaries) and
`cst_consumed(call, context)` (LibCST, for a rule at the call) answer the same question.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

import libcst as cst

from leakguard.context import FileContext

# Builtins that iterate what they are handed before returning (`list`, `sum`; `next` one
# step), or wrap it for the loop around them (`enumerate`, `zip`, `map`): counted as
# consumed either way, the safe side.
CONSUMING_BUILTINS = frozenset(
    {
        "list",
        "tuple",
        "set",
        "frozenset",
        "dict",
        "sorted",
        "sum",
        "min",
        "max",
        "any",
        "all",
        "next",
        "iter",
        "enumerate",
        "zip",
        "map",
        "filter",
    }
)


# The node types `consumed_in_place` reads.
CONSUMING_NODES = (ast.For, ast.AsyncFor, ast.comprehension, ast.YieldFrom, ast.Return, ast.Call)


def consumed_in_place(nodes: Iterable[ast.AST]) -> set[int]:
    """The ids of the calls among `nodes` whose value is iterated where it is made."""
    found: set[int] = set()
    for node in nodes:
        if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            found.add(id(node.iter))
        elif isinstance(node, (ast.YieldFrom, ast.Return)) and node.value is not None:
            # `return rows()`: handed to the caller to iterate, which the summary of the
            # caller's call cannot follow: counted as consumed, the safe side.
            found.add(id(node.value))
        elif isinstance(node, ast.Call) and _consumes(node.func):
            found.update(id(arg) for arg in node.args)
    return found


def _consumes(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in CONSUMING_BUILTINS
    return isinstance(func, ast.Attribute) and func.attr == "join"


def cst_consumed(call: cst.Call, context: FileContext) -> bool:
    """`call` (the node being visited) has its value iterated where it is made. A call
    that is not the visited node cannot be placed: it counts as consumed, the safe side
    for the rules asking (its callee's work is not dismissed)."""
    stack = context.stack
    if not stack or stack[-1] is not call or len(stack) < 2:
        return True
    parent = stack[-2]
    if isinstance(parent, (cst.For, cst.CompFor)):
        return parent.iter is call
    if isinstance(parent, (cst.From, cst.Return)):  # `yield from call()`, `return call()`
        return True
    if isinstance(parent, cst.Arg) and len(stack) >= 3:
        outer = stack[-3]
        if isinstance(outer, cst.Call) and parent.keyword is None:
            func = outer.func
            if isinstance(func, cst.Name):
                return func.value in CONSUMING_BUILTINS
            return isinstance(func, cst.Attribute) and func.attr.value == "join"
    return False
