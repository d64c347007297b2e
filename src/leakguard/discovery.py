"""Which files to check: explicit files always; directories recursively, minus
default excludes, user excludes and `.gitignore` rules; symlink loops are never followed."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from leakguard.config import Config
from leakguard.finding import FileError

if TYPE_CHECKING:
    # pathspec (~10 ms of imports) only when a tree is walked: a run whose discovery
    # `leakguard.discovery_cache` vouches for never imports it.
    import pathspec


# NamedTuples and plain classes, not dataclasses: a warm run imports this module
# (`leakguard.finding` says why).


class SourceFile(NamedTuple):
    path: Path  # as opened
    display: str  # relative to the run's root when possible, POSIX separators


class Witness:
    """What a walk's result depended on, for `leakguard.discovery_cache`: each walked
    directory's stamp (an entry added, removed or renamed changes it), each ignore file
    read or looked for (None: absent) and each `.git` looked for (True: present).
    `cacheable` is False when the result also depended on something no stamp covers
    (a symlink, whose target can change type; a target that is neither a plain file nor
    a directory; a problem met)."""

    def __init__(self) -> None:
        self.directories: list[tuple[str, os.stat_result]] = []
        self.files: list[tuple[str, os.stat_result | None]] = []
        self.markers: list[tuple[str, bool]] = []
        self.cacheable = True

    def stat(self, path: str) -> None:
        """Record the stat of an ignore file about to be read (None: none there)."""
        try:
            info: os.stat_result | None = os.stat(path)
        except OSError:
            info = None
        self.files.append((path, info))

    def exists(self, path: Path) -> bool:
        found = path.exists()
        self.markers.append((str(path), found))
        return found


class Discovery(NamedTuple):
    files: list[SourceFile]
    missing: list[str]
    # What could not be walked (errors: files may have gone unchecked) or was not
    # followed (warnings); never skipped silently.
    problems: list[FileError]


def printable(path: str) -> str:
    """`path` safe to print and encode in any output format: bytes that are not UTF-8
    (kept by Python as lone surrogates) are shown as `\\xNN`."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return path


def _problem(path: Path, message: str, *, warning: bool = False) -> FileError:
    return FileError(printable(path.as_posix()), message, warning=warning)


def _os_problem(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def _display(path: Path, root: Path, resolved_dirs: dict[str, str]) -> str:
    # Resolve only the directory: a symlinked file is shown under its own name (a
    # dangling link must not be reported as its missing target). Directories are
    # resolved once per run (`resolved_dirs`): resolving is a syscall per path part.
    # Strings, not pathlib: this runs for every file of every run (a warm run too), and
    # `relative_to` costs ~20 us per file, more when it fails (a tree outside the
    # configuration's folder).
    text = os.path.abspath(path)
    prefix = os.path.join(str(root), "")
    inside = _under(text, prefix)
    if inside is not None:
        return inside
    directory, name = os.path.split(text)
    resolved = resolved_dirs.get(directory) or resolved_dirs.setdefault(
        directory, str(Path(directory).resolve())
    )
    inside = _under(os.path.join(resolved, name), prefix)
    if inside is not None:
        return inside
    # Outside the root: absolute, so reports can name it relative to any directory.
    return printable(text.replace(os.sep, "/"))


def _under(text: str, prefix: str) -> str | None:
    """`text` relative to the folder `prefix` (ending in a separator), POSIX style, or
    None when it does not lie below it."""
    if text.startswith(prefix) and len(text) > len(prefix):
        return printable(text[len(prefix) :].replace(os.sep, "/"))
    return None


def _gitignore_spec(
    directory: Path, problems: list[FileError], witness: Witness
) -> pathspec.GitIgnoreSpec | None:
    import pathspec

    ignore_file = directory / ".gitignore"
    witness.stat(str(ignore_file))
    try:
        lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except ValueError:  # pathspec's GitIgnorePatternError, e.g. a bare "!"
        pass
    # Git skips a pattern it cannot use; so do we, after saying which.
    valid = []
    for number, line in enumerate(lines, 1):
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except ValueError:
            message = f"line {number}: invalid pattern {line!r} ignored"
            problems.append(_problem(ignore_file, message, warning=True))
            continue
        valid.append(line)
    return pathspec.GitIgnoreSpec.from_lines(valid)


def discover(
    targets: Sequence[Path],
    config: Config,
    root: Path | None = None,
    witness: Witness | None = None,
) -> Discovery:
    """Files to check under `targets`. With `config.force_exclude`, files named explicitly
    are dropped when `exclude`/`extend-exclude` match them (pre-commit names every staged
    file, excluded or not). `witness` records what the result depended on."""
    import pathspec

    witness = witness if witness is not None else Witness()
    base = (root or config.root).resolve()
    exclude = pathspec.GitIgnoreSpec.from_lines([*config.exclude, *config.extend_exclude])
    suffixes = (".py", ".pyi") if config.include_pyi else (".py",)
    seen: set[str] = set()
    files: list[SourceFile] = []
    missing: list[str] = []
    problems: list[FileError] = []

    resolved_dirs: dict[str, str] = {}

    def add(path: Path) -> None:
        display = _display(path, base, resolved_dirs)
        if display not in seen:
            seen.add(display)
            files.append(SourceFile(path, display))

    for target in targets:
        if target.is_symlink() or not (target.is_file() or target.is_dir()):
            witness.cacheable = False
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
                target,
                exclude,
                suffixes,
                config.respect_gitignore,
                root_for_excludes,
                problems,
                witness,
            )
            for path in walker:
                add(path)
        elif target.is_symlink():
            try:
                os.stat(target)
            except OSError as exc:
                problems.append(_problem(target, f"cannot check: {_os_problem(exc)}"))
            else:
                problems.append(_problem(target, "cannot check: not a file or directory"))
        else:
            missing.append(printable(str(target)))
    if problems or missing:
        witness.cacheable = False
    files.sort(key=lambda f: f.display)
    return Discovery(files, missing, problems + name_problems(files))


def name_problems(files: Sequence[SourceFile]) -> list[FileError]:
    """The warnings for files whose names are not UTF-8 (a walk's and a replayed one's:
    `leakguard.discovery_cache` keeps only the files)."""
    return [
        FileError(file.display, "file name is not valid UTF-8; shown with \\x escapes", True)
        for file in files
        if "\\x" in file.display and file.display != file.path.as_posix()
    ]


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
    problems: list[FileError],
    witness: Witness,
) -> Iterator[Path]:
    """Exclude patterns match paths relative to the target or to the project root.

    Paths are matched as POSIX strings built from the entries' names: this runs for
    every entry of the tree on every run (a warm run too), and pathlib's
    `relative_to`/`/` on each cost more than the directory reads."""
    top_prefix = top.resolve().as_posix().rstrip("/") + "/"
    root_prefix = None if root is None else root.as_posix().rstrip("/") + "/"
    visited: set[tuple[int, int]] = set()
    # (directory, its path relative to `top`, [(gitignore folder + "/", spec), ...] in
    # effect)
    ancestors = _ancestor_gitignores(top, problems, witness) if use_gitignore else []
    todo: list[tuple[str, str, list[tuple[str, pathspec.GitIgnoreSpec]]]] = [
        (str(top), "", [(folder.as_posix().rstrip("/") + "/", spec) for folder, spec in ancestors])
    ]
    while todo:
        directory, relative_dir, ignores = todo.pop()
        try:
            stat = os.stat(directory)
        except OSError as exc:
            problems.append(_problem(Path(directory), f"cannot read directory: {_os_problem(exc)}"))
            continue
        identity = (stat.st_dev, stat.st_ino)
        if identity in visited:
            # A symlink loop or a second link to a directory already walked: its files
            # are checked once, under the first path; say so rather than skip silently.
            message = "symlink to a directory already checked (or a loop); not followed"
            problems.append(_problem(Path(directory), message, warning=True))
            continue
        visited.add(identity)
        witness.directories.append((directory, stat))
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            problems.append(_problem(Path(directory), f"cannot read directory: {_os_problem(exc)}"))
            continue
        # Opened only where the listing has one (most directories have none).
        if use_gitignore and any(entry.name == ".gitignore" for entry in entries):
            spec = _gitignore_spec(Path(directory), problems, witness)
            if spec is not None:
                where = top_prefix + (relative_dir + "/" if relative_dir else "")
                ignores = [*ignores, (where, spec)]
        for entry in entries:
            try:
                if entry.is_symlink():
                    witness.cacheable = False
                is_dir = entry.is_dir()
            except OSError as exc:
                problems.append(_problem(Path(entry.path), f"cannot check: {_os_problem(exc)}"))
                continue
            slash = "/" if is_dir else ""
            relative = f"{relative_dir}/{entry.name}" if relative_dir else entry.name
            absolute = top_prefix + relative
            if exclude.match_file(relative + slash) or (
                root_prefix is not None
                and absolute.startswith(root_prefix)
                and exclude.match_file(absolute[len(root_prefix) :] + slash)
            ):
                continue
            if any(
                spec.match_file(absolute[len(where) :] + slash)
                for where, spec in ignores
                if absolute.startswith(where)
            ):
                continue
            if is_dir:
                todo.append((entry.path, relative, ignores))
            elif entry.name.endswith(suffixes):
                yield Path(entry.path)


def _ancestor_gitignores(
    top: Path, problems: list[FileError], witness: Witness
) -> list[tuple[Path, pathspec.GitIgnoreSpec]]:
    """`.gitignore` files between the enclosing git repository's root and `top`."""
    resolved = top.resolve()
    chain = [resolved, *resolved.parents]
    repo_root = next((p for p in chain if witness.exists(p / ".git")), None)
    if repo_root is None:
        return []
    specs = []
    for folder in reversed(chain[: chain.index(repo_root) + 1]):
        if folder == resolved:
            continue  # the walk reads top's own .gitignore
        spec = _gitignore_spec(folder, problems, witness)
        # A directory named explicitly is checked even if an ancestor's .gitignore
        # ignores it (e.g. ~/.pyenv/.gitignore lists /versions); the rules of that
        # file still apply to what lies below it.
        if spec is not None and not spec.match_file(resolved.relative_to(folder).as_posix() + "/"):
            specs.append((folder, spec))
    return specs
