"""The README's options table and usage block match what `leakguard check` accepts."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from leakguard.cli import build_parser

README = Path(__file__).resolve().parent.parent / "README.md"


def _check_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    check: argparse.ArgumentParser = commands.choices["check"]
    return check


def _options_table() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("Options of `check`:")
    end = text.index("\n\n", text.index("|---|", start))
    return text[start:end]


def test_every_check_option_is_in_the_readme_table_and_nothing_else() -> None:
    documented = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])\b", _options_table()))
    accepted = {
        option
        for action in _check_parser()._actions
        for option in action.option_strings
        if option not in ("-h", "--help")
    }
    assert documented == accepted


def test_every_documented_format_is_accepted() -> None:
    row = next(line for line in _options_table().splitlines() if line.startswith("| `--format"))
    documented = set(re.search(r"`--format ([^`]+)`", row).group(1).replace("\\", "").split("|"))
    (action,) = [a for a in _check_parser()._actions if "--format" in a.option_strings]
    assert documented == set(action.choices)
