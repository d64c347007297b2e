"""Try blocks that only parse the client's own request: their errors describe that input.

    try:
        body = await request.json()
        form = ChatForm(**body)
    except Exception as e:
        raise HTTPException(400, detail=f"Invalid body: {e}")

Whatever such a `try` raises is a decode or validation error of what the client sent
(`Expecting value: line 1 column 1`, pydantic's field errors), as FastAPI's own 422
returns: no server internals. `parses_client_input(try_, function, context)` holds when
every statement of the try body is such a step, alone or assigned to a plain name:

- reading the body from the request object (`await request.json()`, `.body()`,
  `.form()`, Flask's `request.get_json()`/`get_data()`);
- decoding client input (`json.loads(raw)`, also orjson/ujson/simplejson);
- validating client input into a pydantic model of the run or library
  (`Model(**data)`, `Model.model_validate(data)`, `parse_obj`...), judged by
  `analysis.pydantic_models`, unless a validator of it (or of a base or nested model)
  does the server's work: a DB error passes pydantic unwrapped, and a `ValueError`
  made from an `OSError` lands in the ValidationError's text (`validators_work`);
- framing it as a table (`pandas.DataFrame(rows)`), whose errors name its shape.

*Client input* is a name bound only to such steps (in the try body or before it, every
assignment of the function's own body counts), a parameter of a request handler other
than a dependency (`form_data: dict`), and lists, tuples, conditional expressions and
subscripts of them. Anything else in the try body (a helper's call, a DB query, a
model whose input comes from elsewhere) leaves the exception's text unexplained.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from leakguard.analysis.frameworks import enclosing_class_of, is_request_handler
from leakguard.analysis.pydantic_models import (
    DEPENDENCY_MARKERS,
    JSON_LOADERS,
    VALIDATE_METHODS,
    handler_params,
    model_index,
    param_markers,
    qualified_name,
    request_object_names,
)
from leakguard.context import FileContext
from leakguard.walker import descendants

# Methods of a request object that read what the client sent.
_BODY_READS = frozenset({"json", "body", "form", "get_json", "get_data", "text"})
# Constructors that only frame client data (their errors describe its shape).
_FRAMERS = frozenset({"pandas.DataFrame"})


def parses_client_input(
    try_: cst.Try, function: cst.FunctionDef | None, context: FileContext
) -> bool:
    """Whether every statement of `try_`'s body only reads or parses the client's request
    (see the module docstring)."""
    if function is None or not try_.body.body:
        return False
    reader = _ClientInput(function, context)
    for line in try_.body.body:
        if not isinstance(line, cst.SimpleStatementLine):
            return False
        for statement in line.body:
            if isinstance(statement, cst.Assign):
                if not all(isinstance(t.target, cst.Name) for t in statement.targets):
                    return False
                value: cst.BaseExpression | None = statement.value
            elif isinstance(statement, cst.Expr) or (
                isinstance(statement, cst.AnnAssign) and isinstance(statement.target, cst.Name)
            ):
                value = statement.value
            else:
                return False
            if value is None or not reader.parses(value):
                return False
    return True


def client_input_names(function: cst.FunctionDef, context: FileContext) -> Callable[[str], bool]:
    """Whether a name of `function` holds only client input (see the module docstring:
    a request handler's parameter other than a dependency, a name bound only to reads
    and parses of them); for `raised_texts`, which asks whose document a
    `json.loads(name)` of a `try` body decodes."""
    reader = _ClientInput(function, context)
    return reader.name_is_input


class _ClientInput:
    def __init__(self, function: cst.FunctionDef, context: FileContext) -> None:
        self.function = function
        self.context = context
        self.requests = request_object_names(function, context)
        self._names: dict[str, bool] = {}
        self._assignments: dict[str, list[cst.BaseExpression | None]] | None = None
        self._params: frozenset[str] | None = None

    def parses(self, value: cst.BaseExpression) -> bool:
        """A step reading or parsing the client's input (unwrapping `await`)."""
        if isinstance(value, cst.Await):
            value = value.expression
        if not isinstance(value, cst.Call):
            return False
        func = value.func
        arguments = [a.value for a in value.args]
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in _BODY_READS
            and isinstance(func.value, cst.Name)
            and func.value.value in self.requests
        ):
            return True
        qualified = self.context.imports.call_name(value) or ""
        if qualified in JSON_LOADERS or qualified in _FRAMERS:
            return bool(arguments) and all(self.is_input(a) for a in arguments)
        if isinstance(func, cst.Attribute) and func.attr.value in VALIDATE_METHODS:
            model = func.value
        else:
            model = func
        name = qualified_name(model, self.context)
        models = model_index(self.context)
        if name is None or not models.is_model(name) or models.validators_work(name):
            return False
        return bool(arguments) and all(self.is_input(a) for a in arguments)

    def is_input(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, cst.Name):
            return self.name_is_input(value.value)
        if isinstance(value, (cst.List, cst.Tuple)):
            return all(self.is_input(e.value) for e in value.elements)
        if isinstance(value, cst.IfExp):
            return self.is_input(value.body) and self.is_input(value.orelse)
        if isinstance(value, cst.Subscript):
            return self.is_input(value.value)
        return False

    def name_is_input(self, name: str) -> bool:
        known = self._names.get(name)
        if known is not None:
            return known
        # While its own assignments are read: a handler's parameter is client input
        # to begin with (`form = Form(**form)` parses it again), another name is not.
        param = name in self._handler_params()
        self._names[name] = param
        if self._assignments is None:
            self._assignments = own_assignments(self.function)
        values = self._assignments.get(name, [])
        found = (param or bool(values)) and all(v is not None and self.parses(v) for v in values)
        self._names[name] = found
        return found

    def _handler_params(self) -> frozenset[str]:
        if self._params is None:
            owner = enclosing_class_of(self.function, self.context)
            if not is_request_handler(self.function, self.context, owner):
                self._params = frozenset()
            else:
                self._params = frozenset(
                    p.name.value
                    for p in handler_params(self.function)
                    if p.name.value not in self.requests
                    and param_markers(p, self.context)[0] not in DEPENDENCY_MARKERS
                )
        return self._params


def own_assignments(function: cst.FunctionDef) -> dict[str, list[cst.BaseExpression | None]]:
    """Every binding of a name in the function's own body: the value of a plain
    `name = value`, None for anything else (a tuple target, `+=`, a loop, `with ... as`)."""
    found: dict[str, list[cst.BaseExpression | None]] = {}
    for node in descendants(function.body):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    found.setdefault(target.target.value, []).append(node.value)
                else:
                    for inner in descendants(target.target):
                        if isinstance(inner, cst.Name):
                            found.setdefault(inner.value, []).append(None)
        elif isinstance(node, cst.AnnAssign) and isinstance(node.target, cst.Name):
            found.setdefault(node.target.value, []).append(node.value)
        elif isinstance(node, (cst.AugAssign, cst.NamedExpr)) and isinstance(node.target, cst.Name):
            found.setdefault(node.target.value, []).append(None)
        elif isinstance(node, (cst.For, cst.CompFor, cst.AsName)):
            bound: cst.CSTNode = (
                node.target if isinstance(node, (cst.For, cst.CompFor)) else node.name
            )
            for inner in [bound, *descendants(bound)]:
                if isinstance(inner, cst.Name):
                    found.setdefault(inner.value, []).append(None)
    return found
