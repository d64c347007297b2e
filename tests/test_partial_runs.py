"""Partial runs (`leakguard.project_context`): `leakguard check FILE` reports on FILE what
the whole project's run reports on it, cold and warm, and through a real pre-commit run
of one changed file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leakguard.engine import check
from leakguard.testing import make_config

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
SOURCE = Path(__file__).resolve().parent.parent / "src"

# Cross-file rule fixtures (a project each) of several rules and facts: start-up reach,
# singletons, caller trust, clamps, collection work, request paths, model loads.
PROJECTS = [
    "LG108/pos_instance_kept_across_files",
    "LG108/neg_instances_die_across_files",
    "LG110/pos_cross_file_dependency",
    "LG201/neg_startup_only_crossfile",
    "LG201/pos_startup_spawned_and_named_main",
    "LG204/pos_crossfile_request_path",
    "LG301/neg_crossfile_privileged",
    "LG301/pos_crossfile_evidence",
    "LG302/neg_crossfile_bounded",
    "LG303/pos_module_client_receivers",
]


def _on(run: object, display: str | None = None) -> list[tuple[str, int, str]]:
    findings = run.findings  # type: ignore[attr-defined]
    return sorted((f.path, f.line, f.rule) for f in findings if display in (None, f.path))


@pytest.mark.parametrize("project", PROJECTS)
def test_check_file_equals_the_whole_run_on_file(tmp_path: Path, project: str) -> None:
    rule, name = project.split("/")
    shutil.copytree(FIXTURES / rule / name, tmp_path / name)
    config = make_config(tmp_path, select=[rule])
    whole = check([tmp_path / name], config, jobs=1, use_cache=False)
    files = sorted((tmp_path / name).rglob("*.py"))
    assert files
    for file in files:
        display = file.relative_to(tmp_path).as_posix()
        alone = check([file], config, jobs=1, use_cache=False)
        assert _on(alone) == _on(whole, display), display


REGISTRY = """\
from functools import lru_cache


class StoreRegistry:
    @lru_cache(maxsize=100)
    def get_store(self, uri):
        return uri
"""
UTILS = """\
from .store.registry import StoreRegistry

_registry = StoreRegistry()
"""
PER_CALL_ROUTES = """\
from .store.registry import StoreRegistry


def fresh_store(uri):
    return StoreRegistry().get_store(uri)
"""
ONCE_ROUTES = """\
from .utils import _registry


def fresh_store(uri):
    return _registry.get_store(uri)
"""


def _registry_project(root: Path, routes: str) -> None:
    package = root / "app"
    (package / "store").mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "store" / "__init__.py").write_text("")
    (package / "store" / "registry.py").write_text(REGISTRY)
    (package / "utils.py").write_text(UTILS)
    (package / "routes.py").write_text(routes)


@pytest.mark.parametrize("per_call_first", [True, False], ids=["edited_out", "edited_in"])
def test_partial_run_warm_equals_cold_after_an_edit_in_context(
    tmp_path: Path, per_call_first: bool
) -> None:
    # Only the registry is checked; the per-call construction comes and goes in
    # `routes.py`, a context file the run was not given.
    _registry_project(tmp_path, PER_CALL_ROUTES if per_call_first else ONCE_ROUTES)
    config = make_config(tmp_path, select=["LG108"])
    registry = tmp_path / "app" / "store" / "registry.py"
    first = check([registry], config, jobs=1)
    routes = tmp_path / "app" / "routes.py"
    routes.write_text(ONCE_ROUTES if per_call_first else PER_CALL_ROUTES)
    warm = check([registry], config, jobs=1)
    cold = check([registry], config, jobs=1, use_cache=False)
    assert [f.to_json() for f in warm.findings] == [f.to_json() for f in cold.findings]
    firing, silent = (first, cold) if per_call_first else (cold, first)
    assert _on(firing) == [("app/store/registry.py", 5, "LG108")]
    assert _on(silent) == []
    again = check([registry], config, jobs=1)  # served whole from the pack
    assert all(r.from_cache for r in again.results)
    assert [f.to_json() for f in again.findings] == [f.to_json() for f in cold.findings]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)


def _pre_commit() -> str | None:
    executable = Path(sys.executable).parent / "pre-commit"
    return str(executable) if executable.exists() else shutil.which("pre-commit")


def test_pre_commit_of_one_changed_file_keeps_a_cross_file_finding(tmp_path: Path) -> None:
    """pre-commit names only the staged file: the registry, which builds its one
    instance at import time; the per-call construction that makes its cache a leak is
    in a file committed earlier and unchanged (alone, the registry looked built once)."""
    command = _pre_commit()
    if command is None or shutil.which("git") is None:
        pytest.skip("pre-commit or git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    _registry_project(repo, PER_CALL_ROUTES)
    (repo / ".leakguard.yaml").write_text("select: [LG108]\n")
    # A local hook runs this checkout's leakguard in this interpreter: no install.
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        "  - repo: local\n"
        "    hooks:\n"
        "      - id: leakguard\n"
        "        name: leakguard\n"
        f"        entry: {sys.executable} -m leakguard check --force-exclude\n"
        "        language: system\n"
        "        types: [python]\n"
    )
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    registry = repo / "app" / "store" / "registry.py"
    registry.write_text(REGISTRY + "\n\n_registry = StoreRegistry()\n")
    _git(repo, "add", "app/store/registry.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "LEAKGUARD_"))}
    env.update(PYTHONPATH=str(SOURCE), PRE_COMMIT_HOME=str(tmp_path / "pc"), NO_COLOR="1", CI="1")
    done = subprocess.run(
        [command, "run", "--color", "never"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "app/store/registry.py:5:" in done.stdout and "LG108" in done.stdout, done.stdout
    assert "routes.py" not in done.stdout  # the context file is not reported
