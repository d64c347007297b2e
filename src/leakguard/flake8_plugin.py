"""flake8 plugin: `flake8 --select LG` runs leakguard's rules inside flake8.

Registered under the `flake8.extension` entry point with the code prefix `LG`. It runs
the same analyser, rules and configuration (`[tool.leakguard]` / `.leakguard.yaml`) as
`leakguard check`; flake8 does the selection (`--select LG1`), output and `# noqa`.

flake8 hands plugins the file it already read, so the source is never read twice. The
plugin does not use flake8's `ast` tree: leakguard's rules work on a LibCST tree.

`# noqa` is flake8's business: the plugin hides its comments from leakguard's own
suppression logic, so `flake8 --disable-noqa` shows those findings as it should.
`# leakguard: ignore[...]` comments are still honoured here, as in `leakguard check`.

flake8 runs every installed plugin on every file and filters codes afterwards, so a
plugin that analysed regardless would double the run time of projects that never select
LG (issue 15: 21 s -> 41 s). The plugin therefore asks flake8's own decision engine,
once per run, whether any LG code can be reported, and does nothing at all otherwise;
nothing heavier than this module is imported until a file is actually analysed.
"""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from leakguard import __version__
from leakguard.suppression import comment_lines

if TYPE_CHECKING:
    from leakguard.config import Config

# Not a rule: reported when leakguard itself could not analyse a file that Python could.
ANALYSIS_ERROR_CODE = "LG000"

_NOQA = re.compile(r"noqa", re.IGNORECASE)
_STDIN_NAMES = frozenset({"stdin", "-", "<stdin>"})

Error = tuple[int, int, str, type]


@lru_cache(maxsize=1024)
def _config_file_in(directory: Path) -> Path | None:
    from leakguard.config import find_user_config

    # Cached per directory: finding the file reads pyproject.toml files on the way up.
    return find_user_config(directory)


@lru_cache(maxsize=64)
def _config_from(config_file: Path | None, directory: Path) -> Config:
    from leakguard.config import load_config

    return load_config([directory], config_file)


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


def config_for(filename: str) -> Config:
    """The leakguard configuration of `filename`, loaded once per configuration file."""
    directory = Path.cwd() if filename in _STDIN_NAMES else Path(filename).resolve().parent
    config_file = _config_file_in(directory)
    if config_file is not None:
        return _config_from(config_file, config_file.parent)
    # No configuration file: defaults, rooted at the working directory.
    return _config_from(None, directory)


def display_path(filename: str, root: Path) -> str:
    """The path as leakguard reports it: relative to the configuration root if possible."""
    if filename in _STDIN_NAMES:
        return "stdin.py"
    path = Path(filename)
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def hide_noqa(text: str) -> str:
    """`text` with `noqa` in comments blanked out (same length, so positions hold)."""
    if "noqa" not in text.lower():
        return text
    lines = text.splitlines(keepends=True)
    for number, comment in comment_lines(text).items():
        if number > len(lines) or not _NOQA.search(comment):
            continue
        line = lines[number - 1]
        body = line.rstrip("\r\n")
        if body.endswith(comment):
            hidden = _NOQA.sub(lambda match: "_" * len(match.group()), comment)
            lines[number - 1] = body[: len(body) - len(comment)] + hidden + line[len(body) :]
    return "".join(lines)


class LeakguardChecker:
    """A flake8 "tree" plugin; flake8 passes arguments by parameter name.

    `tree` is what makes flake8 classify this as a tree plugin; it is flake8's `ast` tree
    (already built, so free) and is not used.
    """

    name = "leakguard"
    version = __version__
    # Set by flake8 through `parse_options`, once per run and before any file is checked
    # (inherited by forked workers; re-parsed in spawned ones).
    selected: ClassVar[bool] = True

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        cls.selected = lg_selected(options)

    def __init__(self, tree: ast.AST, lines: list[str], filename: str) -> None:
        del tree
        self.lines = lines
        self.filename = filename

    def run(self) -> Iterator[Error]:
        if not self.selected:
            return  # flake8 would discard every LG code: do no work at all
        from leakguard.analyzer import analyze_text
        from leakguard.config import ConfigError

        try:
            config = config_for(self.filename)
        except ConfigError as exc:
            yield (1, 0, f"{ANALYSIS_ERROR_CODE} leakguard configuration error: {exc}", type(self))
            return
        text = hide_noqa("".join(self.lines))
        try:
            result = analyze_text(text, display_path(self.filename, config.root), config)
        except Exception as exc:  # a leakguard bug must not abort the whole flake8 run
            message = f"{ANALYSIS_ERROR_CODE} leakguard internal error (please report): {exc!r}"
            yield (1, 0, message, type(self))
            return
        for finding in result.findings:
            if finding.suppressed:  # by `# leakguard: ignore`, since noqa was hidden
                continue
            # flake8 wants 0-based columns from plugins and adds 1 when printing.
            message = f"{finding.rule} {finding.message}"
            yield (finding.line, finding.column - 1, message, type(self))
        for error in result.errors:
            message = f"{ANALYSIS_ERROR_CODE} leakguard could not analyse this file: "
            yield (1, 0, message + error.message, type(self))
