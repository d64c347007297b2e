"""Which functions of one file run per request: the request handlers and what they call.

A request path starts at a request handler (`leakguard.analysis.frameworks`) and at the
FastAPI dependencies of its parameters (`Depends(get_model)` runs per request too), and
follows calls made in those functions' own bodies, by name, up to `max_depth` levels:

- `f(...)`, `self.f(...)`, `anything.f(...)` reach every function or method named `f`
  defined in the file (name-based: it over-approximates when two classes share a method
  name, and never follows calls into other files);
- `Klass(...)` reaches `Klass.__init__` when the class is defined in the file (an object
  built per request runs its constructor per request);
- a function handed to a thread offload (`asyncio.to_thread(load, path)`,
  `loop.run_in_executor(None, load)`) is reached like a call.

Callers choose which calls to follow (LG204 skips calls already under a timeout).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

import libcst as cst

from leakguard.analysis.asyncio_facts import offload_call
from leakguard.analysis.frameworks import handler_regions, is_request_handler, route_registrations
from leakguard.context import FileContext
from leakguard.slicing import callee_regions, caller_regions
from leakguard.triage import TriageTree
from leakguard.walker import SCOPE_NODES, descendants, iter_children

_DEPENDENCY_MARKERS = frozenset({"fastapi.Depends", "fastapi.Security", "fastapi.params.Depends"})

CallsOf = Callable[[cst.FunctionDef], Iterable[cst.Call]]


@dataclass
class RequestPaths:
    """Functions of one file that run on a request, by `id(function)`."""

    # how it is reached: "request handler `h`" or "`f` (reached from request handler `h`)"
    reached: dict[int, str] = field(default_factory=dict)
    # the request handler each reached function was first reached from
    roots: dict[int, str] = field(default_factory=dict)

    def describe(self, function: cst.FunctionDef) -> str | None:
        return self.reached.get(id(function))


def own_calls(function: cst.FunctionDef) -> list[cst.Call]:
    """Every call in `function`'s own body (nested defs, classes and lambdas excluded)."""
    return [n for n in descendants(function.body, stop_at=SCOPE_NODES) if isinstance(n, cst.Call)]


def functions_with_owner(
    module: cst.Module,
) -> list[tuple[cst.FunctionDef, cst.ClassDef | None]]:
    """Every function of the file with the class that directly defines it."""
    found: list[tuple[cst.FunctionDef, cst.ClassDef | None]] = []
    todo: list[tuple[cst.CSTNode, cst.ClassDef | None]] = [(module, None)]
    while todo:
        node, owner = todo.pop()
        for child in iter_children(node):
            if isinstance(child, cst.FunctionDef):
                found.append((child, owner))
                todo.append((child, None))
            elif isinstance(child, cst.ClassDef):
                todo.append((child, child))
            elif not isinstance(child, (cst.BaseExpression, cst.SimpleStatementLine)):
                todo.append((child, owner))
    return found


def qualified_name(function: cst.FunctionDef, context: FileContext) -> str:
    """`Class.method` for a method of a class, else the function's name: how the run's
    function summaries name it (`analysis/summaries.py`)."""
    key = ("request_paths.owners",)
    owners = context.memo.get(key)
    if owners is None:
        owners = {id(f): o for f, o in functions_with_owner(context.module)}
        context.memo[key] = owners
    owner = owners.get(id(function))
    name = function.name.value
    return f"{owner.name.value}.{name}" if owner is not None else name


def request_paths(
    context: FileContext,
    max_depth: int,
    calls_of: CallsOf = own_calls,
    key: Hashable = "all",
) -> RequestPaths:
    """Request handlers of the file and the functions they reach (memoised per `key`:
    callers with different `calls_of` must pass different keys)."""
    memo_key = ("request_paths", key, max_depth)
    cached = context.memo.get(memo_key)
    if isinstance(cached, RequestPaths):
        return cached
    functions = functions_with_owner(context.module)
    by_name: dict[str, list[cst.FunctionDef]] = {}
    constructors: dict[str, list[cst.FunctionDef]] = {}
    for function, owner in functions:
        by_name.setdefault(function.name.value, []).append(function)
        if owner is not None and function.name.value == "__init__":
            constructors.setdefault(owner.name.value, []).append(function)
    paths = RequestPaths()
    frontier: list[cst.FunctionDef] = []

    def reach(callee: cst.FunctionDef, root: str, via: str) -> None:
        if id(callee) not in paths.reached:
            paths.reached[id(callee)] = via
            paths.roots[id(callee)] = root
            frontier.append(callee)

    for function, owner in functions:
        if is_request_handler(function, context, owner):
            name = function.name.value
            reach(function, name, f"request handler `{name}`")
    for handler in list(frontier):
        root = paths.roots[id(handler)]
        for dependency in _dependencies(handler, context):
            for callee in by_name.get(dependency, ()):
                reach(callee, root, f"`{dependency}` (a dependency of request handler `{root}`)")
    for _ in range(max_depth):
        current, frontier[:] = list(frontier), []
        for caller in current:
            root = paths.roots[id(caller)]
            for call in calls_of(caller):
                for name in _callee_names(call, context):
                    for callee in [*by_name.get(name, ()), *constructors.get(name, ())]:
                        label = "__init__" if callee.name.value == "__init__" else ""
                        shown = f"{name}.{label}" if label else name
                        reach(callee, root, f"`{shown}` (reached from request handler `{root}`)")
        if not frontier:
            break
    context.memo[memo_key] = paths
    return paths


def request_path_regions(
    tree: TriageTree, functions: Iterable[ast.FunctionDef | ast.AsyncFunctionDef], max_depth: int
) -> list[ast.AST]:
    """What `request_paths(context, max_depth)` reads to tell whether `functions` run per
    request (a rule's regions): the functions that may call them, as many calls back as
    a path may take (a handler's `Depends(f)` and its call to the helper are one more),
    and the calls that may register a handler anywhere in the file."""
    found = caller_regions(tree, functions, max_depth + 2)
    return [*found, *route_registrations(tree)] if found else []


def handler_path_regions(tree: TriageTree, max_depth: int) -> list[ast.AST]:
    """What `request_paths(context, max_depth)` reads, forward from the handlers (a
    rule's regions, for a rule whose candidates may be any call): the functions that
    may be request handlers with their registrations (`frameworks.handler_regions`),
    and every function their calls may reach by name within `max_depth` calls, one
    more for the dependencies they name (`slicing.callee_regions`)."""
    handlers = handler_regions(tree)
    return [*handlers, *callee_regions(tree, handlers, max_depth + 1)]


def _callee_names(call: cst.Call, context: FileContext) -> list[str]:
    names: list[str] = []
    func = call.func
    if isinstance(func, cst.Name):
        names.append(func.value)
    elif isinstance(func, cst.Attribute):
        names.append(func.attr.value)
    offload = offload_call(call, context)
    if offload is not None and offload.target is not None:
        target = offload.target
        if isinstance(target, cst.Name):
            names.append(target.value)
        elif isinstance(target, cst.Attribute):
            names.append(target.attr.value)
    return names


def dependency_target(call: cst.Call, context: FileContext) -> cst.BaseExpression | None:
    """`get_model` for `Depends(get_model)` (FastAPI runs it per request), else None."""
    if call.args and context.imports.call_name(call) in _DEPENDENCY_MARKERS:
        return call.args[0].value
    return None


def _dependencies(function: cst.FunctionDef, context: FileContext) -> list[str]:
    """Functions named in `Depends(f)` markers of the handler's parameters."""
    found: list[str] = []
    params = function.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        nodes: list[cst.CSTNode] = []
        if param.default is not None:
            nodes.append(param.default)
        if param.annotation is not None:
            nodes.append(param.annotation)
        for node in nodes:
            for sub in (node, *descendants(node)):
                target = dependency_target(sub, context) if isinstance(sub, cst.Call) else None
                if isinstance(target, cst.Name):
                    found.append(target.value)
    return found
