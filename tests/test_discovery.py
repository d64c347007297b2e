"""File discovery (issue 2): recursion into *.py (and *.pyi on request), default
excludes, user excludes, .gitignore in a real git repository, explicit files always
checked, and symlink loops never followed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leakguard.discovery import discover
from leakguard.testing import make_config

SOURCE = "import pickle\n\n\ndef load(blob):\n    return pickle.loads(blob)\n"

DEFAULT_EXCLUDED_DIRS = [
    ".git",
    ".venv",
    "venv",
    "build",
    "dist",
    "__pycache__",
    "node_modules",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".leakguard_cache",
    "pkg.egg-info",
]


def touch(path: Path, text: str = SOURCE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def found(tmp_path: Path, *targets: Path | str, **user: object) -> list[str]:
    config = make_config(tmp_path, **user)
    paths = [tmp_path / t if isinstance(t, str) else t for t in targets] or [tmp_path]
    return [f.display for f in discover(paths, config).files]


def git_init(path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(path)], check=True, timeout=30)


def test_recurses_into_python_files_only(tmp_path: Path) -> None:
    touch(tmp_path / "a.py")
    touch(tmp_path / "pkg" / "__init__.py", "")
    touch(tmp_path / "pkg" / "sub" / "b.py")
    touch(tmp_path / "pkg" / "stub.pyi")
    touch(tmp_path / "README.md", "# not python\n")
    touch(tmp_path / "script", "#!/usr/bin/env python\n")
    assert found(tmp_path) == ["a.py", "pkg/__init__.py", "pkg/sub/b.py"]


def test_pyi_files_are_opt_in(tmp_path: Path) -> None:
    touch(tmp_path / "a.py")
    touch(tmp_path / "stub.pyi")
    assert found(tmp_path, include_pyi=True) == ["a.py", "stub.pyi"]


def test_default_excludes(tmp_path: Path) -> None:
    for name in DEFAULT_EXCLUDED_DIRS:
        touch(tmp_path / name / "mod.py")
        touch(tmp_path / "nested" / name / "mod.py")
    touch(tmp_path / "nested" / "kept.py")
    touch(tmp_path / "building.py")  # only the directory `build/` is excluded
    assert found(tmp_path) == ["building.py", "nested/kept.py"]


def test_exclude_and_extend_exclude(tmp_path: Path) -> None:
    touch(tmp_path / "gen" / "x.py")
    touch(tmp_path / "src" / "migrations" / "0001.py")
    touch(tmp_path / "src" / "app.py")
    touch(tmp_path / ".venv" / "lib.py")
    assert found(tmp_path, extend_exclude=["gen/", "migrations"]) == ["src/app.py"]
    # `exclude` replaces the defaults.
    assert found(tmp_path, exclude=["gen/"]) == [
        ".venv/lib.py",
        "src/app.py",
        "src/migrations/0001.py",
    ]


def test_cli_exclude_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from leakguard.cli import main

    touch(tmp_path / "gen" / "x.py")
    touch(tmp_path / "app.py")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--no-cache", "--select", "LG401", "-q", "--extend-exclude", "gen"]) == 1
    out = capsys.readouterr().out
    assert "app.py:5:12: LG401" in out and "gen/x.py" not in out
    assert main(["check", "--no-cache", "--select", "LG401", "-q", "--exclude", "gen,app.py"]) == 0


def test_gitignore_in_a_git_repository(tmp_path: Path) -> None:
    git_init(tmp_path)
    touch(tmp_path / ".gitignore", "ignored_dir/\nsecret_*.py\n/rooted.py\n")
    touch(tmp_path / "ignored_dir" / "a.py")
    touch(tmp_path / "src" / "secret_key.py")
    touch(tmp_path / "rooted.py")
    touch(tmp_path / "src" / "rooted.py")  # `/rooted.py` is anchored to the repo root
    touch(tmp_path / "src" / "gen" / ".gitignore", "*.py\n!keep.py\n")
    touch(tmp_path / "src" / "gen" / "drop.py")
    touch(tmp_path / "src" / "gen" / "keep.py")
    touch(tmp_path / "src" / "app.py")
    assert found(tmp_path) == ["src/app.py", "src/gen/keep.py", "src/rooted.py"]
    # Running on a subdirectory still honours the repository root's .gitignore.
    assert found(tmp_path, "src") == ["src/app.py", "src/gen/keep.py", "src/rooted.py"]


def test_gitignore_can_be_turned_off(tmp_path: Path) -> None:
    git_init(tmp_path)
    touch(tmp_path / ".gitignore", "ignored.py\n")
    touch(tmp_path / "ignored.py")
    assert found(tmp_path) == []
    assert found(tmp_path, respect_gitignore=False) == ["ignored.py"]


def test_explicit_files_are_always_checked(tmp_path: Path) -> None:
    git_init(tmp_path)
    touch(tmp_path / ".gitignore", "ignored.py\n")
    touch(tmp_path / "ignored.py")
    touch(tmp_path / "build" / "gen.py")
    touch(tmp_path / "notes.txt", SOURCE)
    targets = [tmp_path / "ignored.py", tmp_path / "build" / "gen.py", tmp_path / "notes.txt"]
    assert found(tmp_path, *targets, extend_exclude=["notes.txt"]) == [
        "build/gen.py",
        "ignored.py",
        "notes.txt",
    ]


def test_explicit_excluded_file_is_reported_by_the_cli(tmp_path: Path) -> None:
    touch(tmp_path / "build" / "gen.py")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "leakguard",
            "check",
            "build/gen.py",
            "--no-cache",
            "-q",
            "--select",
            "LG401",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "build/gen.py:5:12: LG401" in result.stdout


def test_duplicate_targets_are_checked_once(tmp_path: Path) -> None:
    touch(tmp_path / "a.py")
    assert found(tmp_path, tmp_path, "a.py", tmp_path / "." / "a.py") == ["a.py"]


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    touch(tmp_path / "pkg" / "mod.py")
    (tmp_path / "pkg" / "loop").symlink_to(tmp_path / "pkg", target_is_directory=True)
    (tmp_path / "pkg" / "up").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "to_b").symlink_to(tmp_path / "b", target_is_directory=True)
    (tmp_path / "b" / "to_a").symlink_to(tmp_path / "a", target_is_directory=True)
    touch(tmp_path / "b" / "inside_b.py")
    files = found(tmp_path)
    # Each real directory is walked once, whatever path reaches it first.
    assert "pkg/mod.py" in files
    assert len(files) == 2
    assert sum(f.endswith("inside_b.py") for f in files) == 1


def test_symlinked_file_keeps_its_own_name(tmp_path: Path) -> None:
    touch(tmp_path / "real" / "impl.txt", SOURCE)
    (tmp_path / "alias.py").symlink_to(tmp_path / "real" / "impl.txt")
    assert found(tmp_path) == ["alias.py"]
