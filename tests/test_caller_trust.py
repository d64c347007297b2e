"""The caller-trust fact (analysis/caller_trust): which conditions prove a privileged
caller, and the `privileged_dependencies` option for what inference cannot see."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from leakguard.analysis.caller_trust import privilege_test, refusal_condition
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
