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
  entering), and read or decoded (`reader.read(limit)`, `raw.decode()`);
- an attribute of the request's state (`getattr(request.state, "cached_body", None)`,
  `request.state.cached_body`) that every store in the run sets to client input of the
  storing function (`request.state.cached_body = body` after `body = await
  request.json()`): the `request_state` facts record each store into an attribute of a
  `.state` (the application's, `app.state`, is another object), `setattr` with a
  constant name, a store through a name bound to a state, and the keys of a dict a
  lifespan yields (Starlette copies them onto every request's state). A `setattr` of a
  computed name, a store by subscript (`request.state._state[key]`,
  `scope["state"][...]`), or the request's state handed to a call (`fill(request.state)`)
  anywhere in the run leaves every attribute unknown; so does a run that does not hold
  the reading file's package, or an attribute nothing in the run sets (a library's
  middleware may). A lifespan merging the states of lifespans it was handed (FastAPI's
  `yield {**(nested_state or {}), ...}` of `async with nested_context(app) as
  nested_state`, `nested_context` a parameter) adds no key of its own; any other `**`
  in a yielded state is a computed name. Only the run's modules that may meet the
  reading one count (`run_parts.linked`: another project sharing the run sets none).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable

import libcst as cst

from leakguard.analysis.calls import parameter_for
from leakguard.analysis.frameworks import enclosing_class_of, is_request_handler
from leakguard.analysis.project import FactCollector, register_collector
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
from leakguard.analysis.run_modules import holds_package, run_modules
from leakguard.analysis.run_parts import run_parts
from leakguard.analysis.scopes import function_scope
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
    into from `scopes` (`_ClientInput.carries`: calls by bare name in the value bound to
    a name, then in a helper's returned values, `_MAX_HELPER_DEPTH` deep): a rule slicing
    the file (`leakguard.slicing`) must keep them whole."""
    functions = {
        node.name: node
        for node in tree.tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    found: list[ast.AST] = []
    seen: set[str] = set()
    frontier = list(scopes)
    for depth in range(_MAX_HELPER_DEPTH):
        called: list[ast.AST] = []
        for scope in frontier:
            for node in tree.walk(scope):
                value = (
                    node.value
                    if isinstance(node, (ast.Assign, ast.AnnAssign))
                    or (depth > 0 and isinstance(node, ast.Return))
                    else None
                )
                if value is None:
                    continue
                for call in tree.walk(value):
                    if (
                        isinstance(call, ast.Call)
                        and isinstance(call.func, ast.Name)
                        and call.func.id in functions
                        and call.func.id not in seen
                    ):
                        seen.add(call.func.id)
                        called.append(functions[call.func.id])
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
            params = frozenset(function_scope(function, context).params)
            self.requests = (self.requests - params) | requests
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
        attribute = self._state_read(inner)
        if attribute is not None:
            return not awaited and _state_holds_input(attribute, self.context)
        if not isinstance(inner, cst.Call) or any(a.star for a in inner.args):
            return False
        if self._reframes(inner):
            return True
        if self.context.imports.call_name(inner) in JSON_LOADERS:
            # Decoding what carries the client's input (`json.loads(raw.decode())`).
            return bool(inner.args) and all(self.carries(a.value) for a in inner.args)
        return isinstance(inner.func, cst.Name) and self._helper_returns_input(inner, awaited)

    def _state_read(self, value: cst.BaseExpression) -> str | None:
        """The attribute `request.state.name` or `getattr(request.state, "name"[,
        constant])` reads of this function's request object."""
        if isinstance(value, cst.Call):
            arguments = [a for a in value.args if a.keyword is None and not a.star]
            if (
                not isinstance(value.func, cst.Name)
                or value.func.value != "getattr"
                or len(arguments) != len(value.args)
                or len(arguments) not in (2, 3)
                or not isinstance(arguments[1].value, cst.SimpleString)
                or (len(arguments) == 3 and not _constant_value(arguments[2].value))
            ):
                return None
            held, name = arguments[0].value, arguments[1].value.evaluated_value
        elif isinstance(value, cst.Attribute):
            held, name = value.value, value.attr.value
        else:
            return None
        if (
            isinstance(name, str)
            and isinstance(held, cst.Attribute)
            and held.attr.value == "state"
            and isinstance(held.value, cst.Name)
            and held.value.value in self.requests
        ):
            return name
        return None

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
        requests: set[str] = set()
        inputs: set[str] = set()
        for arg in call.args:
            name = parameter_for(helper, call, arg)
            if name is None:
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


def _constant_value(value: cst.BaseExpression) -> bool:
    """A literal default of `getattr` (`None`, `{}`, `""`): no data of the server's."""
    if _constant(value):
        return True
    if isinstance(value, (cst.Dict, cst.List, cst.Tuple)):
        return not value.elements
    return False


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


# -- the request's state across the run ---------------------------------------------------

STATE_COLLECTOR = "request_state"
# Receivers whose `.state` is the application's, never a request's (Starlette's
# `request.state` is a fresh object over the scope's state).
_APPLICATION_NAMES = frozenset({"app", "application"})
_STATE_TOKENS = ("state",)
# Methods that read a value without changing it (`request.state.body.get("k")`).
_READING_METHODS = frozenset({"get", "keys", "values", "items", "copy", "decode", "read"})
# Attributes of Starlette's `State` that hold all the others.
_STATE_INTERNALS = frozenset({"_state", "__dict__"})


def _state_owner(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """`X` of `X.state`, when that may be a request's state (not `app.state`)."""
    if not isinstance(node, cst.Attribute) or node.attr.value != "state":
        return None
    owner = node.value
    last = (
        owner.value
        if isinstance(owner, cst.Name)
        else owner.attr.value
        if isinstance(owner, cst.Attribute)
        else None
    )
    return None if last in _APPLICATION_NAMES else owner


class _StateStores:
    """One file's stores into attributes of a `.state` (see the module docstring)."""

    def __init__(self, context: FileContext) -> None:
        self.context = context
        self.stores: dict[str, list[bool]] = {}
        self.dynamic = False

    def run(self) -> dict[str, object] | None:
        self._walk(self.context.module, frozenset())
        if not self.stores and not self.dynamic:
            return None
        return {"stores": self.stores, "dynamic": self.dynamic}

    def _walk(self, scope: cst.CSTNode, outer: frozenset[str]) -> None:
        """Each scope's own nodes, knowing the parameters of the functions around it."""
        function = scope if isinstance(scope, cst.FunctionDef) else None
        body = scope.body if isinstance(scope, (cst.FunctionDef, cst.ClassDef)) else scope
        nodes = list(descendants(body, stop_at=SCOPE_NODES))
        self._scope(nodes, function, outer)
        inner = (
            outer | frozenset(function_scope(function, self.context).params)
            if function is not None
            else outer
        )
        for node in nodes:
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                self._walk(node, inner)
            elif isinstance(node, cst.Lambda):
                self._scope(list(descendants(node.body, stop_at=SCOPE_NODES)), None, inner)

    def _scope(
        self, nodes: list[cst.CSTNode], function: cst.FunctionDef | None, outer: frozenset[str]
    ) -> None:
        reader = None if function is None else _ClientInput(function, self.context)
        requests = frozenset() if reader is None else reader.requests
        aliases: set[str] = set()
        for node in nodes:
            if isinstance(node, cst.Assign) and _state_owner(node.value) is not None:
                aliases.update(
                    t.target.value for t in node.targets if isinstance(t.target, cst.Name)
                )
        for node in nodes:
            if isinstance(node, cst.Assign):
                for target in node.targets:
                    self._store(target.target, node.value, reader, aliases)
            elif isinstance(node, cst.AnnAssign):
                self._store(node.target, node.value, reader, aliases)
            elif isinstance(node, cst.AugAssign):
                self._store(node.target, None, reader, aliases)
            elif isinstance(node, cst.Call):
                self._call(node, reader, requests)
            elif (
                isinstance(node, cst.Yield)
                and isinstance(node.value, cst.Dict)
                and function is not None
                and _may_be_lifespan(function)
            ):
                # A lifespan's state: Starlette copies it onto every request's state.
                for element in node.value.elements:
                    key = element.key if isinstance(element, cst.DictElement) else None
                    if isinstance(key, cst.SimpleString) and isinstance(key.evaluated_value, str):
                        self._record(key.evaluated_value, False)
                    elif not (
                        isinstance(element, cst.StarredDictElement)
                        and _entered_lifespan_state(element.value, nodes, outer)
                    ):
                        self.dynamic = True

    def _store(
        self,
        target: cst.BaseExpression,
        value: cst.BaseExpression | None,
        reader: _ClientInput | None,
        aliases: set[str],
    ) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._store(element.value, None, reader, aliases)
            return
        if isinstance(target, cst.StarredElement):
            self._store(target.value, None, reader, aliases)
            return
        # Down the target's chain to the state: the store sets the attribute just above
        # it (`request.state.body = ...`), or changes what that attribute holds
        # (`request.state.body["k"] = ...`: the attribute is no longer only its value).
        link: cst.BaseExpression = target
        while isinstance(link, (cst.Attribute, cst.Subscript)):
            below = link.value
            if _state_owner(below) is not None or (
                isinstance(below, cst.Name) and below.value in aliases
            ):
                if not isinstance(link, cst.Attribute) or link.attr.value in _STATE_INTERNALS:
                    self.dynamic = True  # `request.state._state[key] = ...`: any name
                    return
                self._record(
                    link.attr.value,
                    link is target
                    and value is not None
                    and reader is not None
                    and reader.carries(value),
                )
                return
            if isinstance(link, cst.Subscript) and _scope_state(link):
                self.dynamic = True  # `scope["state"][key] = ...`, `scope["state"] = {...}`
                return
            link = below

    def _call(self, call: cst.Call, reader: _ClientInput | None, requests: frozenset[str]) -> None:
        arguments = [a.value for a in call.args]
        if isinstance(call.func, cst.Attribute):
            # A method of what a state attribute holds may change it in place
            # (`request.state.body.update(defaults)`, `request.state.__dict__.update(x)`).
            link: cst.BaseExpression = call.func.value
            while isinstance(link, (cst.Attribute, cst.Subscript)):
                if _state_owner(link.value) is not None:
                    if not isinstance(link, cst.Attribute) or link.attr.value in _STATE_INTERNALS:
                        self.dynamic = True
                    elif call.func.attr.value not in _READING_METHODS:
                        self._record(link.attr.value, False)
                    break
                link = link.value
        if isinstance(call.func, cst.Name) and call.func.value in ("getattr", "hasattr"):
            return
        if isinstance(call.func, cst.Name) and call.func.value == "setattr" and arguments:
            if _state_owner(arguments[0]) is None:
                return
            name = arguments[1] if len(arguments) > 1 else None
            if (
                isinstance(name, cst.SimpleString)
                and isinstance(name.evaluated_value, str)
                and len(arguments) == 3
            ):
                held = reader is not None and reader.carries(arguments[2])
                self._record(name.evaluated_value, held)
            else:
                self.dynamic = True
            return
        for argument in arguments:
            owner = _state_owner(argument)
            # The request's state handed to a call may be set there by any name.
            if isinstance(owner, cst.Name) and owner.value in requests:
                self.dynamic = True

    def _record(self, attribute: str, held: bool) -> None:
        self.stores.setdefault(attribute, []).append(held)


def _entered_lifespan_state(
    value: cst.BaseExpression, nodes: list[cst.CSTNode], outer: frozenset[str]
) -> bool:
    """`**(nested_state or {})` where `nested_state` is bound only by `async with
    nested_context(app) as nested_state`, `nested_context` a parameter of an enclosing
    function: the state of a lifespan handed in (FastAPI merging the application's
    lifespans), whose keys that lifespan's own `yield` sets (recorded there)."""
    if isinstance(value, cst.BooleanOperation) and isinstance(value.right, cst.Dict):
        if value.right.elements:
            return False
        value = value.left
    if not isinstance(value, cst.Name):
        return False
    bound = False
    for node in nodes:
        if isinstance(node, cst.WithItem):
            if (
                node.asname is not None
                and isinstance(node.asname.name, cst.Name)
                and node.asname.name.value == value.value
            ):
                entered = node.item
                if not (
                    isinstance(entered, cst.Call)
                    and isinstance(entered.func, cst.Name)
                    and entered.func.value in outer
                ):
                    return False
                bound = True
        elif isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign, cst.NamedExpr)):
            targets = (
                [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            )
            if any(
                isinstance(name, cst.Name) and name.value == value.value
                for target in targets
                for name in (target, *descendants(target))
            ):
                return False
    return bound


def _may_be_lifespan(function: cst.FunctionDef) -> bool:
    """A context manager function (`@asynccontextmanager`), or one named for a lifespan."""
    if "lifespan" in function.name.value.lower():
        return True
    for decorator in function.decorators:
        named = decorator.decorator
        if isinstance(named, cst.Call):
            named = named.func
        last = named.attr.value if isinstance(named, cst.Attribute) else getattr(named, "value", "")
        if last in ("asynccontextmanager", "contextmanager"):
            return True
    return False


def _scope_state(subscript: cst.Subscript) -> bool:
    """`scope["state"]` (also `request.scope["state"]`): the ASGI scope's state, from
    which Starlette builds every request's state."""
    held = subscript.value
    if isinstance(held, cst.Attribute):
        held = held.attr
    if not isinstance(held, cst.Name) or held.value != "scope" or len(subscript.slice) != 1:
        return False
    index = subscript.slice[0].slice
    return (
        isinstance(index, cst.Index)
        and isinstance(index.value, cst.SimpleString)
        and index.value.evaluated_value == "state"
    )


def collect_state(context: FileContext) -> dict[str, object] | None:
    return _StateStores(context).run()


def _may_store_state(tree: TriageTree) -> bool:
    """What `_StateStores` records can be there: a store whose target reaches down to a
    `.state` (or to a name, which may alias one) or to `scope["state"]`; a method called
    on what a `.state` holds; a `.state` handed to a call (`setattr` among them); a
    yielded dict (a lifespan's state). Most files that merely read some `x.state` (a
    parser's, a widget's) are none of these and need no LibCST parse."""
    aliased = any(_is_state(node.value) for node in tree.of(ast.Assign))
    targets: list[ast.Attribute | ast.Subscript] = [
        *tree.of(ast.Attribute),
        *tree.of(ast.Subscript),
    ]
    for node in targets:
        if isinstance(node.ctx, (ast.Store, ast.Del)) and _reaches_state(node, aliased):
            return True
    for call in tree.of(ast.Call):
        if isinstance(call.func, ast.Attribute) and _reaches_state(call.func.value, False):
            return True
        handed = (*call.args, *(k.value for k in call.keywords))
        if any(_is_state(a.value if isinstance(a, ast.Starred) else a) for a in handed):
            return True
    return any(isinstance(node.value, ast.Dict) for node in tree.of(ast.Yield))


def _is_state(node: ast.expr) -> bool:
    """`x.state`, or `scope["state"]`."""
    if isinstance(node, ast.Attribute):
        return node.attr == "state"
    return (
        isinstance(node, ast.Subscript)
        and isinstance(node.slice, ast.Constant)
        and node.slice.value == "state"
    )


def _reaches_state(node: ast.expr, aliased: bool) -> bool:
    """`node`'s chain of attributes and subscripts holds a state (`_is_state`), or ends at
    a name while the file binds some name to a `.state`."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if _is_state(node):
            return True
        node = node.value
    return aliased and isinstance(node, ast.Name)


register_collector(
    FactCollector(
        STATE_COLLECTOR,
        _STATE_TOKENS,
        collect_state,
        triage=_may_store_state,
        gated_by_readers=True,
    )
)


def _state_holds_input(attribute: str, context: FileContext) -> bool:
    """Every store of the run into `attribute` of a request's state is client input
    (and there is one), no store names an attribute it computes, and the run holds the
    asking file's package."""
    project = context.project
    if project is None:
        return False
    module = context.module_name
    if not holds_package(run_modules(project), module):
        return False
    parts = run_parts(project)
    held: list[bool] = []
    for store_module, facts in project.of(STATE_COLLECTOR).items():
        # Only code that may meet the reading module's (`run_parts`): another project
        # sharing the run sets no state of its requests.
        if not parts.linked(module, store_module):
            continue
        if not isinstance(facts, dict) or facts.get("dynamic"):
            return False
        held.extend(facts.get("stores", {}).get(attribute, []))
    return bool(held) and all(held)
