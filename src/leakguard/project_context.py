"""The project around a partial run: the files it was not given whose facts it needs.

Several project facts ask "is there anywhere in the project that does X?": is this
function reached only from start-up, is this class built once per process, does any
caller hand this function request data, is this exception class ever made from another
exception's text, ... A run given only some files (pre-commit names the changed files;
a user runs `leakguard check app/core`) would answer from those files alone, and an
absence among them proves nothing: the per-call construction, the route or the caller
may sit in a file left out. So a partial run finds its project, runs the facts pass
over the project's other Python files as *context* (their facts are cached by content
like any file's, so a warm pre-commit run reads them back after one `stat` each), and
analyses and reports only the files it was given. Its project facts are then the whole
project's, and `leakguard check FILE` reports on FILE what the whole run reports on it.

The project of a target is the outermost package holding it (its folder, up the
`__init__.py` chain, below the configuration's root `Config.root`, where module names are
paths relative to), or, for a target in no package, its own folder (a flat layout's
modules sit side by side); it is walked as discovery walks a directory (default
excludes, `exclude`/`extend-exclude`, `.gitignore` rules), minus the files the run was
given. So `leakguard check app/api/routes.py` reports on that file what
`leakguard check app` reports on it, and costs what that run costs: not a walk of a
repository's tests, docs and other packages (a route in another top-level package, which
a run of `app` alone does not see either, stays unseen). A run has context only when:

- every target lies strictly inside the root (a target that is the root or holds it is
  a whole run; one outside it has no module name in the project);
- a target whose project would be the root itself (a module at the root, in no
  package) has one only when a configuration file was found or the root holds `.git`
  (`leakguard check notes.py` run from a home directory must not walk it);
- the projects hold at most `MAX_PROJECT_FILES` Python files (a cold partial run pays
  the facts pass over all of them; ~6,000 files cost minutes of CPU).

Otherwise the run keeps the behaviour it had before context existed: its facts come
from its own files, and the facts that distrust a run not holding a file's package
(`StartupIndex.whole`, `curated_exceptions._Curation.whole`, `integrity`'s trusted
callers) keep answering "possible". In-memory texts (`engine.check_text`: stdin, the
language server) have no context either.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from leakguard.cache import ResultCache
from leakguard.config import Config
from leakguard.discovery import Discovery, SourceFile, discover
from leakguard.discovery_cache import discover_cached

# Above this many Python files in the project, a partial run collects no context.
MAX_PROJECT_FILES = 5000


def context_files(
    folders: Sequence[Path], found: Discovery, config: Config, cache: ResultCache | None
) -> list[SourceFile]:
    """The Python files of the projects in `folders` (`project_folders`) the run was
    not given (see the module docstring); empty for a whole run, or when the run has
    no project within the bounds."""
    if not folders:
        return []
    paths = list(folders)
    project = discover_cached(paths, config, cache) if cache else discover(paths, config)
    if len(project.files) > MAX_PROJECT_FILES:
        return []
    given = {f.display for f in found.files}
    return [f for f in project.files if f.display not in given]


def project_folders(targets: Sequence[Path], config: Config) -> tuple[Path, ...]:
    """The folders whose files are the partial run's projects (outermost first, none
    inside another); empty for a whole run or one without a project (the bounds of
    the module docstring, but the size)."""
    root = config.root.resolve()
    unmarked = config.source in (None, "<defaults>") and not (root / ".git").exists()
    folders: set[Path] = set()
    for target in targets:
        where = Path(os.path.realpath(target))
        if where == root or not where.is_relative_to(root):
            return ()
        folder = _outermost_package(where, root)
        if folder == root and unmarked:
            return ()
        folders.add(folder)
    return tuple(
        sorted(f for f in folders if not any(f != o and f.is_relative_to(o) for o in folders))
    )


def _outermost_package(target: Path, root: Path) -> Path:
    """The outermost package below `root` holding `target`; `target`'s own folder when
    that is no package."""
    folder = target if target.is_dir() else target.parent
    top = folder
    while folder != root and (folder / "__init__.py").is_file():
        top = folder
        folder = folder.parent
    return top
