"""Application life-cycle hooks: functions that run once at start-up (or shutdown), not
per request.

Recognised from the code of the file:
- FastAPI/Starlette `@app.on_event("startup")` (and `"shutdown"`),
  `app.add_event_handler("startup", f)`, `FastAPI(lifespan=f)`,
  `Starlette(on_startup=[f], on_shutdown=[g])`;
- a lifespan context manager: a function decorated `@asynccontextmanager` /
  `@contextmanager` whose name contains `lifespan`;
- Flask/Quart/Sanic one-shot hooks: `@app.before_first_request`, `@app.before_serving`,
  `@app.after_serving`, `@app.on_startup`/`@app.listener("before_server_start")`.
"""

from __future__ import annotations

import ast
from collections.abc import Collection

import libcst as cst

from leakguard.analysis.calls import keyword_arg, positional_arg
from leakguard.analysis.imports import dotted_name
from leakguard.context import FileContext
from leakguard.triage import TriageTree
from leakguard.walker import descendants

STARTUP = ("startup",)
STARTUP_AND_SHUTDOWN = ("startup", "shutdown")

_LIFESPAN_DECORATORS = frozenset({"asynccontextmanager", "contextmanager"})
_ONE_SHOT_DECORATORS = {
    "before_first_request": "startup",
    "before_serving": "startup",
    "on_startup": "startup",
    "after_serving": "shutdown",
    "on_shutdown": "shutdown",
}
_LISTENER_EVENTS = {
    "before_server_start": "startup",
    "after_server_start": "startup",
    "before_server_stop": "shutdown",
    "after_server_stop": "shutdown",
}
# Keywords of app constructors naming life-cycle code, with the event they belong to.
_KEYWORDS = {"lifespan": "startup", "on_startup": "startup", "on_shutdown": "shutdown"}


def registered_hooks(context: FileContext) -> dict[str, frozenset[str]]:
    """Function names registered by call, per event (`startup`/`shutdown`)."""
    cached = context.memo.get("lifecycle.registered")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    found: dict[str, set[str]] = {"startup": set(), "shutdown": set()}
    source = context.source
    if "lifespan" in source or "startup" in source or "shutdown" in source:
        for node in descendants(context.module):
            if isinstance(node, cst.Call):
                _record(node, found)
    result = {event: frozenset(names) for event, names in found.items()}
    context.memo["lifecycle.registered"] = result
    return result


def registration_calls(tree: TriageTree) -> list[ast.Call]:
    """The calls `registered_hooks` may learn a hook from, on CPython's `ast` (for a
    rule's regions: they may sit in any function of the file, `create_app()`)."""
    return [
        call
        for call in tree.of(ast.Call)
        if any(keyword.arg in _KEYWORDS for keyword in call.keywords)
        or (isinstance(call.func, ast.Attribute) and call.func.attr == "add_event_handler")
    ]


def _record(call: cst.Call, found: dict[str, set[str]]) -> None:
    for keyword, event in _KEYWORDS.items():
        arg = keyword_arg(call, keyword)
        if arg is not None:
            found[event].update(_names_in(arg.value))
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "add_event_handler":
        registered_event = _first_string(call)
        handler = positional_arg(call, 1)
        if registered_event in found and handler is not None:
            found[registered_event].update(_names_in(handler.value))


def is_lifecycle_hook(
    function: cst.FunctionDef,
    context: FileContext,
    events: Collection[str] = STARTUP,
    extra_names: Collection[str] = (),
) -> bool:
    """`function` runs once per process for one of `events` (or is named in `extra_names`)."""
    name = function.name.value
    if name in extra_names:
        return True
    registered = registered_hooks(context)
    if any(name in registered.get(event, ()) for event in events):
        return True
    for decorator in function.decorators:
        target = decorator.decorator
        call = target if isinstance(target, cst.Call) else None
        last = (dotted_name(call.func if call else target) or "").rsplit(".", 1)[-1]
        if _ONE_SHOT_DECORATORS.get(last) in events:
            return True
        if call is not None and last == "on_event" and _first_string(call) in events:
            return True
        listener_event = _LISTENER_EVENTS.get(_first_string(call) or "") if call else None
        if last == "listener" and listener_event in events:
            return True
        if last in _LIFESPAN_DECORATORS and "lifespan" in name and "startup" in events:
            return True
    return False


def _names_in(value: cst.BaseExpression) -> list[str]:
    if isinstance(value, cst.Name):
        return [value.value]
    if isinstance(value, (cst.List, cst.Tuple)):
        return [e.value.value for e in value.elements if isinstance(e.value, cst.Name)]
    return []


def _first_string(call: cst.Call) -> str | None:
    arg = positional_arg(call, 0)
    if arg is not None and isinstance(arg.value, cst.SimpleString):
        value = arg.value.evaluated_value
        return value if isinstance(value, str) else None
    return None
