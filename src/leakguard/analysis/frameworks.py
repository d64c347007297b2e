"""Web-framework awareness, written once: which functions are request handlers.

Recognises FastAPI (`@app.get/post/put/patch/delete/api_route`, `APIRouter`),
Starlette (`Route("/p", endpoint)`, `@app.route`), Flask (`@app.route`, `@bp.route`,
`add_url_rule`, `MethodView` methods) and aiohttp (`web.RouteTableDef` decorators,
`web.get("/p", handler)` in `add_routes`, `router.add_get`). Results are per file and
memoised.

`static_files_class(context)`: the current node is in a class serving a directory of
static files (a subclass of Starlette's/FastAPI's `StaticFiles`, directly or through
classes of the file or the run: `class_bases.derives_from`), whose responses are the
files' bytes, the same for every client.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst

from leakguard.analysis.class_bases import derives_from
from leakguard.analysis.imports import dotted_name
from leakguard.context import FileContext
from leakguard.triage import (
    TriageTree,
    calls_resolve_to,
    calls_resolving_to,
    dotted,
    last_parts,
    per_tree,
)
from leakguard.walker import descendants

HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "trace"})
_DECORATOR_METHODS = HTTP_METHODS | {"api_route", "route", "websocket", "view"}
# Calls that register `handler` given as an argument: name -> index of the handler arg.
_REGISTRATION_CALLS = {
    "add_api_route": 1,
    "add_route": 1,
    "add_url_rule": 2,
    "add_get": 1,
    "add_post": 1,
    "add_put": 1,
    "add_patch": 1,
    "add_delete": 1,
    "add_api_websocket_route": 1,
}
_REGISTRATION_KEYWORDS = ("endpoint", "view_func", "handler")
# Module-level helpers that build a route object from (path, handler).
_ROUTE_FACTORIES = frozenset(
    {
        "starlette.routing.Route",
        # Django URL patterns: `path("items/", views.items)` in the same file.
        "django.urls.path",
        "django.urls.re_path",
        "django.conf.urls.url",
        "starlette.routing.WebSocketRoute",
        "fastapi.routing.APIRoute",
        "aiohttp.web.get",
        "aiohttp.web.post",
        "aiohttp.web.put",
        "aiohttp.web.patch",
        "aiohttp.web.delete",
        "aiohttp.web.route",
        "aiohttp.web.view",
    }
)
_CLASS_BASED_VIEWS = frozenset(
    {
        "flask.views.MethodView",
        "flask.views.View",
        "starlette.endpoints.HTTPEndpoint",
        "aiohttp.web.View",
    }
)
# Receivers that are HTTP *clients*: `requests.get("/x")` is not a route.
_CLIENT_MODULES = ("requests", "httpx", "aiohttp.ClientSession", "urllib", "session", "client")


@dataclass
class RouteIndex:
    """Request handlers of one file."""

    handler_names: set[str] = field(default_factory=set)  # registered by call
    view_classes: set[str] = field(default_factory=set)  # class-based views


def route_decorator(decorator: cst.Decorator, context: FileContext) -> str | None:
    """The HTTP verb (or `route`) when `decorator` registers a request handler."""
    target = decorator.decorator
    if not isinstance(target, cst.Call) or not isinstance(target.func, cst.Attribute):
        return None
    verb = target.func.attr.value
    if verb not in _DECORATOR_METHODS:
        return None
    receiver = target.func.value
    qualified = context.imports.qualify(receiver) or dotted_name(receiver) or ""
    if qualified.split(".")[0] in _CLIENT_MODULES or qualified in _CLIENT_MODULES:
        return None
    path_arg = next((a for a in target.args if a.keyword is None), None)
    if path_arg is None:
        path_arg = next(
            (a for a in target.args if a.keyword and a.keyword.value in ("path", "rule")), None
        )
    if path_arg is None:
        return verb if verb in ("route", "api_route", "view") else None
    value = path_arg.value
    if isinstance(value, cst.SimpleString):
        text = value.evaluated_value
        return verb if isinstance(text, str) and (text.startswith("/") or text == "") else None
    return verb if isinstance(value, (cst.Name, cst.Attribute, cst.FormattedString)) else None


def route_index(context: FileContext) -> RouteIndex:
    cached = context.memo.get("route_index")
    if isinstance(cached, RouteIndex):
        return cached
    index = RouteIndex()
    for node in descendants(context.module, only=(cst.Call, cst.ClassDef)):
        if isinstance(node, cst.Call):
            _record_registration(node, context, index)
        elif isinstance(node, cst.ClassDef):
            for base in node.bases:
                name = context.imports.qualify(base.value) or dotted_name(base.value) or ""
                if name in _CLASS_BASED_VIEWS or name.endswith(("MethodView", "HTTPEndpoint")):
                    index.view_classes.add(node.name.value)
    context.memo["route_index"] = index
    return index


def _record_registration(call: cst.Call, context: FileContext, index: RouteIndex) -> None:
    handler: cst.BaseExpression | None = None
    qualified = context.imports.call_name(call)
    if qualified in _ROUTE_FACTORIES:
        positional = [a for a in call.args if a.keyword is None]
        handler = positional[1].value if len(positional) > 1 else None
    elif isinstance(call.func, cst.Attribute) and call.func.attr.value in _REGISTRATION_CALLS:
        position = _REGISTRATION_CALLS[call.func.attr.value]
        positional = [a for a in call.args if a.keyword is None]
        if len(positional) > position:
            handler = positional[position].value
    if handler is None:
        registers = qualified in _ROUTE_FACTORIES or isinstance(call.func, cst.Attribute)
        for arg in call.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if registers and keyword in _REGISTRATION_KEYWORDS:
                handler = arg.value
    if isinstance(handler, cst.Name):
        index.handler_names.add(handler.value)
    elif isinstance(handler, cst.Call) and isinstance(handler.func, cst.Attribute):
        # Flask: `view_func=Items.as_view("items")`
        owner = dotted_name(handler.func.value)
        if owner and handler.func.attr.value == "as_view":
            index.view_classes.add(owner)


def is_request_handler(
    function: cst.FunctionDef, context: FileContext, owner: cst.ClassDef | None = None
) -> bool:
    """True for route handlers: decorated, registered by call, or a view-class method."""
    if any(route_decorator(d, context) for d in function.decorators):
        return True
    index = route_index(context)
    if owner is None and function.name.value in index.handler_names:
        return True
    if owner is not None and owner.name.value in index.view_classes:
        return function.name.value in HTTP_METHODS or function.name.value == "dispatch_request"
    return False


def enclosing_class_of(function: cst.FunctionDef, context: FileContext) -> cst.ClassDef | None:
    """The class whose body directly defines `function` (uses the current ancestor stack)."""
    stack = context.stack
    if function not in stack:
        return None
    for node in reversed(stack[: stack.index(function)]):
        if isinstance(node, cst.ClassDef):
            return node
        if isinstance(node, (cst.FunctionDef, cst.Lambda)):
            return None
    return None


def _may_route(decorator: ast.expr) -> bool:
    """`route_decorator` on `ast`, without the receiver check: a verb call whose path
    argument may be a route path (`@mock.patch("os.getcwd")` is not)."""
    if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
        return False
    verb = decorator.func.attr
    if verb not in _DECORATOR_METHODS:
        return False
    path: ast.expr | None = decorator.args[0] if decorator.args else None
    if path is None:
        path = next((k.value for k in decorator.keywords if k.arg in ("path", "rule")), None)
    if path is None:
        # `**options` may hold the path; otherwise only these verbs need none.
        return verb in ("route", "api_route", "view") or any(
            k.arg is None for k in decorator.keywords
        )
    if isinstance(path, ast.Constant):
        text = path.value
        return isinstance(text, str) and (text.startswith("/") or text == "")
    return isinstance(path, (ast.Name, ast.Attribute, ast.JoinedStr, ast.Starred))


def may_have_request_handlers(tree: TriageTree) -> bool:
    """Triage (see `leakguard.triage`): whether `is_request_handler` may hold for some
    function of the file, judged on CPython's `ast` before LibCST parses it. Never
    False when it may: a route decorator, a class that may be a class-based view, or a
    call that may register a handler."""
    for function in tree.functions:
        if any(_may_route(decorator) for decorator in function.decorator_list):
            return True
    if any(_may_be_view(tree, klass) for klass in tree.of(ast.ClassDef)):
        return True
    if _may_register_calls(tree):
        return True
    # Route factories are recognised by the call's resolved name (`ImportTable.call_name`),
    # so `os.environ.get` is no `aiohttp.web.get`.
    return calls_resolve_to(tree, _ROUTE_FACTORIES)


def _may_be_view(tree: TriageTree, klass: ast.ClassDef) -> bool:
    """A base that `route_index` may take for a class-based view."""
    views = {name.rsplit(".", 1)[-1] for name in _CLASS_BASED_VIEWS}
    for base in klass.bases:
        written = dotted(base) or ""
        if last_parts(tree, base) & views or written.endswith(("MethodView", "HTTPEndpoint")):
            return True
    return False


@per_tree
def _may_register_calls(tree: TriageTree) -> list[ast.Call]:
    """The calls of the file `_may_register` holds for (triage and `_registrations` both
    ask). Each needs a method name or a keyword the file has somewhere: most files have
    neither, and their calls are not looked at."""
    if tree.called.isdisjoint(_REGISTRATION_CALLS) and not any(
        keyword.arg in _REGISTRATION_KEYWORDS for keyword in tree.of(ast.keyword)
    ):
        return []
    return [call for call in tree.of(ast.Call) if _may_register(call)]


def _may_register(call: ast.Call) -> bool:
    """A method call that may register a handler (`add_url_rule`, `endpoint=handler`)."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return False
    return func.attr in _REGISTRATION_CALLS or any(
        k.arg in _REGISTRATION_KEYWORDS for k in call.keywords
    )


def route_registrations(tree: TriageTree) -> list[ast.Call]:
    """The calls `route_index` may learn a handler or a view class of this file from, on
    CPython's `ast` (for a rule's regions: `def create_app(): app.add_url_rule("/",
    view_func=items)` makes `items` a handler wherever `create_app` sits). A call that
    names no function or class of the file (`counter.labels(endpoint=endpoint)`)
    changes no handler."""
    return _registrations(tree)[0]


def _registrations(tree: TriageTree) -> tuple[list[ast.Call], set[str]]:
    """`route_registrations`, and the names of the file's functions and classes they
    may register: an argument `route_index` takes as the handler is a name, or a view
    class's `Items.as_view("items")`."""
    memo: tuple[list[ast.Call], set[str]] | None = tree.memo.get("frameworks.registrations")
    if memo is not None:
        return memo
    defined = {f.name for f in tree.functions} | {c.name for c in tree.of(ast.ClassDef)}
    calls = list(_may_register_calls(tree))
    calls.extend(calls_resolving_to(tree, _ROUTE_FACTORIES))
    found: list[ast.Call] = []
    named: set[str] = set()
    for call in dict.fromkeys(calls):
        names: set[str] = set()
        for argument in [*call.args, *(keyword.value for keyword in call.keywords)]:
            if isinstance(argument, ast.Name):
                names.add(argument.id)
            elif isinstance(argument, ast.Call) and isinstance(argument.func, ast.Attribute):
                names.add(dotted(argument.func.value) or "")
        if names & defined:
            found.append(call)
            named |= names & defined
    tree.memo["frameworks.registrations"] = (found, named)
    return found, named


def may_be_handlers(tree: TriageTree) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions `is_request_handler` may hold for, on CPython's `ast`: a route
    decorator, a name a registration call hands over (`route_registrations`), or an
    HTTP-verb method of a class that may be a class-based view (by its base, or handed
    over: `Items.as_view(...)`)."""
    named = _registrations(tree)[1]
    found: list[ast.FunctionDef | ast.AsyncFunctionDef] = [
        function
        for function in tree.functions
        if function.name in named or any(map(_may_route, function.decorator_list))
    ]
    verbs = HTTP_METHODS | {"dispatch_request"}
    for klass in tree.of(ast.ClassDef):
        if klass.name in named or _may_be_view(tree, klass):
            found.extend(
                method
                for method in klass.body
                if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef))
                and method.name in verbs
            )
    return found


def handler_regions(tree: TriageTree) -> list[ast.AST]:
    """What `is_request_handler` reads for every function it may hold for (a rule's
    regions): those functions (`may_be_handlers`) and the calls that may register them
    (`route_registrations`)."""
    return [*route_registrations(tree), *may_be_handlers(tree)]


# Applications that serve a directory of files, the same bytes to every client.
STATIC_FILE_APPS = frozenset(
    {"starlette.staticfiles.StaticFiles", "fastapi.staticfiles.StaticFiles"}
)


def static_files_class(context: FileContext) -> cst.ClassDef | None:
    """The class around the current node when it serves static files (see the module
    docstring), else None."""
    klass = context.enclosing(cst.ClassDef)
    if isinstance(klass, cst.ClassDef) and derives_from(klass, context, STATIC_FILE_APPS):
        return klass
    return None
