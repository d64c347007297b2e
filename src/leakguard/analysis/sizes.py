"""Size estimation of what a loop allocates (for LG103 large-allocation-retained).

`estimate(expr, context, local_values)` returns an `Estimate` of the object an
expression builds, from facts that are certain: string repetition counts
(`"x" * 1000`), literal and module-constant string lengths, numpy shape arguments
(`np.zeros((1000, 1000))`, `np.random.rand(1000, 1000)`, `np.ones(shape=...)`, `dtype=`;
MLX arrays alike: `mx.zeros((1000, 1000))`, `mx.random.normal((1000, 1000))`),
DataFrame row counts from `range`/literal sizes, `bytes(n)`/`bytearray(n)`/`os.urandom(n)`,
and tuples/lists/dicts/objects (a capitalised constructor call) holding such parts.
Anything else contributes nothing; an expression with no known part is None.

Byte sizes are CPython-ish estimates (1 byte per ASCII char + 49, 8 bytes per list slot,
itemsize x elements for arrays), good for an order of magnitude in a message.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst

from leakguard.analysis.calls import keyword_arg, positional_arg
from leakguard.context import FileContext
from leakguard.triage import (
    TriageTree,
    exact_count,
    imports_any,
    is_repetition,
    may_fold,
    may_know_count,
)

_STR_OVERHEAD = 49
_SLOT = 8
_OBJECT_OVERHEAD = 56
_MAX_DEPTH = 6

NUMPY_SHAPE_FIRST = frozenset(
    {
        "numpy.zeros",
        "numpy.ones",
        "numpy.empty",
        "numpy.full",
        "numpy.random.random",
        "numpy.random.random_sample",
        "numpy.random.sample",
        "numpy.random.ranf",
        "numpy.random.standard_normal",
    }
)
NUMPY_DIMS_POSITIONAL = frozenset({"numpy.random.rand", "numpy.random.randn"})
NUMPY_SIZE_THIRD = frozenset(
    {
        "numpy.random.randint",
        "numpy.random.normal",
        "numpy.random.uniform",
        "numpy.random.binomial",
        "numpy.random.poisson",
    }
)
NUMPY_SQUARE = frozenset({"numpy.eye", "numpy.identity"})
# MLX (`mlx.core`, imported as `mx`) arrays take their shapes like numpy's: each
# constructor maps to the numpy one read the same way. MLX defaults to float32.
MLX_AS_NUMPY = {
    "mlx.core.zeros": "numpy.zeros",
    "mlx.core.ones": "numpy.ones",
    "mlx.core.full": "numpy.full",
    "mlx.core.eye": "numpy.eye",
    "mlx.core.identity": "numpy.identity",
    "mlx.core.arange": "numpy.arange",
    "mlx.core.random.normal": "numpy.random.standard_normal",
    "mlx.core.random.uniform": "numpy.random.uniform",
    "mlx.core.random.randint": "numpy.random.randint",
}
_MLX_ITEMSIZE = 4
NUMPY_ARANGE = "numpy.arange"
DATAFRAME_TYPES = frozenset({"pandas.DataFrame", "pandas.core.frame.DataFrame"})
BYTES_OF_SIZE = frozenset({"bytes", "bytearray", "os.urandom", "secrets.token_bytes"})
_ITEMSIZE = {
    "bool": 1,
    "bool_": 1,
    "int8": 1,
    "uint8": 1,
    "byte": 1,
    "ubyte": 1,
    "int16": 2,
    "uint16": 2,
    "float16": 2,
    "half": 2,
    "int32": 4,
    "uint32": 4,
    "float32": 4,
    "single": 4,
    "intc": 4,
    "int64": 8,
    "uint64": 8,
    "float64": 8,
    "double": 8,
    "int": 8,
    "float": 8,
    "int_": 8,
    "float_": 8,
    "complex64": 8,
    "complex128": 16,
    "complex": 16,
    "complex_": 16,
}


@dataclass(frozen=True)
class Estimate:
    """What one evaluation of an expression allocates."""

    bytes: int
    what: str  # the dominant part, for the message: `"x" * 1000 (1000 chars)`
    repeat: int = 0  # largest string repetition count (`"ab" * 1000` -> 1000)
    string_chars: int = 0  # the expression itself is a string of this length
    nested_string_chars: int = 0  # longest string held inside a tuple/list/object
    array_dim: int = 0  # largest numpy dimension
    rows: int = 0  # DataFrame rows

    def merged(self, other: Estimate, nested: bool) -> Estimate:
        """`self` plus `other` as a part of a container (nested) or a concatenation."""
        biggest = self if self.bytes >= other.bytes else other
        other_chars = max(other.string_chars, other.nested_string_chars) if nested else 0
        return Estimate(
            bytes=self.bytes + other.bytes,
            what=biggest.what,
            repeat=max(self.repeat, other.repeat),
            string_chars=0 if nested else self.string_chars + other.string_chars,
            nested_string_chars=max(self.nested_string_chars, other_chars),
            array_dim=max(self.array_dim, other.array_dim),
            rows=max(self.rows, other.rows),
        )


def format_bytes(size: float) -> str:
    """`~8.0 MB` (decimal units, one decimal)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"~{size / scale:.1f} {unit}"
    return f"~{int(size)} bytes"


def estimate(
    expr: cst.BaseExpression,
    context: FileContext,
    local_values: Mapping[str, cst.BaseExpression] | None = None,
) -> Estimate | None:
    return _Estimator(context, local_values or {}).of(expr, 0)


def length_of(
    expr: cst.BaseExpression,
    context: FileContext,
    local_values: Mapping[str, cst.BaseExpression] | None = None,
) -> int | None:
    """Number of items `expr` holds when certain (`range(n)`, literals, `[x] * n`,
    comprehensions over known counts, a numpy array's first dimension)."""
    return _Estimator(context, local_values or {}).length(expr)


class _Estimator:
    def __init__(
        self, context: FileContext, local_values: Mapping[str, cst.BaseExpression]
    ) -> None:
        self.context = context
        self.constants = context.constants
        self.local_values = local_values

    def of(self, expr: cst.BaseExpression, depth: int) -> Estimate | None:
        if depth > _MAX_DEPTH:
            return None
        folded = self._folded_string(expr)
        if folded is not None and not isinstance(expr, cst.BinaryOperation):
            return _string(len(folded), self._describe_string(expr, len(folded)))
        if isinstance(expr, cst.BinaryOperation):
            return self._binary(expr, depth)
        if isinstance(expr, cst.Name):
            value = self.local_values.get(expr.value)
            return self.of(value, depth + 1) if value is not None else None
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            return self._container(
                [e.value for e in expr.elements if isinstance(e, cst.Element)], depth
            )
        if isinstance(expr, cst.Dict):
            parts: list[cst.BaseExpression] = []
            for element in expr.elements:
                if isinstance(element, cst.DictElement):
                    parts.extend((element.key, element.value))
            return self._container(parts, depth)
        if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            return self._comprehension(expr, depth)
        if isinstance(expr, cst.Call):
            return self._call(expr, depth)
        return None

    # strings ------------------------------------------------------------------------
    def _folded_string(self, expr: cst.BaseExpression) -> str | None:
        if isinstance(expr, cst.Name) and expr.value in self.local_values:
            return None
        value = self.constants.fold(expr)
        return value if isinstance(value, str) else None

    def _is_stringish(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return True
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name):
            return expr.func.value in ("str", "chr", "repr")
        return isinstance(self._folded_string(expr), str)

    def _binary(self, expr: cst.BinaryOperation, depth: int) -> Estimate | None:
        if isinstance(expr.operator, cst.Multiply):
            for text, count in ((expr.left, expr.right), (expr.right, expr.left)):
                times = self.constants.fold_int(count)
                if times is None or times <= 0:
                    continue
                if self._is_stringish(text):
                    unit = self._folded_string(text)
                    unit_len = len(unit) if unit is not None else 1
                    chars = unit_len * times
                    return Estimate(
                        bytes=chars + _STR_OVERHEAD,
                        what=f"`{self.context.code_of(expr)}` ({chars} chars)",
                        repeat=times,
                        string_chars=chars,
                    )
                if isinstance(text, cst.SimpleString) and "b" in text.prefix.lower():
                    chars = (len(text.evaluated_value) or 1) * times
                    return Estimate(chars + 33, f"`{self.context.code_of(expr)}` ({chars} bytes)")
                if isinstance(text, (cst.List, cst.Tuple)):
                    slots = len(text.elements) * times
                    return Estimate(
                        _OBJECT_OVERHEAD + _SLOT * slots,
                        f"`{self.context.code_of(expr)}` ({slots} slots)",
                    )
            return None
        if isinstance(expr.operator, cst.Add):
            left = self.of(expr.left, depth + 1)
            right = self.of(expr.right, depth + 1)
            if left is None:
                return right
            if right is None:
                return left
            return left.merged(right, nested=False)
        folded = self._folded_string(expr)
        return _string(len(folded), self._describe_string(expr, len(folded))) if folded else None

    def _describe_string(self, expr: cst.BaseExpression, chars: int) -> str:
        code = self.context.code_of(expr)
        if len(code) <= 40:
            return f"`{code}` ({chars} chars)"
        return f"a {chars}-char string literal"

    # containers ---------------------------------------------------------------------
    def _container(self, parts: list[cst.BaseExpression], depth: int) -> Estimate | None:
        total: Estimate | None = None
        for part in parts:
            found = self.of(part, depth + 1)
            if found is None:
                continue
            if total is None:
                total = Estimate(_OBJECT_OVERHEAD + _SLOT * len(parts), found.what)
            total = total.merged(found, nested=True)
        return total

    def _comprehension(
        self, expr: cst.ListComp | cst.SetComp | cst.GeneratorExp, depth: int
    ) -> Estimate | None:
        count = self.constants.comprehension_count(expr)
        if count is None:
            return None
        item = self.of(expr.elt, depth + 1)
        base = _OBJECT_OVERHEAD + _SLOT * count
        if item is None:
            return Estimate(base, f"a {count}-item collection")
        return Estimate(
            bytes=base + item.bytes * count,
            what=f"{count} x {item.what}",
            repeat=item.repeat,
            nested_string_chars=max(item.string_chars, item.nested_string_chars),
            array_dim=item.array_dim,
            rows=item.rows,
        )

    # calls --------------------------------------------------------------------------
    def _call(self, call: cst.Call, depth: int) -> Estimate | None:
        name = self.context.imports.qualify(call.func) or ""
        if name.startswith("numpy."):
            return self._numpy(call, name)
        if name in MLX_AS_NUMPY:
            return self._numpy(call, MLX_AS_NUMPY[name], default_itemsize=_MLX_ITEMSIZE)
        if name in DATAFRAME_TYPES:
            return self._dataframe(call, depth)
        if name in BYTES_OF_SIZE:
            first = positional_arg(call, 0)
            size = self.constants.fold_int(first.value) if first is not None else None
            if size is None or size <= 0:
                return None
            return Estimate(size + 33, f"`{self.context.code_of(call)}` ({size} bytes)")
        if name in ("list", "tuple", "set", "frozenset") and call.args:
            count = self.length(call.args[0].value)
            inner = self.of(call.args[0].value, depth + 1)
            if inner is not None:
                return inner
            if count is not None:
                return Estimate(_OBJECT_OVERHEAD + _SLOT * count, f"a {count}-item {name}")
            return None
        callee = (
            call.func.attr.value
            if isinstance(call.func, cst.Attribute)
            else (call.func.value if isinstance(call.func, cst.Name) else "")
        )
        if name == "dict" or callee[:1].isupper():
            # An object holding its arguments (a wrapper class, a namedtuple, a dict).
            return self._container([a.value for a in call.args], depth)
        return None

    def _numpy(self, call: cst.Call, name: str, default_itemsize: int = 8) -> Estimate | None:
        shape = self.numpy_shape(call, name)
        if not shape:
            return None
        elements = 1
        for dim in shape:
            elements *= dim
        itemsize = self._itemsize(call, name, default_itemsize)
        size = elements * itemsize + 112
        dims = "x".join(str(d) for d in shape)
        return Estimate(
            bytes=size,
            what=f"`{self.context.code_of(call)}` ({dims} array)",
            array_dim=max(shape),
        )

    def numpy_shape(self, call: cst.Call, name: str) -> list[int] | None:
        if name in NUMPY_SHAPE_FIRST:
            arg = keyword_arg(call, "shape") or keyword_arg(call, "size") or positional_arg(call, 0)
            return self._shape(arg.value) if arg is not None else None
        if name in NUMPY_DIMS_POSITIONAL:
            dims = [self.constants.fold_int(a.value) for a in call.args if a.keyword is None]
            known = [d for d in dims if d is not None]
            return known if dims and len(known) == len(dims) else None
        if name in NUMPY_SIZE_THIRD:
            arg = keyword_arg(call, "size") or keyword_arg(call, "shape") or positional_arg(call, 2)
            return self._shape(arg.value) if arg is not None else None
        if name in NUMPY_SQUARE:
            arg = keyword_arg(call, "N") or keyword_arg(call, "n") or positional_arg(call, 0)
            size = self.constants.fold_int(arg.value) if arg is not None else None
            return [size, size] if size is not None else None
        if name == NUMPY_ARANGE:
            values = [self.constants.fold_int(a.value) for a in call.args if a.keyword is None]
            if not values or any(v is None for v in values) or len(values) > 3:
                return None
            try:
                return [len(range(*[v for v in values if v is not None]))]
            except (ValueError, OverflowError):
                return None
        return None

    def _shape(self, node: cst.BaseExpression) -> list[int] | None:
        if isinstance(node, (cst.Tuple, cst.List)):
            dims = [self.constants.fold_int(e.value) for e in node.elements]
            known = [d for d in dims if d is not None]
            return known if dims and len(known) == len(dims) else None
        single = self.constants.fold_int(node)
        return [single] if single is not None else None

    def _itemsize(self, call: cst.Call, name: str, default: int = 8) -> int:
        dtype = keyword_arg(call, "dtype")
        if dtype is None and name in ("numpy.zeros", "numpy.ones", "numpy.empty"):
            dtype = positional_arg(call, 1)
        if dtype is None:
            return default
        node = dtype.value
        text = ""
        if isinstance(node, cst.SimpleString):
            evaluated = node.evaluated_value
            text = evaluated if isinstance(evaluated, str) else ""
        elif isinstance(node, cst.Attribute):
            text = node.attr.value
        elif isinstance(node, cst.Name):
            text = node.value
        return _ITEMSIZE.get(text, default)

    def _dataframe(self, call: cst.Call, depth: int) -> Estimate | None:
        data = keyword_arg(call, "data") or positional_arg(call, 0)
        rows: int | None = None
        columns = 1
        held: Estimate | None = None
        if data is not None:
            value = data.value
            if isinstance(value, cst.Name) and value.value in self.local_values:
                value = self.local_values[value.value]
            if isinstance(value, cst.Dict):
                lengths = []
                for element in value.elements:
                    if isinstance(element, cst.DictElement):
                        lengths.append(self.length(element.value))
                known = [n for n in lengths if n is not None]
                rows = max(known) if known else None
                columns = max(len(lengths), 1)
            elif isinstance(value, cst.Call):
                inner_name = self.context.imports.qualify(value.func) or ""
                shape = (
                    self.numpy_shape(value, inner_name) if inner_name.startswith("numpy.") else None
                )
                if shape:
                    rows = shape[0]
                    columns = shape[1] if len(shape) > 1 else 1
                else:
                    rows = self.length(value)
            else:
                rows = self.length(value)
                held = self.of(value, depth + 1)
        index = keyword_arg(call, "index")
        if rows is None and index is not None:
            rows = self.length(index.value)
        names = keyword_arg(call, "columns")
        if names is not None:
            count = self.length(names.value)
            if count:
                columns = count
        if rows is None:
            return None
        size = rows * columns * _SLOT + 500
        if held is not None and held.bytes > size:
            size = held.bytes
        return Estimate(
            bytes=size,
            what=f"a DataFrame of {rows} rows x {columns} columns",
            rows=rows,
        )

    def length(self, node: cst.BaseExpression) -> int | None:
        """Number of items an expression holds, when certain."""
        if isinstance(node, cst.Name) and node.value in self.local_values:
            node = self.local_values[node.value]
        count = self.constants.iteration_count(node)
        if count is not None:
            return count
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
            for seq, times in ((node.left, node.right), (node.right, node.left)):
                if isinstance(seq, (cst.List, cst.Tuple)):
                    n = self.constants.fold_int(times)
                    if n is not None:
                        return len(seq.elements) * n
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            return self.constants.comprehension_count(node)
        if isinstance(node, cst.Call):
            name = self.context.imports.qualify(node.func) or ""
            name = MLX_AS_NUMPY.get(name, name)
            if name.startswith("numpy."):
                shape = self.numpy_shape(node, name)
                return shape[0] if shape else None
        return None


def _string(chars: int, what: str) -> Estimate:
    return Estimate(bytes=chars + _STR_OVERHEAD, what=what, string_chars=chars)


# Below this, a string literal cannot make a loop's growth large (the smallest size
# threshold divided by the smallest iteration count that still needs a large item).
_LONG_STRING = 1000


def large_source(tree: TriageTree) -> bool:
    """Triage (see `leakguard.triage`): whether the file has anything `estimate` could
    size as large for few iterations: a repetition, numpy or pandas, a sized bytes
    call, a long string or a string concatenation, a comprehension of known length."""
    if any(is_repetition(tree, node) for node in tree.of(ast.BinOp)):
        return True
    roots = {name.split(".", 1)[0] for name in (*MLX_AS_NUMPY, *DATAFRAME_TYPES)}
    if imports_any(tree, ("numpy", *roots)):
        return True
    if tree.called & {name.rsplit(".", 1)[-1] for name in BYTES_OF_SIZE}:
        return True
    docstrings = {id(statement.value) for statement in tree.of(ast.Expr)}
    for constant in tree.of(ast.Constant):
        text = constant.value
        # A bare string statement (a docstring) is no value.
        long = isinstance(text, (str, bytes)) and len(text) >= _LONG_STRING
        if long and id(constant) not in docstrings:
            return True
    for operation in tree.of(ast.BinOp):
        if isinstance(operation.op, ast.Add) and may_fold(tree, operation):
            return True
    comprehensions: list[ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp] = [
        *tree.of(ast.ListComp),
        *tree.of(ast.SetComp),
        *tree.of(ast.GeneratorExp),
        *tree.of(ast.DictComp),
    ]
    for node in comprehensions:
        if all(may_know_count(tree, clause.iter) for clause in node.generators):
            counts = [exact_count(clause.iter) for clause in node.generators]
            if None in counts or math.prod(c or 0 for c in counts) >= _LONG_STRING:
                return True
    return False


def sized_without_count(tree: TriageTree, region: list[ast.AST]) -> bool:
    """Triage: whether `region` (a loop's own nodes) holds something `estimate` sizes as
    large whatever the iteration count: a repetition (`"x" * n`, `[0] * n`) or a numpy,
    MLX or pandas constructor call (by qualified name, or by its last part)."""
    roots = ("numpy.", *{name.split(".", 1)[0] + "." for name in (*MLX_AS_NUMPY, *DATAFRAME_TYPES)})
    lasts = {name.rsplit(".", 1)[-1] for name in (*MLX_AS_NUMPY, *DATAFRAME_TYPES)}
    for node in region:
        if isinstance(node, ast.BinOp) and is_repetition(tree, node):
            return True
        if isinstance(node, ast.Call):
            qualified = tree.qualify(node.func) or ""
            if qualified.startswith(roots) or qualified.rsplit(".", 1)[-1] in lasts:
                return True
    return False
