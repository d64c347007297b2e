"""Per-item work: does a loop's body (or iterable, or a comprehension's element) do work
for each item, beyond cheap conversions?

One answer for every rule that asks (LG202's loop over request data, LG303's loop over a
request collection): a part does work when it awaits, or makes a call that is neither
cheap by its callee alone (`analysis/cheap_calls.py`: builtins, container/str methods,
pydantic conversions, standard-library conversions) nor a call into a function of the
run whose summary shows it cheap (`SummaryIndex.cheap`: every call it makes is cheap in
turn; calling an `async def` only builds a coroutine). A call the run cannot resolve (a
third-party library, a local callable) stays work: nothing shows it is cheap, and so does
a cheap function of the run handed an item it loops over (it works through the item's
contents: rewriting each message of each imported chat), and a call to an `async def`
(its coroutine does the work once awaited, e.g. gathered web searches).

Its own module (not `summaries.py`): it is a question about the file being analysed,
with LibCST nodes, that the summaries only help answer; `summaries.py` records, per
function of the run, what the answer needs from its body.
"""

from __future__ import annotations

import libcst as cst

from leakguard.analysis.cheap_calls import cheap_callee
from leakguard.analysis.imports import dotted_name
from leakguard.analysis.summaries import DEFAULT_MAX_CALL_DEPTH, summary_index
from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, descendants


def does_work(
    part: cst.CSTNode,
    context: FileContext,
    depth: int = DEFAULT_MAX_CALL_DEPTH,
    items: frozenset[str] = frozenset(),
) -> bool:
    """`part` awaits or makes a call that is work (see the module's docstring); calls
    into the run are followed at most `depth` functions deep. `items` are the loop's
    target names: a cheap function of the run that loops over the argument carrying an
    item works through the item's contents (work)."""
    return first_work(part, context, depth, items) is not None


def first_work(
    part: cst.CSTNode,
    context: FileContext,
    depth: int = DEFAULT_MAX_CALL_DEPTH,
    items: frozenset[str] = frozenset(),
) -> cst.CSTNode | None:
    """The first await or call of `part` (nested scopes not entered) that is work."""
    for node in (part, *descendants(part, stop_at=SCOPE_NODES)):
        if isinstance(node, cst.Await):
            return node
        if isinstance(node, cst.Call) and not _cheap(node, context, depth, items):
            return node
    return None


def target_names(target: cst.CSTNode) -> frozenset[str]:
    """The names a loop's (or comprehension's) target binds: `for key, value in ...`."""
    return frozenset(n.value for n in (target, *descendants(target)) if isinstance(n, cst.Name))


def _cheap(call: cst.Call, context: FileContext, depth: int, items: frozenset[str]) -> bool:
    func = call.func
    method = func.attr.value if isinstance(func, cst.Attribute) else None
    if cheap_callee(dotted_name(func), method, context.imports.aliases):
        return True
    index = summary_index(context)
    if index is None:
        return False
    target = index.callee(call, context)
    if target is None or not index.cheap(target, depth):
        return False
    iterated = index.iterated(target) if items else []
    return not any(
        _hands_item(arg, position, iterated, items) for position, arg in enumerate(call.args)
    )


def _hands_item(
    arg: cst.Arg, position: int, iterated: list[tuple[str, int]], items: frozenset[str]
) -> bool:
    """`arg` carries an item to a parameter the callee loops over (any starred one may)."""
    if not iterated or not any(
        isinstance(n, cst.Name) and n.value in items for n in (arg.value, *descendants(arg.value))
    ):
        return False
    if arg.star:
        return True
    if arg.keyword is not None:
        return any(name == arg.keyword.value for name, _ in iterated)
    return any(at == position for _, at in iterated)
