"""LG401's exemption for a YAML config shipped with a command-line program
(`entrypoints.command_line_program`) holds only while no request handler of the run
reaches the file: a settings module that imports argparse but is called by a service's
route keeps its finding. Cross-file, so through the real engine with its summaries."""

from __future__ import annotations

from pathlib import Path

from leakguard.engine import check
from leakguard.testing import make_config

SETTINGS = """\
import argparse
from pathlib import Path

import yaml

HERE = Path(__file__).parent


def load_settings() -> dict:
    return yaml.unsafe_load((HERE / "defaults.yml").read_text())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int)
"""

SERVICE = """\
from fastapi import FastAPI

from app.settings import load_settings

app = FastAPI()


@app.get("/settings")
def settings() -> dict:
    return load_settings()
"""


def _findings(root: Path, files: dict[str, str]) -> set[tuple[str, int, str]]:
    package = root / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, text in files.items():
        (package / name).write_text(text)
    result = check([package], make_config(root, select=["LG401"]), jobs=1)
    assert not result.errors, result.errors
    return {(f.path, f.line, f.rule) for f in result.findings}


def test_a_command_line_module_a_route_calls_keeps_its_finding(tmp_path: Path) -> None:
    found = _findings(tmp_path, {"settings.py": SETTINGS, "main.py": SERVICE})
    assert found == {("app/settings.py", 10, "LG401")}


def test_the_same_module_alone_is_a_command_line_program(tmp_path: Path) -> None:
    assert _findings(tmp_path, {"settings.py": SETTINGS}) == set()
