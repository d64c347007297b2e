"""A run whose tree did not change takes its discovery from the pack
(`leakguard.discovery_cache`), and only then: a file added or removed, an ignore file
edited or created around the targets, a new `.git` marker, a directory modified too
recently to trust its stamp, or a symlink in the tree all make the run walk the tree
again, and what it finds is what a walk finds."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from leakguard import discovery_cache
from leakguard.config import CliOverrides, ConfigError, load_config
from leakguard.discovery import Discovery, discover
from leakguard.engine import check

HOUR_NS = 3600 * 10**9

SOURCES = {
    "app/__init__.py": "",
    "app/core/model.py": "def f(items):\n    return list(items)\n",
    "app/core/helpers.py": "X = 1\n",
    "app/scripts/run.py": "print('x')\n",
    "app/generated/out.py": "Y = 2\n",
    "app/.gitignore": "generated/\n",
}


def age_all(root: Path) -> None:
    """Everything an hour old: stamps old enough to be trusted."""
    for path in [root, *root.rglob("*")]:
        old = path.lstat().st_mtime_ns - HOUR_NS
        os.utime(path, ns=(old, old), follow_symlinks=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    for name, text in SOURCES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    age_all(tmp_path)
    return tmp_path


class Walks:
    """How many times runs walked the tree."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original: Callable[..., Discovery] = discovery_cache.discover

        def counting(*args: object, **kwargs: object) -> Discovery:
            self.count += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(discovery_cache, "discover", counting)

    def take(self) -> int:
        taken, self.count = self.count, 0
        return taken


def run(project: Path) -> list[str]:
    """The files a cached run checked, checked against a fresh walk's."""
    targets = [project / "app"]
    config = load_config(targets, None, CliOverrides(), cache=True)
    # Without the project's context: its walk (`leakguard.project_context`) goes through
    # the same cache but would add to the walks counted here.
    shown = [r.path for r in check(targets, config, jobs=1, project_context=False).results]
    assert shown == [f.display for f in discover(targets, config).files]
    return shown


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch, project: Path) -> Walks:
    monkeypatch.chdir(project)
    return Walks(monkeypatch)


def test_an_unchanged_tree_is_not_walked_again(project: Path, walks: Walks) -> None:
    first = run(project)
    assert walks.take() == 1
    assert "app/generated/out.py" not in first and "app/core/model.py" in first
    assert run(project) == first
    assert walks.take() == 0


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p: (p / "app/core/new.py").write_text("Z = 3\n"), id="added"),
        pytest.param(lambda p: (p / "app/core/helpers.py").unlink(), id="removed"),
        pytest.param(lambda p: (p / "app/core/helpers.py").rename(p / "app/h.py"), id="moved"),
        pytest.param(lambda p: (p / "app/scripts").rename(p / "app/generated/s"), id="dir moved"),
    ],
)
def test_a_changed_listing_is_walked_again(
    project: Path, walks: Walks, change: Callable[[Path], object]
) -> None:
    run(project)
    walks.take()
    change(project)
    run(project)  # asserts the files are a walk's
    assert walks.take() == 1


def test_an_ignore_file_edited_in_place_is_read_again(project: Path, walks: Walks) -> None:
    assert "app/scripts/run.py" in run(project)
    ignore = project / "app" / ".gitignore"
    ignore.write_text("generated/\nscripts/\n")
    # Only the file's own stamp changed: its directory's listing did not.
    os.utime(project / "app", ns=(0, (project / "app").stat().st_mtime_ns - HOUR_NS))
    walks.take()
    assert "app/scripts/run.py" not in run(project)
    assert walks.take() == 1


def test_an_ignore_file_created_above_the_target_is_seen(project: Path, walks: Walks) -> None:
    assert "app/core/model.py" in run(project)
    (project / ".gitignore").write_text("core/\n")
    walks.take()
    assert "app/core/model.py" not in run(project)
    assert walks.take() == 1


def test_a_new_git_marker_is_seen(project: Path, walks: Walks) -> None:
    (project / ".git").rmdir()
    (project / ".gitignore").write_text("core/\n")
    age_all(project)
    # No repository around `app`: the `.gitignore` above it does not apply.
    assert "app/core/model.py" in run(project)
    # Now there is one, and no directory walked changed: only the marker says so.
    (project / ".git").mkdir()
    walks.take()
    assert "app/core/model.py" not in run(project)
    assert walks.take() == 1


def test_a_file_target_that_became_a_directory_is_walked(project: Path, walks: Walks) -> None:
    target = project / "app" / "scripts" / "run.py"
    config = load_config([target], None, CliOverrides(), cache=True)
    assert [r.path for r in check([target], config, jobs=1, project_context=False).results] == [
        "app/scripts/run.py"
    ]
    target.unlink()
    target.mkdir()
    (target / "inner.py").write_text("Z = 3\n")
    age_all(project)
    walks.take()
    assert [r.path for r in check([target], config, jobs=1, project_context=False).results] == [
        "app/scripts/run.py/inner.py"
    ]
    assert walks.take() == 1


def test_a_file_target_that_is_gone_is_reported_missing(project: Path, walks: Walks) -> None:
    target = project / "app" / "scripts" / "run.py"
    config = load_config([target], None, CliOverrides(), cache=True)
    assert check([target], config, jobs=1, project_context=False).missing == []
    target.unlink()
    age_all(project)
    assert check([target], config, jobs=1, project_context=False).missing == [str(target)]


def test_a_recently_modified_directory_is_not_trusted(project: Path, walks: Walks) -> None:
    # Modified as the run starts, then recorded: its stamp could still change within the
    # clock's granularity without the mtime moving, so the next run walks again. The stamp
    # is set past the write itself: on a loaded machine the run may start more than the
    # racy margin after the write, which would make a real "now" old enough to trust.
    created = project / "app" / "core" / "new.py"
    created.write_text("Z = 3\n")
    during_the_run = time.time_ns() + 1_000_000_007
    for path in (created, created.parent):
        os.utime(path, ns=(during_the_run, during_the_run))
    run(project)
    run(project)
    assert walks.take() == 2


def test_a_tree_with_a_symlink_is_always_walked(project: Path, walks: Walks) -> None:
    (project / "app" / "linked").symlink_to(project / "app" / "core")
    age_all(project)
    run(project)
    run(project)
    assert walks.take() == 2


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux file names may be any bytes")
def test_an_undecodable_file_name_is_warned_about_on_every_run(project: Path, walks: Walks) -> None:
    with open(os.fsencode(project / "app" / "core") + b"/caf\xe9.py", "w") as stream:
        stream.write("X = 1\n")
    age_all(project)
    targets = [project / "app"]
    warnings = []
    for _ in range(2):
        config = load_config(targets, None, CliOverrides(), cache=True)
        warnings.append(
            [
                (e.path, e.message)
                for e in check(targets, config, jobs=1, project_context=False).problems
            ]
        )
    assert walks.take() == 1
    assert warnings[0] == warnings[1]
    assert warnings[0] == [
        ("app/core/caf\\xe9.py", "file name is not valid UTF-8; shown with \\x escapes")
    ]


def test_an_invalid_exclude_pattern_fails_every_run(tmp_path: Path) -> None:
    for _ in range(2):
        with pytest.raises(ConfigError, match="--exclude"):
            load_config([tmp_path], None, CliOverrides(exclude=["build/", "!"]), cache=True)
    # A valid list is accepted from the cache on the second run.
    for _ in range(2):
        load_config([tmp_path], None, CliOverrides(exclude=["build/"]), cache=True)
