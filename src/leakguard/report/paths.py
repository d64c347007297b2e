"""Where reported paths are relative to.

The engine names files relative to the configuration's folder (`Config.root`): that is
what `per-file-ignores`, module names, the cache and baselines need. People and tools
need something else (issue 15): text, JSON and GitHub output name files relative to the
working directory, as Ruff does, so `backend/app/m.py` run from the repository root is
printed as `backend/app/m.py`, not `app/m.py`; SARIF names them relative to the
repository's top level, which GitHub code scanning resolves `%SRCROOT%` against.
"""

from __future__ import annotations

import os
from pathlib import Path

from leakguard.engine import RunResult
from leakguard.finding import Finding


def source_root(start: Path) -> Path:
    """The git top level around `start` (a `.git` directory, or a `.git` file in worktrees
    and submodules), else `start` itself."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def rebase_path(path: str, old_base: Path, new_base: Path, *, absolute_outside: bool) -> str:
    """`path` (relative to `old_base`, or absolute) relative to `new_base`, POSIX style.

    A file outside `new_base` is written with `..` parts, or as an absolute path when
    `absolute_outside` (SARIF: a relative URI must not climb out of `%SRCROOT%`)."""
    # Strings, not pathlib: every reported file of every run passes here (~30 us each
    # with `relative_to`, which also raises for every file outside `new_base`).
    absolute = os.path.normpath(os.path.join(old_base, path))
    base = str(new_base)
    prefix = os.path.join(base, "")
    if absolute.startswith(prefix) and len(absolute) > len(prefix):
        return _posix(absolute[len(prefix) :])
    if absolute == base:
        return "."
    if absolute_outside:
        return _posix(absolute)
    try:
        return _posix(os.path.relpath(absolute, base))
    except ValueError:  # another drive on Windows
        return _posix(absolute)


def _posix(path: str) -> str:
    return path.replace(os.sep, "/") if os.sep != "/" else path


def relocate(
    run: RunResult, old_base: Path, new_base: Path, *, absolute_outside: bool = False
) -> RunResult:
    """The same run with every path rewritten from `old_base` to `new_base`."""
    old_base, new_base = old_base.resolve(), new_base.resolve()
    if old_base == new_base:
        return run
    cache: dict[str, str] = {}
    base_prefix = _posix(os.path.join(new_base, ""))

    def holds_new_base(moved: str) -> bool:
        """Whether the folder rebased to `moved` is `new_base` or an ancestor of it."""
        if moved.startswith(".."):
            return all(part == ".." for part in moved.split("/"))
        return os.path.isabs(moved) and base_prefix.startswith(_posix(os.path.join(moved, "")))

    def move(path: str) -> str:
        if path not in cache:
            # A file moves with its folder, one rebase per folder instead of per file,
            # unless that folder holds `new_base` (`..` and the way back down would not
            # cancel).
            folder, _, name = path.rpartition("/")
            moved = move(folder) if folder and name not in ("", ".", "..") else None
            if moved is None or (moved != "." and holds_new_base(moved)):
                moved = rebase_path(path, old_base, new_base, absolute_outside=absolute_outside)
            else:
                moved = name if moved == "." else f"{moved}/{name}"
            cache[path] = moved
        return cache[path]

    def finding(f: Finding) -> Finding:
        related = tuple(r._replace(path=move(r.path)) for r in f.related)
        return f._replace(path=move(f.path), related=related)

    results = [
        result.replace(
            path=move(result.path),
            findings=[finding(f) for f in result.findings],
            errors=[e._replace(path=move(e.path)) for e in result.errors],
        )
        for result in run.results
    ]
    return run.replace(results)
