"""Packaging: the wheel ships the rule YAML and doc pages (through the symlinks under
src/leakguard/_bundled), and every registered rule has its YAML and a complete doc page
while every YAML has a rule class."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
import yaml

from leakguard.registry import rule_classes

REPO = Path(__file__).resolve().parent.parent
REQUIRED_SECTIONS = (
    "## What it does",
    "## Why is this bad?",
    "## Example",
    "## Use instead",
    "## Configuration",
    "## References",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    builders = pytest.importorskip("hatchling.builders.wheel")
    out = tmp_path_factory.mktemp("wheel")
    built = list(builders.WheelBuilder(str(REPO)).build(directory=str(out), versions=["standard"]))
    assert len(built) == 1
    return zipfile.ZipFile(built[0])


def members(wheel: zipfile.ZipFile, folder: str, suffix: str) -> dict[str, str]:
    prefix = f"leakguard/_bundled/{folder}/"
    return {
        name[len(prefix) :]: wheel.read(name).decode("utf-8")
        for name in wheel.namelist()
        if name.startswith(prefix) and name.endswith(suffix)
    }


def test_wheel_ships_every_rule_yaml_and_doc(wheel: zipfile.ZipFile) -> None:
    shipped_rules = members(wheel, "rules", ".yaml")
    shipped_docs = members(wheel, "docs", ".md")
    assert set(shipped_rules) == {p.name for p in (REPO / "rules").glob("*.yaml")}
    assert set(shipped_docs) >= {p.name for p in (REPO / "docs" / "rules").glob("LG*.md")}
    assert "LG401.yaml" in shipped_rules and "LG401.md" in shipped_docs
    for name, text in shipped_rules.items():
        assert text == (REPO / "rules" / name).read_text(encoding="utf-8")  # not a dangling link


def test_wheel_has_the_console_script_and_package(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert "leakguard/__main__.py" in names and "leakguard/cli.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "leakguard = leakguard.__main__:run" in wheel.read(entry_points).decode()


def test_every_rule_class_has_yaml_and_a_complete_doc(wheel: zipfile.ZipFile) -> None:
    shipped_rules = members(wheel, "rules", ".yaml")
    shipped_docs = members(wheel, "docs", ".md")
    problems = []
    for code in rule_classes():
        spec_text = shipped_rules.get(f"{code}.yaml")
        if spec_text is None:
            problems.append(f"{code}: no rules/{code}.yaml")
            continue
        spec = yaml.safe_load(spec_text)
        if spec.get("id") != code:
            problems.append(f"{code}: rules/{code}.yaml declares id {spec.get('id')!r}")
        page = shipped_docs.get(f"{code}.md")
        if page is None:
            problems.append(f"{code}: no docs/rules/{code}.md")
            continue
        if not page.startswith(f"# {code} {spec.get('name')}"):
            problems.append(f"{code}: doc title must be '# {code} {spec.get('name')}'")
        headings = [line.strip() for line in page.splitlines() if line.startswith("## ")]
        missing = [s for s in REQUIRED_SECTIONS if s not in headings]
        if missing:
            problems.append(f"{code}: doc lacks {missing}")
        elif [h for h in headings if h in REQUIRED_SECTIONS] != list(REQUIRED_SECTIONS):
            problems.append(f"{code}: doc sections out of order")
    assert not problems, "\n".join(problems)


def test_every_yaml_has_a_rule_class(wheel: zipfile.ZipFile) -> None:
    codes = {re.sub(r"\.yaml$", "", name) for name in members(wheel, "rules", ".yaml")}
    assert codes - set(rule_classes()) == set()
