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

from collections.abc import Sequence

import libcst as cst

from leakguard.analysis.cheap_calls import CHEAP_METHODS, cheap_callee
from leakguard.analysis.imports import dotted_name
from leakguard.analysis.summaries import DEFAULT_MAX_CALL_DEPTH, cst_reference, summary_index
from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, descendants


def does_work(part: cst.CSTNode, context: FileContext, depth: int = DEFAULT_MAX_CALL_DEPTH) -> bool:
    """`part` awaits or makes a call that is work (see the module's docstring); calls
    into the run are followed at most `depth` functions deep."""
    return _first_work(part, context, depth, frozenset(), set()) is not None


# What a loop walks, when known: the classes (qualified) of the value it reads the
# collection from and the fields read on the way (`body.functions` of `body: ChatRequest`:
# (["app.schemas.ChatRequest"], ["functions"])).
ItemType = tuple[Sequence[str], Sequence[str]]


def loop_does_work(
    loop: cst.For | cst.CompFor,
    part: cst.CSTNode,
    context: FileContext,
    depth: int = DEFAULT_MAX_CALL_DEPTH,
    item_type: ItemType | None = None,
) -> bool:
    """`does_work` for the loop's `part` (its body, a comprehension's element), knowing
    its items: a cheap function of the run that loops over the argument carrying an item
    works through the item's contents (work). Work under `if key in CONSTANT:` over a
    mapping's keys runs at most once per entry of the constant (a whitelist filter), not
    per item: it does not count, unless it loops itself (over the key's value, as large
    as the request makes it). With `item_type` (the loop walks that collection itself, one
    item per name), a method of the item's own data model called with no argument
    (`function.to_template_function()`) is judged by its summary
    (`SummaryIndex.entry_method`)."""
    keys = _unique_keys(loop.target, loop.iter)
    if (
        isinstance(loop, cst.CompFor)
        and any(_whitelisted(c.test, keys, context) for c in loop.ifs)
        and not _loops(part)
    ):
        return False
    skip: set[int] = set()
    if keys:
        for node in descendants(part, stop_at=SCOPE_NODES, only=(cst.If,)):
            if (
                isinstance(node, cst.If)
                and _whitelisted(node.test, keys, context)
                and not _loops(node.body)
            ):
                skip.update(id(n) for n in descendants(node.body))
    entries = None
    if item_type is not None and isinstance(loop.target, cst.Name):
        entries = (loop.target.value, item_type)
    return _first_work(part, context, depth, target_names(loop.target), skip, entries) is not None


def _loops(part: cst.CSTNode) -> bool:
    loops = (cst.For, cst.While, cst.CompFor)
    return next(descendants(part, stop_at=SCOPE_NODES, only=loops), None) is not None


def _first_work(
    part: cst.CSTNode,
    context: FileContext,
    depth: int,
    items: frozenset[str],
    skip: set[int],
    entries: tuple[str, ItemType] | None = None,
) -> cst.CSTNode | None:
    """The first await or call of `part` (nested scopes not entered, nodes in `skip`
    neither) that is work."""
    for node in (part, *descendants(part, stop_at=SCOPE_NODES)):
        if id(node) in skip:
            continue
        if isinstance(node, cst.Await):
            return node
        if (
            isinstance(node, cst.Call)
            and not _cheap(node, context, depth, items)
            and not _cheap_entry_method(node, context, depth, entries)
        ):
            return node
    return None


def _cheap_entry_method(
    call: cst.Call, context: FileContext, depth: int, entries: tuple[str, ItemType] | None
) -> bool:
    """`item.method()` with no argument on the loop's item, whose every possible class
    is a data model of the run with a cheap method of its own (no override in the run):
    it only turns the item into data. Handed anything, the method may walk it."""
    func = call.func
    if (
        entries is None
        or call.args
        or not isinstance(func, cst.Attribute)
        or not isinstance(func.value, cst.Name)
        or func.value.value != entries[0]
    ):
        return False
    index = summary_index(context)
    if index is None:
        return False
    roots, path = entries[1]
    methods = index.entry_method(context.module_name, roots, path, func.attr.value)
    return methods is not None and all(index.cheap(method, depth) for method in methods)


def target_names(target: cst.CSTNode) -> frozenset[str]:
    """The names a loop's (or comprehension's) target binds: `for key, value in ...`."""
    return frozenset(n.value for n in (target, *descendants(target)) if isinstance(n, cst.Name))


def _unique_keys(target: cst.CSTNode, iterable: cst.BaseExpression) -> frozenset[str]:
    """The name bound to each key of a mapping (`for key, value in d.items()`, `for key
    in d.keys()`): no key comes twice."""
    if not (
        isinstance(iterable, cst.Call)
        and isinstance(iterable.func, cst.Attribute)
        and iterable.func.attr.value in ("items", "keys")
        and not iterable.args
    ):
        return frozenset()
    if isinstance(target, cst.Tuple) and target.elements:
        target = target.elements[0].value
    return frozenset({target.value}) if isinstance(target, cst.Name) else frozenset()


def _whitelisted(test: cst.BaseExpression, keys: frozenset[str], context: FileContext) -> bool:
    """`key in ALLOWED`: a mapping's key tested against a fixed collection of constants
    of the run (`SummaryIndex.constant_collection`: bound once to a literal, never
    mutated in its file; here or imported), whatever the case of its name."""
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
        return False
    target = test.comparisons[0]
    if not (
        isinstance(test.left, cst.Name)
        and test.left.value in keys
        and isinstance(target.operator, cst.In)
        and isinstance(target.comparator, (cst.Name, cst.Attribute))
    ):
        return False
    index = summary_index(context)
    reference = cst_reference(target.comparator, context)
    return (
        index is not None
        and reference is not None
        and index.constant_collection(context.module_name, reference)
    )


def _cheap(call: cst.Call, context: FileContext, depth: int, items: frozenset[str]) -> bool:
    func = call.func
    method = func.attr.value if isinstance(func, cst.Attribute) else None
    index = summary_index(context)
    if cheap_callee(dotted_name(func), method, context.imports.aliases):
        if (
            method in CHEAP_METHODS
            and index is not None
            and isinstance(func, cst.Attribute)
            and index.object_method_at(
                context.module_name, context.line_of(call), method, dotted_name(func.value) or ""
            )
        ):
            return False  # `client.get(url)` on an HTTP client: the receiver's maker decides
        # `sorted(parts, key=score)` calls `score` for each element.
        return all(
            _cheap_key(arg.value, context, depth, items)
            for arg in call.args
            if arg.keyword is not None and arg.keyword.value == "key"
        )
    if index is None:
        return False
    reference = cst_reference(func, context)
    if reference is None:
        return False
    target = index.resolve(context.module_name, reference)
    if target is None or not index.cheap(target, depth):
        return False
    if index.hands_object_at(context.module_name, context.line_of(call), reference):
        return False  # `fetch(client, url)`, whose body calls `client.get(url)`
    iterated = index.iterated(target) if items else []
    return not any(
        _hands_item(arg, position, iterated, items) for position, arg in enumerate(call.args)
    )


def _cheap_key(
    key: cst.BaseExpression, context: FileContext, depth: int, items: frozenset[str]
) -> bool:
    if isinstance(key, cst.Lambda):
        return _first_work(key.body, context, depth, items, set()) is None
    method = key.attr.value if isinstance(key, cst.Attribute) else None
    name = dotted_name(key) if isinstance(key, (cst.Name, cst.Attribute)) else None
    return name is not None and cheap_callee(name, method, context.imports.aliases)


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
