"""Test-suite policy shared by `tests/` and `services/ml-service/tests/`.

A skipped test is a check that silently did not run (issue 15: the SARIF schema tests
skipped in every fresh clone for months). So a skip fails the run unless it is explicitly
allowed, either for one run (`pytest --allow-skips`, e.g. on a machine without git) or
for one test (`@pytest.mark.allow_skip("reason")`). Expected failures (`xfail`) are not
skips and are unaffected.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--allow-skips",
        action="store_true",
        default=False,
        help="report skipped tests as skipped instead of failing them",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_skip(reason): this test may skip without failing the run"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    if item.config.getoption("--allow-skips") or item.get_closest_marker("allow_skip"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"skipped tests fail the suite (see conftest.py): {reason}\n"
        "Fix the cause, mark the test @pytest.mark.allow_skip(reason), or run with "
        "--allow-skips."
    )
