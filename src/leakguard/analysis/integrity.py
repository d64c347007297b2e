"""Integrity checks before a load: was a digest compared earlier in the same scope?

A *check* is
- a call to a constant-time comparison (`hmac.compare_digest`, `secrets.compare_digest`),
- an `==`/`!=` comparison one side of which is computed with a digest function
  (`hashlib.sha256(data).hexdigest() == expected`), directly or through locals of the
  same scope (`h = hashlib.sha256(); h.update(b); digest = h.hexdigest(); digest != x`),
- a call to a helper function defined in the same file whose body contains a check
  (`verify_model(path, digest)`), followed transitively a few levels deep.

"Before" is source order within the scope's own body (pre-order of the tree, nested
functions and classes excluded). Facts are memoised per scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst

from leakguard.analysis.bindings import AssignedValues, assigned_values
from leakguard.analysis.imports import matches_any
from leakguard.context import FileContext
from leakguard.walker import descendants

# Lambdas stay inside: a check or load in a lambda is still in the scope's body order.
_OWN_BODY_STOP = (cst.FunctionDef, cst.ClassDef)
_HELPER_DEPTH = 3


@dataclass(frozen=True)
class CheckVocabulary:
    """What counts as a comparison call and as a digest computation."""

    compare_calls: tuple[str, ...]
    digest_calls: tuple[str, ...]


@dataclass
class _ScopeChecks:
    order: dict[int, int]  # id(call) -> pre-order index in the scope's body
    first_check: int | None


def innermost_scope(context: FileContext) -> cst.CSTNode:
    """The function, class or module whose own body holds the current node."""
    for node in context.ancestors():
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Module)):
            return node
    return context.module


def checked_before(
    call: cst.Call, scope: cst.CSTNode, context: FileContext, vocabulary: CheckVocabulary
) -> bool:
    """True when an integrity check precedes `call` in `scope`'s own body."""
    facts = _scope_checks(scope, context, vocabulary)
    if facts.first_check is None:
        return False
    position = facts.order.get(id(call))
    return position is not None and facts.first_check < position


def _scope_checks(
    scope: cst.CSTNode, context: FileContext, vocabulary: CheckVocabulary
) -> _ScopeChecks:
    key = ("integrity_checks", id(scope))
    cached = context.memo.get(key)
    if isinstance(cached, _ScopeChecks):
        return cached
    order: dict[int, int] = {}
    first_check: int | None = None
    values = assigned_values(scope, context)
    for index, node in enumerate(descendants(scope, stop_at=_OWN_BODY_STOP)):
        if isinstance(node, cst.Call):
            order[id(node)] = index
        if first_check is None and _is_check(node, values, context, vocabulary, _HELPER_DEPTH):
            first_check = index
    facts = _ScopeChecks(order, first_check)
    context.memo[key] = facts
    return facts


def _is_check(
    node: cst.CSTNode,
    values: AssignedValues,
    context: FileContext,
    vocabulary: CheckVocabulary,
    depth: int,
) -> bool:
    if isinstance(node, cst.Comparison):
        if not any(isinstance(t.operator, (cst.Equal, cst.NotEqual)) for t in node.comparisons):
            return False
        sides = [node.left, *(t.comparator for t in node.comparisons)]
        return any(_digest_derived(side, values, context, vocabulary, set()) for side in sides)
    if isinstance(node, cst.Call):
        name = context.imports.call_name(node)
        if name is not None and matches_any(name, vocabulary.compare_calls):
            return True
        return depth > 0 and _calls_checking_helper(node, context, vocabulary, depth)
    return False


def _digest_derived(
    expression: cst.BaseExpression,
    values: AssignedValues,
    context: FileContext,
    vocabulary: CheckVocabulary,
    seen: set[str],
) -> bool:
    for node in (expression, *descendants(expression, stop_at=_OWN_BODY_STOP)):
        if isinstance(node, cst.Call):
            name = context.imports.call_name(node)
            if name is not None and matches_any(name, vocabulary.digest_calls):
                return True
        elif isinstance(node, cst.Name) and node.value in values and node.value not in seen:
            seen.add(node.value)
            if any(
                _digest_derived(value, values, context, vocabulary, seen)
                for value in values[node.value]
            ):
                return True
    return False


def _calls_checking_helper(
    call: cst.Call, context: FileContext, vocabulary: CheckVocabulary, depth: int
) -> bool:
    func = call.func
    if isinstance(func, cst.Name):
        helper_name = func.value
    elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        helper_name = func.attr.value  # self.verify(...), cls.verify(...), Store.verify(...)
    else:
        return False
    return any(
        _function_checks(helper, context, vocabulary, depth - 1)
        for helper in _functions_named(helper_name, context)
    )


def _function_checks(
    function: cst.FunctionDef, context: FileContext, vocabulary: CheckVocabulary, depth: int
) -> bool:
    key = ("integrity_helper", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, bool):
        return cached
    context.memo[key] = False  # recursion guard for mutually recursive helpers
    values = assigned_values(function, context)
    found = any(
        _is_check(node, values, context, vocabulary, depth)
        for node in descendants(function.body, stop_at=_OWN_BODY_STOP)
    )
    context.memo[key] = found
    return found


def _functions_named(name: str, context: FileContext) -> Iterable[cst.FunctionDef]:
    table = context.memo.get("integrity_functions_by_name")
    if not isinstance(table, dict):
        table = {}
        for node in descendants(context.module):
            if isinstance(node, cst.FunctionDef):
                table.setdefault(node.name.value, []).append(node)
        context.memo["integrity_functions_by_name"] = table
    found: list[cst.FunctionDef] = table.get(name, [])
    return found
