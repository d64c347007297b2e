"""Pydantic request models: constraint reading and cross-file facts (LG301-LG303).

Each file contributes JSON facts (collector `pydantic_models`):

- `classes`: module-level classes with their qualified bases and, per annotated field, a
  *type tree* that records every collection level and whether it carries a length bound
  (`Field(max_length=)`, `conlist(max_length=)`, `Annotated[..., MaxLen(..)]` ...), and
  for numbers whether they carry an upper bound (`le`/`lt`);
- `aliases`: module-level type aliases (`Row = Annotated[list[float], Field(...)]`);
- `markers`: how a parameter typed with an `Annotated` alias is read (`Body`, `Query`,
  a `Depends()` class, or `Depends(provider)` with the provider's name);
- `uses`: the models that the file's route handlers take from the request (a body
  parameter, `Body()`, a `Depends()` class, or `Model.model_validate_json(...)` in the
  handler), and the providers they depend on (`Depends(provider)`);
- `providers`: the same for every module-level function of a FastAPI file, in case a
  handler (here or elsewhere) depends on it.

`ModelIndex` merges the facts of every file of the run, resolves names across files
(`from .schemas import Item`) and answers: which models are request bodies (directly, via
a base class or a nested model, or through the dependencies a handler declares), and
which levels of a field's type are unbounded. How a parameter is read is one answer for
the run: an alias's marker decides in every file (`ModelIndex.use_kind`).

A type tree node is a dict with key `k`:
  `seq` (list/set/tuple.../dict/str/bytes; `n` kind, `b` bounded, `of` children, `t` text),
  `num` (int/float; `b` upper-bounded), `ref` (a name to resolve; `q` qualified name,
  `b` length-bounded and `u` upper-bounded by outer metadata), `union` (`of` options),
  `lit` (bounded by nature: Literal, bool, None, dates, ids; `f`: finitely many values,
  as Literal, bool and None have) and `any` (unknown: never
  reported).
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst

from leakguard.analysis.asyncio_facts import is_test_module
from leakguard.analysis.bindings import module_assigned_once
from leakguard.analysis.caller_trust import CallerTrust
from leakguard.analysis.clamps import COLLECTOR as CLAMPS
from leakguard.analysis.clamps import clamped_in
from leakguard.analysis.echoes import BUILT, MAX_HOPS, sized_attributes
from leakguard.analysis.frameworks import (
    handler_regions,
    is_request_handler,
    may_have_request_handlers,
)
from leakguard.analysis.project import FactCollector, ProjectIndex, register_collector
from leakguard.context import FileContext
from leakguard.slicing import callee_regions
from leakguard.triage import TriageTree, last_parts, module_level_names, run_query
from leakguard.walker import SCOPE_NODES, descendants

COLLECTOR = "pydantic_models"
_BUILTIN_NAMES = frozenset(dir(builtins))

Tree = dict[str, Any]

_TYPING = ("typing.", "typing_extensions.", "collections.abc.", "collections.")
_SEQUENCE_KINDS = {
    "list": "list",
    "List": "list",
    "set": "set",
    "Set": "set",
    "frozenset": "set",
    "FrozenSet": "set",
    "AbstractSet": "set",
    "MutableSet": "set",
    "Sequence": "list",
    "MutableSequence": "list",
    "Collection": "list",
    "Iterable": "list",
    "deque": "list",
    "Deque": "list",
    "tuple": "tuple",
    "Tuple": "tuple",
}
_MAPPING_NAMES = frozenset(
    {
        "dict",
        "Dict",
        "Mapping",
        "MutableMapping",
        "DefaultDict",
        "defaultdict",
        "OrderedDict",
        "Counter",
    }
)
_STRING_TYPES = {
    "str": "str",
    "bytes": "bytes",
    "bytearray": "bytes",
    "pydantic.StrictStr": "str",
    "pydantic.StrictBytes": "bytes",
    "pydantic.SecretStr": "str",
    "pydantic.SecretBytes": "bytes",
    "pydantic.Base64Str": "str",
    "pydantic.Base64Bytes": "bytes",
    "pydantic.Base64UrlStr": "str",
    "pydantic.Base64UrlBytes": "bytes",
    "pydantic.types.StrictStr": "str",
    "pydantic.types.StrictBytes": "bytes",
    "pydantic.v1.StrictStr": "str",
    "pydantic.v1.StrictBytes": "bytes",
}
_UNBOUNDED_NUMBERS = frozenset(
    {
        "int",
        "float",
        "decimal.Decimal",
        "pydantic.StrictInt",
        "pydantic.StrictFloat",
        "pydantic.PositiveInt",
        "pydantic.NonNegativeInt",
        "pydantic.PositiveFloat",
        "pydantic.NonNegativeFloat",
        "pydantic.FiniteFloat",
        "pydantic.v1.StrictInt",
        "pydantic.v1.PositiveInt",
        "pydantic.v1.NonNegativeInt",
        "pydantic.v1.PositiveFloat",
    }
)
# Numbers with an upper bound by construction (<= 0).
_UPPER_BOUNDED_NUMBERS = frozenset(
    {
        "pydantic.NegativeInt",
        "pydantic.NonPositiveInt",
        "pydantic.NegativeFloat",
        "pydantic.NonPositiveFloat",
    }
)
_UNKNOWN_TYPES = frozenset({"typing.Any", "typing_extensions.Any", "object", "pydantic.Json"})
# Constrained-type factories (pydantic v1 and v2).
_CON_SEQUENCES = {"conlist": "list", "conset": "set", "confrozenset": "set"}
_CON_STRINGS = {"constr": "str", "conbytes": "bytes"}
_CON_NUMBERS = frozenset({"conint", "confloat", "condecimal"})
_LENGTH_KEYWORDS = ("max_length", "max_items")
_UPPER_KEYWORDS = ("le", "lt")
MODEL_ROOTS = frozenset(
    {
        "pydantic.BaseModel",
        "pydantic.main.BaseModel",
        "pydantic.v1.BaseModel",
        "pydantic.v1.main.BaseModel",
        "pydantic.RootModel",
        "pydantic.root_model.RootModel",
        "sqlmodel.SQLModel",
    }
)
_MODEL_DECORATORS = frozenset(
    {"pydantic.dataclasses.dataclass", "pydantic.v1.dataclasses.dataclass", "dataclasses.dataclass"}
)
# Methods that build a model from request data when called inside a route handler.
VALIDATE_METHODS = frozenset(
    {
        "model_validate",
        "model_validate_json",
        "model_validate_strings",
        "parse_obj",
        "parse_raw",
        "validate_json",
        "validate_python",
    }
)
_VALIDATOR_DECORATORS = frozenset({"field_validator", "validator"})
_MODEL_VALIDATOR_DECORATORS = frozenset({"model_validator", "root_validator"})
# FastAPI parameter markers.
BODY_MARKERS = frozenset({"Body", "File"})
# Form fields are capped by Starlette's multipart/urlencoded parser (1 MB per part, 1000
# fields), so they are treated like query values: numbers matter (LG302), sizes do not.
QUERY_MARKERS = frozenset({"Query", "Path", "Header", "Cookie", "Form"})
DEPENDENCY_MARKERS = frozenset({"Depends", "Security"})
_MAX_TEXT = 80


# -- type expressions -> trees ---------------------------------------------------------


def _text(node: cst.CSTNode, context: FileContext) -> str:
    code = " ".join(context.code_of(node).split())
    return code if len(code) <= _MAX_TEXT else code[: _MAX_TEXT - 3] + "..."


def qualified_name(node: cst.BaseExpression, context: FileContext) -> str | None:
    """Imported names qualified through imports; names defined here get the module prefix."""
    qualified = context.imports.qualify(node)
    if qualified is not None:
        return qualified
    if isinstance(node, cst.Name):
        return f"{context.module_name}.{node.value}" if context.module_name else node.value
    if isinstance(node, cst.Attribute):
        # `schemas.Item` where `schemas` is a local name: keep the dotted text.
        root: cst.BaseExpression = node
        parts: list[str] = []
        while isinstance(root, cst.Attribute):
            parts.append(root.attr.value)
            root = root.value
        if isinstance(root, cst.Name):
            parts.append(root.value)
            return ".".join(reversed(parts))
    return None


def _short(qualified: str) -> str:
    return qualified.rsplit(".", 1)[-1]


def _typing_name(qualified: str) -> str | None:
    """`List` for `typing.List`, `list` for the builtin; None for other names."""
    if "." not in qualified:
        return qualified
    if qualified.startswith(_TYPING):
        return _short(qualified)
    return None


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _carrier_name(call: cst.Call, context: FileContext) -> str:
    """`Field`, `Query`, `MaxLen`... for a call in annotation metadata or a default."""
    qualified = context.imports.qualify(call.func)
    if qualified is None and isinstance(call.func, (cst.Name, cst.Attribute)):
        qualified = qualified_name(call.func, context)
    return _short(qualified or "")


def metadata_bounds(call: cst.Call, context: FileContext) -> tuple[bool, bool]:
    """(length bound, upper bound) that a `Field(...)`/`MaxLen(...)`-style call sets."""
    name = _carrier_name(call, context)
    positional = [a for a in call.args if a.keyword is None and not a.star]
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    if name == "MaxLen":
        return bool(positional) or "max_length" in keywords, False
    if name == "Len":
        bound = keywords.get("max_length") if "max_length" in keywords else None
        if bound is None and len(positional) >= 2:
            bound = positional[1].value
        return bound is not None and not _is_none(bound), False
    if name in ("Le", "Lt"):
        return False, True
    length = any(k in keywords and not _is_none(keywords[k]) for k in _LENGTH_KEYWORDS)
    upper = any(k in keywords and not _is_none(keywords[k]) for k in _UPPER_KEYWORDS)
    if _spreads_keywords(call):
        return True, True  # `Field(**LIMITS)`: the bounds may be in there
    return length, upper


def _spreads_keywords(call: cst.Call) -> bool:
    """`conlist(str, **ITEMS_LIMIT)`: keyword arguments from a mapping we do not read,
    which may set the bound (infinity-emb's shared limits); taken as bounded rather
    than reported on a guess."""
    return any(a.star == "**" for a in call.args)


def bound(tree: Tree, length: bool, upper: bool) -> Tree:
    """`tree` with an outer length/upper bound applied to its top level."""
    if not (length or upper):
        return tree
    kind = tree["k"]
    if kind == "seq" and length:
        return {**tree, "b": True}
    if kind == "num" and upper:
        return {**tree, "b": True}
    if kind == "union":
        return {**tree, "of": [bound(option, length, upper) for option in tree["of"]]}
    if kind == "ref":
        return {**tree, "b": tree.get("b", False) or length, "u": tree.get("u", False) or upper}
    return tree


def bound_everywhere(tree: Tree) -> Tree:
    """`tree` with every level bounded (a validator that measures the items too)."""
    result = bound(tree, True, True)
    if "of" in result:
        result = {**result, "of": [bound_everywhere(child) for child in result["of"]]}
    return result


def bound_inner(tree: Tree) -> Tree:
    """`tree` with every level below the top bounded (a validator that measures only the
    items: `len(row) > N for row in v` leaves `v` itself unbounded)."""
    if tree["k"] == "union":
        return {**tree, "of": [bound_inner(option) for option in tree["of"]]}
    if "of" in tree:
        return {**tree, "of": [bound_everywhere(child) for child in tree["of"]]}
    return tree


def type_tree(node: cst.BaseExpression, context: FileContext, depth: int = 0) -> Tree:
    """The type tree of an annotation expression (see the module docstring)."""
    if depth > 12:
        return {"k": "any"}
    if isinstance(node, (cst.Name, cst.Attribute)):
        return _named_tree(node, context)
    if isinstance(node, cst.Subscript):
        return _subscript_tree(node, context, depth)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return _union([node.left, node.right], context, depth)
    if isinstance(node, cst.Call):
        return _call_tree(node, context, depth)
    if isinstance(node, cst.SimpleString):
        # A forward reference: `list["Item"]`.
        try:
            value = node.evaluated_value
            if isinstance(value, str):
                return type_tree(cst.parse_expression(value), context, depth + 1)
        except Exception:
            return {"k": "any"}
    return {"k": "any"}


def _named_tree(node: cst.Name | cst.Attribute, context: FileContext) -> Tree:
    if _is_none(node) or (isinstance(node, cst.Name) and node.value in ("True", "False")):
        return {"k": "lit", "f": True}
    qualified = qualified_name(node, context)
    if qualified is None:
        return {"k": "any"}
    imported = context.imports.qualify(node)
    plain = _typing_name(imported) if imported is not None else None
    text = _text(node, context)
    if plain in _SEQUENCE_KINDS:
        return {"k": "seq", "n": _SEQUENCE_KINDS[plain], "b": False, "of": [], "t": text}
    if plain in _MAPPING_NAMES:
        return {"k": "seq", "n": "dict", "b": False, "of": [], "t": text}
    if imported is not None:
        if imported in _STRING_TYPES:
            return {"k": "seq", "n": _STRING_TYPES[imported], "b": False, "of": [], "t": text}
        if imported in _UNBOUNDED_NUMBERS:
            return {"k": "num", "b": False, "t": text}
        if imported in _UPPER_BOUNDED_NUMBERS:
            return {"k": "num", "b": True, "t": text}
        if imported in _UNKNOWN_TYPES:
            return {"k": "any"}
        if imported == "bool":
            return {"k": "lit", "f": True}
        if "." not in imported:
            return {"k": "lit"}  # another builtin (complex...): no size of its own
        if imported.startswith(("datetime.", "uuid.", "pydantic.", "ipaddress.", "pathlib.")):
            return {"k": "lit"}
    return {"k": "ref", "q": qualified, "b": False, "u": False, "t": text}


def _subscript_tree(node: cst.Subscript, context: FileContext, depth: int) -> Tree:
    elements = [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]
    imported = context.imports.qualify(node.value)
    plain = _typing_name(imported) if imported is not None else None
    text = _text(node, context)
    if plain == "Annotated" and elements:
        inner = type_tree(elements[0], context, depth + 1)
        for meta in elements[1:]:
            if isinstance(meta, cst.Name):
                # `Annotated[str, INPUT_STRING]`: a constraint built once, here or in
                # another module (infinity-emb's `StringConstraints(max_length=...)`).
                value = module_assigned_once(meta.value, context)
                if value is None and meta.value in context.imports.aliases:
                    inner = bound(inner, True, True)  # not visible: not reported on a guess
                    continue
                meta = value if value is not None else meta
            if isinstance(meta, cst.Call):
                inner = bound(inner, *metadata_bounds(meta, context))
        return inner
    if plain == "Optional" and elements:
        return _union([elements[0]], context, depth, with_none=True)
    if plain == "Union":
        return _union(elements, context, depth)
    if plain == "Literal":
        return {"k": "lit", "f": True}  # finitely many values
    if plain in ("Final", "ClassVar", "Required", "NotRequired", "ReadOnly") and elements:
        return type_tree(elements[0], context, depth + 1)
    if plain in _SEQUENCE_KINDS:
        kind = _SEQUENCE_KINDS[plain]
        if kind == "tuple":
            if len(elements) == 2 and isinstance(elements[1], cst.Ellipsis):
                item = type_tree(elements[0], context, depth + 1)
                return {"k": "seq", "n": "tuple", "b": False, "of": [item], "t": text}
            items = [type_tree(e, context, depth + 1) for e in elements]
            return {"k": "seq", "n": "tuple", "b": True, "of": items, "t": text}
        items = [type_tree(e, context, depth + 1) for e in elements[:1]]
        return {"k": "seq", "n": kind, "b": False, "of": items, "t": text}
    if plain in _MAPPING_NAMES:
        items = [type_tree(e, context, depth + 1) for e in elements[-2:]]
        # A finite key type (Literal, bool, a closed enum) bounds it: `ModelIndex.finite`.
        return {"k": "seq", "n": "dict", "b": False, "of": items, "t": text}
    if imported in ("pydantic.Json",):
        return {"k": "any"}
    if plain == "type":
        return {"k": "lit"}
    # A generic model (`Page[Item]`): the model itself, plus its arguments.
    base = type_tree(node.value, context, depth + 1)
    if base["k"] == "ref":
        arguments = [type_tree(e, context, depth + 1) for e in elements]
        return {**base, "args": arguments} if arguments else base
    return base


def _union(
    elements: list[cst.BaseExpression], context: FileContext, depth: int, with_none: bool = False
) -> Tree:
    options = [type_tree(e, context, depth + 1) for e in elements]
    if with_none:
        options.append({"k": "lit", "f": True})
    flat: list[Tree] = []
    for option in options:
        flat.extend(option["of"] if option["k"] == "union" else [option])
    return {"k": "union", "of": flat}


def _call_tree(node: cst.Call, context: FileContext, depth: int) -> Tree:
    name = _short(context.imports.qualify(node.func) or "")
    keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    length = any(k in keywords and not _is_none(keywords[k]) for k in _LENGTH_KEYWORDS)
    upper = any(k in keywords and not _is_none(keywords[k]) for k in _UPPER_KEYWORDS)
    if _spreads_keywords(node):
        length = upper = True
    text = _text(node, context)
    if name in _CON_SEQUENCES:
        item_node = keywords.get("item_type") or (positional[0] if positional else None)
        items = [type_tree(item_node, context, depth + 1)] if item_node is not None else []
        return {"k": "seq", "n": _CON_SEQUENCES[name], "b": length, "of": items, "t": text}
    if name in _CON_STRINGS:
        return {"k": "seq", "n": _CON_STRINGS[name], "b": length, "of": [], "t": text}
    if name in _CON_NUMBERS:
        return {"k": "num", "b": upper, "t": text}
    if name == "TypeAdapter" and positional:
        return type_tree(positional[0], context, depth + 1)
    return {"k": "any"}


# -- per-file facts --------------------------------------------------------------------


def _module_statements(body: object) -> Iterator[cst.CSTNode]:
    """Module-level statements, including those under `if`/`try` (TYPE_CHECKING, fallbacks)."""
    for statement in body:  # type: ignore[attr-defined]
        if isinstance(statement, cst.If):
            yield from _module_statements(statement.body.body)
            if statement.orelse is not None:
                yield from _module_statements(statement.orelse.body.body)
        elif isinstance(statement, cst.Try):
            yield from _module_statements(statement.body.body)
            for handler in statement.handlers:
                yield from _module_statements(handler.body.body)
        else:
            yield statement


def _looks_like_type(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.Subscript, cst.Name, cst.Attribute)):
        return True
    if isinstance(node, cst.BinaryOperation):
        return isinstance(node.operator, cst.BitOr)
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute):
            name = func.attr.value
        elif isinstance(func, cst.Name):
            name = func.value
        else:
            return False
        return (
            name in _CON_SEQUENCES
            or name in _CON_STRINGS
            or name in _CON_NUMBERS
            or name == "TypeAdapter"
        )
    return False


def field_statements(klass: cst.ClassDef) -> Iterator[tuple[str, cst.AnnAssign]]:
    """(name, statement) of each annotated field of a model class body."""
    body = klass.body.body if isinstance(klass.body, cst.IndentedBlock) else ()
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if (
                isinstance(small, cst.AnnAssign)
                and isinstance(small.target, cst.Name)
                and not small.target.value.startswith("_")
                and small.target.value != "model_config"
            ):
                yield small.target.value, small


# ORM navigation attributes of SQLModel tables: not in the model's schema, so never
# filled from a request body (gpustack's `Cluster.cluster_models`).
_RELATIONSHIPS = frozenset({"sqlmodel.Relationship", "sqlmodel.main.Relationship"})


def field_tree(field: cst.AnnAssign, context: FileContext) -> Tree | None:
    """The field's type tree with `= Field(...)` constraints applied; None for ClassVars
    and SQLModel `Relationship()` attributes, which are not fields."""
    if (
        isinstance(field.value, cst.Call)
        and context.imports.qualify(field.value.func) in _RELATIONSHIPS
    ):
        return None
    annotation = field.annotation.annotation
    if isinstance(annotation, cst.Subscript):
        head = context.imports.qualify(annotation.value) or ""
        if _short(head) == "ClassVar":
            return None
    elif _short(context.imports.qualify(annotation) or "") == "ClassVar":
        return None
    tree = type_tree(annotation, context)
    if isinstance(field.value, cst.Call):
        tree = bound(tree, *metadata_bounds(field.value, context))
    return tree


def _decorator_name(decorator: cst.Decorator, context: FileContext) -> str:
    target = decorator.decorator
    func = target.func if isinstance(target, cst.Call) else target
    return context.imports.qualify(func) or qualified_name(func, context) or ""


def _validated_fields(klass: cst.ClassDef, context: FileContext) -> dict[str, tuple[bool, bool]]:
    """Fields that a validator in the class compares and raises on (an explicit bound),
    mapped to (outer, inner): whether it bounds the value itself (`len(v) > N`, or any
    comparison when nothing is measured) and whether it measures the items
    (`len(n) for n in v`). Each bounds only its own levels."""
    found: dict[str, tuple[bool, bool]] = {}
    body = klass.body.body if isinstance(klass.body, cst.IndentedBlock) else ()
    for method in body:
        if not isinstance(method, cst.FunctionDef):
            continue
        for decorator in method.decorators:
            name = _short(_decorator_name(decorator, context))
            if name in _VALIDATOR_DECORATORS or name in _MODEL_VALIDATOR_DECORATORS:
                for field, (outer, inner) in _fields_checked_by(method, decorator, name).items():
                    was_outer, was_inner = found.get(field, (False, False))
                    found[field] = (was_outer or outer, was_inner or inner)
    return found


def _fields_checked_by(
    method: cst.FunctionDef, decorator: cst.Decorator, kind: str
) -> dict[str, tuple[bool, bool]]:
    nodes = list(descendants(method.body, stop_at=SCOPE_NODES))
    if not any(isinstance(n, cst.Raise) for n in nodes):
        return {}
    comparisons = [n for n in nodes if isinstance(n, cst.Comparison)]
    if not comparisons:
        return {}
    if kind in _VALIDATOR_DECORATORS:
        target = decorator.decorator
        if not isinstance(target, cst.Call):
            return {}
        params = method.params.params
        value_name = params[1].name.value if len(params) > 1 else None
        measured = [
            len_argument(part) for c in comparisons for part in descendants(c) if len_argument(part)
        ]
        inner = any(isinstance(m, cst.Name) and m.value != value_name for m in measured)
        outer = not measured or any(
            isinstance(m, cst.Name) and m.value == value_name for m in measured
        )
        return {
            a.value.evaluated_value: (outer, inner)
            for a in target.args
            if a.keyword is None
            and isinstance(a.value, cst.SimpleString)
            and isinstance(a.value.evaluated_value, str)
        }
    checked: dict[str, tuple[bool, bool]] = {}
    for comparison in comparisons:
        for node in descendants(comparison):
            if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
                if node.value.value in ("self", "cls", "model", "m"):
                    checked[node.attr.value] = (True, False)
            elif isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name):
                element = node.slice[0].slice if node.slice else None
                if isinstance(element, cst.Index) and isinstance(element.value, cst.SimpleString):
                    key = element.value.evaluated_value
                    if isinstance(key, str):
                        checked[key] = (True, False)
            elif _is_method_call(node, "get") and isinstance(node, cst.Call) and node.args:
                key_node = node.args[0].value
                if isinstance(key_node, cst.SimpleString):
                    key = key_node.evaluated_value
                    if isinstance(key, str):
                        checked[key] = (True, False)
    return checked


# Builtins a validator may call without doing the server's work (reading files,
# querying a store): their errors describe the value validated.
_IMPURE_BUILTINS = frozenset({"open", "eval", "exec", "compile", "__import__", "input"})
_PURE_CALLS = frozenset(name for name in dir(builtins) if name not in _IMPURE_BUILTINS)


def _validator_works(klass: cst.ClassDef, context: FileContext) -> bool:
    """Whether a validator of the class does more than check the
    values it is handed: a call other than a builtin, `re`, or a method of its own
    parameters (`value.strip()`), or an `except` (it handles some other operation's
    error). Its errors are then the server's (a DB error pydantic passes through, a
    `ValueError` made from an `OSError`), not a description of the client's input."""
    body = klass.body.body if isinstance(klass.body, cst.IndentedBlock) else ()
    for method in body:
        if not isinstance(method, cst.FunctionDef):
            continue
        # (Not `model_post_init`: the sliced file `fact_regions` keeps has only validators.)
        validator = any(
            _short(_decorator_name(d, context))
            in (_VALIDATOR_DECORATORS | _MODEL_VALIDATOR_DECORATORS)
            for d in method.decorators
        )
        if not validator:
            continue
        params = {p.name.value for p in [*method.params.posonly_params, *method.params.params]}
        for node in descendants(method.body):
            if isinstance(node, cst.ExceptHandler):
                return True
            if not isinstance(node, cst.Call):
                continue
            func = node.func
            if isinstance(func, cst.Name) and func.value in _PURE_CALLS:
                continue
            root: cst.BaseExpression = func
            while isinstance(root, (cst.Attribute, cst.Subscript, cst.Call)):
                root = root.value if not isinstance(root, cst.Call) else root.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(root, cst.Name)
                and (root.value in params or context.imports.qualify(root) == "re")
            ):
                continue
            return True
    return False


def _class_facts(klass: cst.ClassDef, context: FileContext) -> dict[str, Any]:
    bases: list[str] = []
    fields: dict[str, Tree] = {}
    for base in klass.bases:
        if base.keyword is not None:
            continue
        value = base.value
        if isinstance(value, cst.Subscript):
            head = qualified_name(value.value, context) or ""
            if head in ("pydantic.RootModel", "pydantic.root_model.RootModel") and value.slice:
                element = value.slice[0].slice
                if isinstance(element, cst.Index):
                    fields["root"] = type_tree(element.value, context)
            value = value.value
        name = qualified_name(value, context)
        if name is not None:
            bases.append(name)
    decorated = any(_decorator_name(d, context) in _MODEL_DECORATORS for d in klass.decorators)
    validated = _validated_fields(klass, context)
    for name, statement in field_statements(klass):
        tree = field_tree(statement, context)
        if tree is None:
            continue
        if name in validated:
            outer, inner = validated[name]
            if inner:
                tree = bound_inner(tree)
            if outer:
                tree = bound(tree, True, True)
        fields[name] = tree
    facts: dict[str, Any] = {"bases": bases, "fields": fields}
    if decorated:
        facts["model"] = True
    if _validator_works(klass, context):
        facts["works"] = True
    # An enum's `_missing_` hook may turn any other value into a (pseudo-)member.
    if any(
        isinstance(statement, cst.FunctionDef) and statement.name.value == "_missing_"
        for statement in klass.body.body
    ):
        facts["open"] = True
    return facts


def _may_be_model_or_enum(klass: cst.ClassDef, context: FileContext) -> bool:
    """False for classes that cannot be a model: no bases (and no decorator), or only
    builtin bases (`Exception`, `dict`). Keeps the facts small."""
    if klass.decorators:
        return True
    for base in klass.bases:
        if base.keyword is not None:
            continue
        value = base.value.value if isinstance(base.value, cst.Subscript) else base.value
        qualified = context.imports.qualify(value)
        if qualified is None or qualified not in _BUILTIN_NAMES:
            return True
    return False


def _definitions(
    context: FileContext,
) -> tuple[dict[str, Any], dict[str, Tree], dict[str, list[str]]]:
    classes: dict[str, Any] = {}
    aliases: dict[str, Tree] = {}
    markers: dict[str, list[str]] = {}
    for statement in _module_statements(context.module.body):
        if isinstance(statement, cst.ClassDef) and _may_be_model_or_enum(statement, context):
            classes[statement.name.value] = _class_facts(statement, context)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                target: cst.BaseExpression | None = None
                value: cst.BaseExpression | None = None
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    target, value = small.targets[0].target, small.value
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    target, value = small.target, small.value
                elif isinstance(small, cst.TypeAlias):
                    target, value = small.name, small.value
                if isinstance(target, cst.Name) and value is not None and _looks_like_type(value):
                    marker = _alias_marker(value, context)
                    if marker is not None:
                        markers[target.value] = marker
                    if marker is not None and len(marker) > 1:
                        # `CtxDep = Annotated[Ctx, Depends(get_ctx)]`: a handler parameter of
                        # this type is what `get_ctx` returns (ModelIndex follows it).
                        continue
                    tree = type_tree(value, context)
                    if tree["k"] != "any" and tree["k"] != "lit":
                        aliases[target.value] = tree
    return classes, aliases, markers


def _alias_marker(value: cst.BaseExpression, context: FileContext) -> list[str] | None:
    """How FastAPI reads a parameter annotated with the alias `value`, by the marker in its
    `Annotated` metadata: `["Body"]`, `["Query"]`..., `["Depends"]` for a class whose own
    fields are read from the request (`Depends()`, `Depends(Params)`), and `["Depends",
    provider]` for a value computed by calling `provider` (its qualified name, "" when
    it is not a name). None: no marker (a plain type)."""
    if not isinstance(value, cst.Subscript) or len(value.slice) < 2:
        return None
    if _short(context.imports.qualify(value.value) or "") != "Annotated":
        return None
    typed = _annotated_type(value)
    marker: list[str] | None = None
    for element in value.slice[1:]:
        call = element.slice.value if isinstance(element.slice, cst.Index) else None
        if not isinstance(call, cst.Call):
            continue
        name = _carrier_name(call, context)
        if name in DEPENDENCY_MARKERS:
            if _reads_own_fields(call, typed, context):
                marker = [name]
            else:
                marker = [name, _provider_name(call, context) or ""]
        elif name in BODY_MARKERS or name in QUERY_MARKERS:
            marker = [name]
    return marker


def _provider_name(dependency: cst.Call, context: FileContext) -> str | None:
    """The qualified name of the provider a `Depends(provider)` call names."""
    provider = next((a.value for a in dependency.args if a.keyword is None and not a.star), None)
    if provider is None:
        provider = next(
            (a.value for a in dependency.args if a.keyword and a.keyword.value == "dependency"),
            None,
        )
    if isinstance(provider, (cst.Name, cst.Attribute)):
        return qualified_name(provider, context)
    return None


def _annotated_type(annotation: cst.BaseExpression) -> cst.BaseExpression:
    """`Params` in `Annotated[Params, ...]`; any other annotation is its own type."""
    if isinstance(annotation, cst.Subscript) and isinstance(annotation.slice[0].slice, cst.Index):
        return annotation.slice[0].slice.value
    return annotation


def _reads_own_fields(
    dependency: cst.Call, typed: cst.BaseExpression | None, context: FileContext
) -> bool:
    """`Depends()`, or `Depends(Params)` for a `Params` parameter (the class is its own
    provider): FastAPI reads the class's fields from the request."""
    if not dependency.args:
        return True
    code = context.code_of
    return typed is not None and code(dependency.args[0].value) == code(typed)


def iter_functions(
    root: cst.CSTNode, owner: cst.ClassDef | None = None
) -> Iterator[tuple[cst.FunctionDef, cst.ClassDef | None]]:
    """Every function under `root` with the class that directly defines it."""
    for node in descendants(root, stop_at=SCOPE_NODES):
        if isinstance(node, cst.FunctionDef):
            yield node, owner
            yield from iter_functions(node, None)
        elif isinstance(node, cst.ClassDef):
            yield from iter_functions(node, node)


def request_handlers(context: FileContext) -> dict[int, cst.FunctionDef]:
    """Route handlers of the file by `id(function)` (memoised)."""
    cached = context.memo.get("pydantic_models.handlers")
    if isinstance(cached, dict):
        return cached
    handlers = {
        id(function): function
        for function, owner in iter_functions(context.module)
        if is_request_handler(function, context, owner)
    }
    context.memo["pydantic_models.handlers"] = handlers
    return handlers


def param_markers(param: cst.Param, context: FileContext) -> tuple[str | None, list[cst.Call]]:
    """The FastAPI marker of a parameter (`Body`, `Query`, `Depends`...) and every
    metadata/default call that may carry constraints."""
    calls: list[cst.Call] = []
    annotation = _param_annotation(param, context)
    if isinstance(annotation, cst.Subscript):
        head = context.imports.qualify(annotation.value) or ""
        if _short(head) == "Annotated":
            for element in annotation.slice[1:]:
                if isinstance(element.slice, cst.Index) and isinstance(
                    element.slice.value, cst.Call
                ):
                    calls.append(element.slice.value)
    if isinstance(param.default, cst.Call):
        calls.append(param.default)
    marker = None
    for call in calls:
        name = _carrier_name(call, context)
        if name in BODY_MARKERS or name in QUERY_MARKERS or name in DEPENDENCY_MARKERS:
            marker = name
    return marker, calls


def _param_annotation(param: cst.Param, context: FileContext) -> cst.BaseExpression | None:
    """A parameter's annotation, through a module-level alias of this file
    (`CredentialsDep = Annotated[HTTPAuthorizationCredentials, Depends(bearer)]`)."""
    annotation = param.annotation.annotation if param.annotation else None
    if isinstance(annotation, cst.Name):
        aliased = module_assigned_once(annotation.value, context)
        if isinstance(aliased, cst.Subscript):
            return aliased
    return annotation


def handler_params(function: cst.FunctionDef) -> list[cst.Param]:
    params = function.params
    return [*params.posonly_params, *params.params, *params.kwonly_params]


def param_tree(param: cst.Param, context: FileContext) -> Tree:
    if param.annotation is None:
        return {"k": "any"}
    tree = type_tree(param.annotation.annotation, context)
    if isinstance(param.default, cst.Call):
        tree = bound(tree, *metadata_bounds(param.default, context))
    return tree


def tree_refs(tree: Tree) -> list[str]:
    """Qualified names referenced anywhere in a tree."""
    found: list[str] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if node["k"] == "ref":
            found.append(node["q"])
            todo.extend(node.get("args", ()))
        todo.extend(node.get("of", ()))
    return found


def _validated_model(
    call: cst.Call, context: FileContext, request_names: frozenset[str]
) -> list[str]:
    """Model names that `M.model_validate_json(raw)`, `TypeAdapter(M).validate_python(data)`
    or `M(**data)` builds from request data (`request_names`: the handler's names that
    hold the request or data read from it). `Item.model_validate(item_in)` on an
    already-validated body builds a database row, not a request body."""
    func = call.func
    if not any(_mentions_request(a.value, request_names) for a in call.args):
        return []
    if isinstance(func, cst.Attribute) and func.attr.value in VALIDATE_METHODS:
        receiver = func.value
        if isinstance(receiver, cst.Call):
            return tree_refs(type_tree(receiver, context))
        if isinstance(receiver, (cst.Name, cst.Attribute)):
            name = qualified_name(receiver, context)
            return [name] if name else []
        return []
    if isinstance(func, (cst.Name, cst.Attribute)) and any(
        a.star == "**" and _mentions_request(a.value, request_names) for a in call.args
    ):
        name = qualified_name(func, context)
        return [name] if name else []
    return []


def _mentions_request(node: cst.BaseExpression, names: frozenset[str]) -> bool:
    return any(
        isinstance(sub, cst.Name) and sub.value in names for sub in (node, *descendants(node))
    )


JSON_LOADERS = frozenset({"json.loads", "orjson.loads", "ujson.loads", "simplejson.loads"})


# Attributes of a request object that lead away from its data: the application and its
# state (model registries, settings, clients), the ASGI scope, and transport metadata the
# server caps (also read by `analysis.request_data`).
NOT_REQUEST_DATA = frozenset(
    {"app", "state", "scope", "headers", "cookies", "url", "base_url", "client", "method"}
)


def _reads_request(
    value: cst.BaseExpression, names: set[str], context: FileContext, objects: frozenset[str]
) -> bool:
    """`await request.json()`, `req.form["x"]`, `json.loads(raw)`: data read from the
    request, not something computed from it (a model built from it, a result), nor what
    the request object leads to away from its data (`await request.app.state.x.get()`)."""
    while True:
        if isinstance(value, cst.Await):
            value = value.expression
        elif isinstance(value, cst.Call):
            if context.imports.call_name(value) in JSON_LOADERS and value.args:
                value = value.args[0].value
            else:
                value = value.func
        elif isinstance(value, (cst.Attribute, cst.Subscript)):
            if (
                isinstance(value, cst.Attribute)
                and isinstance(value.value, cst.Name)
                and value.value.value in objects
                and value.attr.value in NOT_REQUEST_DATA
            ):
                return False
            value = value.value
        else:
            break
    return isinstance(value, cst.Name) and value.value in names


_REQUEST_NAMES = frozenset({"request", "req"})  # also Flask's global `request`
_REQUEST_TYPE_SUFFIXES = (".Request", ".BaseRequest", ".HTTPConnection")
# Parameter types the framework injects itself: never read from the request body, even
# when a run also holds a package whose own class has the same name (FastAPI's OpenAPI
# document `Response` model is no `fastapi.Response`).
_INJECTED_TYPES = frozenset(
    {"Request", "Response", "WebSocket", "HTTPConnection", "BackgroundTasks", "SecurityScopes"}
)
_FRAMEWORK_PREFIXES = ("fastapi.", "starlette.", "aiohttp.", "flask.", "werkzeug.", "quart.")


def request_object_names(function: cst.FunctionDef, context: FileContext) -> frozenset[str]:
    """Names in a handler that hold the request object itself: `request`/`req` (also
    Flask's global `request`) and parameters typed as a framework `Request`."""
    names = set(_REQUEST_NAMES)
    for param in handler_params(function):
        if param.annotation is None:
            continue
        qualified = context.imports.qualify(param.annotation.annotation) or ""
        if qualified.startswith(_FRAMEWORK_PREFIXES) and qualified.endswith(_REQUEST_TYPE_SUFFIXES):
            names.add(param.name.value)
    return frozenset(names)


def request_data_names(function: cst.FunctionDef, context: FileContext) -> frozenset[str]:
    """Names in a handler that hold the request or data read from it: `request`/`req`,
    parameters typed as a framework `Request`, and locals assigned from them
    (`data = await request.json()`, `raw = await r.read()`)."""
    key = ("pydantic_models.request_data", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, frozenset):
        return cached
    objects = request_object_names(function, context)
    names = set(objects)
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        if (
            isinstance(node, cst.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0].target, cst.Name)
            and _reads_request(node.value, names, context, objects)
        ):
            names.add(node.targets[0].target.value)
    result = frozenset(names)
    context.memo[key] = result
    return result


def body_param_use(param: cst.Param, context: FileContext) -> tuple[str, Tree] | None:
    """("body"|"query"|"param", tree) for a route handler parameter, or None when the
    parameter is a dependency or framework object."""
    marker, calls = param_markers(param, context)
    if _framework_injected(param, context):
        return None
    tree = param_tree(param, context)
    if marker in DEPENDENCY_MARKERS:
        # `params: Pagination = Depends()` (or `Annotated[Pagination, Depends()]`,
        # `Depends(Pagination)`): FastAPI reads the class's fields from the query string.
        annotation = _param_annotation(param, context)
        typed = _annotated_type(annotation) if annotation is not None else None
        if any(
            _carrier_name(c, context) in DEPENDENCY_MARKERS and _reads_own_fields(c, typed, context)
            for c in calls
        ):
            return "query", tree
        return None
    if marker in BODY_MARKERS:
        return "body", tree
    if marker in QUERY_MARKERS:
        return ("query" if tree_refs(tree) else "param"), tree
    return ("body" if tree_refs(tree) else "param"), tree


def param_provider(param: cst.Param, context: FileContext) -> str | None:
    """The qualified name of the provider of a `Depends(provider)` parameter (in its
    default or its `Annotated` metadata, through an alias of this file), whose value
    FastAPI computes by calling `provider`; None for any other parameter."""
    marker, calls = param_markers(param, context)
    if marker not in DEPENDENCY_MARKERS:
        return None
    annotation = _param_annotation(param, context)
    typed = _annotated_type(annotation) if annotation is not None else None
    for call in calls:
        if _carrier_name(call, context) in DEPENDENCY_MARKERS:
            if _reads_own_fields(call, typed, context):
                return None
            return _provider_name(call, context)
    return None


def run_param_use(param: cst.Param, context: FileContext) -> tuple[str, Tree, bool] | None:
    """`body_param_use` as the run sees it, with whether the parameter is explicitly a
    body (`Body()`, `File()`): a parameter annotated with an alias of another file reads
    the request as that alias's marker says (`Annotated[Pagination, Depends()]`: the
    query string; `Annotated[list[str], Body()]`: the body; `Annotated[X,
    Depends(provider)]`: nothing of its own), the same answer as in the alias's file."""
    use = body_param_use(param, context)
    if use is None:
        return None
    marker, _ = param_markers(param, context)
    if marker is None and use[1]["k"] == "ref":
        aliased = model_index(context).alias_marker(use[1]["q"])
        if aliased is not None:
            kind = marker_kind(aliased)
            return None if kind == "dep" else (kind, use[1], aliased[0] in BODY_MARKERS)
    return use[0], use[1], marker in BODY_MARKERS


def marker_kind(marker: list[str]) -> str:
    """The kind an alias's marker gives: "body", "query" or "dep" (computed by a provider)."""
    if marker[0] in DEPENDENCY_MARKERS:
        return "dep" if len(marker) > 1 else "query"
    return "body" if marker[0] in BODY_MARKERS else "query"


def _framework_injected(param: cst.Param, context: FileContext) -> bool:
    """`response: Response`, `tasks: BackgroundTasks` imported from a web framework."""
    if param.annotation is None:
        return False
    qualified = context.imports.qualify(param.annotation.annotation) or ""
    return (
        qualified.startswith(_FRAMEWORK_PREFIXES)
        and qualified.rsplit(".", 1)[-1] in _INJECTED_TYPES
    )


def _request_uses(context: FileContext) -> list[dict[str, Any]]:
    uses: list[dict[str, Any]] = []
    for function in request_handlers(context).values():
        uses.extend(_function_uses(function, context, handler=True))
    if "validate_json" in context.source or "parse_raw" in context.source:
        uses.extend(_raw_body_validations(context))
    return uses


def _function_uses(
    function: cst.FunctionDef, context: FileContext, handler: bool
) -> list[dict[str, Any]]:
    """What a route handler (or a dependency provider, which FastAPI resolves the same
    way) takes from the request: a model parameter (`kind` "body"/"query", `refs`), a
    `Depends(provider)` parameter (`kind` "dep", the provider's qualified name), a model
    built from request data in its body. A parameter typed with a name that may be
    another file's `Annotated` alias keeps it (`alias`): its marker decides
    (`ModelIndex.use_kind`)."""
    label = function.name.value
    uses: list[dict[str, Any]] = []
    params = handler_params(function)
    for param in params:
        use = body_param_use(param, context)
        if use is None:
            provider = param_provider(param, context)
            if provider:
                uses.append({"kind": "dep", "provider": provider, "handler": label})
            continue
        dependency_class = _dependency_class(param, use, context)
        if dependency_class is not None:
            # `pager: Pager = Depends()`: FastAPI calls `Pager(...)`, reading the parameters
            # of its own `__init__` as it reads a provider's (a model's fields otherwise).
            uses.append({"kind": "dep", "provider": dependency_class, "handler": label})
        refs = tree_refs(use[1])
        if not handler and not refs and param_markers(param, context)[0] in BODY_MARKERS:
            # `ids: list[int] = Body()`: no model, but a body all the same (a provider's
            # parameters are reported where it is one: `ModelIndex.is_provider`).
            uses.append({"kind": "body", "refs": [], "handler": label})
        if use[0] == "param" or not refs:
            continue
        record: dict[str, Any] = {"kind": use[0], "refs": refs, "handler": label}
        if handler:
            reads = sized_attributes(function, param.name.value, context)
            # Attribute names the handler may size work with (LG302); absent: the value
            # escapes whole, any field may (always so for a provider, which returns it).
            # `clamped_via`: fields only handed to helpers of other files, sizing work
            # unless the run says each helper clamps them (`ModelIndex.sized_fields`).
            if reads is not None:
                record["sized"] = sorted(reads.sized)
                if reads.unless:
                    record["clamped_via"] = {
                        attr: [list(helper) for helper in helpers]
                        for attr, helpers in sorted(reads.unless.items())
                    }
                # `bundled`: fields handed on only labelled, with the labels they travel
                # with (a sampler's `top_k` beside `temperature`: `analysis/sampling`).
                if reads.bundled:
                    record["bundled"] = {
                        attr: [[label, list(others)] for label, others in bundles]
                        for attr, bundles in reads.bundled.items()
                    }
                if reads.bundled_unless:
                    record["bundled_unless"] = {
                        attr: [list(helper) for helper in helpers]
                        for attr, helpers in reads.bundled_unless.items()
                    }
        if use[1]["k"] == "ref" and param_markers(param, context)[0] is None:
            record["alias"] = use[1]["q"]
        uses.append(record)
    if (
        handler
        or any(p.name.value in _REQUEST_NAMES for p in params)
        or any(n not in _REQUEST_NAMES for n in request_object_names(function, context))
    ):
        for node in descendants(function.body, stop_at=SCOPE_NODES):
            if isinstance(node, cst.Call):
                refs = _validated_model(node, context, request_data_names(function, context))
                if refs:
                    uses.append({"kind": "body", "refs": refs, "handler": label})
    return uses


def _dependency_class(param: cst.Param, use: tuple[str, Tree], context: FileContext) -> str | None:
    """The class (qualified) of a `Depends()`/`Depends(Pager)` parameter, which FastAPI
    builds by calling the class (`body_param_use` reads its fields as a query)."""
    kind, tree = use
    if kind != "query" or tree["k"] != "ref":
        return None
    return str(tree["q"]) if param_markers(param, context)[0] in DEPENDENCY_MARKERS else None


def class_initialiser(klass: cst.ClassDef) -> cst.FunctionDef | None:
    """The `__init__` a class defines in its own body."""
    body = klass.body.body if isinstance(klass.body, cst.IndentedBlock) else ()
    return next(
        (s for s in body if isinstance(s, cst.FunctionDef) and s.name.value == "__init__"), None
    )


def _providers(context: FileContext) -> dict[str, list[dict[str, Any]]]:
    """What each module-level function of a FastAPI file would take from the request if
    a route depended on it (`Depends(provider)`, here or in another file), and each
    class through its own `__init__` (`Depends(Pager)`, `Depends()`: FastAPI calls the
    class): the run decides which are providers (`ModelIndex`)."""
    if "fastapi" not in context.source:
        return {}
    handlers = request_handlers(context)
    found: dict[str, list[dict[str, Any]]] = {}
    for statement in _module_statements(context.module.body):
        if not isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        function = statement if isinstance(statement, cst.FunctionDef) else None
        if isinstance(statement, cst.ClassDef):
            function = class_initialiser(statement)
        if function is not None and id(function) not in handlers:
            uses = _function_uses(function, context, handler=False)
            if uses:
                found[statement.name.value] = uses  # the class's name for its `__init__`
    return found


_RAW_VALIDATE_METHODS = frozenset({"model_validate_json", "validate_json", "parse_raw"})
_RAW_BODY_NAMES = frozenset({"body", "raw_body", "request_body", "payload", "request", "req"})


def _raw_body_validations(context: FileContext) -> list[dict[str, Any]]:
    """`Model.model_validate_json(spec.body)` / `ADAPTER.validate_json(raw_body)` in any
    function: a service that hands the raw request body to a worker validates it there,
    away from the route handler (the schema is then declared with `openapi_extra`)."""
    uses: list[dict[str, Any]] = []
    for function, _ in iter_functions(context.module):
        for node in descendants(function.body, stop_at=SCOPE_NODES):
            if (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value in _RAW_VALIDATE_METHODS
                and node.args
                and _names_raw_body(node.args[0].value, function, context)
            ):
                receiver = node.func.value
                if isinstance(receiver, cst.Call):
                    refs = tree_refs(type_tree(receiver, context))
                else:
                    name = qualified_name(receiver, context)
                    refs = [name] if name else []
                if refs:
                    handler = function.name.value
                    uses.append({"kind": "body", "refs": refs, "handler": handler, "via": "raw"})
    return uses


def _names_raw_body(
    node: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> bool:
    fetched: frozenset[str] | None = None  # built only once a raw-body name is met
    for sub in (node, *descendants(node)):
        if isinstance(sub, cst.Name) and sub.value in _RAW_BODY_NAMES:
            if fetched is None:
                fetched = _fetched_locals(function, context)
            if sub.value not in fetched:
                return True
        if isinstance(sub, cst.Attribute) and sub.attr.value in _RAW_BODY_NAMES:
            return True
    return False


def _fetched_locals(function: cst.FunctionDef, context: FileContext) -> frozenset[str]:
    """Locals the function only ever binds to what it fetched itself: the result of
    calling a function or a module's client (`body = await _call(request, worker)`,
    `_, body = await request_to_worker(...)`, `for body in await gather(...)`: a worker's
    or upstream's response), never something handed in (a parameter, its attributes or
    methods, a transform of it: `gzip.decompress(payload)`) nor read from the request
    (`body = await request.body()`). Such a `body` is a response, whatever its name."""
    params = {p.name.value for p in handler_params(function)} - {"self", "cls"}
    handed = request_data_names(function, context) | params
    bindings: dict[str, list[bool]] = {}
    loops: list[tuple[cst.BaseAssignTargetExpression, cst.BaseExpression]] = []
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        if isinstance(node, cst.Assign):
            for assign_target in node.targets:
                for name in _bound_names(assign_target.target):
                    bindings.setdefault(name, []).append(_fetched(node.value, handed))
        elif isinstance(node, (cst.AnnAssign, cst.NamedExpr)):
            value = node.value
            for name in _bound_names(node.target):
                fetched = value is not None and _fetched(value, handed)
                bindings.setdefault(name, []).append(fetched)
        elif isinstance(node, cst.AugAssign):
            for name in _bound_names(node.target):
                bindings.setdefault(name, []).append(False)
        elif isinstance(node, (cst.For, cst.CompFor)):
            loops.append((node.target, node.iter))
    for target, iterable in loops:
        # A loop over a fetched collection binds fetched items; judged once the
        # assignments are known (`bodies = await gather(...)` ... `for body in bodies`).
        fetched = _fetched(iterable, handed) or (
            isinstance(iterable, cst.Name) and all(bindings.get(iterable.value, [False]))
        )
        for name in _bound_names(target):
            bindings.setdefault(name, []).append(fetched)
    return frozenset(name for name, seen in bindings.items() if seen and all(seen))


def _bound_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for element in target.elements for n in _bound_names(element.value)]
    return []


def _fetched(value: cst.BaseExpression, handed: frozenset[str]) -> bool:
    awaited = isinstance(value, cst.Await)
    if isinstance(value, cst.Await):
        value = value.expression
    if not isinstance(value, cst.Call):
        return False
    if not awaited and any(_mentions_request(a.value, handed) for a in value.args):
        # `body = gzip.decompress(payload)`: a transform of what was handed in, not a
        # response (a fetch is awaited I/O: `await _call(request, worker)`).
        return False
    root: cst.BaseExpression = value.func
    while isinstance(root, (cst.Attribute, cst.Call, cst.Subscript)):
        root = root.value if not isinstance(root, cst.Call) else root.func
    return isinstance(root, cst.Name) and root.value not in handed


def collect(context: FileContext) -> dict[str, Any]:
    classes, aliases, markers = _definitions(context)
    uses = _request_uses(context)
    providers = _providers(context)
    facts: dict[str, Any] = {}
    if classes:
        facts["classes"] = classes
    if aliases:
        facts["aliases"] = aliases
    if markers:
        facts["markers"] = markers
    if uses:
        facts["uses"] = uses
    if providers:
        facts["providers"] = providers
    return facts


TOKENS = (
    "pydantic",
    "BaseModel",
    "SQLModel",
    "fastapi",
    "flask",
    "starlette",
    "aiohttp",
    "Field(",
    "Model)",
    "model_validate",
    "parse_obj",
    "parse_raw",
)


def request_uses_in_run(project: ProjectIndex | None) -> bool:
    """Triage: whether some file of the run hands a model to a request (the only way a
    model becomes a request model); True when the run's facts are not known."""
    if project is None:
        return True
    return any(isinstance(f, dict) and f.get("uses") for f in project.of(COLLECTOR).values())


@run_query("request_models")
def may_be_request_models(project: ProjectIndex | None, names: frozenset[str]) -> bool:
    """Triage, run level: whether a class named one of `names` may be a model the run
    takes from requests. A model is reached from a handler's parameter, a field type or
    a base (`ModelIndex.request_models`), each written in the facts as a (qualified)
    name, so its name is the last part of some string in the run's facts (a superset:
    every string counts)."""
    if project is None:
        return True
    found: set[str] | None = project.derived.get("triage:request-model-names")
    if found is None:
        found = set()
        if request_uses_in_run(project):
            _last_parts(list(project.of(COLLECTOR).values()), found)
        project.derived["triage:request-model-names"] = found
    return not names.isdisjoint(found)


def _last_parts(value: Any, found: set[str]) -> None:
    """The last dotted part of every string value (not key) nested in `value`."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.add(item.rsplit(".", 1)[-1])
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)


# `type X = ...` statements exist from Python 3.12.
_TYPE_ALIAS: type[ast.AST] | None = getattr(ast, "TypeAlias", None)
_DEFINITIONS = (ast.ClassDef,) if _TYPE_ALIAS is None else (ast.ClassDef, _TYPE_ALIAS)


def could_apply(tree: TriageTree) -> bool:
    """A class (a model or an enum), a module-level assignment (a type alias), or a
    function that may be a request handler."""
    if tree.has(*_DEFINITIONS) or may_have_request_handlers(tree):
        return True
    if "validate_json" in tree.text or "parse_raw" in tree.text:
        return True
    return bool(module_level_names(tree)) or any(
        isinstance(node, (ast.Assign, ast.AnnAssign))
        for statement in tree.tree.body
        if isinstance(statement, (ast.If, ast.Try))
        for node in tree.walk(statement)
    )


register_collector(FactCollector(COLLECTOR, TOKENS, collect, triage=could_apply))


def fact_regions(tree: TriageTree) -> list[ast.AST]:
    """What `collect` reads beyond the always-kept skeleton (class headers and fields,
    module-level aliases), on `ast`: a sliced file must yield the facts the whole file
    did, or `model_index` would prefer its own, different ones. The request handlers
    with their registrations (`frameworks.handler_regions`) and the functions their
    calls may reach (`echoes.sized_attributes` follows values into them), the
    validators of classes (they bound fields), and raw-body validations in any
    function. Handlers that can record no use are left out: without an annotated
    parameter (`body_param_use`) nor a call that may build a model from request data
    (`_validated_model`), they take nothing from a request."""
    handlers = [
        node
        for node in handler_regions(tree)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        or _may_record_use(tree, node)
    ]
    found: list[ast.AST] = [*handlers, *callee_regions(tree, handlers, MAX_HOPS)]
    if "fastapi" in tree.text:
        # Every module-level function may be a dependency provider, and every class
        # through its `__init__` (`_providers`).
        initialisers = [
            method
            for klass in tree.tree.body
            if isinstance(klass, ast.ClassDef)
            for method in klass.body
            if isinstance(method, ast.FunctionDef) and method.name == "__init__"
        ]
        found.extend(
            function
            for function in [*tree.tree.body, *initialisers]
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            and _may_record_use(tree, function)
        )
    validators = _VALIDATOR_DECORATORS | _MODEL_VALIDATOR_DECORATORS
    for klass in tree.of(ast.ClassDef):
        for method in klass.body:
            if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                last_parts(tree, d.func if isinstance(d, ast.Call) else d) & validators
                for d in method.decorator_list
            ):
                found.append(method)
    found.extend(
        call
        for call in tree.of(ast.Call)
        if isinstance(call.func, ast.Attribute)
        and call.func.attr in _RAW_VALIDATE_METHODS
        and call.args
    )
    return found


def _may_record_use(tree: TriageTree, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    arguments = function.args
    parameters = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    if any(a.annotation is not None for a in parameters):
        return True
    return any(
        isinstance(node, ast.Call)
        and (
            any(keyword.arg is None for keyword in node.keywords)
            or (isinstance(node.func, ast.Attribute) and node.func.attr in VALIDATE_METHODS)
        )
        for node in tree.walk(function)
    )


def local_facts(context: FileContext) -> dict[str, Any]:
    """This file's model facts: collected from its tree, or, when units of the tree are
    elided (`leakguard.slicing`), the run's facts of the whole file (validators and
    handlers in elided units still count)."""
    cached = context.memo.get("pydantic_models.local")
    if isinstance(cached, dict):
        return cached
    project: ProjectIndex | None = context.project
    if context.sliced and project is not None and COLLECTOR in project.facts:
        facts = dict(project.of(COLLECTOR).get(context.module_name) or {})
    else:
        facts = collect(context)
    context.memo["pydantic_models.local"] = facts
    return facts


# -- the run-wide view -----------------------------------------------------------------


@dataclass(frozen=True)
class RequestModel:
    """How a model is read from requests, and which of its fields are not (re-declared
    by every subclass through which it is reached)."""

    how: str
    shadowed: frozenset[str]


class ModelIndex:
    """All files' model facts, with cross-file name resolution. `clamped(qualified,
    parameter)`: whether the run's helper `qualified` clamps that parameter
    (`clamps.clamped_in`); unknown (never) by default."""

    def __init__(
        self,
        modules: Mapping[str, Mapping[str, Any]],
        clamped: Callable[[str, str | int], bool] | None = None,
    ) -> None:
        self.modules = modules
        self.clamped = clamped if clamped is not None else (lambda _q, _p: False)
        self.classes: dict[str, Mapping[str, Any]] = {}
        self.aliases: dict[str, Tree] = {}
        self.markers: dict[str, list[str]] = {}
        self.providers: dict[str, list[Mapping[str, Any]]] = {}
        for module, facts in modules.items():
            prefix = f"{module}." if module else ""
            for name, klass in facts.get("classes", {}).items():
                self.classes[prefix + name] = klass
            for name, alias in facts.get("aliases", {}).items():
                self.aliases[prefix + name] = alias
            for name, marker in facts.get("markers", {}).items():
                self.markers[prefix + name] = marker
            for name, uses in facts.get("providers", {}).items():
                self.providers[prefix + name] = uses
        self._run_uses: dict[
            tuple[bool, frozenset[str] | None],
            tuple[list[tuple[str, Mapping[str, Any], str]], frozenset[str]],
        ] = {}
        self._resolved: dict[str, str | None] = {}
        self._is_model: dict[str, bool] = {}
        self._closures: dict[str, dict[str, RequestModel]] = {}
        self._sized: dict[
            tuple[str, tuple[str, ...], bool, frozenset[str] | None], frozenset[str] | None
        ] = {}
        self._reach: dict[tuple[str, ...], frozenset[str]] = {}
        self._lineage: dict[str, frozenset[str]] = {}
        self._bases_of: dict[str, frozenset[str]] = {}
        self._class_names: frozenset[str] | None = None
        self._by_short: dict[str, list[str]] | None = None
        self._field_types: dict[tuple[frozenset[str], str], frozenset[str] | None] = {}

    def _module_for(self, wanted: str) -> str | None:
        wanted = wanted.lstrip(".")
        if not wanted:
            return None
        best: str | None = None
        for module in self.modules:
            matches = module == wanted or module.endswith("." + wanted)
            if matches and (best is None or len(module) < len(best)):
                best = module
        return best

    def resolve(self, qualified: str) -> str | None:
        """The run's qualified name of a class or alias that `qualified` refers to."""
        if qualified in self._resolved:
            return self._resolved[qualified]
        found: str | None = None
        if self._defines(qualified):
            found = qualified
        else:
            module, _, name = qualified.rpartition(".")
            run_module = self._module_for(module) if module else None
            if run_module is not None:
                candidate = f"{run_module}.{name}"
                if self._defines(candidate):
                    found = candidate
            if found is None and module:
                found = self._reexported(module.lstrip("."), name)
        self._resolved[qualified] = found
        return found

    def _reexported(self, package: str, name: str) -> str | None:
        """`app.schemas.Item` when `app/schemas/__init__.py` re-exports `Item` from a
        submodule: the one definition of `name` in a module under that package."""
        if not package:
            return None
        marker = "." + package + "."
        candidates = sorted(
            f"{module}.{name}"
            for module in self.modules
            if marker in "." + module + "." and self._defines(f"{module}.{name}")
        )
        return candidates[0] if len(candidates) == 1 else None

    def _defines(self, qualified: str) -> bool:
        """A class, a type alias, a marked alias or a possible provider of the run."""
        return (
            qualified in self.classes
            or qualified in self.aliases
            or qualified in self.markers
            or qualified in self.providers
        )

    def alias_marker(self, qualified: str) -> list[str] | None:
        """The marker of the `Annotated` alias `qualified` names (`_alias_marker`)."""
        name = self.resolve(qualified)
        return self.markers.get(name) if name is not None else None

    def use_kind(self, use: Mapping[str, Any]) -> tuple[str, str | None]:
        """(kind, provider) of a recorded use: its own kind, unless its parameter is
        typed with a marked alias (of any file), whose marker decides as it does in the
        alias's own file; "dep" with the provider's name for a `Depends(provider)`."""
        alias = use.get("alias")
        marker = self.alias_marker(alias) if isinstance(alias, str) else None
        if marker is not None:
            kind = marker_kind(marker)
            return kind, (marker[1] if kind == "dep" else None)
        if use["kind"] == "dep":
            return "dep", str(use.get("provider", ""))
        return str(use["kind"]), None

    def run_uses(
        self, skip_tests: bool = False, trust: CallerTrust | None = None
    ) -> tuple[list[tuple[str, Mapping[str, Any], str]], frozenset[str]]:
        """Every way the run's route handlers take models from requests, as (kind, use,
        how), following `Depends(provider)` into the providers (same file or another,
        and their own dependencies); and the providers so reached. With `skip_tests`,
        handlers in test modules do not count; with `trust`, neither do handlers only
        privileged callers reach (`analysis/caller_trust`): no untrusted client sends
        them anything."""
        key = (skip_tests, trust.configured if trust is not None else None)
        cached = self._run_uses.get(key)
        if cached is not None:
            return cached
        found: list[tuple[str, Mapping[str, Any], str]] = []
        reached: set[str] = set()
        for module in sorted(self.modules):
            if skip_tests and is_test_module(module):
                continue
            for use in self.modules[module].get("uses", ()):
                handler = str(use["handler"])
                if trust is not None and trust.route_privileged(module, handler):
                    continue
                self._follow(use, handler, None, found, reached, frozenset())
        result = (found, frozenset(reached))
        self._run_uses[key] = result
        return result

    def _follow(
        self,
        use: Mapping[str, Any],
        handler: str,
        via: str | None,
        found: list[tuple[str, Mapping[str, Any], str]],
        reached: set[str],
        seen: frozenset[str],
    ) -> None:
        kind, provider = self.use_kind(use)
        if kind == "dep":
            name = self.resolve(provider) if provider else None
            if name is None or name in seen or name not in self.providers:
                return
            reached.add(name)
            for inner in self.providers[name]:
                self._follow(inner, handler, name, found, reached, seen | {name})
            return
        if via is not None:
            how = f"taken from the request by dependency `{_short(via)}` of `{handler}`"
        elif use.get("via") == "raw":
            how = f"validated from the raw request body in `{handler}`"
        else:
            how = f"taken from the request by route handler `{handler}`"
        found.append((kind, use, how))

    def is_provider(
        self, qualified: str, skip_tests: bool = False, trust: CallerTrust | None = None
    ) -> bool:
        """`qualified` is a function some route handler of the run depends on (one that
        an untrusted client reaches, with `trust`)."""
        return qualified in self.run_uses(skip_tests, trust)[1]

    def is_model(self, qualified: str, seen: frozenset[str] = frozenset()) -> bool:
        if qualified in MODEL_ROOTS:
            return True
        if qualified in self._is_model:
            return self._is_model[qualified]
        name = self.resolve(qualified)
        result = False
        if name is not None and name in self.classes and name not in seen:
            klass = self.classes[name]
            result = bool(klass.get("model")) or any(
                self.is_model(base, seen | {name}) for base in klass["bases"]
            )
        self._is_model[qualified] = result
        return result

    def validators_work(self, qualified: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether validating into the model runs a validator doing the server's work
        (`_validator_works`): its own, a base's, or a nested model's of a field."""
        name = self.resolve(qualified)
        if name is None or name not in self.classes or name in seen:
            return False
        klass = self.classes[name]
        inner = seen | {name}
        if klass.get("works"):
            return True
        if any(self.validators_work(base, inner) for base in klass["bases"]):
            return True
        return any(
            self.validators_work(model, inner)
            for tree in klass["fields"].values()
            for model in self.models_in(tree)
        )

    def models_in(self, tree: Tree, seen: frozenset[str] = frozenset()) -> list[str]:
        """Run-qualified models a tree refers to (through aliases and unions)."""
        found: list[str] = []
        for ref in tree_refs(tree):
            name = self.resolve(ref)
            if name is None or name in seen:
                continue
            if name in self.aliases:
                found.extend(self.models_in(self.aliases[name], seen | {name}))
            elif self.is_model(name):
                found.append(name)
        return found

    def fields(self, model: str) -> dict[str, tuple[str, Tree]]:
        """Field name -> (defining model, tree), inherited fields included."""
        result: dict[str, tuple[str, Tree]] = {}
        chain: list[str] = []
        todo, seen = [model], set()
        while todo:
            current = todo.pop(0)
            if current in seen or current not in self.classes:
                continue
            seen.add(current)
            chain.append(current)
            for base in self.classes[current]["bases"]:
                resolved = self.resolve(base)
                if resolved is not None and self.is_model(resolved):
                    todo.append(resolved)
        for owner in reversed(chain):
            for name, tree in self.classes[owner]["fields"].items():
                result[name] = (owner, tree)
        return result

    def request_models(
        self,
        kinds: tuple[str, ...] = ("body",),
        skip_tests: bool = False,
        trust: CallerTrust | None = None,
    ) -> dict[str, RequestModel]:
        """Models whose fields come from the request (directly, nested or as a base);
        with `skip_tests`, uses in test modules (`is_test_module`) do not count; with
        `trust`, neither do uses by routes only privileged callers reach (a model one
        untrusted route takes stays a request model)."""
        key = ",".join(kinds) + (":skip_tests" if skip_tests else "")
        if trust is not None:
            key += ":trusted:" + ",".join(sorted(trust.configured))
        if key in self._closures:
            return self._closures[key]
        found: dict[str, RequestModel] = {}
        todo: list[str] = []

        def reach(model: str, how: str, shadowed: frozenset[str]) -> None:
            old = found.get(model)
            if old is None:
                found[model] = RequestModel(how, shadowed)
                todo.append(model)
                return
            merged = old.shadowed & shadowed
            if merged != old.shadowed:
                found[model] = RequestModel(how if not shadowed else old.how, merged)
                todo.append(model)

        for kind, use, how in self.run_uses(skip_tests, trust)[0]:
            for ref in use["refs"]:
                for model in self.models_in({"k": "ref", "q": ref}):
                    if kind in kinds:
                        reach(model, how, frozenset())
                    elif kind == "query" and "body" in kinds:
                        # A class read from the query string (a class dependency): a
                        # field that is a model is read from the body, as FastAPI reads
                        # any model parameter.
                        for field, (owner, tree) in self.fields(model).items():
                            for nested in self.models_in(tree):
                                where = f"dependency class field `{_short(owner)}.{field}`"
                                reach(nested, f"nested in {where}", frozenset())
        while todo:
            model = todo.pop(0)
            klass = self.classes.get(model)
            if klass is None:
                continue
            # A base's fields that this model re-declares are not read through this path.
            shadowed = found[model].shadowed | frozenset(klass["fields"])
            for base in klass["bases"]:
                resolved = self.resolve(base)
                if resolved is not None and self.is_model(resolved):
                    reach(resolved, f"a base of request model `{_short(model)}`", shadowed)
            for field, tree in klass["fields"].items():
                if field in found[model].shadowed:
                    continue
                for nested in self.models_in(tree):
                    how = f"nested in request model field `{_short(model)}.{field}`"
                    reach(nested, how, frozenset())
        self._closures[key] = found
        return found

    def sized_fields(
        self,
        model: str,
        kinds: tuple[str, ...],
        skip_tests: bool = False,
        trust: CallerTrust | None = None,
    ) -> frozenset[str] | None:
        """Field names that some handler taking `model` from a request (directly, nested
        or as a base) may size work with, by the handlers' recorded attribute reads (a
        field only handed to helpers of other files that clamp it sizes none); None
        when a handler hands the value on whole or its reads are not known."""
        key = (model, kinds, skip_tests, trust.configured if trust is not None else None)
        if key in self._sized:
            return self._sized[key]
        found: set[str] = set()
        result: frozenset[str] | None = None
        for kind, use, _ in self.run_uses(skip_tests, trust)[0]:
            if kind not in kinds or model not in self._reached(use["refs"]):
                continue
            if "sized" not in use or self._hands_on_models(use):
                self._sized[key] = None
                return None
            found.update(use["sized"])
            for field, helpers in use.get("clamped_via", {}).items():
                if not all(self.ends(str(q), p) for q, p in helpers):
                    found.add(field)
        result = frozenset(found)
        self._sized[key] = result
        return result

    def sized_bundles(
        self,
        model: str,
        field: str,
        kinds: tuple[str, ...],
        skip_tests: bool = False,
        trust: CallerTrust | None = None,
    ) -> list[tuple[str, frozenset[str]]] | None:
        """How the handlers taking `model` from a request hand on `field` where they size
        work with it: the bundles (its label, the labels it travels with) of every such
        read (`echoes.Bundle`); None when one such read hands it on otherwise. Handlers
        whose reads are not known (the model handed on whole) add none."""
        found: list[tuple[str, frozenset[str]]] = []
        for kind, use, _ in self.run_uses(skip_tests, trust)[0]:
            if kind not in kinds or "sized" not in use or model not in self._reached(use["refs"]):
                continue
            if field not in use["sized"] and field not in use.get("clamped_via", {}):
                continue
            bundles = use.get("bundled", {}).get(field)
            helpers = use.get("bundled_unless", {}).get(field, ())
            if bundles is None or not all(self.ends(str(q), p) for q, p in helpers):
                return None
            found.extend((str(label), frozenset(others)) for label, others in bundles)
        return found

    def request_field_names(
        self,
        model: str,
        kinds: tuple[str, ...],
        skip_tests: bool = False,
        trust: CallerTrust | None = None,
    ) -> frozenset[str]:
        """Names of the fields a request carrying `model` may hold: those of `model` (its
        bases' included) and of every model the handlers taking it reach (the request
        model itself, a subclass, a model holding it as a field, their other fields'
        models)."""
        found = set(self.fields(model))
        for kind, use, _ in self.run_uses(skip_tests, trust)[0]:
            reached = self._reached(use["refs"])
            if kind in kinds and model in reached:
                for other in reached:
                    found.update(self.fields(other))
        return frozenset(found)

    def ends(self, qualified: str, parameter: str | int) -> bool:
        """Whether the run's helper `qualified` ends a value handed to its `parameter`
        (it clamps it), or, for a class built with it (`echoes.BUILT`), building it does
        no work: a model of the run whose validators do none only holds the value."""
        if parameter == BUILT:
            resolved = self.resolve(qualified)
            return (
                resolved is not None
                and self.is_model(resolved)
                and not self.validators_work(resolved)
            )
        return self.clamped(qualified, parameter)

    def holders(self, model: str, skip_tests: bool = False) -> tuple[str, ...]:
        """Short class names of `model` and of the request models that reach it (nesting
        it, deriving from it): a value of any of them carries its fields. In a fixed
        order, `model` first, then by qualified name: the evidence searched through them
        (`collection_work.model_work_evidence`) must be the same in every run."""
        reaching = sorted(
            request
            for request in self.request_models(("body",), skip_tests)
            if request != model and model in self._reached([request])
        )
        return tuple(dict.fromkeys(_short(m) for m in [model, *reaching]))

    def lineage(self, model: str) -> frozenset[str]:
        """Short names of `model`, of the run's classes deriving from it (through any
        chain of bases) and of those it derives from: the types under which a value may
        hold `model`'s own fields (a function taking the base may be handed `model`)."""
        cached = self._lineage.get(model)
        if cached is not None:
            return cached
        found = {_short(model)} | {_short(base) for base in self._ancestors(model)}
        for name in self.classes:
            if name != model and model in self._ancestors(name):
                found.add(_short(name))
        result = frozenset(found)
        self._lineage[model] = result
        return result

    def run_class(self, qualified: str) -> str | None:
        """The qualified name of the run's class `qualified` (as a file's imports name
        it) refers to, or None: not a class of the run as far as this index resolves
        names (a type alias, another package's class, a name it cannot follow)."""
        resolved = self.resolve(qualified)
        return resolved if resolved is not None and resolved in self.classes else None

    def _ancestors(self, name: str) -> frozenset[str]:
        """The run's classes `name` derives from, transitively."""
        cached = self._bases_of.get(name)
        if cached is not None:
            return cached
        self._bases_of[name] = frozenset()  # a cycle of bases adds nothing
        found: set[str] = set()
        for base in self.classes.get(name, {}).get("bases", ()):
            resolved = self.resolve(base)
            if resolved is not None and resolved != name:
                found.add(resolved)
                found |= self._ancestors(resolved)
        result = frozenset(found)
        self._bases_of[name] = result
        return result

    def field_types(self, classes: frozenset[str], attribute: str) -> frozenset[str] | None:
        """Short names of the classes a value of field `attribute` of the run's classes
        `classes` (short names) may be: the classes its type mentions, at any level
        (`list[Role]` gives its entries' `Role`), through aliases; empty for a field of
        builtin types only (`dict`, `list[str]`: its keys are no model's fields); None
        when no class of `classes` has such a field (a property, a method, a class the
        run does not know) or its type is `Any`: then nothing is known of the value."""
        key = (classes, attribute)
        if key in self._field_types:
            return self._field_types[key]
        by_short = self._short_index()
        found: set[str] | None = None
        for short in sorted(classes):
            for qualified in by_short.get(short, ()):
                tree = self._own_field(qualified, attribute)
                if tree is None:
                    continue
                mentioned = self._mentioned_classes(tree)
                if mentioned is None:
                    self._field_types[key] = None
                    return None
                found = (found or set()) | mentioned
        result = None if found is None else frozenset(found)
        self._field_types[key] = result
        return result

    def _own_field(self, qualified: str, attribute: str) -> Tree | None:
        """The type tree of field `attribute` of class `qualified` or of a base of it."""
        for name in (qualified, *sorted(self._ancestors(qualified))):
            tree: Tree | None = self.classes.get(name, {}).get("fields", {}).get(attribute)
            if tree is not None:
                return tree
        return None

    def _mentioned_classes(self, tree: Tree, depth: int = 0) -> set[str] | None:
        """Short names of the classes `tree` mentions, through aliases; None for `Any`."""
        found: set[str] = set()
        todo = [tree]
        while todo:
            node = todo.pop()
            if node["k"] == "any":
                return None
            if node["k"] == "ref":
                resolved = self.resolve(node["q"])
                alias = self.aliases.get(resolved) if resolved is not None else None
                if alias is not None and depth < 4:
                    inner = self._mentioned_classes(alias, depth + 1)
                    if inner is None:
                        return None
                    found |= inner
                else:
                    found.add(_short(resolved or node["q"]))
                todo.extend(node.get("args", ()))
            todo.extend(node.get("of", ()))
        return found

    @property
    def class_names(self) -> frozenset[str]:
        """Short names of the run's classes this index knows (models and plain ones)."""
        if self._class_names is None:
            self._class_names = frozenset(self._short_index())
        return self._class_names

    def _short_index(self) -> dict[str, list[str]]:
        """The run's classes (qualified names) by short name, built once."""
        if self._by_short is None:
            self._by_short = {}
            for name in self.classes:
                self._by_short.setdefault(_short(name), []).append(name)
        return self._by_short

    def _hands_on_models(self, use: Mapping[str, Any]) -> bool:
        """A field holding models that the handler uses otherwise than by walking it:
        the nested models' fields may size work wherever they go."""
        sized = set(use["sized"])
        for model in self._reached(use["refs"]):
            klass = self.classes.get(model)
            if klass is None:
                continue
            for field, tree in klass["fields"].items():
                if field in sized and self.models_in(tree):
                    return True
        return False

    def _reached(self, refs: list[str]) -> frozenset[str]:
        """Models reachable from `refs` through fields and bases."""
        key = tuple(refs)
        cached = self._reach.get(key)
        if cached is not None:
            return cached
        found: set[str] = set()
        todo = [m for ref in refs for m in self.models_in({"k": "ref", "q": ref})]
        while todo:
            model = todo.pop()
            if model in found:
                continue
            found.add(model)
            klass = self.classes.get(model)
            if klass is None:
                continue
            for base in klass["bases"]:
                resolved = self.resolve(base)
                if resolved is not None and self.is_model(resolved):
                    todo.append(resolved)
            for tree in klass["fields"].values():
                todo.extend(self.models_in(tree))
        result = frozenset(found)
        self._reach[key] = result
        return result

    def unbounded_levels(self, tree: Tree, options: LevelOptions) -> list[Level]:
        """The collection/string levels of `tree` with no length bound."""
        found: list[Level] = []
        self._levels(tree, False, options, found, frozenset())
        return list(dict.fromkeys(found))

    def _levels(
        self,
        tree: Tree,
        outer_bound: bool,
        options: LevelOptions,
        found: list[Level],
        seen: frozenset[str],
    ) -> None:
        kind = tree["k"]
        if kind == "seq":
            is_string = tree["n"] in ("str", "bytes")
            children = tree["of"]
            # A dict whose keys have finitely many values (a Literal, bool or enum key)
            # holds at most that many entries: the JSON object's repeated keys collapse.
            finite_keys = tree["n"] == "dict" and len(children) == 2 and self.finite(children[0])
            if not (tree["b"] or outer_bound or finite_keys) and (options.strings or not is_string):
                found.append(Level(f"`{tree['t']}`", is_string))
            if tree["n"] == "dict" and len(children) == 2:
                if options.dict_keys:
                    keys: list[Level] = []
                    self._levels(children[0], False, options, keys, seen)
                    found.extend(
                        Level(f"the {key.text} keys of `{tree['t']}`", key.is_string)
                        for key in keys
                    )
                children = children[1:]
            for child in children:
                self._levels(child, False, options, found, seen)
        elif kind == "union":
            for option in tree["of"]:
                self._levels(option, outer_bound, options, found, seen)
        elif kind == "ref":
            name = self.resolve(tree["q"])
            if name is not None and name in self.aliases and name not in seen:
                self._levels(
                    self.aliases[name],
                    outer_bound or tree.get("b", False),
                    options,
                    found,
                    seen | {name},
                )

    def finite(self, tree: Tree, seen: frozenset[str] = frozenset()) -> bool:
        """The type has finitely many values: Literal, bool, None, an enum class of the
        run (or an alias or union of these)."""
        kind = tree["k"]
        if kind == "lit":
            return bool(tree.get("f"))
        if kind == "union":
            return all(self.finite(option, seen) for option in tree["of"])
        if kind != "ref":
            return False
        name = self.resolve(tree["q"])
        if name is None or name in seen:
            return False
        if name in self.aliases:
            return self.finite(self.aliases[name], seen | {name})
        return self._is_enum(name, seen | {name})

    def _is_enum(self, name: str, seen: frozenset[str]) -> bool:
        """A closed enum of the run: every base is enum's own, a builtin (`str`) or a
        closed enum of the run, and no class of it has a `_missing_` hook (which may accept
        any value); another base (a mixin) may bring such a hook."""
        klass = self.classes.get(name)
        if klass is None or klass.get("open"):
            return False
        is_enum = False
        for base in klass["bases"]:
            if base.startswith("enum."):
                is_enum = True
            elif base not in _BUILTIN_NAMES:
                resolved = self.resolve(base)
                if (
                    resolved is None
                    or resolved in seen
                    or not self._is_enum(resolved, seen | {resolved})
                ):
                    return False
                is_enum = True
        return is_enum

    def top_collection_unbounded(self, tree: Tree, seen: frozenset[str] = frozenset()) -> bool:
        """True when the outermost level is a list/set/dict/tuple with no length bound."""
        kind = tree["k"]
        if kind == "seq":
            children = tree["of"]
            if tree["n"] == "dict" and len(children) == 2 and self.finite(children[0]):
                return False  # at most as many entries as the keys have values
            return tree["n"] not in ("str", "bytes") and not tree["b"]
        if kind == "union":
            return any(self.top_collection_unbounded(o, seen) for o in tree["of"])
        if kind == "ref" and not tree.get("b", False):
            name = self.resolve(tree["q"])
            if name is not None and name in self.aliases and name not in seen:
                return self.top_collection_unbounded(self.aliases[name], seen | {name})
        return False

    def number_unbounded(self, tree: Tree, seen: frozenset[str] = frozenset()) -> bool:
        """True when the value may be an int/float with no upper bound."""
        kind = tree["k"]
        if kind == "num":
            return not tree["b"]
        if kind == "union":
            return any(self.number_unbounded(o, seen) for o in tree["of"])
        if kind == "ref" and not tree.get("u", False):
            name = self.resolve(tree["q"])
            if name is not None and name in self.aliases and name not in seen:
                return self.number_unbounded(self.aliases[name], seen | {name})
        return False


@dataclass(frozen=True)
class Level:
    """One unbounded level of a field's type, as shown in a message."""

    text: str
    is_string: bool


class LevelOptions:
    def __init__(self, strings: bool = True, dict_keys: bool = True) -> None:
        self.strings = strings
        self.dict_keys = dict_keys


class _Shared:
    """The index of the run's project facts, built once per process and shared by files."""

    project: ProjectIndex | None = None
    index: ModelIndex | None = None


def model_index(context: FileContext) -> ModelIndex:
    """The run-wide index, with this file's own facts computed locally (so a file analysed
    without a project, or changed since the facts were collected, still sees itself)."""
    cached = context.memo.get("pydantic_models.index")
    if isinstance(cached, ModelIndex):
        return cached
    own = local_facts(context)
    project: ProjectIndex | None = context.project
    modules: dict[str, Mapping[str, Any]] = dict(project.of(COLLECTOR)) if project else {}
    if project is not None and modules.get(context.module_name, {}) == own:
        # Same facts as the run's: share one index (and its closures) across files.
        if _Shared.project is not project or _Shared.index is None:
            _Shared.project = project
            _Shared.index = ModelIndex(modules, _clamped_by(project))
        index = _Shared.index
    else:
        if own:
            modules[context.module_name] = own
        else:
            modules.pop(context.module_name, None)
        index = ModelIndex(modules, _clamped_by(project))
    context.memo["pydantic_models.index"] = index
    return index


def _clamped_by(project: ProjectIndex | None) -> Callable[[str, str | int], bool] | None:
    """Whether a helper of the run clamps a parameter, by the run's `clamps` facts."""
    if project is None or CLAMPS not in project.facts:
        return None
    facts = project.of(CLAMPS)
    return lambda qualified, parameter: clamped_in(facts, project.module_for, qualified, parameter)


def own_qualified(context: FileContext, name: str) -> str:
    return f"{context.module_name}.{name}" if context.module_name else name


# -- request data inside a handler (LG303) ---------------------------------------------


def request_bindings(function: cst.FunctionDef, context: FileContext) -> dict[str, list[str]]:
    """Names in a route handler bound to request models: body parameters and locals built
    by `Model.model_validate(...)`/`Model(**request_data)` (memoised per function)."""
    key = ("pydantic_models.bindings", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, dict):
        return cached
    index = model_index(context)
    bindings: dict[str, list[str]] = {}
    for param in handler_params(function):
        use = run_param_use(param, context)
        if use is not None and use[0] == "body":
            taken = index.models_in(use[1])
            if taken:
                bindings[param.name.value] = taken
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        target: cst.BaseExpression | None = None
        value: cst.BaseExpression | None = None
        if isinstance(node, cst.Assign) and len(node.targets) == 1:
            target, value = node.targets[0].target, node.value
        elif isinstance(node, cst.AnnAssign):
            target, value = node.target, node.value
        if not isinstance(target, cst.Name) or value is None:
            continue
        if isinstance(value, cst.Await):
            value = value.expression
        if isinstance(value, cst.Call):
            models: list[str] = []
            for ref in _validated_model(value, context, request_data_names(function, context)):
                models.extend(index.models_in({"k": "ref", "q": ref}))
            if models:
                bindings[target.value] = models
    context.memo[key] = bindings
    return bindings


def attribute_chain(node: cst.BaseExpression) -> tuple[str, list[str]] | None:
    """`("req", ["batch", "items"])` for `req.batch.items`."""
    attributes: list[str] = []
    while isinstance(node, cst.Attribute):
        attributes.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name) or not attributes:
        return None
    return node.value, list(reversed(attributes))


def resolve_field(
    index: ModelIndex, models: list[str], attributes: list[str]
) -> tuple[str, str, Tree] | None:
    """(owner model, field, tree) of the last attribute of a chain through nested models."""
    current = models
    found: tuple[str, str, Tree] | None = None
    for position, attribute in enumerate(attributes):
        found = None
        for model in current:
            entry = index.fields(model).get(attribute)
            if entry is not None:
                found = (entry[0], attribute, entry[1])
                break
        if found is None:
            return None
        if position < len(attributes) - 1:
            current = index.models_in(found[2])
    return found


ITERATION_WRAPPERS = frozenset({"enumerate", "sorted", "reversed", "list", "tuple", "set", "iter"})
DICT_VIEWS = frozenset({"items", "values", "keys"})


def iterated_collections(iterable: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The collections a `for` really walks: `enumerate(x)` -> x, `x.items()` -> x,
    `range(len(x))` -> x, `zip(a, b)` -> a, b."""
    if isinstance(iterable, cst.Call):
        func = iterable.func
        positional = [a.value for a in iterable.args if a.keyword is None and not a.star]
        if isinstance(func, cst.Name):
            if func.value in ITERATION_WRAPPERS and positional:
                return iterated_collections(positional[0])
            if func.value == "zip":
                return [c for p in positional for c in iterated_collections(p)]
            if func.value == "range" and len(positional) == 1:
                measured = len_argument(positional[0])
                if measured is not None:
                    return iterated_collections(measured)
            return []
        if isinstance(func, cst.Attribute) and func.attr.value in DICT_VIEWS and not positional:
            return iterated_collections(func.value)
        return []
    if isinstance(iterable, cst.Attribute):
        return [iterable]
    return []


def _is_method_call(node: cst.CSTNode, name: str) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == name
    )


def len_argument(node: cst.CSTNode) -> cst.BaseExpression | None:
    """`x` for `len(x)`, else None."""
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value == "len"
        and node.args
    ):
        return node.args[0].value
    return None


def _exits(block: cst.CSTNode, returns: bool = True) -> bool:
    """True when the block raises, returns or aborts (Flask `abort(413)`). Without
    `returns`, a `return` is no exit: a checker that returns hands the collection back."""
    leaves = (cst.Raise, cst.Return) if returns else (cst.Raise,)
    # Only an exit that always runs: `if len(x) > N: if strict: raise` may go on.
    for node in _unconditional(block) if isinstance(block, cst.BaseSuite) else ():
        if isinstance(node, cst.Expr):
            node = node.value
        if isinstance(node, leaves):
            return True
        if isinstance(node, cst.Call) and isinstance(node.func, (cst.Name, cst.Attribute)):
            name = node.func.value if isinstance(node.func, cst.Name) else node.func.attr.value
            if name == "abort":
                return True
    return False


# A check whose body exits bounds the length when it exits on the too-long side; an
# `assert` when it holds only on the short side. `len(x) == 0 -> raise` bounds nothing.
_Sides = dict[type[cst.BaseCompOp], str]
_EXITS_WHEN_LONG: _Sides = {
    cst.GreaterThan: "left", cst.GreaterThanEqual: "left", cst.NotEqual: "either",
    cst.LessThan: "right", cst.LessThanEqual: "right",
}  # fmt: skip
_HOLDS_WHEN_SHORT: _Sides = {
    cst.LessThan: "left", cst.LessThanEqual: "left", cst.Equal: "either",
    cst.GreaterThan: "right", cst.GreaterThanEqual: "right",
}  # fmt: skip


def _measures(
    test: cst.CSTNode,
    wanted: str,
    length_names: set[str],
    context: FileContext,
    *,
    asserted: bool = False,
) -> bool:
    """True when `test` is an upper bound on `len(<wanted>)` (or a name holding it): for
    an `if` that exits, `len(x) > N` (`N < len(x)`); for an `assert`, `len(x) <= N`. Only a
    plain comparison counts: under `and`/`or`/`not` the check may not run or may not
    exit, and a comparison pointing the other way (`len(x) == 0`) bounds nothing."""
    if not isinstance(test, cst.Comparison):
        return False
    sides = _HOLDS_WHEN_SHORT if asserted else _EXITS_WHEN_LONG
    if not asserted and len(test.comparisons) != 1:
        return False  # `if A < len(x) < B: raise` exits only inside a window
    left = test.left
    for target in test.comparisons:
        side = sides.get(type(target.operator))
        if side is not None:
            measured = {"left": left, "right": target.comparator}
            for where in ("left", "right") if side == "either" else (side,):
                if _is_length_of(measured[where], wanted, length_names, context):
                    return True
        left = target.comparator
    return False


def _is_length_of(
    node: cst.BaseExpression, wanted: str, length_names: set[str], context: FileContext
) -> bool:
    measured = len_argument(node)
    if measured is not None:
        return _normal(context.code_of(measured)) == wanted
    return isinstance(node, cst.Name) and node.value in length_names


def _unconditional(block: cst.BaseSuite) -> Iterator[cst.CSTNode]:
    """The statements of `block` that run whenever it runs: its own, and those of a
    `with` body in it or of a `try` body whose handlers cannot swallow a raise (not a
    branch, a loop or a `try` whose handler may go on)."""
    if isinstance(block, cst.SimpleStatementSuite):
        yield from block.body
        return
    if not isinstance(block, cst.IndentedBlock):
        return
    for statement in block.body:
        yield statement
        if isinstance(statement, cst.SimpleStatementLine):
            yield from statement.body
        elif isinstance(statement, cst.With) or (
            isinstance(statement, cst.Try) and reraises(statement)
        ):
            yield from _unconditional(statement.body)


_LEAVES_HANDLER = (cst.Return, cst.Break, cst.Continue)


def reraises(statement: cst.Try) -> bool:
    """Every way out of the `try` body by an exception ends in an exception: each
    handler's last statement is a `raise` and nothing in it returns or leaves a loop,
    and no `finally` does (`except ValueError as e: raise HTTPException(400, str(e))`).
    A raise in the body then still leaves the function, whatever handler catches it."""
    for handler in statement.handlers:
        body = handler.body
        last = body.body[-1] if isinstance(body, cst.IndentedBlock) and body.body else None
        if not (isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], cst.Raise)):
            return False
        if any(True for _ in descendants(body, stop_at=SCOPE_NODES, only=_LEAVES_HANDLER)):
            return False
    final = statement.finalbody
    return final is None or not any(
        True for _ in descendants(final, stop_at=SCOPE_NODES, only=_LEAVES_HANDLER)
    )


def _unconditional_call(statement: cst.CSTNode) -> tuple[cst.Call, bool] | None:
    """The call a small statement makes whenever it runs, and whether it is awaited:
    `check(x)`, `await check(x)`, `rows = await read(x)` (not a call under `and`, a
    ternary, a comprehension or a lambda, which may not run)."""
    value: cst.BaseExpression | None = None
    if isinstance(statement, (cst.Expr, cst.Assign, cst.AnnAssign)):
        value = statement.value
    awaited = isinstance(value, cst.Await)
    if isinstance(value, cst.Await):
        value = value.expression
    return (value, awaited) if isinstance(value, cst.Call) else None


def _runs_when_called(function: cst.FunctionDef, awaited: bool) -> bool:
    """A call of `function` runs its body: not through a decorator (a wrapper may catch
    the raise), not a generator (its body waits for the first `next`), and a coroutine
    function only when the call is awaited."""
    if function.decorators or (function.asynchronous is not None and not awaited):
        return False
    return not any(True for _ in descendants(function.body, stop_at=SCOPE_NODES, only=(cst.Yield,)))


def _normal(code: str) -> str:
    return "".join(code.split())


def guarded_before(
    function: cst.FunctionDef,
    loop: cst.CSTNode,
    collection: cst.BaseExpression,
    context: FileContext,
    first: bool = False,
    checker: bool = False,
) -> bool:
    """An explicit length check of `collection` that exits, before `loop` in `function`:
    `if len(x) > MAX: raise/return/abort()`, `assert len(x) <= MAX`, or a call passing `x`
    (or the object holding it) to a function of this file that checks the same length
    that way (`check_batch_size(request)`). Only a check that runs whenever `loop` does
    counts: not one in a branch, a loop, or a `try` whose handler may swallow the raise,
    nor a call under `and` or in a comprehension. With `first`, that function must check
    it before any other use of what it is handed (`checked_before_use`). With `checker`,
    `function` is such a checker: a `return` before the check hands the collection back
    to its caller unchecked."""
    wanted = _normal(context.code_of(collection))
    length_names: set[str] = set()
    # A check inside a branch (`if strict: if len(x) > N: raise`) may not run.
    unconditional = {id(statement) for statement in _unconditional(function.body)}
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        if node is loop:
            return False
        if checker and isinstance(node, cst.Return):
            return False
        if isinstance(node, cst.Assign) and len(node.targets) == 1:
            target = node.targets[0].target
            measured = len_argument(node.value)
            if (
                isinstance(target, cst.Name)
                and measured is not None
                and _normal(context.code_of(measured)) == wanted
            ):
                length_names.add(target.value)
        if id(node) not in unconditional:
            continue
        call = _unconditional_call(node)
        if call is not None and _is_length_check_call(*call, collection, context, first):
            return True
        if isinstance(node, cst.If):
            if _measures(node.test, wanted, length_names, context) and _exits(
                node.body, returns=not checker
            ):
                return True
        elif isinstance(node, cst.Assert) and _measures(
            node.test, wanted, length_names, context, asserted=True
        ):
            return True
    return False


_CHECK_STATEMENTS = (cst.If, cst.Assert, cst.Expr, cst.Assign, cst.AnnAssign)


def _mentions(node: cst.CSTNode, name: str) -> bool:
    return any(isinstance(n, cst.Name) and n.value == name for n in descendants(node))


def _first_use(
    statements: Sequence[cst.BaseStatement], name: str, after: cst.CSTNode
) -> tuple[cst.CSTNode, cst.CSTNode] | None:
    """The first statement of `statements` that mentions `name`, when it may be a check
    (a simple statement of checks, calls and assignments, or an `if`; inside a `try`
    whose handlers re-raise, its body's first use), and the node that follows it (`after`
    when it is the last)."""
    for index, statement in enumerate(statements):
        if not _mentions(statement, name):
            continue
        following = statements[index + 1] if index + 1 < len(statements) else after
        if isinstance(statement, cst.Try) and reraises(statement):
            if any(_mentions(h, name) for h in statement.handlers) or (
                statement.orelse is not None and _mentions(statement.orelse, name)
            ):
                return None  # the handler or `else` works on it: no plain check
            body = statement.body
            inner = list(body.body) if isinstance(body, cst.IndentedBlock) else []
            return _first_use(inner, name, following)
        if not isinstance(statement, cst.SimpleStatementLine | cst.If):
            return None
        if isinstance(statement, cst.SimpleStatementLine) and not all(
            isinstance(small, _CHECK_STATEMENTS) for small in statement.body
        ):
            return None
        return statement, following
    return None


def checked_before_use(
    function: cst.FunctionDef,
    name: str,
    context: FileContext,
    wanted: str | None = None,
    checker: bool = False,
) -> bool:
    """The first statement of `function`'s body that mentions its parameter `name` checks
    the parameter's length and exits on it (`if len(name) > MAX: raise`, an `assert`, or
    a call to this file's length checker, `rows = await read_rows(name)` with
    `if len(rows) > N: raise` in it), also as the first statement of a `try` whose
    handlers re-raise: the collection is bounded before any work on it. A first use that
    may already work on it (a loop, a `with`) is no check, nor is a checker that works
    on the collection before it measures it or may return before it (`checker`).
    `wanted`: the collection is `name.attr...` (`batch.operations` of a checker handed
    `batch`)."""
    statements = list(function.body.body) if isinstance(function.body, cst.IndentedBlock) else []
    found = _first_use(statements, name, cst.Pass())  # the sentinel: the end of the body
    if found is None:
        return False
    statement, following = found
    collection: cst.BaseExpression = (
        cst.parse_expression(wanted)
        if wanted is not None
        else next(n for n in descendants(statement) if isinstance(n, cst.Name) and n.value == name)
    )
    return guarded_before(function, following, collection, context, first=True, checker=checker)


def _is_length_check_call(
    call: cst.Call,
    awaited: bool,
    collection: cst.BaseExpression,
    context: FileContext,
    first: bool = False,
) -> bool:
    """`check_batch_size(request)` / `await read_rows(rows)`: a call handing a function of
    this file the collection (or the object holding it) whose body measures that same
    collection in a check that exits (`if len(batch.operations) > N: raise`). A checker
    that measures something else (`if len(invalid_ids) > 0: raise`) checks no size."""
    checker = (
        _module_functions(context).get(call.func.value) if isinstance(call.func, cst.Name) else None
    )
    if checker is None:
        return _refused_elsewhere(call, awaited, collection, context)
    if not _runs_when_called(checker, awaited):
        return False
    chain = attribute_chain(collection)
    if chain is not None:
        root, rest = chain
    elif isinstance(collection, cst.Name):
        root, rest = collection.value, []
    else:
        return False
    whole = _normal(context.code_of(collection))
    params = [p.name.value for p in (*checker.params.posonly_params, *checker.params.params)]
    position = 0
    for arg in call.args:
        if arg.star:
            continue
        name = arg.keyword.value if arg.keyword is not None else None
        if name is None:
            name = params[position] if position < len(params) else None
            position += 1
        code = _normal(context.code_of(arg.value))
        if name is None or code not in (root, whole):
            continue
        wanted = ".".join([name, *rest]) if code == root else name
        key = ("pydantic_models.length_checker", id(checker), wanted, first)
        cached = context.memo.get(key)
        if not isinstance(cached, bool):
            context.memo[key] = False  # a checker that calls itself proves nothing
            if first:
                # Refused before any work: the checker's own work on it must come after.
                cached = checked_before_use(checker, name, context, wanted, checker=True)
            else:
                cached = guarded_before(
                    checker, cst.Pass(), cst.parse_expression(wanted), context, checker=True
                )
            context.memo[key] = cached
        if cached:
            return True
    return False


# -- length checkers of other files ----------------------------------------------------

REFUSERS = "length_refusers"


def _refused_elsewhere(
    call: cst.Call, awaited: bool, collection: cst.BaseExpression, context: FileContext
) -> bool:
    """`await read_import(files)` where `read_import` is a module-level function of another
    file of the run that refuses a too-long value of the parameter it hands `files` to
    before any other use of it (`refused` facts of `REFUSERS`): the collection itself is
    handed, by position or keyword. One hop: a checker of that file that hands the value
    on to a third file counts only if its own file checks it."""
    project: ProjectIndex | None = context.project
    qualified = context.imports.qualify(call.func) if project is not None else None
    if project is None or qualified is None or REFUSERS not in project.facts:
        return False
    module, _, name = qualified.rpartition(".")
    run_module = project.module_for(REFUSERS, module) if module else None
    found = project.of(REFUSERS).get(run_module or "", {}).get(name)
    if not isinstance(found, dict) or (found.get("coroutine") and not awaited):
        return False
    params: list[str] = list(found.get("params", ()))
    refused = set(found.get("refused", ()))
    whole = _normal(context.code_of(collection))
    position = 0
    for arg in call.args:
        if arg.star:
            return False  # `f(*args)`: which parameter gets what is unknown
        target = arg.keyword.value if arg.keyword is not None else None
        if target is None:
            target = params[position] if position < len(params) else None
            position += 1
        if target in refused and _normal(context.code_of(arg.value)) == whole:
            return True
    return False


def _refusers(context: FileContext) -> dict[str, dict[str, Any]]:
    """Module-level functions of this file that refuse a too-long value of a parameter
    before any other use of it (`checked_before_use` as a checker: by raising, with no
    `return` before), by their positional parameters and the refused ones."""
    found: dict[str, dict[str, Any]] = {}
    try:
        # The triage's condition, also when the facts pass runs without triage: the
        # facts must not depend on it.
        if not _may_refuse(TriageTree(context.whole_ast(), context.source, display=context.path)):
            return found
    except (SyntaxError, ValueError):
        return found
    for name, function in _module_functions(context).items():
        if not _runs_when_called(function, awaited=True):
            continue
        params = function.params
        positional = [p.name.value for p in (*params.posonly_params, *params.params)]
        every = [*positional, *(p.name.value for p in params.kwonly_params)]
        refused = [p for p in every if checked_before_use(function, p, context, checker=True)]
        if refused:
            coroutine = function.asynchronous is not None
            found[name] = {"params": positional, "refused": refused, "coroutine": coroutine}
    return found


def _may_refuse(tree: TriageTree) -> bool:
    """Triage: a module-level function whose body (or the body of a `try` in it) holds an
    `if`/`assert` on `len(p)` of an annotated parameter `p`: every refusal chain ends in
    one in its own file. A checker with unannotated parameters (most of the standard
    library's `if len(args) > 2: raise TypeError`) is not collected, and so not parsed
    for it: a handler that hands it a list is reported, the safe side."""
    for function in tree.tree.body:
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        arguments = function.args
        annotated = {
            a.arg
            for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
            if a.annotation is not None
        }
        if not annotated:
            continue
        statements = list(function.body)
        for statement in function.body:
            if isinstance(statement, ast.Try):
                statements.extend(statement.body)
        for statement in statements:
            test = statement.test if isinstance(statement, (ast.If, ast.Assert)) else None
            if test is not None and any(
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "len"
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in annotated
                for node in ast.walk(test)
            ):
                return True
    return False


register_collector(
    FactCollector(REFUSERS, ("len(",), _refusers, triage=_may_refuse, gated_by_readers=True)
)


def _module_functions(context: FileContext) -> dict[str, cst.FunctionDef]:
    cached = context.memo.get("pydantic_models.module_functions")
    if isinstance(cached, dict):
        return cached
    functions = {
        statement.name.value: statement
        for statement in _module_statements(context.module.body)
        if isinstance(statement, cst.FunctionDef)
    }
    context.memo["pydantic_models.module_functions"] = functions
    return functions


def holding_models(index: ModelIndex, model: str, skip_tests: bool = False) -> tuple[str, ...]:
    """`ModelIndex.holders`: the class names under which a value carries `model`'s fields."""
    return index.holders(model, skip_tests)
