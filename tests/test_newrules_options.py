"""LG110/LG205/LG206 options change what is reported (user configuration contract)."""

from __future__ import annotations

from pathlib import Path

from leakguard.testing import check_fixture

OPTIONS = Path(__file__).parent / "fixtures" / "options" / "newrules"


def _lines(found: set[tuple[str, int, str]]) -> set[int]:
    return {line for _, line, _ in found}


def test_extended_loaders_are_reported_in_handlers() -> None:
    _, unconfigured = check_fixture(OPTIONS / "custom_loader.py", "LG110")
    _, configured = check_fixture(
        OPTIONS / "custom_loader.py",
        "LG110",
        {"extend_loaders": ["myservice.models.load_classifier"]},
    )
    assert unconfigured == set()
    assert _lines(configured) == {12}


def test_test_files_are_checked_when_configured() -> None:
    fixture = Path(__file__).parent / "fixtures" / "rules" / "LG110" / "neg_test_files"
    _, configured = check_fixture(fixture, "LG110", {"skip_tests": False})
    assert _lines(configured) == {11}
