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

Before the try, a name may also be bound to what only carries the client's input on
(its provenance, not a step of the try: what these raise is not asked):
- another name holding client input (`data = body`), or `None`;
- a module-level function of the same file whose every returned value is client input
  in its own body, where its parameters are judged by the arguments of the call: a
  parameter handed the caller's request object is one there, a parameter handed client
  input is input, any other parameter is neither (`body = await _get_request_body(
  request)`, `_decompress(await request.body())`); awaited when it is a coroutine
  function, undecorated, no generator, followed `_MAX_HELPER_DEPTH` calls deep;
- the client's bytes re-framed by the standard library (`io.BytesIO(raw)`,
  `gzip.decompress(raw)`, `base64.b64decode(raw)`), by a decompressor built with
  constant arguments only (`zstandard.ZstdDecompressor().stream_reader(raw)`,
  `zlib.decompressobj().decompress(raw)`: a dictionary argument could put the server's
  bytes in the output), bound by `with ... as reader` (these return themselves on
  entering), and read or decoded (`reader.read(limit)`, `raw.decode()`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable

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
from leakguard.triage import TriageTree
from leakguard.walker import SCOPE_NODES, descendants

# Methods of a request object that read what the client sent.
_BODY_READS = frozenset({"json", "body", "form", "get_json", "get_data", "text"})
# Constructors that only frame client data (their errors describe its shape).
_FRAMERS = frozenset({"pandas.DataFrame"})
# Library calls whose result holds only the bytes they are handed, re-framed: the
# client's body decompressed or wrapped in a stream is still the client's body.
_REFRAMERS = frozenset(
    {
        "io.BytesIO",
        "io.StringIO",
        "gzip.decompress",
        "zlib.decompress",
        "bz2.decompress",
        "lzma.decompress",
        "base64.b64decode",
        "base64.standard_b64decode",
        "base64.urlsafe_b64decode",
    }
)
# Decompressor objects (built with constant arguments) and their methods that take the
# compressed bytes: `zstandard.ZstdDecompressor().stream_reader(raw)`.
_DECOMPRESSORS = frozenset(
    {
        "zstandard.ZstdDecompressor",
        "zlib.decompressobj",
        "bz2.BZ2Decompressor",
        "lzma.LZMADecompressor",
    }
)
_DECOMPRESSOR_METHODS = frozenset({"decompress", "stream_reader"})
# Methods of client input whose result is more of it: reading a stream over the
# client's bytes, decoding them.
_READS_OF_INPUT = frozenset({"read", "decode", "getvalue"})
# How many helper calls deep a name's provenance is followed.
_MAX_HELPER_DEPTH = 3


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


def helper_regions(tree: TriageTree, scopes: Iterable[ast.AST]) -> list[ast.AST]:
    """The module-level functions of the file that a name's provenance may be followed
    into from `scopes` (`_ClientInput.carries`: calls by bare name, `_MAX_HELPER_DEPTH`
    deep): a rule slicing the file (`leakguard.slicing`) must keep them whole."""
    functions = {
        node.name: node
        for node in tree.tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    found: list[ast.AST] = []
    seen: set[str] = set()
    frontier = list(scopes)
    for _ in range(_MAX_HELPER_DEPTH):
        called: list[ast.AST] = []
        for scope in frontier:
            for node in tree.walk(scope):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in functions
                    and node.func.id not in seen
                ):
                    seen.add(node.func.id)
                    called.append(functions[node.func.id])
        found.extend(called)
        frontier = called
    return found


def client_input_names(function: cst.FunctionDef, context: FileContext) -> Callable[[str], bool]:
    """Whether a name of `function` holds only client input (see the module docstring:
    a request handler's parameter other than a dependency, a name bound only to reads
    and parses of them); for `raised_texts`, which asks whose document a
    `json.loads(name)` of a `try` body decodes."""
    reader = _ClientInput(function, context)
    return reader.name_is_input


class _ClientInput:
    def __init__(
        self,
        function: cst.FunctionDef,
        context: FileContext,
        handed: tuple[frozenset[str], frozenset[str]] | None = None,
        depth: int = 0,
    ) -> None:
        """`handed`: for a helper followed from a call, its parameters handed the caller's
        request object and those handed client input (None: `function` is judged as
        itself, a request handler or not)."""
        self.function = function
        self.context = context
        self.requests = request_object_names(function, context)
        self.depth = depth
        self._names: dict[str, bool] = {}
        self._assignments: dict[str, list[cst.BaseExpression | None]] | None = None
        self._entered: set[int] = set()
        self._params: frozenset[str] | None = None
        if handed is not None:
            requests, inputs = handed
            # A parameter is the request object only when handed one, whatever its name.
            self.requests = (self.requests - _parameter_names(function)) | requests
            self._params = inputs

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
            self._assignments = self._bindings()
        values = self._assignments.get(name, [])
        found = (param or bool(values)) and all(
            v is not None and (self._reframes(v) if id(v) in self._entered else self.carries(v))
            for v in values
        )
        self._names[name] = found
        return found

    def _bindings(self) -> dict[str, list[cst.BaseExpression | None]]:
        """`own_assignments`, with a name bound by `with value as name` bound to `value`
        (kept in `_entered`: only a re-framer, which returns itself on entering, counts)."""
        found = own_assignments(self.function)
        for item in descendants(self.function.body, only=(cst.WithItem,)):
            assert isinstance(item, cst.WithItem)
            if item.asname is not None and isinstance(item.asname.name, cst.Name):
                values = found.get(item.asname.name.value, [])
                # Replace the `None` `own_assignments` recorded for this binding.
                if None in values:
                    values.remove(None)
                    values.append(item.item)
                    self._entered.add(id(item.item))
        return found

    def carries(self, value: cst.BaseExpression) -> bool:
        """A value holding only what the client sent (the module docstring's provenance):
        a step of `parses`, other client input, `None`, a re-framing of it, or the result
        of a helper of the file returning only client input."""
        if self.parses(value):
            return True
        awaited = isinstance(value, cst.Await)
        inner = value.expression if isinstance(value, cst.Await) else value
        if not awaited and (
            self.is_input(inner) or (isinstance(inner, cst.Name) and inner.value == "None")
        ):
            return True
        if not isinstance(inner, cst.Call) or any(a.star for a in inner.args):
            return False
        if self._reframes(inner):
            return True
        if self.context.imports.call_name(inner) in JSON_LOADERS:
            # Decoding what carries the client's input (`json.loads(raw.decode())`).
            return bool(inner.args) and all(self.carries(a.value) for a in inner.args)
        return isinstance(inner.func, cst.Name) and self._helper_returns_input(inner, awaited)

    def _reframes(self, value: cst.BaseExpression) -> bool:
        """`io.BytesIO(raw)`, `gzip.decompress(raw)`, `Decompressor().stream_reader(raw)`,
        `reader.read(limit)`, `raw.decode()` of client input `raw`/`reader` (the other
        arguments are sizes, encodings, formats: no data of their own)."""
        if isinstance(value, cst.Await):
            value = value.expression
        if not isinstance(value, cst.Call) or any(a.star for a in value.args):
            return False
        func = value.func
        first = value.args[0].value if value.args else None
        if isinstance(func, cst.Attribute):
            if func.attr.value in _READS_OF_INPUT:
                return self.carries(func.value)
            maker = func.value
            if (
                func.attr.value in _DECOMPRESSOR_METHODS
                and isinstance(maker, cst.Call)
                and self.context.imports.call_name(maker) in _DECOMPRESSORS
                # A dictionary (`zdict=`, `dict_data=`) would put the server's bytes in.
                and all(_constant(a.value) and not a.star for a in maker.args)
            ):
                return first is not None and self.carries(first)
        if self.context.imports.call_name(value) in _REFRAMERS:
            return first is not None and self.carries(first)
        return False

    def _helper_returns_input(self, call: cst.Call, awaited: bool) -> bool:
        """A call of a module-level function of this file whose every returned value is
        client input there, its parameters judged by what this call hands them."""
        if self.depth >= _MAX_HELPER_DEPTH:
            return False
        assert isinstance(call.func, cst.Name)
        helper = _module_function(call.func.value, self.function, self.context)
        if (
            helper is None
            or helper is self.function
            or helper.decorators
            or (helper.asynchronous is not None) != awaited
        ):
            return False
        handed = self._handed(call, helper)
        if handed is None:
            return False
        reader = _ClientInput(helper, self.context, handed, self.depth + 1)
        returned = [
            node
            for node in descendants(helper.body, stop_at=SCOPE_NODES)
            if isinstance(node, (cst.Return, cst.Yield))
        ]
        if not returned or any(isinstance(node, cst.Yield) for node in returned):
            return False
        # A bare `return` (or falling off the end) returns `None`: no server data.
        return all(
            node.value is None or reader.carries(node.value)
            for node in returned
            if isinstance(node, cst.Return)
        )

    def _handed(
        self, call: cst.Call, helper: cst.FunctionDef
    ) -> tuple[frozenset[str], frozenset[str]] | None:
        """The helper's parameters handed this function's request object, and those
        handed client input; None when the arguments do not map onto parameters."""
        params = helper.params
        positional = [*params.posonly_params, *params.params]
        named = {p.name.value for p in (*params.params, *params.kwonly_params)}
        requests: set[str] = set()
        inputs: set[str] = set()
        index = 0
        for arg in call.args:
            if arg.keyword is None:
                if index >= len(positional):
                    return None
                name = positional[index].name.value
                index += 1
            elif arg.keyword.value in named:
                name = arg.keyword.value
            else:
                return None
            value = arg.value
            if isinstance(value, cst.Name) and value.value in self.requests:
                requests.add(name)
            elif self.carries(value):
                inputs.add(name)
        return frozenset(requests), frozenset(inputs)

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


def _parameter_names(function: cst.FunctionDef) -> frozenset[str]:
    params = function.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    every += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return frozenset(p.name.value for p in every)


def _constant(value: cst.BaseExpression) -> bool:
    """A literal number, string or `None`/`True`/`False`: never data of the server's."""
    if isinstance(value, (cst.Integer, cst.Float, cst.SimpleString)):
        return True
    return isinstance(value, cst.Name) and value.value in ("None", "True", "False")


def _module_function(
    name: str, caller: cst.FunctionDef, context: FileContext
) -> cst.FunctionDef | None:
    """The one module-level `def name` of the file, when the caller does not bind the
    name itself (a local, a nested `def`) and nothing else at module level does."""
    if name in own_assignments(caller) or any(
        isinstance(node, (cst.FunctionDef, cst.ClassDef)) and node.name.value == name
        for node in descendants(caller.body)
    ):
        return None
    found: list[cst.FunctionDef] = []
    for statement in context.module.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            found.append(statement)
        elif isinstance(statement, cst.ClassDef):
            if statement.name.value == name:
                return None
        elif isinstance(statement, cst.SimpleStatementLine):
            # An assignment or import naming it may rebind it (a call statement cannot).
            if any(
                not isinstance(small, cst.Expr) and _mentions(small, name)
                for small in statement.body
            ):
                return None
        elif not isinstance(statement, cst.FunctionDef) and _mentions(statement, name):
            return None  # bound in a branch of a module-level `if`/`try`/`with`?
    return found[0] if len(found) == 1 else None


def _mentions(node: cst.CSTNode, name: str) -> bool:
    return any(isinstance(sub, cst.Name) and sub.value == name for sub in descendants(node))


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
