"""Caller trust, written once: routes that only privileged callers can reach.

The input-limit rules (LG301, LG302, LG303, LG205) and LG502 guard against an
*untrusted* client: one who controls the size of the request data, or who must not read
the server's internals. A route whose every caller has already been refused unless
privileged (an administrator, the local machine) is no such threat, and its findings are
not actionable. This module decides that, once, for every rule.

A route is *privileged* when one of its FastAPI dependencies is, as FastAPI resolves
them: `Depends(...)`/`Security(...)` in a parameter's default or its `Annotated[...]`
metadata (also through a module-level `Annotated` alias, of this file or another), the
route decorator's `dependencies=[...]`, or the `dependencies=[...]` of the
`APIRouter(...)`/`FastAPI(...)` the route is declared on (in the same file). A
dependency is privileged when its body *refuses* unless a *privilege test* holds, or
when it depends (nested `Depends`) on a privileged dependency. Judged by the body's
shape, never by the function's name:

- *refuses*: a top-level `if <not privileged>: raise <refusal>` (or `return` a refusal
  response) reached on every path (no `return` before it that skips it), or a
  top-level `if <privileged>: return ...` with an unconditional refusal after it. A
  refusal is an exception or response built with status 401/403 (`HTTPException(403)`,
  `status.HTTP_401_UNAUTHORIZED`, `HTTPStatus.FORBIDDEN`, `abort(403)`,
  werkzeug's `Forbidden`/`Unauthorized`), or a name of the run defined as one (`class
  Forbidden(HTTPException): status_code = 403`, `ForbiddenError = make_error(403)`),
  another name for one (`PlatformAdminError = ForbiddenException`) or a subclass whose
  first base is one and whose body holds only a docstring, `pass` and class attributes
  other than a status (no `__init__` that could pass on another). A top-level
  call of a function of the run (`require_admin(user)`, `await ensure_admin(user)`)
  refuses as that function's body does when its tests of its parameters hold for the
  arguments: none of them one the client chooses, none unpacked, a coroutine awaited,
  and a parameter a call may leave to its default tested by nothing.
- *privilege test*: a role compared with one constant that names a privilege
  (`user.role != "admin"`, `ctx.org_role == OrgRole.OWNER`; not "user", nor a role a
  plain user holds or obtains such as "authenticated" or "premium"), a boolean
  privilege attribute (`user.is_admin`, `is_superuser`, `is_staff`), or a client address
  compared with the loopback addresses (`request.client.host not in ("127.0.0.1",
  "::1")`); `and`/`or`/`not` combine them as logic says.
- *factories*: `Depends(require_org_role(OrgRole.OWNER))` is the closure the factory
  returns (its only return, `return _dep`). The closure's checks count as any
  dependency's; a check comparing the caller's role with the factory's parameters
  (`ctx.org_role not in allowed`) counts only when the call binds every parameter (none
  left to a default, `*allowed` given at least one) to role constants that each name a
  privilege, and no parameter is rebound in the factory.

Not privileged (the rules keep firing): a dependency that only authenticates (any
logged-in user), a check in only one branch, a check that logs but does not refuse, a
role test that several roles pass (`role in ("user", "admin")`), a factory called with a
role a plain user holds or with anything but role constants (`require_org_role(
OrgRole.MEMBER)`, `require_role(settings.role)`, `require_roles(*ROLES)`), a
role or flag the client chooses (a `Header`/`Cookie`/query/body parameter of the
dependency, a token decoded without verifying its signature: `client_chosen_names`), a
refusing branch that may return before it refuses (`if OPEN_MODE: return user`), a
refusal by a method of an object (`ctx.assert_org_role(*allowed)`: not resolved), a
dependency the application overrides (`app.dependency_overrides[dep] = ...` outside
test modules).
What inference cannot see is configured: each rule's `privileged_dependencies` lists
dependency names (dotted, matched on the whole name or its last parts); a configured
factory counts only where it is called with privilege-naming roles.

Collected per file from `ast` (collector `caller_trust`); names resolve across the run
with the summaries' resolution (`SummaryIndex.resolve`: imports, aliases, relative
imports, module-level instances), over this collector's own facts.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import libcst as cst

from leakguard.analysis.asyncio_facts import is_test_module
from leakguard.analysis.project import (
    FactCollector,
    ProjectIndex,
    module_identity,
    register_collector,
)
from leakguard.analysis.summaries import FileSummaryCollector, SummaryIndex
from leakguard.context import FileContext
from leakguard.triage import TriageTree
from leakguard.triage import dotted as ast_dotted

_N = TypeVar("_N", bound=ast.AST)
_V = TypeVar("_V")

COLLECTOR = "caller_trust"
# The option each rule using this fact reads (a list of dependency names).
OPTION = "privileged_dependencies"

_DEPENDENCY_MARKERS = frozenset({"Depends", "Security"})
_ROUTE_VERBS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "api_route", "route", "websocket"}
)
_REFUSAL_CODES = frozenset({401, 403})
# Class attributes an HTTP error carries its status in.
_STATUS_ATTRIBUTES = frozenset({"status_code", "code", "status"})
_REFUSAL_STATUS_NAMES = frozenset({"UNAUTHORIZED", "FORBIDDEN"})
# Exceptions that refuse whatever their arguments (werkzeug's, re-exported by Flask).
_REFUSAL_CLASSES = frozenset({"Forbidden", "Unauthorized", "PermissionDenied"})
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "::ffff:127.0.0.1"})
# Role values every plain user holds: comparing with one admits anybody.
_PLAIN_ROLES = frozenset(
    {"user", "users", "member", "members", "pending", "guest", "viewer", "reader", "anonymous"}
)
# Boolean attributes that say the caller is privileged (`user.is_admin`).
_PRIVILEGE_WORDS = ("admin", "superuser", "staff", "root", "owner", "operator")


# -- judging expressions ----------------------------------------------------------------


def _last_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript):
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value
    if isinstance(node, ast.Call) and not node.args and not node.keywords:
        return _last_name(node.func)  # `user.is_admin()`
    return ""


# Containers of what the client sends: a role or host read from them proves nothing.
_CLIENT_SENT = frozenset(
    {
        "headers",
        "query_params",
        "cookies",
        "args",
        "form",
        "json",
        "path_params",
        "body",
        # the URL's host is the client's Host header, not the peer's address
        "url",
        "base_url",
    }
)


def _client_sent(node: ast.expr, client: frozenset[str]) -> bool:
    """`request.headers["x-role"]`, `request.args.get("host")`, or a value rooted at one
    of `client` (the dependency's names the client fills: a `Header`/`Cookie`/query/body
    parameter, claims of a token decoded without verification): chosen by the client."""
    always, names = _client_parts(ast.walk(node))
    return always or not names.isdisjoint(client)


def _client_parts(nodes: Iterable[ast.AST]) -> tuple[bool, frozenset[str]]:
    """`_client_sent` of the expression whose `nodes` these are, in two parts: whether it
    reads what the client sent whatever the client-chosen names are, and the names it
    reads (so one walk serves every set of client-chosen names)."""
    names: set[str] = set()
    for n in nodes:
        kind = type(n)
        if kind is ast.Name:
            names.add(n.id)  # type: ignore[attr-defined]
        elif (kind is ast.Attribute and n.attr in _CLIENT_SENT) or (  # type: ignore[attr-defined]
            kind is ast.Call and _last_name(n.func) == "get"  # type: ignore[attr-defined]
        ):
            return True, frozenset()
    return False, frozenset(names)


def _is_role_subject(node: ast.expr, client: frozenset[str]) -> bool:
    return "role" in _last_name(node).lower() and not _client_sent(node, client)


def _is_address_subject(node: ast.expr, client: frozenset[str]) -> bool:
    """The peer's address: `request.client.host`, `request.remote_addr`."""
    text = ast.unparse(node).lower()
    return any(w in text for w in ("client", "remote", "host", "addr")) and not _client_sent(
        node, client
    )


def _is_privilege_flag(node: ast.expr, client: frozenset[str]) -> bool:
    name = _last_name(node).lower()
    privileged = name.startswith("is_") and any(word in name for word in _PRIVILEGE_WORDS)
    return privileged and not _client_sent(node, client)


def _names_privilege(word: str) -> bool:
    lowered = word.lower()
    return any(privilege in lowered for privilege in _PRIVILEGE_WORDS)


def _role_constant(node: ast.expr) -> bool:
    """One role value that names a privilege: a string, or an enum-like member
    (`OrgRole.OWNER`, `ADMIN_ROLE`). Which roles a plain user holds or may obtain is the
    application's choice (Supabase's "authenticated", a paid "premium", a self-service
    "creator"), so a role proves privilege only when its name says so."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.lower() not in _PLAIN_ROLES and _names_privilege(node.value)
    name = ast_dotted(node)
    if name is None:
        return False
    parts = name.split(".")
    last = parts[-1]
    if any(word in last.lower() for word in (*_PLAIN_ROLES, "default")):
        return False  # `Role.USER`, `DEFAULT_USER_ROLE`: may well be the plain user's
    if not _names_privilege(last):
        return False
    if len(parts) > 1:
        return parts[-2][:1].isupper() or last.isupper()  # `Role.ADMIN`, `roles.ADMIN`
    return last.isupper()  # `ADMIN_ROLE`


# A dependency built by a factory call: [kind, name, FACTORY_CALL, positional count
# (-1 when unpacked), 1 when every argument is a privilege-naming role else 0, keyword
# names...] (`_factory_call`; the reference's first two items resolve as any other's).
FACTORY_CALL = "call"
# A check made by calling a helper: [line, [reference, awaited], HELPER_CALL]
# (`_FileTrust._helper_call`).
HELPER_CALL = "helper"


def _factory_call(call: ast.Call) -> list[Any]:
    """How `require_org_role(OrgRole.OWNER)` is called: whether the factory's
    parameters are bound to privilege-naming roles only (`_role_constant`), which a
    closure comparing the caller's role with them turns into a privilege test."""
    values = [*call.args, *(k.value for k in call.keywords)]
    unpacked = any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    )
    roles = bool(values) and not unpacked and all(_role_constant(v) for v in values)
    count = -1 if unpacked else len(call.args)
    keywords = [k.arg for k in call.keywords if k.arg is not None]
    return [FACTORY_CALL, count, int(roles), *keywords]


def _single(node: ast.expr) -> ast.expr | None:
    """The one element of a one-element tuple/list/set literal."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) == 1:
        return node.elts[0]
    return None


def _loopback_side(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in _LOOPBACK
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and node.elts:
        return all(isinstance(e, ast.Constant) and e.value in _LOOPBACK for e in node.elts)
    return False


def _flag_value(node: ast.expr) -> bool | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return node.value
    return None


def _compare_privileged(
    left: ast.expr,
    op: ast.cmpop,
    right: ast.expr,
    client: frozenset[str],
    roles: frozenset[str] = frozenset(),
) -> bool | None:
    """True: the comparison holding means privileged; False: it failing means privileged
    (a refusal condition); None: neither. `roles`: names bound to privilege-naming role
    constants only (a factory's parameters, see `_FileTrust.factory`)."""
    positive = isinstance(op, (ast.Eq, ast.Is, ast.In))
    negative = isinstance(op, (ast.NotEq, ast.IsNot, ast.NotIn))
    if not (positive or negative):
        return None
    sides = [(left, right), (right, left)]
    for subject, other in sides:
        if isinstance(op, (ast.In, ast.NotIn)) and subject is right:
            continue  # `x in COLLECTION`: the collection is the right side
        if _is_role_subject(subject, client):
            if isinstance(other, ast.Name) and other.id in roles:
                return positive  # `ctx.org_role not in allowed`, `user.role != role`
            constant = _single(other) if isinstance(op, (ast.In, ast.NotIn)) else other
            if constant is not None and _role_constant(constant):
                return positive
        if _is_privilege_flag(subject, client) and not isinstance(op, (ast.In, ast.NotIn)):
            value = _flag_value(other)
            if value is not None:
                return positive == value
        if _loopback_side(other) and _is_address_subject(subject, client):
            return positive
    return None


def privilege_test(
    node: ast.expr, client: frozenset[str] = frozenset(), roles: frozenset[str] = frozenset()
) -> bool:
    """The condition holding means the caller is privileged (`client`: names whose
    values the client chooses, see `_client_sent`; `roles`: names bound to
    privilege-naming roles, see `_compare_privileged`)."""
    return _privileged_when(node, True, client, roles)


def refusal_condition(
    node: ast.expr, client: frozenset[str] = frozenset(), roles: frozenset[str] = frozenset()
) -> bool:
    """The condition failing means the caller is privileged (`if <it>: refuse`)."""
    return _privileged_when(node, False, client, roles)


def _privileged_when(
    node: ast.expr, holds: bool, client: frozenset[str], roles: frozenset[str] = frozenset()
) -> bool:
    """The condition holding (`holds`) or failing means the caller is privileged: the
    two readings are each other's dual (`not` swaps them, De Morgan swaps and/or)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _privileged_when(node.operand, not holds, client, roles)
    if isinstance(node, ast.BoolOp):
        parts = (_privileged_when(v, holds, client, roles) for v in node.values)
        return any(parts) if isinstance(node.op, ast.And) == holds else all(parts)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        compared = _compare_privileged(node.left, node.ops[0], node.comparators[0], client, roles)
        return compared is holds
    return holds and _is_privilege_flag(node, client)


def _refusal_status(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in _REFUSAL_CODES
    name = ast_dotted(node) or ""
    last = name.rsplit(".", 1)[-1]
    return last.startswith(("HTTP_401_", "HTTP_403_")) or last in _REFUSAL_STATUS_NAMES


def _carries_refusal_status(call: ast.Call) -> bool:
    values = [
        *call.args[:2],
        *(k.value for k in call.keywords if k.arg in ("status_code", "status", "code")),
    ]
    return any(_refusal_status(v) for v in values)


# -- collection (per file, from `ast`) --------------------------------------------------


class _FileTrust:
    """One file's trust facts as its `ast` is read."""

    def __init__(self, tree: TriageTree, module: str, package: bool) -> None:
        self.tree = tree
        self.module = module
        self.names = FileSummaryCollector(module, tree, package)
        imports: list[ast.Import | ast.ImportFrom] = [*tree.of(ast.Import)]
        imports.extend(tree.of(ast.ImportFrom))
        for node in imports:
            self.names.record_import(node)
        body = tree.tree.body
        self.assigned: dict[str, ast.expr] = {}
        for statement in body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.names.globals.add(statement.name)
            elif isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
                if isinstance(target, ast.Name):
                    self.names.globals.add(target.id)
                    self.assigned[target.id] = statement.value
        self.functions: dict[str, dict[str, Any]] = {}
        # Per node id (the tree keeps the nodes alive), worked out once: whether a
        # statement returns (`_returns`) and what of an argument the client may choose
        # (`_client_parts`). `guard` reads each function up to three times (its own
        # checks, with aliases, as a helper), each with other client-chosen names.
        self._returning: dict[int, bool] = {}
        self._client_read: dict[int, tuple[bool, frozenset[str]]] = {}
        self._decoded: dict[int, bool] = {}

    def reference(self, node: ast.expr) -> list[str] | None:
        return self.names.reference(node, None, frozenset())

    # dependencies -----------------------------------------------------------------

    def _marker_dependency(self, call: ast.expr) -> list[Any] | None:
        """`Depends(provider)` -> the provider's reference; `Depends(factory(...))` ->
        the factory's reference followed by how it is called (`_factory_call`); None for
        `Depends()` or anything else."""
        if not isinstance(call, ast.Call):
            return None
        if (ast_dotted(call.func) or "").rsplit(".", 1)[-1] not in _DEPENDENCY_MARKERS:
            return None
        provider = call.args[0] if call.args else None
        if provider is None:
            provider = next((k.value for k in call.keywords if k.arg == "dependency"), None)
        if isinstance(provider, (ast.Name, ast.Attribute)):
            return self.reference(provider)
        if isinstance(provider, ast.Call) and isinstance(provider.func, (ast.Name, ast.Attribute)):
            factory = self.reference(provider.func)
            return None if factory is None else [*factory, *_factory_call(provider)]
        return None

    def _annotation_dependencies(self, annotation: ast.expr | None) -> list[list[str]]:
        if annotation is None:
            return []
        if isinstance(annotation, ast.Subscript):
            head = (ast_dotted(annotation.value) or "").rsplit(".", 1)[-1]
            elements = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else []
            if head == "Annotated":
                return [d for e in elements[1:] if (d := self._marker_dependency(e))]
            return []
        if isinstance(annotation, (ast.Name, ast.Attribute)):
            # An `Annotated` alias, here or in another file: resolved as a pseudo-function.
            reference = self.reference(annotation)
            return [reference] if reference is not None else []
        return []

    def _listed_dependencies(self, value: ast.expr, depth: int = 0) -> list[list[str]]:
        """`[Depends(a), Depends(b)]`, or a module-level name bound to such a list."""
        if isinstance(value, ast.Name) and depth < 2 and value.id in self.assigned:
            return self._listed_dependencies(self.assigned[value.id], depth + 1)
        if isinstance(value, (ast.List, ast.Tuple)):
            return [d for e in value.elts if (d := self._marker_dependency(e))]
        return []

    def parameter_dependencies(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> list[list[str]]:
        arguments = function.args
        found: list[list[str]] = []
        for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
            found.extend(self._annotation_dependencies(argument.annotation))
        for default in [*arguments.defaults, *arguments.kw_defaults]:
            if default is not None and (dependency := self._marker_dependency(default)):
                found.append(dependency)
        return found

    def routers(self) -> dict[str, list[list[str]]]:
        """Module-level `router = APIRouter(dependencies=[...])` (or `FastAPI(...)`)."""
        found: dict[str, list[list[str]]] = {}
        for name, value in self.assigned.items():
            if isinstance(value, ast.Call):
                for keyword in value.keywords:
                    if keyword.arg == "dependencies":
                        found[name] = self._listed_dependencies(keyword.value)
        return found

    def route_dependencies(
        self,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        routers: Mapping[str, list[list[str]]],
    ) -> list[list[str]] | None:
        """The dependencies a route decorator adds (its own and its router's), or None
        when `function` has no route decorator."""
        found: list[list[str]] | None = None
        for decorator in function.decorator_list:
            if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
                continue
            if decorator.func.attr not in _ROUTE_VERBS:
                continue
            found = found or []
            for keyword in decorator.keywords:
                if keyword.arg == "dependencies":
                    found.extend(self._listed_dependencies(keyword.value))
            receiver = ast_dotted(decorator.func.value)
            if receiver is not None:
                found.extend(routers.get(receiver, []))
        return found

    def client_chosen_names(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, aliases: dict[str, list[str]]
    ) -> frozenset[str]:
        """The names of `function` whose values the client chooses, so a role or flag
        read from them proves nothing: every parameter FastAPI fills from the request
        (a plain, `Header`, `Cookie`, `Query`, `Body` or `Form` parameter: anything but
        a `Depends`/`Security` one or the request/connection object), and the
        top-level locals bound from one of them (`role = x_role.lower()`) or from a
        token decoded without verifying it (`jwt.decode(t, options={"verify_signature":
        False})`, `get_unverified_claims`). A local bound by another call is not one
        (looking a user up by the token the client sent is how authentication works).

        A parameter annotated with a bare name (`admin: AdminDep`, `payload: AdminForm`)
        is an `Annotated` alias carrying a dependency or a model the client sends, which
        only the run knows: it counts as chosen here and goes into `aliases` (name ->
        reference) for the query to decide."""
        arguments = function.args
        positional = [*arguments.posonlyargs, *arguments.args]
        defaults: dict[str, ast.expr | None] = {a.arg: None for a in positional}
        for argument, positional_default in zip(
            positional[::-1], arguments.defaults[::-1], strict=False
        ):
            defaults[argument.arg] = positional_default
        for argument, kw_default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
            defaults[argument.arg] = kw_default
        annotations = {a.arg: a.annotation for a in [*positional, *arguments.kwonlyargs]}
        chosen: set[str] = set()
        for name, default in defaults.items():
            if name in ("self", "cls"):
                continue
            annotation = annotations.get(name)
            if default is not None and self._marker_dependency(default) is not None:
                continue
            if (
                isinstance(default, ast.Call)
                and _last_name(default.func) in _DEPENDENCY_MARKERS
                and (default.args or default.keywords)
            ):
                continue  # `Depends(factory(...))`: the server's value; a bare `Depends()`
                # builds the annotated class from the request's own fields
            if _connection_type(annotation):
                continue
            if isinstance(annotation, (ast.Name, ast.Attribute)):
                reference = self.reference(annotation)
                if reference is not None:
                    aliases[name] = reference
            elif self._annotation_dependencies(annotation):
                continue  # `Annotated[User, Depends(get_user)]`
            chosen.add(name)
        return self._with_chosen_locals(function, chosen)

    # refusals ---------------------------------------------------------------------

    def refusal(self, statement: ast.stmt) -> list[Any] | None:
        """`raise HTTPException(403)` / `return JSONResponse(status_code=401)`: [] when it
        surely refuses, [reference] when it raises a name of the run that may be a
        refusal (judged when queried), None otherwise."""
        if isinstance(statement, ast.Raise):
            value = statement.exc
        elif isinstance(statement, ast.Return):
            value = statement.value
        else:
            return None
        if value is None:
            return None
        call = value if isinstance(value, ast.Call) else None
        target = call.func if call is not None else value
        if call is not None:
            if _carries_refusal_status(call):
                return []
            if (ast_dotted(call.func) or "").rsplit(".", 1)[-1] == "abort" and call.args:
                return [] if _refusal_status(call.args[0]) else None
        if not isinstance(statement, ast.Raise):
            return None
        name = ast_dotted(target) or ""
        if name.rsplit(".", 1)[-1] in _REFUSAL_CLASSES:
            return []
        reference = (
            self.reference(target) if isinstance(target, (ast.Name, ast.Attribute)) else None
        )
        return [reference] if reference is not None else None

    def _returns(self, node: ast.AST | Sequence[ast.stmt]) -> bool:
        """`_returns_in`, remembered per statement (a block returns when one of its
        statements does)."""
        if isinstance(node, Sequence):
            return any(self._returns_one(statement) for statement in node)
        return self._returns_one(node)

    def _returns_one(self, node: ast.AST) -> bool:
        return _once(self._returning, node, partial(_returns_in, self.tree))

    def _with_chosen_locals(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, chosen: Iterable[str]
    ) -> frozenset[str]:
        """`chosen` and the top-level locals of `function` bound from one of them or from
        a token decoded without verifying it (see `client_chosen_names`)."""
        names = set(chosen)
        for statement in function.body:
            if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
                continue
            target = statement.targets[0]
            if isinstance(target, ast.Name) and (
                _rooted_at(statement.value, names) or self._unverified_decode(statement.value)
            ):
                names.add(target.id)
        return frozenset(names)

    def _unverified_decode(self, node: ast.expr) -> bool:
        """`_unverified_decode`, once per value (each function's are read twice)."""
        return _once(self._decoded, node, partial(_unverified_decode, self.tree))

    def _client_sent(self, node: ast.expr, client: frozenset[str]) -> bool:
        """`_client_sent(node, client)`, its walk done once per node: whether some part
        of `node` is chosen by the client whatever `client` is, else its names."""
        always, names = _once(self._client_read, node, lambda n: _client_parts(self.tree.walk(n)))
        return always or not names.isdisjoint(client)

    def _refuses(self, body: Sequence[ast.stmt]) -> list[Any] | None:
        """A block that ends by refusing (see `refusal`) and cannot return before it
        (`if OPEN_MODE: return user` inside the refusing branch admits anybody)."""
        if not body or self._returns(body[:-1]):
            return None
        return self.refusal(body[-1])

    def guard(
        self,
        body: Sequence[ast.stmt],
        client: frozenset[str] = frozenset(),
        roles: frozenset[str] = frozenset(),
    ) -> list[list[Any]]:
        """The refusals that stand between every path of `body` and its end unless a
        privilege test holds: [line, refusal] each (see the module docstring). `client`:
        the names whose values the client chooses (`client_chosen_names`); `roles`: the
        names bound to privilege-naming roles (`_compare_privileged`)."""
        found: list[list[Any]] = []
        for statement in body:
            if isinstance(statement, ast.If):
                refused = self._refuses(statement.body)
                if refused is not None and refusal_condition(statement.test, client, roles):
                    found.append([statement.lineno, refused])
                    if not self._returns(statement.orelse):
                        continue
                    return found
                privileged = privilege_test(statement.test, client, roles)
                if privileged and not self._returns(statement.orelse):
                    continue  # returns only for privileged callers
                if self._returns(statement):
                    return found
                continue
            refused = self.refusal(statement)
            if refused is not None and isinstance(statement, ast.Raise):
                found.append([statement.lineno, refused])
                return found
            helper = self._helper_call(statement, client)
            if helper is not None:
                found.append([statement.lineno, helper, HELPER_CALL])
            if self._returns(statement):
                return found
        return found

    def _helper_call(self, statement: ast.stmt, client: frozenset[str]) -> list[Any] | None:
        """`require_admin(user)` / `await ensure_admin(user)` as a statement of its own:
        [reference, 1 when awaited else 0] of a function of the run that may refuse
        unless its arguments show a privileged caller (judged when queried), when no
        argument is one the client chooses; None otherwise."""
        if not isinstance(statement, ast.Expr):
            return None
        value = statement.value
        awaited = isinstance(value, ast.Await)
        call = value.value if isinstance(value, ast.Await) else value
        if not (isinstance(call, ast.Call) and isinstance(call.func, (ast.Name, ast.Attribute))):
            return None
        arguments = [*call.args, *(k.value for k in call.keywords)]
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords
        ):
            return None
        # The callee first: most statement calls name no function of the run (`print`,
        # `self.items.append`), and their arguments need no walk.
        reference = self.reference(call.func)
        if reference is None or (reference[0] == "l" and "." in reference[1]):
            return None  # `logger.info(...)`: a method of a module-level object
        if any(self._client_sent(a, client) for a in arguments):
            return None
        return [reference, int(awaited)]

    # definitions that refuse ------------------------------------------------------

    def refusal_definition(self, statement: ast.stmt) -> bool:
        """`ForbiddenError = make_error(403, ...)`, or a class carrying status 401/403
        (`status_code = 403` in its body, or passed on by its `__init__`)."""
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
            return _carries_refusal_status(statement.value)
        if not isinstance(statement, ast.ClassDef):
            return False
        for item in statement.body:
            if isinstance(item, (ast.Assign, ast.AnnAssign)) and item.value is not None:
                targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                status = any(_last_name(t) in _STATUS_ATTRIBUTES for t in targets)
                if status and _refusal_status(item.value):
                    return True
            if (
                isinstance(item, ast.FunctionDef)
                and item.name == "__init__"
                and any(
                    isinstance(n, ast.Call) and _carries_refusal_status(n)
                    for n in self.tree.walk(item)
                )
            ):
                return True
        return False

    def refusal_origins(self, statement: ast.stmt) -> list[list[str]]:
        """The names of the run a definition may inherit its refusal from, judged when
        queried: `PlatformAdminError = ForbiddenException` (another name for it), or
        the first base of `class PlatformAdminError(ForbiddenException)` when its body
        holds only a docstring, `pass` and class attributes other than a status."""
        if isinstance(statement, ast.Assign):
            value = statement.value
            if isinstance(value, (ast.Name, ast.Attribute)):
                reference = self.reference(value)
                return [reference] if reference is not None else []
            return []
        if not isinstance(statement, ast.ClassDef):
            return []
        for item in statement.body:
            # An error class's body: a docstring, `pass`, plain class attributes. Not a
            # model's fields nor methods (which could pass on another status).
            if isinstance(item, (ast.Pass, ast.Expr)):
                continue
            if not isinstance(item, ast.Assign):
                return []
            if any(_last_name(t) in _STATUS_ATTRIBUTES for t in item.targets):
                return []
        # The first base only: its status comes first in the method resolution order.
        first = statement.bases[0] if statement.bases else None
        if isinstance(first, (ast.Name, ast.Attribute)):
            reference = self.reference(first)
            return [reference] if reference is not None else []
        return []

    def _refusal_entry(self, name: str, statement: ast.stmt) -> None:
        if self.refusal_definition(statement):
            self.functions[name] = {"refusal": statement.lineno}
        elif origins := self.refusal_origins(statement):
            self.functions[name] = {"refusal_from": origins}

    def run(self, display: str) -> dict[str, Any] | None:
        routers = self.routers()
        counts: Counter[str] = Counter(f.name for f in self.tree.functions)
        for statement in self.tree.tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(statement.name, statement, routers)
            elif isinstance(statement, ast.ClassDef):
                self._refusal_entry(statement.name, statement)
                for item in statement.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self._function(f"{statement.name}.{item.name}", item, routers)
            elif isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
                if not isinstance(target, ast.Name):
                    continue
                self._refusal_entry(target.id, statement)
                dependencies = self._annotation_dependencies(statement.value)
                if dependencies and isinstance(statement.value, ast.Subscript):
                    # `AdminUser = Annotated[User, Depends(get_admin_user)]`
                    self.functions[target.id] = {"deps": dependencies}
        overridden = self.overridden_dependencies()
        if not self.functions and not overridden:
            return None
        facts: dict[str, Any] = {"path": display, "functions": self.functions}
        if overridden:
            facts["overridden"] = overridden
        ambiguous = sorted(name for name, count in counts.items() if count > 1)
        if ambiguous:
            facts["ambiguous"] = ambiguous
        return facts

    def overridden_dependencies(self) -> list[list[str]]:
        """`app.dependency_overrides[get_admin_user] = get_verified_user`: the
        application swaps a dependency for another (in open mode, for a plugin), so its
        body no longer says who reaches the routes that depend on it."""
        found: list[list[str]] = []
        for statement in self.tree.of(ast.Assign):
            for target in statement.targets:
                if not isinstance(target, ast.Subscript):
                    continue
                if _last_name(target.value) != "dependency_overrides":
                    continue
                key = target.slice
                if isinstance(key, (ast.Name, ast.Attribute)):
                    reference = self.reference(key)
                    if reference is not None:
                        found.append(reference)
        return found

    def _function(
        self,
        qualname: str,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        routers: Mapping[str, list[list[str]]],
    ) -> None:
        dependencies = self.parameter_dependencies(function)
        route = self.route_dependencies(function, routers)
        entry: dict[str, Any] = {}
        if route is not None:
            entry["route"] = 1
            dependencies.extend(route)
        if dependencies:
            entry["deps"] = dependencies
        aliases: dict[str, list[str]] = {}
        chosen = self.client_chosen_names(function, aliases)
        checks = self.guard(function.body, chosen)
        if checks:
            entry["checks"] = checks
        # A helper call (`logger.info(...)` as much as `require_admin(user)`) is judged
        # when queried: only a refusal of its own makes the readings below needless.
        refuses = any(len(check) < 3 for check in checks)
        if not refuses and aliases:
            # Checks that hold if every parameter annotated with a bare name is an
            # `Annotated` dependency alias (`TrustIndex.privileged` resolves them).
            lenient = self.guard(function.body, chosen - aliases.keys())
            if lenient and lenient != checks:
                entry["checks_if_aliases"] = {"checks": lenient, "aliases": list(aliases.values())}
        if not refuses:
            # As a helper the caller passes the arguments (`require_admin(user)`): a
            # test of a parameter proves what the caller's argument is, unless the
            # parameter may be left to its default (what it holds then is not known).
            given = self.guard(
                function.body, self._with_chosen_locals(function, _defaulted(function))
            )
            if given and given != checks:
                entry["given_checks"] = given
        if isinstance(function, ast.AsyncFunctionDef) and (checks or "given_checks" in entry):
            entry["async"] = 1  # a coroutine refuses only where it is awaited
        factory = self.factory(function)
        if factory is not None:
            entry["factory"] = factory
        if entry:
            self.functions[qualname] = entry

    def factory(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, Any] | None:
        """A dependency factory: `function` defines a closure and returns it as its only
        return (`def require_org_role(*allowed): async def _dep(...): ...; return
        _dep`). What the closure's body proves, judged when a route's
        `Depends(require_org_role(...))` is queried (`TrustIndex._factory_privileged`):
        `checks`, the refusals that hold whatever the factory is called with, and
        `role_checks`, those that hold when every parameter of the factory is bound to
        privilege-naming roles (its role compared with them: `ctx.org_role not in
        allowed`). A parameter rebound anywhere in the factory is no such role."""
        body = function.body
        last = body[-1] if body else None
        if not (isinstance(last, ast.Return) and isinstance(last.value, ast.Name)):
            return None
        returned = last.value.id
        closures = [
            s
            for s in body
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == returned
        ]
        if len(closures) != 1 or self._returns(body[:-1]):
            return None
        closure = closures[0]
        arguments = function.args
        positional = [a.arg for a in [*arguments.posonlyargs, *arguments.args]]
        keyword_only = [a.arg for a in arguments.kwonlyargs]
        vararg = arguments.vararg.arg if arguments.vararg is not None else ""
        parameters = {*positional, *keyword_only, vararg} - {""}
        rebound: set[str] = set()
        for statement in body:
            for node in self.tree.walk(statement):
                if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                    rebound.add(node.id)
                elif isinstance(node, ast.arg):
                    rebound.add(node.arg)  # the closure's (or a lambda's) own parameter
                elif isinstance(node, (ast.Global, ast.Nonlocal)):
                    rebound.update(node.names)
        roles = frozenset(parameters - rebound)
        aliases: dict[str, list[str]] = {}
        chosen = self.client_chosen_names(closure, aliases)
        facts: dict[str, Any] = {
            "positional": positional,
            "keyword_only": keyword_only,
            "vararg": vararg,
            "checks": self.guard(closure.body, chosen),
            "deps": self.parameter_dependencies(closure),
        }
        if parameters and roles == parameters and arguments.kwarg is None:
            facts["role_checks"] = self.guard(closure.body, chosen, roles)
        return facts


_CONNECTION_TYPES = frozenset({"Request", "HTTPConnection", "WebSocket", "SecurityScopes"})


def _connection_type(annotation: ast.expr | None) -> bool:
    """The request/connection object FastAPI hands over (not a value the client sends)."""
    return annotation is not None and _last_name(annotation) in _CONNECTION_TYPES


def _rooted_at(node: ast.expr, names: Iterable[str]) -> bool:
    """`x_role`, `x_role.lower()`, `claims["role"]`: a value read from one of `names`
    through attributes, subscripts and method calls."""
    wanted = set(names)
    current = node
    while True:
        if isinstance(current, ast.Name):
            return current.id in wanted
        if isinstance(current, (ast.Attribute, ast.Subscript)):
            current = current.value
        elif isinstance(current, ast.Call):
            current = current.func
        else:
            return False


def _defaulted(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The parameters of `function` a call may leave to their default."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    names = {a.arg for a in positional[len(positional) - len(arguments.defaults) :]}
    names.update(
        a.arg
        for a, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        if default is not None
    )
    return names


def _once(table: dict[int, _V], node: _N, compute: Callable[[_N], _V]) -> _V:
    """`compute(node)`, worked out once per node of the file (its tree keeps the nodes,
    and so their ids, alive while the collector runs)."""
    key = id(node)
    if key not in table:
        table[key] = compute(node)
    return table[key]


def _unverified_decode(tree: TriageTree, node: ast.expr) -> bool:
    """A call decoding a token without checking its signature (walked from the facts
    pass's child index)."""
    for call in tree.walk(node):
        if not isinstance(call, ast.Call):
            continue
        if "unverified" in _last_name(call.func).lower():
            return True  # python-jose `jwt.get_unverified_claims`
        for keyword in call.keywords:
            if (
                keyword.arg in ("verify", "verify_signature")
                and _flag_value(keyword.value) is False
            ):
                return True
        for inner in tree.walk(call):
            if isinstance(inner, ast.Dict):
                for key, value in zip(inner.keys, inner.values, strict=True):
                    is_verify = isinstance(key, ast.Constant) and key.value == "verify_signature"
                    if is_verify and _flag_value(value) is False:
                        return True
    return False


# What ends a dependency's set-up, and the scopes whose code is not the function's own
# (exact types: the parser makes no subclass of them).
_RETURNING = frozenset({ast.Return, ast.Yield, ast.YieldFrom})
_NESTED_SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef})


def _returns_in(tree: TriageTree, node: ast.AST | Sequence[ast.stmt]) -> bool:
    """A `return` (or `yield`, which ends a dependency's set-up) in this code, outside
    nested functions. (Every statement of a function is asked about: the walk reads the
    facts pass's child index with exact-type tests.)"""
    children = tree.children_by_id
    pending: list[ast.AST] = list(node) if isinstance(node, Sequence) else [node]
    pop, push = pending.pop, pending.extend
    while pending:
        current = pop()
        kind = type(current)
        if kind in _RETURNING:
            return True
        if kind in _NESTED_SCOPES:
            continue
        kids = children(id(current))
        if kids:
            push(kids)
    return False


def collect_tree(tree: TriageTree, text: str, display: str) -> dict[str, Any] | None:
    module, package = module_identity(display)
    return _FileTrust(tree, module, package).run(display)


def collect_source(text: str, display: str) -> dict[str, Any] | None:
    try:
        parsed = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return collect_tree(TriageTree(parsed, text, display=display), text, display)


def _may_have_facts(tree: TriageTree) -> bool:
    return tree.has(ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign)


register_collector(
    FactCollector(
        COLLECTOR,
        # dependencies, their overrides, and what refuses (statuses as numbers or names)
        (
            "Depends",
            "dependency_overrides",
            "Security",
            "dependencies",
            "401",
            "403",
            "UNAUTHORIZED",
            "FORBIDDEN",
            "Forbidden",
            "Unauthorized",
            "PermissionDenied",
        ),
        from_source=collect_source,
        from_tree=collect_tree,
        triage=_may_have_facts,
        # asked of routes and dependencies by the rules that list it
        gated_by_readers=True,
    )
)


# -- the run-wide view ------------------------------------------------------------------


class TrustIndex:
    """Every file's trust facts, with names resolved across the run."""

    def __init__(self, facts: Mapping[str, Any]) -> None:
        self.facts = facts
        self.resolver = SummaryIndex.build(facts)
        self._memo: dict[Any, bool] = {}
        # Dependencies the application's own code overrides (tests override them to
        # fake a user, which says nothing of the deployed application).
        self.overridden: set[str] = set()
        for module, file_facts in facts.items():
            if not isinstance(file_facts, Mapping) or is_test_module(module):
                continue
            for reference in file_facts.get("overridden", ()):
                target = self.resolver.resolve(module, reference)
                if target is not None:
                    self.overridden.add(target)

    def _entry(self, fid: str) -> Mapping[str, Any] | None:
        function = self.resolver.function(fid)
        return function.raw if function is not None else None

    def _refusal(self, module: str, refused: Sequence[Any], hops: int = 0) -> bool:
        """`refused` (see `_FileTrust.refusal`) refuses: a refusal of the run, or another
        name for one or a subclass that keeps its status (`refusal_from`)."""
        if not refused:
            return True
        target = self.resolver.resolve(module, refused[0])
        entry = self._entry(target) if target is not None else None
        if entry is None or target is None:
            return False
        if "refusal" in entry:
            return True
        origin_module = target.partition(":")[0]
        return hops < 4 and any(
            self._refusal(origin_module, [origin], hops + 1)
            for origin in entry.get("refusal_from", ())
        )

    def _checks_refuse(
        self, module: str, checks: Iterable[Sequence[Any]], seen: frozenset[str]
    ) -> bool:
        """One of `checks` (recorded in `module` by `_FileTrust.guard`) refuses: a
        refusal, or a call of a helper that refuses unless the arguments it is given
        show a privileged caller (a coroutine only when awaited: one never awaited
        does not run)."""
        for check in checks:
            if len(check) < 3 or check[2] != HELPER_CALL:
                if self._refusal(module, check[1]):
                    return True
                continue
            reference, awaited = check[1]
            target = self.resolver.resolve(module, reference)
            entry = self._entry(target) if target is not None else None
            if target is None or entry is None or target in seen or len(seen) > 8:
                continue
            if target in self.overridden or bool(entry.get("async")) != bool(awaited):
                continue
            given = [*entry.get("checks", ()), *entry.get("given_checks", ())]
            if self._checks_refuse(target.partition(":")[0], given, seen | {target}):
                return True
        return False

    def _all_aliases(self, module: str, references: Sequence[Any]) -> bool:
        """Each reference names an `Annotated[..., Depends(...)]` alias of the run (its
        value is the server's), not a model the client sends."""
        for reference in references:
            target = self.resolver.resolve(module, reference)
            entry = self._entry(target) if target is not None else None
            if target is None or entry is None or set(entry) != {"deps"}:
                return False
            if "." in target.partition(":")[2]:
                return False  # a method, not a module-level alias
        return True

    def privileged(
        self, fid: str, configured: frozenset[str], seen: frozenset[str] = frozenset()
    ) -> bool:
        """Function (or `Annotated` alias) `fid` refuses every caller who is not
        privileged, by its own body or through a dependency."""
        key = (fid, configured)
        if key in self._memo:
            return self._memo[key]
        entry = self._entry(fid)
        module = fid.partition(":")[0]
        result = False
        if entry is not None and fid not in seen and fid not in self.overridden:
            result = self._checks_refuse(module, entry.get("checks", ()), seen | {fid})
            conditional = entry.get("checks_if_aliases")
            if not result and conditional and self._all_aliases(module, conditional["aliases"]):
                result = self._checks_refuse(module, conditional["checks"], seen | {fid})
            if not result:
                result = any(
                    self._dependency_privileged(module, dependency, configured, seen | {fid})
                    for dependency in entry.get("deps", ())
                )
        self._memo[key] = result
        return result

    def _dependency_privileged(
        self,
        module: str,
        dependency: Sequence[Any],
        configured: frozenset[str],
        seen: frozenset[str],
    ) -> bool:
        target = self.resolver.resolve(module, dependency)
        names = [str(dependency[1]) if dependency[0] == "q" else f"{module}.{dependency[1]}"]
        if target is not None:
            names.append(target.replace(":", "."))
        call = list(dependency[3:]) if len(dependency) > 2 else None
        # A configured factory counts only when called with privilege-naming roles.
        named = call is None or bool(call[1])
        if named and configured and any(_configured(name, configured) for name in names):
            return True
        if target is None:
            return False
        if call is not None:
            return self._factory_privileged(target, call, configured, seen)
        return self.privileged(target, configured, seen)

    def _factory_privileged(
        self, fid: str, call: Sequence[Any], configured: frozenset[str], seen: frozenset[str]
    ) -> bool:
        """The dependency the factory `fid` returns when called as `call` describes
        (`_factory_call`) refuses every caller who is not privileged: by the closure's
        own checks, by those comparing with the factory's parameters when the call
        binds every one of them to privilege-naming roles, or through a dependency of
        the closure."""
        entry = self._entry(fid)
        spec = entry.get("factory") if entry is not None else None
        if not isinstance(spec, Mapping) or fid in seen or fid in self.overridden:
            return False
        module = fid.partition(":")[0]
        checks = list(spec.get("checks", ()))
        if "role_checks" in spec and _binds_every_parameter(spec, call):
            checks.extend(spec["role_checks"])
        if self._checks_refuse(module, checks, seen | {fid}):
            return True
        return any(
            self._dependency_privileged(module, dependency, configured, seen | {fid})
            for dependency in spec.get("deps", ())
        )

    def route_privileged(self, module: str, qualname: str, configured: frozenset[str]) -> bool:
        """The route handler `qualname` of `module` is reached only by privileged callers:
        one of its dependencies is privileged. A name defined more than once in its file
        is never judged (which one is the route is not known)."""
        facts = self.facts.get(module)
        if not isinstance(facts, Mapping):
            return False
        if qualname.rsplit(".", 1)[-1] in facts.get("ambiguous", ()):
            return False
        entry = facts.get("functions", {}).get(qualname)
        if not isinstance(entry, Mapping):
            return False
        # Only its dependencies count: FastAPI runs them before it reads the body into
        # the route's parameters, while a check in the route's own body comes after.
        fid = f"{module}:{qualname}"
        return any(
            self._dependency_privileged(module, dependency, configured, frozenset({fid}))
            for dependency in entry.get("deps", ())
        )


def _binds_every_parameter(spec: Mapping[str, Any], call: Sequence[Any]) -> bool:
    """The factory call `call` (`_factory_call`) passes privilege-naming roles only, and
    binds every parameter of the factory `spec` describes (none left to its default,
    a `*allowed` given at least one role)."""
    count, roles, *keywords = call
    positional = list(spec.get("positional", ()))
    keyword_only = list(spec.get("keyword_only", ()))
    if not roles or int(count) < 0:
        return False
    bound = set(positional[: int(count)]) | set(keywords)
    if not set(keywords) <= {*positional, *keyword_only} or not bound >= {
        *positional,
        *keyword_only,
    }:
        return False
    if spec.get("vararg"):
        return int(count) > len(positional)
    return int(count) <= len(positional)


def _configured(name: str, configured: Iterable[str]) -> bool:
    return any(name == entry or name.endswith("." + entry) for entry in configured)


def trust_of(project: ProjectIndex | None) -> TrustIndex | None:
    return None if project is None else project.view(COLLECTOR, TrustIndex)


@dataclass(frozen=True)
class CallerTrust:
    """What a rule asks: the run's trust facts and the rule's configured names."""

    index: TrustIndex
    configured: frozenset[str]

    def route_privileged(self, module: str, qualname: str) -> bool:
        return self.index.route_privileged(module, qualname, self.configured)


def caller_trust(context: FileContext, configured: Iterable[str] = ()) -> CallerTrust | None:
    """The trust view for a rule (None when the run has no trust facts)."""
    index = trust_of(context.project)
    if index is None:
        return None
    return CallerTrust(index, frozenset(configured))


def handler_qualname(function: cst.FunctionDef, context: FileContext) -> str | None:
    """`name` for a module-level function, `Class.name` for a method of a module-level
    class (the names the facts use); None for anything nested deeper. Uses the current
    ancestor stack."""
    stack = context.stack
    if function not in stack:
        return None
    outer = [
        node
        for node in stack[: stack.index(function)]
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda))
    ]
    if not outer:
        return function.name.value
    if len(outer) == 1 and isinstance(outer[0], cst.ClassDef):
        return f"{outer[0].name.value}.{function.name.value}"
    return None


def privileged_handler(
    function: cst.FunctionDef, context: FileContext, configured: Iterable[str] = ()
) -> bool:
    """`function` (a route handler of the file being analysed) is reached only by
    privileged callers."""
    trust = caller_trust(context, configured)
    if trust is None:
        return False
    qualname = handler_qualname(function, context)
    return qualname is not None and trust.route_privileged(context.module_name, qualname)
