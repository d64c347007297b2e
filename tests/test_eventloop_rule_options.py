"""LG1xx/LG2xx rule options change what is reported (user configuration contract)."""

from __future__ import annotations

from pathlib import Path

from leakguard.testing import check_fixture

OPTIONS = Path(__file__).parent / "fixtures" / "options" / "eventloop"


def _lines(found: set[tuple[str, int, str]]) -> set[int]:
    return {line for _, line, _ in found}


def test_extended_blocking_calls_are_reported() -> None:
    expected, reported = check_fixture(
        OPTIONS / "custom_names.py",
        "LG201",
        {"extend_blocking_calls": ["myservice.storage.download"]},
    )
    assert reported == expected and reported


def test_unknown_project_calls_are_not_guessed_blocking() -> None:
    _, reported = check_fixture(OPTIONS / "custom_names.py", "LG201")
    assert reported == set()


def test_configured_timeout_context_bounds_the_offload() -> None:
    _, unconfigured = check_fixture(OPTIONS / "custom_names.py", "LG204")
    _, configured = check_fixture(
        OPTIONS / "custom_names.py", "LG204", {"timeout_contexts": ["myservice.limits.deadline"]}
    )
    assert _lines(unconfigured) == {23, 28}
    assert _lines(configured) == {28}


def test_configured_local_calls_are_bounded_local_work() -> None:
    # `work` waits on `requests.get` with no deadline, so offloading it is reported;
    # with its calls declared local, it is proven local work and neither offload is.
    _, configured = check_fixture(
        OPTIONS / "custom_names.py",
        "LG204",
        {"local_calls": ["myservice.render.*", "requests.get"]},
    )
    assert configured == set()


def test_test_files_are_skipped_unless_configured() -> None:
    for rule in ("LG201", "LG202"):
        _, skipped = check_fixture(OPTIONS / "test_blocking.py", rule)
        expected, checked = check_fixture(OPTIONS / "test_blocking.py", rule, {"skip_tests": False})
        assert skipped == set()
        assert checked == expected and checked
