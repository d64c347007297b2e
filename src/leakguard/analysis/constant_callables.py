"""Callables bound to constant names, and which arguments' text their result carries.

Services keep their client-facing messages as constants, some of them callable: a
template (`NOT_FOUND = lambda name='': f'{name} not found'`) or a sanitiser kept on an
enum or class of messages (`class ERROR_MESSAGES(Enum): DEFAULT = _error_message`, where
`_error_message(err, fallback)` answers `fallback` for any exception). Whether
`ERROR_MESSAGES.DEFAULT(e, "Error")` sends the exception's text out depends on that body,
not on the call's shape.

Collected per file (collector `constant_callables`) from CPython's `ast`: every
assignment at module level or directly in a class body whose target is an ALL_CAPS name
(a constant, PEP 8) and whose value is a `lambda` or an undecorated function defined at
this file's module level (and not rebound there). Each is recorded under its dotted name
in the module (`NOT_FOUND`, `ERROR_MESSAGES.DEFAULT`) with its parameters and two sets of
them:

- `text`: parameters whose text may reach the result: any use in the body (`f'{p}'`,
  `str(p)`, `p.args`, `detail = str(p)`, a call that takes `p`...), not only a returned
  expression, since a local or a container built from it may be returned;
- `exc`: the same when the argument is an exception: a use that follows
  `if isinstance(p, Exception): <... return/raise>` is reached only for a `p` that is no
  exception, so it does not count for `p`.

What a parameter is used for as a key read (`MESSAGES[p.errno]`), an `if`/`while` test,
a condition (`x if p else y`), or in `isinstance`/`len`/`type`/`bool`/comparisons is no
text of it. Anything else that mentions a parameter counts, so a body this module cannot
read keeps its argument's text (a proof of absence, never a guess). A body that reads the
exception being handled (`traceback.format_exc()`, `sys.exc_info()`) is not recorded,
nor is an argument that lands in `*args`/`**kwargs`: those are judged by the call.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import libcst as cst

from leakguard.analysis.imports import dotted_name
from leakguard.analysis.project import FactCollector, ProjectIndex, register_collector
from leakguard.context import FileContext
from leakguard.triage import TriageTree, dotted, module_level_names, parse_ast

COLLECTOR = "constant_callables"
TOKENS = ("lambda", "def ")
_EXCEPTION_BASES = frozenset({"Exception", "BaseException"})
# Calls whose result tells nothing of their argument's text.
_OPAQUE_CALLS = frozenset({"isinstance", "issubclass", "len", "type", "bool", "id", "hash"})
_CURRENT_EXCEPTION_CALLS = frozenset({"sys.exc_info", "sys.exception"})
# `from traceback import format_exc`: the functions by their own names.
_TRACEBACK_FUNCTIONS = frozenset(
    {"format_exc", "format_exception", "format_exception_only", "format_tb", "format_stack"}
)


def collect_source(text: str, display: str) -> dict[str, Any]:
    tree = parse_ast(text)
    return {} if tree is None else collect_tree(TriageTree(tree, text), text, display)


def collect_tree(tree: TriageTree, text: str, display: str) -> dict[str, Any]:
    """`{dotted name: {"params": [...], "text": [...], "exc": [...]}}` of the file's
    constant callables."""
    functions = {
        s.name: s for s in tree.tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    rebound = module_level_names(tree)  # `_fmt = wrap(_fmt)`: not the `def` of that name
    found: dict[str, Any] = {}
    for prefix, statement in _constant_assignments(tree.tree):
        name, value = statement
        if _reads_current_exception(value):
            continue  # `traceback.format_exc()`: the text of the exception being handled
        if isinstance(value, ast.Lambda):
            found[prefix + name] = _lambda_facts(value)
        elif isinstance(value, ast.Name) and value.id in functions and value.id not in rebound:
            function = functions[value.id]
            # Not an `async def` (calling it builds a coroutine), nor a decorated one (the
            # decorator's wrapper, not this body, makes the result).
            if (
                isinstance(function, ast.FunctionDef)
                and not function.decorator_list
                and not _reads_current_exception(function)
            ):
                found[prefix + name] = _function_facts(function)
    return found


def _reads_current_exception(node: ast.AST) -> bool:
    """A body that calls `traceback.format_exc()`, `sys.exc_info()`...: the text of the
    exception being handled reaches it without any argument naming it."""
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            name = dotted(call.func) or ""
            if (
                name.split(".", 1)[0] == "traceback"
                or name in _CURRENT_EXCEPTION_CALLS
                or name.rsplit(".", 1)[-1] in _TRACEBACK_FUNCTIONS
            ):
                return True
    return False


def could_apply(tree: TriageTree) -> bool:
    return any(True for _ in _constant_assignments(tree.tree))


def _constant_assignments(
    module: ast.Module,
) -> Iterator[tuple[str, tuple[str, ast.expr]]]:
    """(prefix, (name, value)) of ALL_CAPS names bound to a lambda or a name, at module
    level (prefix "") and directly in module-level classes (prefix "Class.")."""
    scopes: list[tuple[str, list[ast.stmt]]] = [("", module.body)]
    scopes += [(f"{s.name}.", s.body) for s in module.body if isinstance(s, ast.ClassDef)]
    for prefix, body in scopes:
        for statement in body:
            if (
                isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and _constant_name(statement.targets[0].id)
                and isinstance(statement.value, (ast.Lambda, ast.Name))
            ):
                yield prefix, (statement.targets[0].id, statement.value)


def _constant_name(name: str) -> bool:
    return name.isupper() and name[:1].isalpha()


def _parameters(arguments: ast.arguments) -> tuple[list[str], int]:
    """Named parameters, and how many of them a positional argument can fill (an
    argument past those lands in `*args`, a keyword of no such name in `**kwargs`)."""
    positional = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
    return [*positional, *(a.arg for a in arguments.kwonlyargs)], len(positional)


def _lambda_facts(function: ast.Lambda) -> dict[str, Any]:
    params, positional = _parameters(function.args)
    carried = sorted(_text_of(function.body, frozenset(params)))
    return {"params": params, "positional": positional, "text": carried, "exc": carried}


def _function_facts(function: ast.FunctionDef) -> dict[str, Any]:
    params, positional = _parameters(function.args)
    names = frozenset(params)
    text: set[str] = set()
    exc: set[str] = set()
    not_exception: set[str] = set()  # past a guard that leaves for every exception
    for statement in function.body:
        # Every use counts, not only a `return`'s own expression: a local built from a
        # parameter (`detail = str(err)`), a list it is appended to... may be returned.
        carried = _mentioned(statement, names)
        text |= carried
        exc |= carried - not_exception
        guarded = _exception_guard(statement, names)
        if guarded is not None:
            not_exception.add(guarded)
    return {"params": params, "positional": positional, "text": sorted(text), "exc": sorted(exc)}


def _mentioned(statement: ast.stmt, params: frozenset[str]) -> set[str]:
    """Parameters whose text `statement` may pass on; an `if`/`while` test only picks a
    branch (unless it binds a name: `if (m := str(err)):`)."""
    found: set[str] = set()
    for child in ast.iter_child_nodes(statement):
        if isinstance(child, ast.stmt):
            found |= _mentioned(child, params)
        elif not (
            isinstance(statement, (ast.If, ast.While))
            and child is statement.test
            and not any(isinstance(n, ast.NamedExpr) for n in ast.walk(child))
        ):
            found |= _text_of(child, params)
    return found


def _exception_guard(statement: ast.stmt, params: frozenset[str]) -> str | None:
    """`p` for `if isinstance(p, Exception): ... return` (or `raise`): every exception
    leaves there, so what follows sees no exception in `p`."""
    if not isinstance(statement, ast.If) or not statement.body:
        return None
    test = statement.test
    if not (
        isinstance(test, ast.Call)
        and isinstance(test.func, ast.Name)
        and test.func.id == "isinstance"
        and len(test.args) == 2
        and isinstance(test.args[0], ast.Name)
        and test.args[0].id in params
    ):
        return None
    kinds = test.args[1].elts if isinstance(test.args[1], ast.Tuple) else [test.args[1]]
    if not any((dotted(kind) or "").rsplit(".", 1)[-1] in _EXCEPTION_BASES for kind in kinds):
        return None
    if not isinstance(statement.body[-1], (ast.Return, ast.Raise)):
        return None
    return test.args[0].id


def _text_of(node: ast.AST, params: frozenset[str]) -> set[str]:
    """Parameters whose text may be part of `node`'s value."""
    if isinstance(node, ast.Name):
        return {node.id} & params
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        return _text_of(node.value, params)  # a key read selects, it is not shown
    if isinstance(node, ast.IfExp):
        return _text_of(node.body, params) | _text_of(node.orelse, params)
    if isinstance(node, ast.Compare):
        return set()
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _OPAQUE_CALLS
    ):
        return set()
    found: set[str] = set()
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, (ast.expr_context, ast.ClassDef)):
            found |= _text_of(child, params)
    return found


register_collector(
    FactCollector(
        COLLECTOR,
        TOKENS,
        from_source=collect_source,
        from_tree=collect_tree,
        triage=could_apply,
    )
)


# -- queries (LibCST side) ----------------------------------------------------------------


@dataclass(frozen=True)
class Carried:
    """What a call into a constant callable of the run passes on to its result."""

    exception: tuple[cst.Arg, ...]  # arguments whose exception object's text is carried
    text: tuple[cst.Arg, ...]  # arguments whose text (a string built from one) is carried


def carried_arguments(call: cst.Call, context: FileContext) -> Carried | None:
    """For a call of a constant callable of the run, the arguments whose text its
    result may carry; None when the callee is not one (unknown: judge by the call)."""
    facts = _callee_facts(call, context)
    if facts is None:
        return None
    params: list[str] = list(facts.get("params", []))
    positional = int(facts.get("positional", 0))
    text = set(facts.get("text", []))
    exc = set(facts.get("exc", []))
    by_exception: list[cst.Arg] = []
    by_text: list[cst.Arg] = []
    position = 0
    for arg in call.args:
        if arg.star:
            # `*args`/`**kwargs`: where they land is unknown, so they keep their text.
            by_exception.append(arg)
            by_text.append(arg)
            continue
        if arg.keyword is not None:
            name: str | None = arg.keyword.value if arg.keyword.value in params else None
        else:
            name = params[position] if position < positional else None
            position += 1
        if name is None or name in exc:
            by_exception.append(arg)
        if name is None or name in text:
            by_text.append(arg)
    return Carried(tuple(by_exception), tuple(by_text))


def _callee_facts(call: cst.Call, context: FileContext) -> Mapping[str, Any] | None:
    project: ProjectIndex | None = context.project
    if project is None:
        return None
    name = dotted_name(call.func)
    if name is None or not _constant_name(name.rsplit(".", 1)[-1]):
        return None
    qualified = context.imports.qualify_dotted(name)
    if qualified is None:
        qualified = f"{context.module_name}.{name}" if context.module_name else name
    facts = project.of(COLLECTOR)
    parts = qualified.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module = project.module_for(COLLECTOR, ".".join(parts[:split]))
        if module is None:
            continue
        found = facts.get(module, {}).get(".".join(parts[split:]))
        if isinstance(found, Mapping):
            return found
    return None
