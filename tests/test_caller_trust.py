"""The caller-trust fact (analysis/caller_trust): which conditions prove a privileged
caller, and the `privileged_dependencies` option for what inference cannot see."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from leakguard.analysis.caller_trust import (
    TrustIndex,
    collect_source,
    privilege_test,
    refusal_condition,
)
from leakguard.analysis.project import module_name_for
from leakguard.config import ConfigError, load_config
from leakguard.testing import reported, run


def _expression(code: str) -> ast.expr:
    return ast.parse(code, mode="eval").body


@pytest.mark.parametrize(
    "condition",
    [
        'user.role == "admin"',
        "ctx.org_role == OrgRole.OWNER",
        'user.role in ("admin",)',
        "user.is_admin",
        "user.is_superuser()",
        "user.is_admin == True",
        'request.client.host == "127.0.0.1"',
        'request.client.host in ("127.0.0.1", "::1", "localhost")',
        'ctx.is_platform_admin or ctx.org_role == "owner"',
        'user.is_active and user.role == "admin"',
    ],
)
def test_privilege_tests(condition: str) -> None:
    assert privilege_test(_expression(condition))
    assert refusal_condition(_expression(f"not ({condition})"))


@pytest.mark.parametrize(
    "condition",
    [
        'user.role in ("user", "admin")',  # every user passes
        "user.role in VERIFIED_ROLES",  # not known which roles
        'user.role == "user"',  # the plain user's role
        "user.role == Role.USER",
        "user.role == DEFAULT_ROLE",
        'request.headers["x-role"] == "admin"',  # what the client says
        'request.headers.get("host") == "localhost"',
        'request.url.hostname == "localhost"',  # the Host header
        'user.is_admin or user.role == "member"',  # one side admits plain members
        "user.is_active",
        "user is not None",
        'user.name == "admin"',
        'user.role == "authenticated"',  # Supabase's role of every signed-in user
        'user.role == "premium"',  # a plan any client can buy
        "user.role == Role.CREATOR",  # a role users choose for themselves
    ],
)
def test_not_privilege_tests(condition: str) -> None:
    assert not privilege_test(_expression(condition))
    assert not refusal_condition(_expression(f"not ({condition})"))


APP = """\
from fastapi import APIRouter, Depends
from pydantic import BaseModel

from corp_auth import require_admin

router = APIRouter()


class SyncForm(BaseModel):
    items: list[str]


async def store(item: str) -> None:
    return None


@router.post("/sync")
async def sync(form: SyncForm, admin=Depends(require_admin)):
    for item in form.items:
        await store(item)
"""


@pytest.mark.parametrize("name", ["corp_auth.require_admin", "require_admin"])
def test_configured_privileged_dependencies(tmp_path: Path, name: str) -> None:
    """A dependency from a library outside the run is not seen: configured, it is."""
    target = tmp_path / "app.py"
    target.write_text(APP)
    default = reported(run([target], tmp_path, select=["LG301", "LG303"]))
    assert default == {("app.py", 10, "LG301"), ("app.py", 19, "LG303")}
    option = {"privileged_dependencies": [name]}
    configured = run(
        [target], tmp_path, select=["LG301", "LG303"], rules={"LG301": option, "LG303": option}
    )
    assert reported(configured) == set()


def test_a_bad_value_names_the_file_and_the_key(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.leakguard.rules.LG303]\nprivileged_dependencies = "require_admin"\n')
    with pytest.raises(ConfigError) as caught:
        load_config([tmp_path], config)
    message = str(caught.value)
    assert str(config) in message
    assert "tool.leakguard.rules.LG303.privileged_dependencies" in message


@pytest.mark.parametrize(
    "condition",
    [
        'x_role == "admin"',  # a `Header`/`Cookie`/query parameter of the dependency
        'claims["role"] == "admin"',  # a token decoded without verification
        "is_admin",
        "payload.is_admin",  # a body parameter
    ],
)
def test_client_chosen_values_prove_nothing(condition: str) -> None:
    client = frozenset({"x_role", "claims", "is_admin", "payload"})
    assert privilege_test(_expression(condition))
    assert not privilege_test(_expression(condition), client)
    assert not refusal_condition(_expression(f"not ({condition})"), client)


# -- factories and refusals named otherwise (session 14) ----------------------------------

FACTORIES = """\
from fastapi import Depends, HTTPException, Request


def get_user(request: Request):
    return request.state.user


def require_role(role: str):
    def dependency(user=Depends(get_user)):
        if user.role != role:
            raise HTTPException(status_code=403)
        return user

    return dependency


def require_roles(*allowed: str, strict: bool = True):
    async def dependency(user=Depends(get_user)):
        if user.role not in allowed:
            raise HTTPException(status_code=403)
        return user

    return dependency


def require_any(*allowed: str):
    async def dependency(user=Depends(get_user)):
        if user.role not in allowed:
            raise HTTPException(status_code=403)
        return user

    return dependency


def require_widened(role: str):
    def dependency(user=Depends(get_user)):
        if user.role != role:
            raise HTTPException(status_code=403)
        return user

    role = "user"
    return dependency


def require_role_or_default(role: str = "admin"):
    def dependency(user=Depends(get_user)):
        if user.role != role:
            raise HTTPException(status_code=403)
        return user

    return dependency
"""


def _index(sources: dict[str, str]) -> TrustIndex:
    facts: dict[str, Any] = {}
    for path, text in sources.items():
        collected = collect_source(text, path)
        if collected is not None:
            facts[module_name_for(path)] = collected
    return TrustIndex(facts)


def _route(dependency: str) -> str:
    return f"""\
from fastapi import APIRouter, Depends

from app.auth import (
    require_any,
    require_role,
    require_role_or_default,
    require_roles,
    require_widened,
)

router = APIRouter()
ROLE = "admin"


@router.post("/x", dependencies=[Depends({dependency})])
async def handler(items: list[str]):
    return items
"""


@pytest.mark.parametrize(
    ("dependency", "privileged"),
    [
        ('require_role("admin")', True),
        ('require_role(role="admin")', True),
        ('require_any("admin", "owner")', True),
        ("require_any()", False),  # no role at all
        ('require_any("admin", "member")', False),  # a plain role among them
        ('require_roles("admin", "owner", strict=False)', False),  # `strict` is no role
        ('require_role("user")', False),  # the plain user's role
        ("require_role(ROLE)", False),  # a name, not a role constant
        ('require_roles("admin", "member", strict=True)', False),  # a plain role among them
        ("require_roles(strict=True)", False),  # no role at all
        ('require_roles(*["admin"], strict=True)', False),  # unpacked: not known
        ('require_roles("admin")', False),  # `strict` left to its default
        ('require_widened("admin")', False),  # the factory rebinds its parameter
        ("require_role_or_default()", False),  # the default is not judged
    ],
)
def test_dependency_factories(dependency: str, privileged: bool) -> None:
    index = _index({"app/auth.py": FACTORIES, "app/routes.py": _route(dependency)})
    assert index.route_privileged("app.routes", "handler", frozenset()) is privileged


REFUSALS = """\
from fastapi import Depends, HTTPException, Request


class Forbidden(HTTPException):
    status_code = 403


AdminRequired = Forbidden
StillForbidden = AdminRequired


class OwnerRequired(Forbidden):
    pass


class Gone(Forbidden):
    status_code = 410


class Reworded(Forbidden):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def get_user(request: Request):
    return request.state.user


def check_{name}(user=Depends(get_user)):
    if not user.is_admin:
        raise {name}("administrators only")
    return user
"""


@pytest.mark.parametrize(
    ("name", "privileged"),
    [
        ("AdminRequired", True),
        ("StillForbidden", True),
        ("OwnerRequired", True),
        ("Gone", False),  # its own status
        ("Reworded", False),  # its own `__init__` may pass on another status
    ],
)
def test_refusals_named_otherwise(name: str, privileged: bool) -> None:
    source = REFUSALS.replace("{name}", name)
    index = _index({"app/auth.py": source})
    assert index.privileged(f"app.auth:check_{name}", frozenset()) is privileged


HELPERS = """\
from fastapi import Depends, Header, HTTPException, Request


def get_user(request: Request):
    return request.state.user


def require_admin(user):
    if user.role != "admin":
        raise HTTPException(status_code=403)


def require_flag(user, is_admin=True):
    if not is_admin:
        raise HTTPException(status_code=403)


async def ensure_admin(user=Depends(get_user)):
    if not user.is_admin:
        raise HTTPException(status_code=403)


def dependency(request: Request, user=Depends(get_user), x_user: str = Header()):
    {statement}
    return user
"""


@pytest.mark.parametrize(
    ("statement", "privileged"),
    [
        ("require_admin(user)", True),
        ("require_admin(user=user)", True),
        ("await ensure_admin(user)", True),
        ("require_admin(x_user)", False),  # a header the client sends
        ("require_admin(request.headers)", False),
        ("require_admin(*[user])", False),
        ("ensure_admin(user)", False),  # a coroutine never awaited does not run
        ("require_flag(user)", False),  # the flag left to its default
        ("require_flag(user, user.is_admin)", False),  # a defaulted parameter: not judged
    ],
)
def test_refusing_helpers(statement: str, privileged: bool) -> None:
    source = HELPERS.replace("{statement}", statement)
    if "await" in statement:
        source = source.replace("def dependency", "async def dependency")
    index = _index({"app/auth.py": source})
    assert index.privileged("app.auth:dependency", frozenset()) is privileged


ALIASED = """\
from typing import Annotated

from fastapi import Depends, HTTPException, Request


def get_user(request: Request):
    return request.state.user


def audit(event: str) -> None:
    return None


CurrentUser = Annotated[object, Depends(get_user)]


def get_admin(user: CurrentUser):
    audit("admin check")
    if not user.is_admin:
        raise HTTPException(status_code=403)
    return user
"""


def test_a_call_before_the_refusal_keeps_the_alias_reading() -> None:
    """A statement calling a function that refuses nothing (`audit(...)`) is recorded as
    a possible helper refusal; the reading that resolves `CurrentUser` must still be
    made."""
    index = _index({"app/auth.py": ALIASED})
    assert index.privileged("app.auth:get_admin", frozenset())
