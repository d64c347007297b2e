"""Which expressions a name was assigned from, per scope (function or module).

Flow-insensitive on purpose: a rule asks "was `model` ever bound to an estimator
constructor in this function?" and gets every value expression assigned to that name in
the function's own body (nested functions and classes excluded). Memoised per scope.
"""

from __future__ import annotations

import libcst as cst

from leakguard.analysis.scopes import bound_names, is_read
from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, descendants, walk

AssignedValues = dict[str, list[cst.BaseExpression]]


def assigned_values(scope: cst.CSTNode, context: FileContext) -> AssignedValues:
    """name -> value expressions assigned to it directly in `scope`'s own body.

    `a = b = value` binds both names; tuple targets are skipped (the value cannot be
    split reliably), as are augmented assignments.
    """
    key = ("assigned_values", id(scope))
    cached = context.memo.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    values: AssignedValues = {}
    for node in descendants(scope, stop_at=SCOPE_NODES):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    values.setdefault(target.target.value, []).append(node.value)
        elif isinstance(node, cst.AnnAssign) and node.value is not None:
            if isinstance(node.target, cst.Name):
                values.setdefault(node.target.value, []).append(node.value)
        elif isinstance(node, cst.NamedExpr) and isinstance(node.target, cst.Name):
            values.setdefault(node.target.value, []).append(node.value)
    context.memo[key] = values
    return values


def module_assigned_once(name: str, context: FileContext) -> cst.BaseExpression | None:
    """The value of a module-level name assigned exactly once at the top level."""
    key = "module_single_assignments"
    table = context.memo.get(key)
    if table is None:
        counts: dict[str, int] = {}
        found: dict[str, cst.BaseExpression] = {}
        for statement in context.module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        for bound in bound_names(target.target):
                            counts[bound] = counts.get(bound, 0) + 1
                            if isinstance(target.target, cst.Name):
                                found[bound] = small.value
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    for bound in bound_names(small.target):
                        counts[bound] = counts.get(bound, 0) + 1
                        if isinstance(small, cst.AnnAssign) and small.value is not None:
                            found[bound] = small.value
        table = {n: v for n, v in found.items() if counts.get(n) == 1}
        context.memo[key] = table
    value = table.get(name)
    return value if isinstance(value, cst.BaseExpression) else None


def local_reads(
    assign: cst.CSTNode | None, value: cst.CSTNode, body: cst.CSTNode
) -> list[list[cst.CSTNode]] | None:
    """When `assign` is `name = value` with one plain name as its target: the path (from
    `body` down to the read, inclusive) of each read of that name in `body`, in order.
    None when `assign` is anything else."""
    if not (
        isinstance(assign, cst.Assign)
        and assign.value is value
        and len(assign.targets) == 1
        and isinstance(assign.targets[0].target, cst.Name)
    ):
        return None
    local = assign.targets[0].target.value
    reads: list[list[cst.CSTNode]] = []
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        if (
            isinstance(node, cst.Name)
            and node.value == local
            and len(stack) >= 2
            and is_read(node, stack[-2])
        ):
            reads.append(list(stack))

    walk(body, visit, stack=stack)
    return reads
