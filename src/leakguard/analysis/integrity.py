"""Integrity checks before a load: was a digest compared earlier in the same scope?

A *check* is
- a call to a constant-time comparison (`hmac.compare_digest`, `secrets.compare_digest`),
- an `==`/`!=` comparison one side of which is computed with a digest function
  (`hashlib.sha256(data).hexdigest() == expected`), directly or through locals of the
  same scope (`h = hashlib.sha256(); h.update(b); digest = h.hexdigest(); digest != x`),
- a call to a helper function whose body contains a check (`verify_model(path, digest)`),
  followed transitively `max_depth` functions deep: helpers of the same file by name, and
  functions of other files of the run through the function summaries (imports, aliases,
  module-level instances).

"Before" is source order within the scope's own body (pre-order of the tree, nested
functions and classes excluded). Facts are memoised per scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst

from leakguard.analysis.bindings import AssignedValues, assigned_values
from leakguard.analysis.files import name_binding, opens_file
from leakguard.analysis.imports import matches_any
from leakguard.analysis.summaries import DEFAULT_MAX_CALL_DEPTH, Vocabulary, summary_index
from leakguard.context import FileContext
from leakguard.walker import descendants

# Lambdas stay inside: a check or load in a lambda is still in the scope's body order.
_OWN_BODY_STOP = (cst.FunctionDef, cst.ClassDef)


@dataclass(frozen=True)
class CheckVocabulary:
    """What counts as a comparison call and as a digest computation, and how many helper
    functions deep a check is looked for."""

    compare_calls: tuple[str, ...]
    digest_calls: tuple[str, ...]
    max_depth: int = DEFAULT_MAX_CALL_DEPTH


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
        if first_check is None and _is_check(
            node, values, context, vocabulary, vocabulary.max_depth
        ):
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
    if any(
        _function_checks(helper, context, vocabulary, depth - 1)
        for helper in _functions_named(helper_name, context)
    ):
        return True
    return _helper_of_the_run_checks(call, context, vocabulary, depth)


def _helper_of_the_run_checks(
    call: cst.Call, context: FileContext, vocabulary: CheckVocabulary, depth: int
) -> bool:
    """The call resolves (imports, aliases, module-level instances) to a function of
    another file of the run that compares a digest, itself or through the functions it
    calls, at most `depth` functions deep (the run's function summaries)."""
    index = summary_index(context)
    if index is None:
        return False
    target = index.callee(call, context)
    if target is None or target.split(":", 1)[0] == context.module_name:
        return False  # unknown, or in this file: judged on the tree above
    checks = Vocabulary(compare_calls=vocabulary.compare_calls)
    return index.find(target, checks, ("checks_digest",), depth) is not None


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


# Writers and the position of the file or path they write to.
_WRITERS = {
    "pickle.dump": 1,
    "_pickle.dump": 1,
    "cPickle.dump": 1,
    "dill.dump": 1,
    "cloudpickle.dump": 1,
    "joblib.dump": 1,
    "torch.save": 1,
    "torch.jit.save": 1,
    "onnx.save": 1,
    "onnx.save_model": 1,
    "skops.io.dump": 1,
    "yaml.dump": 1,
    "numpy.save": 0,
    "numpy.savez": 0,
    "numpy.savez_compressed": 0,
    "safetensors.torch.save_file": 1,
}
# Methods that save their receiver to the path given first: `model.save(path)`.
_SAVE_METHODS = frozenset({"save", "save_model", "save_pretrained", "to_pickle", "dump"})
# `Path` methods that write or read the whole file at their receiver.
_PATH_WRITERS = frozenset({"write_text", "write_bytes"})
_PATH_READERS = frozenset({"read_text", "read_bytes"})
_PATH_KEYWORDS = frozenset({"file", "f", "path", "filename", "fname"})


def round_trip(load: cst.Call, source: cst.BaseExpression, context: FileContext) -> bool:
    """The function (or test) that makes `load` wrote the same file earlier: a round trip
    (`joblib.dump(model, path)` ... `joblib.load(path)`, or both through `open(path)`
    handles), which loads nothing it did not produce itself."""
    function = next((a for a in context.ancestors() if isinstance(a, cst.FunctionDef)), None)
    if function is None:
        return False
    if isinstance(source, cst.Name) and _assigned_from_dumps(function, source.value, context):
        return True  # `blob = pickle.dumps(x)` ... `pickle.loads(blob)`: in memory
    handles: dict[str, str] = {}  # file handle name -> its path's code, as bound so far
    written: set[str] = set()
    for node in descendants(function.body, stop_at=_OWN_BODY_STOP):
        if node is load:
            return _target_text(source, handles, context) in written
        _record_write(node, handles, written, context)
        bound = name_binding(node)
        if bound is not None and _returns_what_it_wrote(bound[1], context):
            written.add(bound[0])  # `path = stage(config)`: a helper wrote `path`
    return False


def _returns_what_it_wrote(value: cst.BaseExpression, context: FileContext) -> bool:
    """`value` calls a function of this file (by name) that writes a file and returns
    its path: `def stage(c): p = d / "c.yml"; p.write_text(yaml.dump(c)); return p`."""
    if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Name):
        return False
    return any(_writes_and_returns(f, context) for f in _functions_named(value.func.value, context))


def _writes_and_returns(function: cst.FunctionDef, context: FileContext) -> bool:
    key = ("integrity_writes_returns", id(function))
    cached = context.memo.get(key)
    if isinstance(cached, bool):
        return cached
    handles: dict[str, str] = {}
    written: set[str] = set()
    found = False
    for node in descendants(function.body, stop_at=_OWN_BODY_STOP):
        _record_write(node, handles, written, context)
        if isinstance(node, cst.Return) and node.value is not None and _code(node.value) in written:
            found = True
            break
    context.memo[key] = found
    return found


def _record_write(
    node: cst.CSTNode, handles: dict[str, str], written: set[str], context: FileContext
) -> None:
    """Walking a body in order: note the handles `node` opens and the file it writes."""
    _bind_handle(node, handles, context)
    if isinstance(node, cst.Call):
        target = _written_target(node, context)
        if target is not None:
            written.add(_target_text(target, handles, context))


def _bind_handle(node: cst.CSTNode, handles: dict[str, str], context: FileContext) -> None:
    """Record `with open(path) as f` / `f = open(path)`: `f` now means `path`."""
    bound = name_binding(node)
    if bound is None:
        return
    name, opened = bound
    if isinstance(opened, cst.Call) and opens_file(opened, context):
        handles[name] = _opened_path(opened)
    else:
        handles.pop(name, None)


def _opened_path(call: cst.Call) -> str:
    if call.args:
        return _code(call.args[0].value)
    # `path.open("rb")`: the receiver is the path.
    func = call.func
    return _code(func.value) if isinstance(func, cst.Attribute) else _code(call)


def _written_target(call: cst.Call, context: FileContext) -> cst.BaseExpression | None:
    if isinstance(call.func, cst.Attribute) and call.func.attr.value in _PATH_WRITERS:
        # `path.write_text(yaml.dump(config))` writes `path` with the process's own object;
        # bytes from elsewhere (`path.write_bytes(response.content)`) make no round trip.
        content = call.args[0].value if call.args else None
        return call.func.value if content is not None and _serializes(content, context) else None
    name = context.imports.call_name(call) or ""
    position = _WRITERS.get(name)
    if (
        position is None
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value in _SAVE_METHODS
    ):
        position = 0
    if position is None:
        return None
    positional = [a.value for a in call.args if a.keyword is None and not a.star]
    if len(positional) > position:
        return positional[position]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in _PATH_KEYWORDS:
            return arg.value
    return None


def _target_text(node: cst.BaseExpression, handles: dict[str, str], context: FileContext) -> str:
    if isinstance(node, cst.Name) and node.value in handles:
        return handles[node.value]
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in _PATH_READERS
    ):
        return _code(node.func.value)  # `path.read_text()` reads `path`
    if isinstance(node, cst.Call) and opens_file(node, context):
        return _opened_path(node)
    return _code(node)


def _code(node: cst.BaseExpression) -> str:
    return "".join(cst.Module([]).code_for_node(node).split())


def _assigned_from_dumps(function: cst.FunctionDef, name: str, context: FileContext) -> bool:
    values = [
        node.value
        for node in descendants(function.body, stop_at=_OWN_BODY_STOP)
        if isinstance(node, cst.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0].target, cst.Name)
        and node.targets[0].target.value == name
    ]
    return bool(values) and all(
        isinstance(v, cst.Call) and (context.imports.call_name(v) or "").endswith(".dumps")
        for v in values
    )


def _serializes(value: cst.BaseExpression, context: FileContext) -> bool:
    """`pickle.dumps(x)`, `yaml.dump(config)`: the process's own object, serialized."""
    if not isinstance(value, cst.Call):
        return False
    name = context.imports.call_name(value) or ""
    return name.endswith(".dumps") or name in _WRITERS
