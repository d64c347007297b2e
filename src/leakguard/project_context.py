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

The project is the configuration's root (`Config.root`: the folder of the configuration
file, else the working directory; module names are paths relative to it), walked as
discovery walks a directory (default excludes, `exclude`/`extend-exclude`, `.gitignore`
rules), minus the files the run was given. A run has context only when:

- every target lies strictly inside the root (a target that is the root or holds it is
  a whole run; one outside it has no module name in the project);
- a configuration file was found, or the root (the working directory) is a project
  top: it holds `.git`, or every target lies in a package whose `__init__.py` chain
  reaches up to the root (`leakguard check notes.py` run from a home directory must not
  walk it);
- the project holds at most `MAX_PROJECT_FILES` Python files (a cold partial run pays
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
    targets: Sequence[Path], found: Discovery, config: Config, cache: ResultCache | None
) -> list[SourceFile]:
    """The project's Python files the run was not given (see the module docstring);
    empty for a whole run, or when the run has no project within the bounds."""
    root = project_root(targets, config)
    if root is None:
        return []
    project = discover_cached([root], config, cache) if cache else discover([root], config)
    if len(project.files) > MAX_PROJECT_FILES:
        return []
    given = {f.display for f in found.files}
    return [f for f in project.files if f.display not in given]


def project_root(targets: Sequence[Path], config: Config) -> Path | None:
    """The folder whose files are the partial run's project, None for a whole run or
    one without a project (the bounds of the module docstring, but the size)."""
    root = config.root.resolve()
    if not targets:
        return None
    for target in targets:
        where = Path(os.path.realpath(target))
        if where == root or not where.is_relative_to(root):
            return None
    found_config = config.source not in (None, "<defaults>")
    if found_config or (root / ".git").exists():
        return root
    if all(_in_package_below(Path(os.path.realpath(t)), root) for t in targets):
        return root
    return None


def _in_package_below(target: Path, root: Path) -> bool:
    """`target`'s folder is a package, and so is each folder between it and `root`."""
    folder = target if target.is_dir() else target.parent
    if folder == root:
        return False
    while folder != root:
        if not (folder / "__init__.py").is_file():
            return False
        folder = folder.parent
    return True
