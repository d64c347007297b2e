"""LG110/LG205/LG206 options change what is reported (user configuration contract)."""

from __future__ import annotations

from pathlib import Path

from leakguard.testing import check_fixture, run

OPTIONS = Path(__file__).parent / "fixtures" / "options" / "newrules"
RULES = Path(__file__).parent / "fixtures" / "rules"


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
    fixture = RULES / "LG110" / "neg_test_files"
    _, configured = check_fixture(fixture, "LG110", {"skip_tests": False})
    assert _lines(configured) == {11}


def test_configured_limiter_bounds_the_fan_out() -> None:
    _, unconfigured = check_fixture(OPTIONS / "custom_limits.py", "LG205")
    _, configured = check_fixture(
        OPTIONS / "custom_limits.py", "LG205", {"extend_limiters": ["myservice.limits.Bulkhead"]}
    )
    assert _lines(unconfigured) == {18}
    assert configured == set()


def test_configured_pool_constructor_is_checked() -> None:
    _, unconfigured = check_fixture(OPTIONS / "custom_limits.py", "LG206")
    _, configured = check_fixture(
        OPTIONS / "custom_limits.py",
        "LG206",
        {"extend_pool_constructors": ["myservice.workers.WorkerPool"]},
    )
    assert unconfigured == set()
    assert _lines(configured) == {22}


def test_scoped_pool_severity_is_configurable() -> None:
    fixture = (
        Path(__file__).parent / "fixtures" / "rules" / "LG206" / "pos_scoped_pool_per_request.py"
    )
    for wanted in ("note", "warning"):
        result = run(
            [fixture],
            fixture.parent,
            select=["LG206"],
            rules={"LG206": {"scoped_pool_severity": wanted}},
        )
        assert {f.severity.value for f in result.findings} == {wanted}


def test_parameters_anywhere_reports_helpers_off_request_paths() -> None:
    fixture = (
        Path(__file__).parent / "fixtures" / "rules" / "LG205" / "neg_parameter_off_request_path.py"
    )
    _, configured = check_fixture(fixture, "LG205", {"parameters_anywhere": True})
    assert _lines(configured) == {13, 18}
