"""flake8 plugin: `flake8 --select LG` runs leakguard's rules inside flake8.

Registered under the `flake8.extension` entry point with the code prefix `LG`. It runs
the same analyser, rules and configuration (`[tool.leakguard]` / `.leakguard.yaml`) as
`leakguard check`; flake8 does the selection (`--select LG1`), output and `# noqa`.

flake8 hands plugins the file it already read and its `ast` tree, so the source is
never read or parsed by CPython twice: the tree feeds leakguard's triage, and a file in
which no rule has a candidate never reaches LibCST. Results go to leakguard's result
cache (`.leakguard_cache/`, keyed by content, path, configuration and leakguard's own
code), so an unchanged file costs a cache read on the next run
(`--leakguard-no-cache` turns that off).

`# noqa` is flake8's business: the plugin tells the analyser to ignore those comments,
so `flake8 --disable-noqa` shows those findings as it should. `# leakguard:
ignore[...]` comments are still honoured here, as in `leakguard check`.

flake8 runs every installed plugin on every file and filters codes afterwards, so a
plugin that analysed regardless would double the run time of projects that never select
LG (issue 15: 21 s -> 41 s). The plugin therefore asks flake8's own decision engine,
once per run, whether any LG code can be reported, and does nothing at all otherwise;
nothing heavier than this module is imported until a file is actually analysed.

flake8 offers no supported way to skip its built-in checkers (pycodestyle, pyflakes)
when the selection excludes their codes (PyCQA/flake8#751, open): they run on every
file under `--select LG` too, which is why `leakguard check` stays the faster way to run
leakguard alone (bench/flake8_cost.py, bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from leakguard import __version__

if TYPE_CHECKING:
    from leakguard.cache import ResultCache
    from leakguard.config import Config
    from leakguard.finding import FileResult

# Not a rule: reported when leakguard itself could not analyse a file that Python could.
ANALYSIS_ERROR_CODE = "LG000"

# The cache entries of this plugin: its findings leave noqa comments to flake8 and use
# no project facts from other files, so they are not interchangeable with
# `leakguard check`'s.
_CACHE_KIND = "flake8"

_STDIN_NAMES = frozenset({"stdin", "-", "<stdin>"})

Error = tuple[int, int, str, type]


@dataclass(frozen=True)
class Setup:
    """What analysing a file needs, built once per configuration file per process."""

    config: Config
    cache: ResultCache | None


@lru_cache(maxsize=1024)
def _config_file_in(directory: Path) -> Path | None:
    from leakguard.config import find_user_config

    # Cached per directory: finding the file reads pyproject.toml files on the way up.
    return find_user_config(directory)


@lru_cache(maxsize=64)
def _setup_from(config_file: Path | None, directory: Path, use_cache: bool) -> Setup:
    """Keyed by the configuration file only: every directory without one shares the
    defaults (rooted at the working directory, as `leakguard check` roots them)."""
    from leakguard.cache import ResultCache
    from leakguard.config import load_config

    config = load_config([directory], config_file)
    cache = ResultCache(config.root / config.cache_dir, config.digest()) if use_cache else None
    return Setup(config, cache)


def plugin_codes() -> list[str]:
    """Every code the plugin can report, from the bundled rule files' names (no parsing)."""
    folder = resources.files("leakguard") / "_bundled" / "rules"
    rules = sorted(e.name[:-5] for e in folder.iterdir() if e.name.endswith(".yaml"))
    return [ANALYSIS_ERROR_CODE, *rules]


def lg_selected(options: argparse.Namespace) -> bool:
    """Whether flake8's selection (`--select`, `--extend-select`, `--ignore`, config
    files, defaults) lets any LG code through. Unknown flake8 internals: assume yes."""
    try:
        from flake8.style_guide import (  # type: ignore[import-untyped]
            Decision,
            DecisionEngine,
        )

        engine = DecisionEngine(options)
        return any(engine.decision_for(code) is Decision.Selected for code in plugin_codes())
    except Exception:  # an older or newer flake8: analysing is always correct
        return True


def setup_for(filename: str, use_cache: bool = True) -> Setup:
    """The leakguard configuration (and its result cache) of `filename`."""
    directory = Path.cwd() if filename in _STDIN_NAMES else Path(filename).resolve().parent
    config_file = _config_file_in(directory)
    if config_file is not None:
        return _setup_from(config_file, config_file.parent, use_cache)
    return _setup_from(None, Path.cwd(), use_cache)


def display_path(filename: str, root: Path) -> str:
    """The path as leakguard reports it: relative to the configuration root if possible."""
    if filename in _STDIN_NAMES:
        return "stdin.py"
    path = Path(filename)
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def analyse(text: str, display: str, setup: Setup, tree: ast.Module | None) -> FileResult:
    """The file's result from the cache, or analysed (then cached). Only here is the
    analyser (LibCST and every rule module) imported: a run whose files are all cached
    never loads it."""
    from leakguard.cache import content_digest

    cache = setup.cache
    key = ""
    if cache is not None:
        digest = content_digest(text.encode("utf-8", "surrogatepass"))
        key = cache.key(_CACHE_KIND, display, digest)
        cached = cache.load_result(key, display)
        if cached is not None:
            return cached
    from leakguard.analyzer import analyze_text

    result = analyze_text(text, display, setup.config, ast_tree=tree, noqa=False)
    if cache is not None:
        cache.store_result(key, result)
    return result


class LeakguardChecker:
    """A flake8 "tree" plugin; flake8 passes arguments by parameter name."""

    name = "leakguard"
    version = __version__
    # Set by flake8 through `parse_options`, once per run and before any file is checked
    # (inherited by forked workers; re-parsed in spawned ones).
    selected: ClassVar[bool] = True
    use_cache: ClassVar[bool] = True

    @classmethod
    def add_options(cls, parser: Any) -> None:
        parser.add_option(
            "--leakguard-no-cache",
            action="store_true",
            parse_from_config=True,
            help="leakguard: neither read nor write leakguard's result cache",
        )

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        cls.selected = lg_selected(options)
        cls.use_cache = not getattr(options, "leakguard_no_cache", False)

    def __init__(self, tree: ast.AST, lines: list[str], filename: str) -> None:
        self.tree = tree if isinstance(tree, ast.Module) else None
        self.lines = lines
        self.filename = filename

    def run(self) -> Iterator[Error]:
        if not self.selected:
            return  # flake8 would discard every LG code: do no work at all
        from leakguard.config import ConfigError

        try:
            setup = setup_for(self.filename, self.use_cache)
        except ConfigError as exc:
            yield (1, 0, f"{ANALYSIS_ERROR_CODE} leakguard configuration error: {exc}", type(self))
            return
        display = display_path(self.filename, setup.config.root)
        try:
            result = analyse("".join(self.lines), display, setup, self.tree)
        except Exception as exc:  # a leakguard bug must not abort the whole flake8 run
            message = f"{ANALYSIS_ERROR_CODE} leakguard internal error (please report): {exc!r}"
            yield (1, 0, message, type(self))
            return
        for finding in result.findings:
            if finding.suppressed:  # by `# leakguard: ignore` (noqa is flake8's)
                continue
            # flake8 wants 0-based columns from plugins and adds 1 when printing.
            message = f"{finding.rule} {finding.message}"
            yield (finding.line, finding.column - 1, message, type(self))
        for error in result.errors:
            message = f"{ANALYSIS_ERROR_CODE} leakguard could not analyse this file: "
            yield (1, 0, message + error.message, type(self))
