"""Whether a request value is clamped before it drives work.

A request number with no declared upper bound sizes no work when the code bounds it
itself first. Three shapes, all judged against a *ceiling*: an expression the request
cannot raise (a literal, a module constant no function rebinds with `global`, a setting
read from `self`/a module object, a local only ever assigned such values; never a
parameter of the function, which may be another request value):

- at the use: `min(limit, 100)`, `min(max(limit, 1), MAX_LIMIT)`, `min(limit or 50, 100)`
  (`echoes` ends a read there; `clamps_at` says whether the `min` has a ceiling);
- reassigned before every later use, by a statement of the function's own body (not a
  branch of it: a clamp on one branch only bounds nothing): `limit = min(limit, 100)`,
  `limit = max(1, min(limit, 100))`, `if limit > 100: limit = 100`, or a guard that
  leaves the function on the large side, `if limit > MAX: raise HTTPException(...)`
  (also `if limit is None or limit > MAX:`): reads after that statement see a bounded
  value (`clamped_after`); reads before it are still judged;
- inside a helper of another file the value is handed to, whose parameter only ends in
  such clamps or comparisons (never returned as it came, never used for work): the
  `clamped_params` facts of each file, looked up across the run by the function's
  qualified name (`clamped_in_run`). Only module-level functions of a file where one
  hands a parameter to `min(...)` (`may_clamp`: what the facts pass parses for); one
  hop (a helper handing the value on to a third file is no clamp).

`min(limit, other_request_value)` is no clamp; `max(limit, 1)` only floors the value.

Two kinds of ceiling come from the model rather than from a constant:
- a value the server looks up for the model the request names: the client picks a
  model, not its context, so `CONTEXT_WINDOWS[request.model]`,
  `context_window(request.model)` or `fetch_remote(URL, {"model": request.model}, ...)`
  is a ceiling when the model's name (`<param>.model`, a parameter named `model`) is
  the only request data it reads and it is handed as a key, never computed on by a
  builtin (`int(request.model)`, `len(request.model)` are none); a lookup that also
  reads another request value (`context_window(request.model, request.reserve)`) is
  none;
- a ceiling less a count that is never negative (`context_len - len(prompt_tokens)`,
  `self.n_ctx - len(tokens)`, a local only assigned such counts): no larger than the
  ceiling; less a request number it is none (the client may send it negative).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

import libcst as cst

from leakguard.analysis.bindings import assigned_values
from leakguard.analysis.calls import keyword_arg
from leakguard.analysis.scopes import bound_names, function_scope, is_read
from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, descendants, walk

# Receivers whose attributes are the object's own settings, not request data.
_STATE_ROOTS = frozenset({"self", "cls"})
# Locals followed back to their assigned values when judging a ceiling.
_CEILING_HOPS = 3
# Module-level request objects (Flask's global `request`): the client's data, no ceiling.
_REQUEST_GLOBALS = frozenset({"request", "req"})
# Ceilings in form only.
_INFINITIES = frozenset({"math.inf", "numpy.inf", "torch.inf", "sys.maxsize", "cmath.inf"})
# Methods whose stores on `self` build the object's settings rather than reset them.
_INITIALISERS = frozenset({"__init__", "__post_init__", "__new__"})
# What names the model a request picks: a parameter so named, or its attribute.
_MODEL_NAMES = frozenset({"model", "model_name", "model_id"})


def _positional(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star]


def _named_call(node: cst.BaseExpression, name: str) -> cst.Call | None:
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value == name
        and len(_positional(node)) >= 2
        and not any(a.star for a in node.args)
        # `key=` may order the values otherwise (`key=lambda v: -v` picks the largest).
        and keyword_arg(node, "key") is None
    ):
        return node
    return None


def is_ceiling(
    node: cst.BaseExpression,
    function: cst.FunctionDef,
    context: FileContext,
    hops: int = _CEILING_HOPS,
) -> bool:
    """`node` is a value the request cannot raise: it reads no parameter of `function`
    (but `self`/`cls`), no local bound from one (or bound otherwise than by plain
    assignments), and no module variable that a function rebinds (`global MAX`)."""
    if isinstance(node, cst.Name) and node.value in ("None", "True", "False"):
        return node.value != "None"
    if (
        isinstance(node, cst.BinaryOperation)
        and isinstance(node.operator, cst.Subtract)
        and _never_negative(node.right, function, context, hops)
    ):
        # `context_len - len(prompt_tokens)`: no larger than the ceiling.
        return is_ceiling(node.left, function, context, hops)
    scope = function_scope(function, context)
    values = assigned_values(function, context)
    path: list[cst.CSTNode] = []
    independent = True

    def visit(sub: cst.CSTNode) -> None:
        nonlocal independent
        if not independent:
            return
        if isinstance(sub, (cst.Attribute, cst.Call)) and _unbounded(sub, context):
            independent = False
            return
        if isinstance(sub, cst.Attribute) and sub.attr.value in _reset_settings(context)[0]:
            independent = False  # `settings.max_page`, reset by some route from its input
            return
        if not isinstance(sub, cst.Name):
            return
        parent = path[-2] if len(path) >= 2 else None
        if parent is not None and not is_read(sub, parent):
            return
        if any(isinstance(a, (cst.Lambda, cst.CompFor)) for a in path[:-1]):
            return  # a comprehension's own names
        name = sub.value
        if name in scope.params:
            independent = name in _STATE_ROOTS or _model_key(path, context)
        elif name in _REQUEST_GLOBALS:
            independent = False  # Flask's global `request`: what the client sent
        elif name in scope.locals:
            assigned = values.get(name)
            independent = (
                hops > 0
                and bool(assigned)
                and not _bound_otherwise(function, name, context)
                and all(is_ceiling(v, function, context, hops - 1) for v in assigned or ())
            )
        else:
            independent = name not in _rebound_globals(context) and (
                name not in _reset_settings(context)[1]
            )

    walk(node, visit, stack=path)
    return independent


def _model_key(path: list[cst.CSTNode], context: FileContext) -> bool:
    """The parameter read at `path[-1]` names the model the request picks (`model`,
    `request.model`) and is handed as a lookup key: a subscript's index, or an argument
    (also a value of a dict argument: `{"model": request.model}`) of a call that does
    not compute on it. The server's answer for a model it serves is its own fact."""
    position = len(path) - 1
    name = path[position]
    if not isinstance(name, cst.Name):
        return False
    if (
        position >= 1
        and isinstance(path[position - 1], cst.Attribute)
        and path[position - 1].value is name  # type: ignore[attr-defined]
    ):
        position -= 1
        attribute = path[position]
        assert isinstance(attribute, cst.Attribute)
        if attribute.attr.value not in _MODEL_NAMES:
            return False
    elif name.value not in _MODEL_NAMES:
        return False
    parents = path[:position]
    if len(parents) >= 2 and isinstance(parents[-1], cst.Index):
        return isinstance(parents[-2], cst.SubscriptElement)
    if len(parents) >= 3 and isinstance(parents[-1], cst.DictElement):
        if parents[-1].value is not path[position] or not isinstance(parents[-2], cst.Dict):
            return False
        parents = parents[:-2]
    if len(parents) < 2 or not isinstance(parents[-1], cst.Arg) or parents[-1].star:
        return False
    call = parents[-2]
    if not isinstance(call, cst.Call):
        return False
    # A builtin computes on the name (`int(...)`, `len(...)`, `str(...)`): no lookup.
    qualified = context.imports.qualify(call.func)
    return qualified is None or "." in qualified


def _never_negative(
    node: cst.BaseExpression, function: cst.FunctionDef, context: FileContext, hops: int
) -> bool:
    """`node` is a count that is never negative: `len(...)`, a literal `>= 0`, or a
    local assigned only such values (by plain assignments)."""
    if isinstance(node, (cst.Integer, cst.Float)):
        value = node.evaluated_value
        return isinstance(value, (int, float)) and value >= 0
    scope = function_scope(function, context)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
        builtin = node.func.value == "len" and context.imports.qualify(node.func) == "len"
        return builtin and "len" not in scope.params and "len" not in scope.locals
    if not isinstance(node, cst.Name) or node.value not in scope.locals or hops <= 0:
        return False
    assigned = assigned_values(function, context).get(node.value)
    return (
        bool(assigned)
        and not _bound_otherwise(function, node.value, context)
        and all(_never_negative(v, function, context, hops - 1) for v in assigned or ())
    )


def _bound_otherwise(function: cst.FunctionDef, name: str, context: FileContext) -> bool:
    """`name` is also bound otherwise than by a plain assignment of one value, whose
    values `assigned_values` does not see: `cap += n`, `cap, note = form.cap, "x"`,
    `for cap in form.caps`, `with ... as cap`, `except ... as cap`."""
    for node in descendants(function.body, stop_at=SCOPE_NODES):
        targets: list[cst.BaseExpression] = []
        if isinstance(node, (cst.AugAssign, cst.For, cst.CompFor)):
            targets = [node.target]
        elif isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets if not isinstance(t.target, cst.Name)]
        elif isinstance(node, cst.AnnAssign) and node.value is None:
            continue  # `cap: int` binds nothing
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            targets = [node.asname.name]
        elif isinstance(node, cst.ExceptHandler) and node.name is not None:
            targets = [node.name.name]
        if any(name in bound_names(target) for target in targets):
            return True
    return False


def _unbounded(node: cst.Attribute | cst.Call, context: FileContext) -> bool:
    """`math.inf`, `sys.maxsize`, `float("inf")`: a ceiling in form that bounds nothing."""
    if isinstance(node, cst.Attribute):
        return context.imports.qualify(node) in _INFINITIES
    argument = node.args[0].value if len(node.args) == 1 else None
    if not isinstance(argument, cst.SimpleString) or context.imports.qualify(node.func) != "float":
        return False
    text = argument.evaluated_value
    return isinstance(text, str) and text.strip().lower().lstrip("+") in ("inf", "infinity")


def _reset_settings(context: FileContext) -> tuple[frozenset[str], frozenset[str]]:
    """What a function of the file may reset at run time from its own input (a
    parameter or a local, not a literal or a module constant): attribute names stored
    on `self`/`cls` outside `__init__` (inside it too from the request) or on a module
    object (`settings.max_page = form.cap`, `self.max_rows = rows`), and module names
    whose items it stores
    (`LIMITS["max_page"] = form.cap`). A ceiling reading them bounds nothing: a route
    may have raised it. Stores on a parameter or a local (`request.max_tokens = ...`)
    change that object only and reset no setting."""
    key = "clamps.reset_settings"
    cached = context.memo.get(key)
    if isinstance(cached, tuple):
        return cached
    attributes: set[str] = set()
    items: set[str] = set()
    for function in descendants(context.module, only=(cst.FunctionDef,)):
        if not isinstance(function, cst.FunctionDef):
            continue
        scope = function_scope(function, context)
        own = (set(scope.params) | scope.locals) - _STATE_ROOTS
        # An object built per request takes its settings from it: `self.cap =
        # int(req.query_params["cap"])` in `__init__` is the client's number too.
        initialiser = function.name.value in _INITIALISERS
        requests = _request_names(function, context)
        for store in descendants(function.body, stop_at=SCOPE_NODES):
            for target, value in _stores(store):
                if value is not None and not _reads_any(value, own):
                    continue  # `self.max_rows = 100`: reset to a constant
                root = target
                while isinstance(root, (cst.Attribute, cst.Subscript)):
                    root = root.value
                if not isinstance(root, cst.Name) or root.value in own:
                    continue
                if isinstance(target, cst.Attribute):
                    built = initialiser and root.value in _STATE_ROOTS
                    if not built or value is None or _reads_any(value, requests):
                        attributes.add(target.attr.value)
                elif root.value not in _STATE_ROOTS:
                    items.add(root.value)
    found = (frozenset(attributes), frozenset(items))
    context.memo[key] = found
    return found


def _stores(
    node: cst.CSTNode,
) -> list[tuple[cst.BaseExpression, cst.BaseExpression | None]]:
    """The (target, value) pairs `node` stores to an attribute or an item (value None
    when the new value is no one expression: `x.n += k`, tuple unpacking)."""
    pairs: list[tuple[cst.BaseExpression, cst.BaseExpression | None]] = []
    if isinstance(node, cst.Assign):
        for target in node.targets:
            if isinstance(target.target, (cst.Tuple, cst.List)):
                pairs.extend((e.value, None) for e in target.target.elements)
            else:
                pairs.append((target.target, node.value))
    elif isinstance(node, cst.AnnAssign) and node.value is not None:
        pairs.append((node.target, node.value))
    elif isinstance(node, cst.AugAssign):
        pairs.append((node.target, None))
    return [(t, v) for t, v in pairs if isinstance(t, (cst.Attribute, cst.Subscript))]


def _request_names(function: cst.FunctionDef, context: FileContext) -> set[str]:
    """`request`/`req` and the parameters typed as a web framework's `Request`."""
    names = set(_REQUEST_GLOBALS)
    for param in (*function.params.params, *function.params.kwonly_params):
        if param.annotation is not None:
            qualified = context.imports.qualify(param.annotation.annotation) or ""
            if qualified.endswith(".Request"):
                names.add(param.name.value)
    return names


def _reads_any(node: cst.BaseExpression, names: set[str]) -> bool:
    return any(isinstance(n, cst.Name) and n.value in names for n in (node, *descendants(node)))


def _rebound_globals(context: FileContext) -> frozenset[str]:
    """Module names some function of the file declares `global` (a route may reset
    them: `global MAX_LIMIT; MAX_LIMIT = form.max_limit`)."""
    cached = context.memo.get("clamps.rebound_globals")
    if isinstance(cached, frozenset):
        return cached
    found = frozenset(
        name.name.value
        for node in descendants(context.module, only=(cst.Global,))
        if isinstance(node, cst.Global)
        for name in node.names
    )
    context.memo["clamps.rebound_globals"] = found
    return found


def clamps_at(
    node: cst.BaseExpression, held: cst.CSTNode, function: cst.FunctionDef, context: FileContext
) -> bool:
    """`node` is `min(...)` and one of its positional arguments other than `held` (the
    one holding the value) is a ceiling, or a conditional whose values are both capped
    (`v if v < MAX else MAX`): the result is bounded whatever the value."""
    if isinstance(node, cst.IfExp):
        return caps(node, function, context)
    if not isinstance(node, cst.Call) or _named_call(node, "min") is None:
        return False
    return any(a is not held and is_ceiling(a.value, function, context) for a in _positional(node))


def caps(node: cst.BaseExpression, function: cst.FunctionDef, context: FileContext) -> bool:
    """The value of `node` has an upper bound the request cannot raise: a ceiling, a
    `min` with a capped argument, a `max` of capped arguments (`max(1, min(v, 100))`),
    a conditional both of whose values are capped, where the value itself counts as
    capped on the side its test bounds (`v if v < MAX else MAX`, `MAX if v > MAX else
    v`, llama.cpp's `n if n + len(prompt) < n_ctx else n_ctx - len(prompt)`)."""
    if is_ceiling(node, function, context):
        return True
    smallest = _named_call(node, "min")
    if smallest is not None:
        return any(caps(a.value, function, context) for a in _positional(smallest))
    largest = _named_call(node, "max")
    if largest is not None:
        return all(caps(a.value, function, context) for a in _positional(largest))
    if isinstance(node, cst.IfExp):
        body, orelse = (_code(n, context) for n in (node.body, node.orelse))
        return (
            caps(node.body, function, context) or _holds_below(node.test, body, function, context)
        ) and (
            caps(node.orelse, function, context) or _exceeds(node.test, orelse, function, context)
        )
    return False


def _code(node: cst.CSTNode, context: FileContext) -> str:
    return context.code_of(node).replace(" ", "")


def _is_value(node: cst.BaseExpression, target: str, context: FileContext) -> bool:
    return _code(node, context) == target


def _at_least_value(
    node: cst.BaseExpression, target: str, function: cst.FunctionDef, context: FileContext
) -> bool:
    """`node` is the value, or the value plus counts that are never negative (`v +
    len(prompt_tokens)`): a bound on it bounds the value."""
    if _is_value(node, target, context):
        return True
    if not isinstance(node, cst.BinaryOperation) or not isinstance(node.operator, cst.Add):
        return False
    left, right = node.left, node.right
    return (
        _at_least_value(left, target, function, context)
        and _never_negative(right, function, context, _CEILING_HOPS)
    ) or (
        _at_least_value(right, target, function, context)
        and _never_negative(left, function, context, _CEILING_HOPS)
    )


def _holds_below(
    test: cst.BaseExpression, target: str, function: cst.FunctionDef, context: FileContext
) -> bool:
    """When `test` holds the value is at most a ceiling: `v < MAX`, `MAX >= v`, `v +
    len(prompt) < n_ctx`, `0 < v <= MAX`, either side of an `and`, both of an `or`."""
    if isinstance(test, cst.Comparison):
        left = test.left
        for pair in test.comparisons:
            operator, right = pair.operator, pair.comparator
            # `small < large`: the smaller side is bounded by the larger.
            small, large = left, right
            if isinstance(operator, (cst.GreaterThan, cst.GreaterThanEqual)):
                small, large = right, left
            elif not isinstance(operator, (cst.LessThan, cst.LessThanEqual)):
                left = right
                continue
            if _at_least_value(small, target, function, context) and is_ceiling(
                large, function, context
            ):
                return True
            left = right
        return False
    if isinstance(test, cst.BooleanOperation):
        sides = [_holds_below(s, target, function, context) for s in (test.left, test.right)]
        return any(sides) if isinstance(test.operator, cst.And) else all(sides)
    return False


def _exceeds(
    test: cst.BaseExpression, target: str, function: cst.FunctionDef, context: FileContext
) -> bool:
    """`test` holds whenever the value is above a ceiling, and when it does not hold the
    value is at most that ceiling: `v > MAX`, `MAX < v`, `v + len(prompt) > n_ctx`, `v
    is None or v > MAX`, `v is not None and v > MAX` (the other operand of an `and` may
    only test the value)."""
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target_op = test.comparisons[0]
        operator, right = target_op.operator, target_op.comparator
        if isinstance(operator, (cst.GreaterThan, cst.GreaterThanEqual)):
            return _at_least_value(test.left, target, function, context) and is_ceiling(
                right, function, context
            )
        if isinstance(operator, (cst.LessThan, cst.LessThanEqual)):
            return _at_least_value(right, target, function, context) and is_ceiling(
                test.left, function, context
            )
        return False
    if isinstance(test, cst.BooleanOperation):
        left, right = test.left, test.right
        if isinstance(test.operator, cst.Or):
            return _exceeds(left, target, function, context) or _exceeds(
                right, target, function, context
            )
        return (
            _exceeds(right, target, function, context) and _only_tests(left, target, context)
        ) or (_exceeds(left, target, function, context) and _only_tests(right, target, context))
    return False


def _only_tests(test: cst.BaseExpression, target: str, context: FileContext) -> bool:
    """`v is not None`, `isinstance(v, int)`: a condition on the value alone."""
    names = {
        n.value
        for n in (test, *descendants(test))
        if isinstance(n, cst.Name) and n.value not in ("None", "isinstance", "int", "float")
    }
    return names == {target.split(".", 1)[0]} and target in context.code_of(test).replace(" ", "")


def _leaves(block: cst.BaseSuite) -> bool:
    """The block always leaves the function: one of its own statements raises, returns
    or aborts (Flask's `abort(400)`)."""
    smalls: list[cst.BaseSmallStatement] = []
    if isinstance(block, cst.SimpleStatementSuite):
        smalls = list(block.body)
    elif isinstance(block, cst.IndentedBlock):
        for statement in block.body:
            if isinstance(statement, cst.SimpleStatementLine):
                smalls.extend(statement.body)
    for small in smalls:
        if isinstance(small, (cst.Raise, cst.Return)):
            return True
        value = small.value if isinstance(small, cst.Expr) else None
        if isinstance(value, cst.Call):
            func = value.func
            name = func.attr.value if isinstance(func, cst.Attribute) else None
            name = func.value if isinstance(func, cst.Name) else name
            if name == "abort":
                return True
    return False


def _reassigned(
    statement: cst.CSTNode, target: str, function: cst.FunctionDef, context: FileContext
) -> bool:
    """`statement` is `v = <capped>` (one target, the value itself)."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target_node: cst.BaseExpression = small.targets[0].target
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        target_node = small.target
    else:
        return False
    value = small.value
    return (
        value is not None
        and _is_value(target_node, target, context)
        and caps(value, function, context)
    )


def clamps_statement(
    statement: cst.CSTNode, target: str, function: cst.FunctionDef, context: FileContext
) -> bool:
    """A statement of the function's own body after which `target` (a name, or
    `name.attr`) is bounded: see the module docstring."""
    if _reassigned(statement, target, function, context):
        return True
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return False
    if not _exceeds(statement.test, target, function, context):
        return False
    body = statement.body
    if _leaves(body):
        return True
    inner = body.body if isinstance(body, cst.IndentedBlock) else []
    return any(_reassigned(s, target, function, context) for s in inner)


def clamped_after(
    function: cst.FunctionDef, target: str, context: FileContext
) -> cst.CSTNode | None:
    """The first statement of `function`'s own body (not inside a branch or loop) that
    bounds `target` for every statement after it, or None."""
    key = ("clamps.after", id(function), target)
    if key in context.memo:
        found = context.memo[key]
        return found if isinstance(found, cst.CSTNode) else None
    statements = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
    result: cst.CSTNode | None = None
    head = target.split(".", 1)[0]
    for position, statement in enumerate(statements):
        if head in context.code_of(statement) and clamps_statement(
            statement, target, function, context
        ):
            # Rebound later (`limit = body.other`, `limit += n`, `request = ...`): the
            # later reads may see another, unclamped value.
            later = statements[position + 1 :]
            if not any(_rebinds(s, target, context) for s in later):
                result = statement
            break
    context.memo[key] = result
    return result


def _rebinds(statement: cst.CSTNode, target: str, context: FileContext) -> bool:
    """`statement` (or a statement, loop or `with` inside it) binds `target` or, for
    `name.attr`, `name` itself."""
    head = target.split(".", 1)[0]
    wanted = {target, head}
    for node in (statement, *descendants(statement, stop_at=SCOPE_NODES)):
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.NamedExpr, cst.For, cst.CompFor)):
            targets = [node.target]
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            targets = [node.asname.name]
        for bound in targets:
            codes = {context.code_of(bound).replace(" ", "")}
            codes.update(bound_names(bound))
            if codes & wanted:
                return True
    return False


# -- helpers of other files ------------------------------------------------------------

COLLECTOR = "clamped_params"


def clamped_in_run(context: FileContext, qualified: str, parameter: str | int) -> bool:
    """The module-level function `qualified` (as imported) of another file of the run
    clamps its `parameter` (a name, or a position) wherever it uses it."""
    project = context.project
    if project is None or COLLECTOR not in project.facts:
        return False
    return clamped_in(project.of(COLLECTOR), project.module_for, qualified, parameter)


def clamped_in(
    facts: Mapping[str, Any],
    module_for: Any,
    qualified: str,
    parameter: str | int,
) -> bool:
    """`clamped_in_run` over the facts of `COLLECTOR` (`module_for(COLLECTOR, dotted)`
    names the run's module of an import)."""
    module, _, name = qualified.rpartition(".")
    run_module = module_for(COLLECTOR, module) if module else None
    found = facts.get(run_module or "", {}).get(name)
    if not isinstance(found, dict):
        return False
    if isinstance(parameter, int):
        params = list(found.get("params", ()))
        if parameter >= len(params):
            return False
        parameter = params[parameter]
    return parameter in set(found.get("clamped", ()))


def min_parameters(tree: ast.Module) -> dict[str, set[str]]:
    """Module-level functions by name, with those of their parameters that they hand to
    `min(...)` (inside its arguments): the only ones `clamps.COLLECTOR` judges."""
    found: dict[str, set[str]] = {}
    for function in tree.body:
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        arguments = function.args
        params = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "min"
            ):
                handed = {
                    sub.id
                    for arg in node.args
                    for sub in ast.walk(arg)
                    if isinstance(sub, ast.Name) and sub.id in params
                }
                if handed:
                    found.setdefault(function.name, set()).update(handed)
    return found


def may_clamp(tree: ast.Module) -> bool:
    """Triage: a module-level function hands one of its parameters to `min(...)`."""
    return bool(min_parameters(tree))
