"""The LG102/LG103/LG106/LG109 thresholds come from rules/*.yaml and users can override
them: moving a threshold across a boundary fixture flips its verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.testing import check_fixture

FIXTURES = Path(__file__).parent / "fixtures" / "rules"


def _line(fixture: Path, snippet: str) -> int:
    for number, text in enumerate(fixture.read_text(encoding="utf-8").splitlines(), start=1):
        if snippet in text:
            return number
    raise AssertionError(f"{snippet!r} not in {fixture}")


def _reported_lines(fixture: Path, rule: str, **options: object) -> set[int]:
    _, reported = check_fixture(fixture, rule, options=options or None)
    return {line for _, line, code in reported if code == rule}


@pytest.mark.parametrize(
    ("rule", "fixture", "snippet", "options"),
    [
        (
            "LG102",
            "LG102/neg_boundary_499_iterations.py",
            "HISTORY.append",
            {"min_iterations": 499},
        ),
        ("LG102", "LG102/neg_nested_49x20.py", "RESULTS.append", {"min_nested_iterations": 980}),
        ("LG103", "LG103/neg_string_999.py", "PAYLOADS.append", {"min_repeat_count": 999}),
        ("LG103", "LG103/neg_array_999.py", "np.zeros((999, 999))", {"min_array_dimension": 999}),
        ("LG103", "LG103/neg_dataframe_9999.py", "FRAMES.append", {"min_dataframe_rows": 9999}),
        (
            "LG103",
            "LG103/neg_under_thresholds.py",
            "LEAK.append(TEMPLATE)",
            {"min_string_iterations": 499},
        ),
        (
            "LG103",
            "LG103/neg_under_thresholds.py",
            "RECORDS.append",
            {"min_object_iterations": 749},
        ),
        ("LG103", "LG103/neg_under_thresholds.py", '"k" * 500', {"max_retained_bytes": 1_000_000}),
    ],
)
def test_lowering_a_threshold_makes_the_silent_side_fire(
    rule: str, fixture: str, snippet: str, options: dict[str, object]
) -> None:
    path = FIXTURES / fixture
    line = _line(path, snippet)
    assert line not in _reported_lines(path, rule), "silent with the bundled defaults"
    assert line in _reported_lines(path, rule, **options)


@pytest.mark.parametrize(
    ("rule", "fixture", "snippet", "options"),
    [
        (
            "LG102",
            "LG102/pos_boundary_500_iterations.py",
            "HISTORY.append",
            {"min_iterations": 501},
        ),
        ("LG102", "LG102/pos_nested_50x20.py", "RESULTS.append", {"min_nested_iterations": 1001}),
        (
            "LG102",
            "LG102/pos_closure_default_parameter.py",
            "out.append",
            {"include_parameters": False},
        ),
        ("LG103", "LG103/pos_string_repetition.py", '"-" * 1000', {"min_repeat_count": 1001}),
        ("LG103", "LG103/pos_numpy_arrays.py", "make_zeros(1000)", {"min_array_dimension": 1001}),
        ("LG103", "LG103/pos_dataframes.py", "FRAMES.append(frame)", {"min_dataframe_rows": 10001}),
        ("LG103", "LG103/pos_retained_total.py", '"z" * 600', {"max_retained_bytes": 13_000_000}),
        (
            "LG106",
            "LG106/pos_generator_yields_collection.py",
            "yield prefix[:]",
            {"include_snapshots": False},
        ),
        ("LG109", "LG109/pos_mutual_references.py", "right.ref = left", {"min_iterations": 1001}),
    ],
)
def test_raising_a_threshold_silences_the_reported_side(
    rule: str, fixture: str, snippet: str, options: dict[str, object]
) -> None:
    path = FIXTURES / fixture
    line = _line(path, snippet)
    assert line in _reported_lines(path, rule), "reported with the bundled defaults"
    assert line not in _reported_lines(path, rule, **options)


def test_lg103_message_states_the_estimate() -> None:
    path = FIXTURES / "LG103" / "pos_numpy_arrays.py"
    from leakguard.testing import run

    result = run([path], path.parent, select=["LG103"])
    first = min(result.findings, key=lambda f: f.line)
    assert "~8.0 MB per iteration x 1000 iterations = ~8.0 GB retained" in first.help
    assert "FRAMES" in first.message and "line" in first.message
