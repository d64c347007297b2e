"""Constant folding for iteration counts and sizes.

Only what is certain: literals, arithmetic on literals, module-level constants assigned
exactly once, `len()` of literal collections and `range()` arithmetic. Anything else is
unknown (None) and rules must not guess.
"""

from __future__ import annotations

import libcst as cst

_MAX_FOLDED = 10**15  # guards against `10 ** 10 ** 10` eating the CPU


class ConstantTable:
    """Module-level names bound once to a foldable int/float/str."""

    def __init__(self) -> None:
        self.values: dict[str, int | float | str] = {}

    @classmethod
    def from_module(cls, module: cst.Module) -> ConstantTable:
        table = cls()
        assigned_once: dict[str, cst.BaseExpression] = {}
        seen_twice: set[str] = set()
        for statement in module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                target: cst.BaseExpression | None = None
                value: cst.BaseExpression | None = None
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    target, value = small.targets[0].target, small.value
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    target, value = small.target, small.value
                elif isinstance(small, cst.AugAssign):
                    target = small.target
                if isinstance(target, cst.Name):
                    if target.value in assigned_once or value is None:
                        seen_twice.add(target.value)
                    else:
                        assigned_once[target.value] = value
        for name, value in assigned_once.items():
            if name in seen_twice:
                continue
            try:
                folded = table.fold(value)
            except RecursionError:  # `1 + 1 + ...` thousands of terms deep: not certain
                continue
            if folded is not None:
                table.values[name] = folded
        return table

    def fold(self, node: cst.BaseExpression) -> int | float | str | None:
        """The value of a constant expression, or None when it is not certain."""
        if isinstance(node, cst.Integer):
            return int(node.value.replace("_", ""), 0)
        if isinstance(node, cst.Float):
            return float(node.value.replace("_", ""))
        if isinstance(node, cst.SimpleString):
            try:
                value = node.evaluated_value
            except Exception:
                return None
            return value if isinstance(value, str) else None
        if isinstance(node, cst.ConcatenatedString):
            left, right = self.fold(node.left), self.fold(node.right)
            return left + right if isinstance(left, str) and isinstance(right, str) else None
        if isinstance(node, cst.Name):
            return self.values.get(node.value)
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            inner = self.fold(node.expression)
            return -inner if isinstance(inner, (int, float)) else None
        if isinstance(node, cst.BinaryOperation):
            return self._fold_binary(node)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
            if node.func.value == "len" and len(node.args) == 1:
                return self.length(node.args[0].value)
            if node.func.value == "int" and len(node.args) == 1:
                inner = self.fold(node.args[0].value)
                return int(inner) if isinstance(inner, (int, float)) else None
        return None

    def fold_int(self, node: cst.BaseExpression) -> int | None:
        value = self.fold(node)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def _fold_binary(self, node: cst.BinaryOperation) -> int | float | str | None:
        left, right = self.fold(node.left), self.fold(node.right)
        if left is None or right is None:
            return None
        op = node.operator
        try:
            if isinstance(op, cst.Add):
                if isinstance(left, str) != isinstance(right, str):
                    return None
                result = left + right  # type: ignore[operator]
            elif isinstance(op, cst.Multiply):
                if isinstance(left, str) and isinstance(right, str):
                    return None
                if isinstance(left, str) or isinstance(right, str):
                    count = right if isinstance(left, str) else left
                    if not isinstance(count, int) or count > 10**7:
                        return None  # a huge literal repetition is a size, not a value
                result = left * right  # type: ignore[operator]
            elif isinstance(left, str) or isinstance(right, str):
                return None
            elif isinstance(op, cst.Subtract):
                result = left - right
            elif isinstance(op, cst.FloorDivide):
                result = left // right
            elif isinstance(op, cst.Divide):
                result = left / right
            elif isinstance(op, cst.Modulo):
                result = left % right
            elif isinstance(op, cst.Power):
                if isinstance(right, (int, float)) and abs(right) > 64:
                    return None
                result = left**right
            elif isinstance(op, cst.LeftShift) and isinstance(left, int) and isinstance(right, int):
                result = left << right if right <= 64 else None
            else:
                return None
        except (ArithmeticError, ValueError):
            return None
        if isinstance(result, (int, float)) and abs(result) > _MAX_FOLDED:
            return None
        return result

    def length(self, node: cst.BaseExpression) -> int | None:
        """Length of a literal collection or string, else None."""
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            if any(isinstance(e, cst.StarredElement) for e in node.elements):
                return None
            return len(node.elements)
        if isinstance(node, cst.Dict):
            if any(isinstance(e, cst.StarredDictElement) for e in node.elements):
                return None
            return len(node.elements)
        value = self.fold(node)
        return len(value) if isinstance(value, str) else None

    def iteration_count(self, iterable: cst.BaseExpression) -> int | None:
        """How many times `for _ in <iterable>` runs, when it is certain."""
        if isinstance(iterable, cst.Call):
            func = iterable.func
            name = func.value if isinstance(func, cst.Name) else None
            if name == "range":
                return self._range_length(iterable)
            if name in ("enumerate", "reversed", "list", "tuple", "sorted") and iterable.args:
                return self.iteration_count(iterable.args[0].value)
            if name == "zip" and iterable.args:
                counts = [self.iteration_count(a.value) for a in iterable.args]
                known = [c for c in counts if c is not None]
                return min(known) if known and len(known) == len(counts) else None
            return None
        return self.length(iterable)

    def comprehension_count(self, comprehension: cst.CSTNode) -> int | None:
        """Items a list/set/dict comprehension or generator expression produces: the
        product of its `for` clauses' counts, when all are known and none filters."""
        if not isinstance(
            comprehension, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
        ):
            return None
        total = 1
        clause: cst.CompFor | None = comprehension.for_in
        while clause is not None:
            count = None if clause.ifs else self.iteration_count(clause.iter)
            if count is None:
                return None
            total *= count
            clause = clause.inner_for_in
        return total

    def _range_length(self, call: cst.Call) -> int | None:
        if any(a.keyword is not None or a.star for a in call.args):
            return None
        values = [self.fold_int(a.value) for a in call.args]
        if any(v is None for v in values) or not 1 <= len(values) <= 3:
            return None
        ints = [v for v in values if v is not None]
        try:
            return len(range(*ints))
        except (ValueError, OverflowError):
            return None
