"""The pre-commit hooks, installed and run by the real `pre-commit try-repo`.

try-repo clones this repository (with uncommitted changes to tracked files), pip-installs
it into an isolated environment and runs the hook, exactly as a user's pre-commit would.
That needs PyPI and takes ~20 s per run, so the two runs go in parallel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "integrations" / "project"
TIMEOUT = 480


def _pre_commit() -> str:
    executable = Path(sys.executable).parent / "pre-commit"
    command = str(executable) if executable.exists() else shutil.which("pre-commit")
    assert command, "pre-commit is not installed (pip install -e .[dev])"
    return command


def _is_git_checkout(path: Path) -> bool:
    completed = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=path,
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.returncode == 0 and Path(completed.stdout.strip()).resolve() == path


def _git(repo: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=60
    )
    return completed.stdout


def _user_repository(destination: Path) -> Path:
    """A user's git repository with one file that has findings, one that is clean, and an
    excluded folder of deliberately bad fixtures (as leakguard's own repository has)."""
    shutil.copytree(FIXTURE, destination)
    (destination / "broken.py").unlink()
    config = destination / ".leakguard.yaml"
    config.write_text(
        config.read_text(encoding="utf-8") + 'extend-exclude: ["fixtures/"]\n', encoding="utf-8"
    )
    (destination / "fixtures").mkdir()
    shutil.copy(destination / "service.py", destination / "fixtures" / "bad_example.py")
    _git(destination, "init", "-q")
    _git(destination, "add", "-A")
    return destination


def _try_repo(cwd: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "LEAKGUARD_"))}
    return subprocess.Popen(
        [_pre_commit(), "try-repo", str(PROJECT_ROOT), *args, "--color", "never"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "NO_COLOR": "1", "CI": "1"},
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        output, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return process.returncode, output


@pytest.mark.slow
def test_hooks_fail_on_findings_and_pass_on_clean_files(tmp_path: Path) -> None:
    if not _is_git_checkout(PROJECT_ROOT):
        pytest.skip("the project is not a git checkout; pre-commit try-repo needs one")
    clean_repo = _user_repository(tmp_path / "clean")
    dirty_repo = _user_repository(tmp_path / "dirty")

    # Both try-repo runs install leakguard from scratch; run them side by side. The
    # excluded fixture is named explicitly, as pre-commit names every staged file.
    excluded = "fixtures/bad_example.py"
    clean = _try_repo(clean_repo, "leakguard", "--files", "clean.py", excluded)
    dirty = _try_repo(dirty_repo, "--files", "service.py", "clean.py", excluded)  # every hook
    clean_code, clean_output = _finish(clean)
    dirty_code, dirty_output = _finish(dirty)

    assert clean_code == 0, clean_output  # --force-exclude: the bad fixture is skipped
    assert "leakguard" in clean_output and "Passed" in clean_output
    assert "bad_example" not in clean_output

    assert dirty_code == 1, dirty_output
    assert "- hook id: leakguard\n" in dirty_output
    assert "service.py:9:12: LG401" in dirty_output
    assert "service.py:21:" not in dirty_output  # suppressed with noqa
    assert "bad_example" not in dirty_output

    # The SARIF hook checks the whole repository (minus excludes), says why it failed on
    # stderr, and writes its report into the git-ignored cache: nothing is left untracked.
    assert "- hook id: leakguard-sarif" in dirty_output
    assert "leakguard: 3 findings in 1 file, 0 file errors; sarif report written to" in (
        dirty_output
    )
    assert "  service.py:9:12: LG401" in dirty_output
    report_path = dirty_repo / ".leakguard_cache" / "leakguard.sarif"
    report = json.loads(report_path.read_text(encoding="utf-8"))
    results = report["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["LG401"] * 3
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"service.py"}
    for repo in (clean_repo, dirty_repo):
        status = _git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
        assert [line for line in status if line.startswith("??")] == []


def test_manifest_is_valid_for_pre_commit() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = {
        hook["id"]: hook for hook in load_manifest(str(PROJECT_ROOT / ".pre-commit-hooks.yaml"))
    }
    assert set(hooks) == {"leakguard", "leakguard-sarif"}
    assert hooks["leakguard"]["types"] == ["python"]
    # pre-commit names files explicitly: without --force-exclude, excludes would not apply.
    assert hooks["leakguard"]["entry"] == "leakguard check --force-exclude"
    assert "--force-exclude" in hooks["leakguard-sarif"]["entry"]
    assert "--format sarif" in hooks["leakguard-sarif"]["entry"]
    assert "--output .leakguard_cache/" in hooks["leakguard-sarif"]["entry"]


def _yaml_blocks(markdown: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", markdown, re.S)


def test_integration_docs_snippets_match_the_hooks_and_parse() -> None:
    import yaml

    docs = (PROJECT_ROOT / "docs" / "integrations.md").read_text(encoding="utf-8")
    blocks = _yaml_blocks(docs)
    config = yaml.safe_load(blocks[0])
    (repo,) = config["repos"]
    # Until tags exist, the documented rev is a commit sha (issue 15: `v0.1.0` did not
    # exist); it must be a commit of this repository whose hooks pass --force-exclude.
    assert re.fullmatch(r"[0-9a-f]{40}", repo["rev"]), repo["rev"]
    hooks_then = _git(PROJECT_ROOT, "show", f"{repo['rev']}:.pre-commit-hooks.yaml")
    assert hooks_then.count("leakguard check --force-exclude") == 2
    assert "pre-commit autoupdate" in docs
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"rev: {repo['rev']}" in readme  # the README's snippet pins the same commit
    manifest = yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    assert {hook["id"] for hook in repo["hooks"]} <= {hook["id"] for hook in manifest}

    workflows = [yaml.safe_load(b) for b in blocks if "jobs:" in b]
    (workflow,) = workflows
    steps = workflow["jobs"]["leakguard"]["steps"]
    uses = [step.get("uses", "") for step in steps]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    commands = " ".join(step.get("run", "") for step in steps)
    assert "--format sarif" in commands and "--format github" in commands
    assert workflow["jobs"]["leakguard"]["permissions"]["security-events"] == "write"
