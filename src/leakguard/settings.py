"""`leakguard check --show-settings` / `--show-files`: which configuration and which files
a run would use, without running it (what to look at when a file is or is not checked,
or a rule does or does not fire)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from leakguard.config import Config, bundled_rule_specs
from leakguard.discovery import discover
from leakguard.report.paths import rebase_path


def show_settings(config: Config, out: TextIO) -> None:
    bundled = bundled_rule_specs()
    lines = [
        f"config file: {config.source or '<defaults>'}",
        f"project root: {config.root}",
        f"enabled rules ({len(config.enabled)}): {', '.join(sorted(config.enabled)) or '-'}",
        f"exclude: {_list(config.exclude)}",
        f"extend-exclude: {_list(config.extend_exclude)}",
        f"force-exclude: {_bool(config.force_exclude)}",
        f"respect-gitignore: {_bool(config.respect_gitignore)}",
        f"include-pyi: {_bool(config.include_pyi)}",
        f"per-file-ignores: {_per_file(config)}",
        f"fail-on: {config.fail_on.value}",
        f"cache-dir: {config.root / config.cache_dir}",
        f"max-file-size: {config.max_file_size}",
        "rules:",
    ]
    for rule_id in sorted(config.enabled):
        spec = config.rules[rule_id]
        lines.append(f"  {rule_id} {spec.name} [{spec.severity.value}]")
        default = bundled.get(rule_id)
        for name, value in spec.options.items():
            if default is None or default.options.get(name) != value:
                lines.append(f"    {name} = {_value(value)}  (changed)")
    out.write("\n".join(lines) + "\n")


def show_files(targets: Sequence[Path], config: Config, cwd: Path, out: TextIO) -> None:
    """Every file the run would check, relative to `cwd` like the findings."""
    found = discover(targets, config)
    base, here = config.root.resolve(), cwd.resolve()
    shown = sorted(rebase_path(f.display, base, here, absolute_outside=False) for f in found.files)
    for path in shown:
        out.write(path + "\n")


def _list(values: Sequence[str]) -> str:
    return ", ".join(values) if values else "-"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _per_file(config: Config) -> str:
    if not config.per_file_ignores:
        return "-"
    return "; ".join(
        f"{glob} -> {', '.join(sorted(codes))}" for glob, codes in config.per_file_ignores
    )


def _value(value: Any) -> str:
    return json.dumps(value, default=str)
