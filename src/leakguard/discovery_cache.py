"""Discovery served from the run's pack while the tree's directories are unchanged.

A warm run of an unchanged tree would otherwise list every directory, match every entry
against the excludes and `.gitignore` rules, and import pathspec to do it (~15 ms of a
~100 ms run on 245 files). As git's untracked cache does, the pack keeps the walk's
result with what it depended on (`discovery.Witness`): the stamp of every directory
walked (adding, removing or renaming an entry changes its directory's mtime and
ctime), of every ignore file read and the absence of those looked for, and which `.git`
markers exist around the targets. A later run re-checks all of that with one `stat`
each and reuses the result only if everything is as recorded, under the same racy rule
as the files' stamps (`cache.fresh`: a stamp too close to the recording run's start is
never trusted). The entry's key holds everything else the walk read: the targets as
written and resolved, the working directory, and the configuration's discovery settings.

A walk that met a symlink (its target can change type with no stamp here changing), a
target that is neither a plain file nor a directory, or any problem is not kept.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from leakguard.cache import ResultCache, stamp_of
from leakguard.config import Config
from leakguard.discovery import Discovery, SourceFile, Witness, discover, name_problems


def discover_cached(targets: Sequence[Path], config: Config, cache: ResultCache) -> Discovery:
    """`discovery.discover(targets, config)`, from the pack when it still holds."""
    key = cache.key("discovery", _scope(targets, config), "")
    recorded = cache.load(key)
    found = _replay(recorded, targets, cache) if recorded is not None else None
    if found is not None:
        return found
    witness = Witness()
    found = discover(targets, config, witness=witness)
    if witness.cacheable:
        cache.store(key, _record(found, witness, targets))
    return found


def _scope(targets: Sequence[Path], config: Config) -> str:
    # The targets' resolved paths: a symlink on the way to a target decides what the
    # displayed paths are, and where the `.git` markers and ignore files are looked for.
    folders: dict[str, str] = {}
    where = [[str(t), _resolved(t, folders)] for t in targets]
    settings = [
        str(config.root),
        list(config.exclude),
        list(config.extend_exclude),
        config.respect_gitignore,
        config.include_pyi,
        config.force_exclude,
    ]
    return json.dumps([os.getcwd(), where, settings])


def _resolved(target: Path, folders: dict[str, str]) -> str:
    """`os.path.realpath(target)`, resolving each folder once (`folders`): a hook names
    every staged file, and a full resolve is a syscall per part of each path."""
    folder, name = os.path.split(target)
    if name in ("", ".", "..") or os.path.islink(target):
        return os.path.realpath(target)
    if folder not in folders:
        folders[folder] = os.path.realpath(folder)
    return os.path.join(folders[folder], name)


def _record(found: Discovery, witness: Witness, targets: Sequence[Path]) -> dict[str, Any]:
    return {
        # A target named as a file that is now a directory (or gone) must be walked.
        "kinds": _kinds(targets),
        "files": [[str(f.path), f.display] for f in found.files],
        "directories": [[path, list(stamp_of(info))] for path, info in witness.directories],
        "ignores": [
            [path, None if info is None else list(stamp_of(info))] for path, info in witness.files
        ],
        "markers": [[path, present] for path, present in witness.markers],
    }


def _kinds(targets: Sequence[Path]) -> list[str]:
    return ["dir" if os.path.isdir(t) else "file" if os.path.exists(t) else "" for t in targets]


def _replay(recorded: Any, targets: Sequence[Path], cache: ResultCache) -> Discovery | None:
    """The recorded discovery if everything it depended on is as it was, else None."""
    try:
        if recorded["kinds"] != _kinds(targets):
            return None
        for path, stamp in (*recorded["directories"], *recorded["ignores"]):
            if not _same(path, stamp, cache):
                return None
        for path, present in recorded["markers"]:
            if os.path.exists(path) != present:
                return None
        files = [SourceFile(Path(path), display) for path, display in recorded["files"]]
    except (TypeError, ValueError, KeyError):
        return None
    return Discovery(files, [], name_problems(files))


def _same(path: str, stamp: list[int] | None, cache: ResultCache) -> bool:
    try:
        info = os.stat(path)
    except OSError:
        return stamp is None
    return stamp is not None and cache.trusted(stamp, info)
