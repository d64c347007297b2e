"""Constant folding for iteration counts and sizes, and fixed collections.

Only what is certain: literals, arithmetic on literals, module-level constants assigned
exactly once, `len()` of literal collections and `range()` arithmetic. Anything else is
unknown (None) and rules must not guess.

`constant_collections(tree)`: the module-level names that hold a fixed collection of
constants (`ALLOWED = {"a", "b"}`), proven from the file, not read from an upper-case
name; collected with the function summaries so other files' imports resolve them.
"""

from __future__ import annotations

import ast
import re

import libcst as cst

from leakguard.analysis.containers import CONTAINER_BUILTINS
from leakguard.triage import SCOPES, TriageTree
from leakguard.walker import SCOPE_NODES, descendants

_MAX_FOLDED = 10**15  # guards against `10 ** 10 ** 10` eating the CPU


# `global a, b` in a function, read from the file's text: sliced analysis elides the
# bodies of functions no rule needs (`leakguard.slicing`), `configure()` among them.
_GLOBAL_DECLARATION = re.compile(r"^[ \t]*global[ \t]+(\w+(?:[ \t]*,[ \t]*\w+)*)", re.MULTILINE)


def _rebound_elsewhere(module: cst.Module, source: str | None) -> set[str]:
    """Names module-level code may bind other than by one top-level assignment: a second
    binding anywhere at module level (under `if`/`try`/`for`/`with`, an import, a `for` or
    `with ... as` target, tuple unpacking, a walrus, `del`), a `global` declaration in any
    function (a call at import time rebinds it: `configure()` before the class whose
    decorator reads the name), and every name bound before a star import, which may
    rebind it (`CACHE_SIZE = 4` then `from local_settings import *`). The top-level
    assignment counts here too, so a name bound once has a count of one. `source`, the
    file's whole text, is where `global` declarations are read when given (`module` may
    have function bodies elided)."""
    counts: dict[str, int] = {}
    first_statement: dict[str, int] = {}
    last_star_import = -1
    for index, statement in enumerate(module.body):
        # A def or class binds its name; its body is a scope of its own.
        nodes = (
            [statement]
            if isinstance(statement, SCOPE_NODES)
            else [statement, *descendants(statement, stop_at=SCOPE_NODES)]
        )
        for node in nodes:
            targets: list[cst.BaseExpression] = []
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                targets = [node.name]
            elif isinstance(
                node,
                (
                    cst.AssignTarget,
                    cst.AnnAssign,
                    cst.AugAssign,
                    cst.NamedExpr,
                    cst.For,
                    cst.CompFor,
                ),
            ):
                targets = [node.target]
            elif isinstance(node, cst.AsName):
                # `import a as N`, `with ... as N`, `except ... as N`
                targets = [node.name] if isinstance(node.name, cst.BaseExpression) else []
            elif isinstance(node, cst.ImportAlias) and node.asname is None:
                root: cst.BaseExpression = node.name
                while isinstance(root, cst.Attribute):
                    root = root.value
                targets = [root]
            elif isinstance(node, cst.Del):
                targets = [node.target]
            elif isinstance(node, cst.ImportFrom) and isinstance(node.names, cst.ImportStar):
                last_star_import = index
            for target in targets:
                for name in _target_names(target):
                    counts[name] = counts.get(name, 0) + 1
                    first_statement.setdefault(name, index)
    rebound = {name for name, count in counts.items() if count > 1}
    rebound.update(name for name, index in first_statement.items() if index < last_star_import)
    if source is None:
        for node in descendants(module, only=(cst.Global,)):
            if isinstance(node, cst.Global):
                rebound.update(item.name.value for item in node.names)
    else:
        for declaration in _GLOBAL_DECLARATION.finditer(source):
            rebound.update(re.findall(r"\w+", declaration.group(1)))
    return rebound


def rebound_elsewhere(module: cst.Module, source: str | None) -> set[str]:
    """Module-level names something other than one top-level assignment may bind
    (`_rebound_elsewhere`): a name in it is no constant, whatever its first value."""
    return _rebound_elsewhere(module, source)


def _target_names(target: cst.BaseExpression) -> list[str]:
    """Names an assignment target binds (tuples, lists and starred unpacked; an attribute
    or a subscript binds none)."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _target_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []


class ConstantTable:
    """Module-level names bound once to a foldable int/float/str."""

    def __init__(self) -> None:
        self.values: dict[str, int | float | str] = {}

    @classmethod
    def from_module(cls, module: cst.Module, source: str | None = None) -> ConstantTable:
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
        rebound = _rebound_elsewhere(module, source)
        for name, value in assigned_once.items():
            if name in seen_twice or name in rebound:
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


# Methods that change a set, list or dict in place.
_MUTATORS = frozenset(
    {
        "add", "update", "append", "extend", "insert", "pop", "popitem", "remove",
        "discard", "clear", "setdefault", "sort", "reverse", "intersection_update",
        "difference_update", "symmetric_difference_update", "__setitem__", "__delitem__",
    }
)  # fmt: skip


def constant_collections(tree: TriageTree) -> frozenset[str]:
    """Module-level names bound exactly once, by a top-level assignment, to a literal
    set/frozenset/tuple/list of constants or a dict literal with constant keys (also
    wrapped in `frozenset(...)`, `set(...)`, ...), that no code of the file mutates
    (a mutating method, an item store or delete, an augmented assignment) or declares
    `global`: a fixed collection, whatever the case of its name."""
    found: frozenset[str] | None = tree.memo.get("constants.collections")
    if found is not None:
        return found
    stores: dict[str, int] = {}
    for node in tree.scope_nodes(tree.tree.body, SCOPES):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
    candidates: set[str] = set()
    for statement in tree.tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if (
            isinstance(target, ast.Name)
            and stores.get(target.id) == 1
            and _fixed_collection(value, stores)
        ):
            candidates.add(target.id)
    if candidates:
        candidates -= _mutated(tree)
    found = frozenset(candidates)
    tree.memo["constants.collections"] = found
    return found


def _fixed_collection(value: ast.expr, stores: dict[str, int]) -> bool:
    if isinstance(value, ast.Call):
        func = value.func
        if not (
            isinstance(func, ast.Name)
            and func.id in CONTAINER_BUILTINS
            and func.id not in stores
            and not value.keywords
            and len(value.args) <= 1
        ):
            return False
        return not value.args or _fixed_collection(value.args[0], stores)
    if isinstance(value, (ast.Set, ast.List, ast.Tuple)):
        return all(_constant(e) for e in value.elts)
    if isinstance(value, ast.Dict):
        return all(k is not None and _constant(k) for k in value.keys)
    return False


def _constant(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp):
        return _constant(node.operand)
    if isinstance(node, ast.Tuple):
        return all(_constant(e) for e in node.elts)
    return False


def _mutated(tree: TriageTree) -> set[str]:
    """Names a mutating method is called on, whose items are stored or deleted, that
    are augmented or declared `global` anywhere in the file."""
    found: set[str] = set()
    for call in tree.of(ast.Call):
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in _MUTATORS
            and isinstance(func.value, ast.Name)
        ):
            found.add(func.value.id)
    for subscript in tree.of(ast.Subscript):
        if not isinstance(subscript.ctx, ast.Load) and isinstance(subscript.value, ast.Name):
            found.add(subscript.value.id)
    for augmented in tree.of(ast.AugAssign):
        if isinstance(augmented.target, ast.Name):
            found.add(augmented.target.id)
    for declared in tree.of(ast.Global):
        found.update(declared.names)
    return found
