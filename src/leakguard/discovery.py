"""Which files to check: explicit files always; directories recursively, minus
default excludes, user excludes and `.gitignore` rules; symlink loops are never followed."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pathspec

from leakguard.config import Config


@dataclass(frozen=True)
class SourceFile:
    path: Path  # as opened
    display: str  # relative to the run's root when possible, POSIX separators


@dataclass
class Discovery:
    files: list[SourceFile]
    missing: list[str]


def _display(path: Path, root: Path, resolved_dirs: dict[Path, Path] | None = None) -> str:
    # Resolve only the directory: a symlinked file is shown under its own name (a
    # dangling link must not be reported as its missing target). Directories are
    # resolved once per run (`resolved_dirs`): resolving is a syscall per path part.
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        pass
    directory = absolute.parent
    if resolved_dirs is None:
        resolved = directory.resolve()
    else:
        resolved = resolved_dirs.get(directory) or resolved_dirs.setdefault(
            directory, directory.resolve()
        )
    try:
        return (resolved / absolute.name).relative_to(root).as_posix()
    except ValueError:
        # Outside the root: absolute, so reports can name it relative to any directory.
        return absolute.as_posix()


def _gitignore_spec(directory: Path) -> pathspec.GitIgnoreSpec | None:
    ignore_file = directory / ".gitignore"
    try:
        lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def discover(targets: Sequence[Path], config: Config, root: Path | None = None) -> Discovery:
    """Files to check under `targets`. With `config.force_exclude`, files named explicitly
    are dropped when `exclude`/`extend-exclude` match them (pre-commit names every staged
    file, excluded or not)."""
    base = (root or config.root).resolve()
    exclude = pathspec.GitIgnoreSpec.from_lines([*config.exclude, *config.extend_exclude])
    suffixes = (".py", ".pyi") if config.include_pyi else (".py",)
    seen: set[str] = set()
    files: list[SourceFile] = []
    missing: list[str] = []

    resolved_dirs: dict[Path, Path] = {}

    def add(path: Path) -> None:
        display = _display(path, base, resolved_dirs)
        if display not in seen:
            seen.add(display)
            files.append(SourceFile(path, display))

    for target in targets:
        if target.is_file() or (target.exists() and not target.is_dir()):
            if config.force_exclude and _excluded(target, base, exclude):
                continue
            add(target)  # explicit files are checked unless `force_exclude`
        elif target.is_dir():
            # Like ruff: naming an excluded directory explicitly checks it; excludes then
            # apply only to what lies below it.
            root_for_excludes: Path | None = base
            absolute = target.resolve()
            inside = absolute.is_relative_to(base) and absolute != base
            if inside and exclude.match_file(absolute.relative_to(base).as_posix() + "/"):
                root_for_excludes = None
            walker = _walk_directory(
                target, exclude, suffixes, config.respect_gitignore, root_for_excludes
            )
            for path in walker:
                add(path)
        else:
            missing.append(str(target))
    files.sort(key=lambda f: f.display)
    return Discovery(files, missing)


def _excluded(path: Path, base: Path, exclude: pathspec.GitIgnoreSpec) -> bool:
    absolute = Path(os.path.abspath(path))
    if not absolute.is_relative_to(base):
        return False
    return exclude.match_file(absolute.relative_to(base).as_posix())


def _walk_directory(
    top: Path,
    exclude: pathspec.GitIgnoreSpec,
    suffixes: tuple[str, ...],
    use_gitignore: bool,
    root: Path | None,
) -> Iterator[Path]:
    """Exclude patterns match paths relative to the target or to the project root."""
    top_abs = top.resolve()
    visited: set[tuple[int, int]] = set()
    # (directory, [(gitignore directory, spec), ...] in effect)
    todo: list[tuple[Path, list[tuple[Path, pathspec.GitIgnoreSpec]]]] = [(top, [])]
    if use_gitignore:
        todo = [(top, _ancestor_gitignores(top))]
    while todo:
        directory, ignores = todo.pop()
        try:
            stat = directory.stat()
        except OSError:
            continue
        identity = (stat.st_dev, stat.st_ino)
        if identity in visited:
            continue  # a symlink loop or a second link to the same directory
        visited.add(identity)
        if use_gitignore:
            spec = _gitignore_spec(directory)
            if spec is not None:
                ignores = [*ignores, (top_abs / directory.relative_to(top), spec)]
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            slash = "/" if is_dir else ""
            relative = path.relative_to(top)
            absolute = top_abs / relative
            if exclude.match_file(relative.as_posix() + slash) or (
                root is not None
                and absolute.is_relative_to(root)
                and exclude.match_file(absolute.relative_to(root).as_posix() + slash)
            ):
                continue
            if any(
                spec.match_file(absolute.relative_to(where).as_posix() + slash)
                for where, spec in ignores
            ):
                continue
            if is_dir:
                todo.append((path, ignores))
            elif entry.name.endswith(suffixes):
                yield path


def _ancestor_gitignores(top: Path) -> list[tuple[Path, pathspec.GitIgnoreSpec]]:
    """`.gitignore` files between the enclosing git repository's root and `top`."""
    resolved = top.resolve()
    chain = [resolved, *resolved.parents]
    repo_root = next((p for p in chain if (p / ".git").exists()), None)
    if repo_root is None:
        return []
    specs = []
    for folder in reversed(chain[: chain.index(repo_root) + 1]):
        if folder == resolved:
            continue  # the walk reads top's own .gitignore
        spec = _gitignore_spec(folder)
        # A directory named explicitly is checked even if an ancestor's .gitignore
        # ignores it (e.g. ~/.pyenv/.gitignore lists /versions); the rules of that
        # file still apply to what lies below it.
        if spec is not None and not spec.match_file(resolved.relative_to(folder).as_posix() + "/"):
            specs.append((folder, spec))
    return specs
