"""LG104/LG105/LG107/LG108 read their call lists and patterns from rules/*.yaml, and a
user's `[tool.leakguard.rules.LGxxx]` table changes the verdict on the same code."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.testing import check_fixture

CUSTOM_TRACING = """
from mycompany import profiling


def traced(job):
    profiling.begin_tracing()
    job.run()
"""

CUSTOM_STOP = """
import tracemalloc

from mycompany import profiling


def traced(job):
    tracemalloc.start()
    try:
        job.run()
    finally:
        profiling.halt_all()
"""

VIRTUAL_MEMORY = """
import psutil


def report():
    used = psutil.virtual_memory().used
    print("system memory used", used)
"""

CUSTOM_GROWTH = """
class Batch:
    def __init__(self):
        self.items = []

    def __enter__(self):
        return self

    def push(self, item):
        self.items.push(item)

    def __exit__(self, *exc_info):
        return False
"""

CUSTOM_DECORATOR = """
from mycompany.caching import memoize


class Lookup:
    @memoize
    def find(self, key):
        return key
"""

CUSTOM_DECORATOR_WITH_ARGUMENT = """
from mycompany.caching import memoize


class Lookup:
    @memoize(5)
    def find(self, key):
        return key
"""

LOOKUP_TABLE = """
_cache_lookup_table = {}
_results = {}


def remember(key, value):
    _results[key] = value
"""


def _lines(tmp_path: Path, source: str, rule: str, **options: object) -> set[int]:
    path = tmp_path / "example.py"
    path.write_text(source.lstrip(), encoding="utf-8")
    _, reported = check_fixture(path, rule, options=options or None)
    return {line for _, line, code in reported if code == rule}


@pytest.mark.parametrize(
    ("rule", "source", "options", "line"),
    [
        ("LG104", CUSTOM_TRACING, {"extend_start_calls": ["mycompany.profiling.begin_tracing"]}, 5),
        ("LG105", VIRTUAL_MEMORY, {"extend_measurement_calls": ["psutil.virtual_memory"]}, 5),
        ("LG107", CUSTOM_GROWTH, {"extend_growth_methods": ["push"]}, 9),
        ("LG108", CUSTOM_DECORATOR, {"extend_cache_decorators": ["mycompany.caching.memoize"]}, 5),
        # Only functools' lru_cache reads its first argument as a size: `memoize(5)` may
        # be a time to live, so the small-size exemption does not apply.
        (
            "LG108",
            CUSTOM_DECORATOR_WITH_ARGUMENT,
            {"extend_cache_decorators": ["mycompany.caching.memoize"]},
            5,
        ),
        ("LG108", LOOKUP_TABLE, {"cache_name_pattern": "cache|memo|_results"}, 6),
    ],
)
def test_extending_an_option_reports_the_custom_name(
    tmp_path: Path, rule: str, source: str, options: dict[str, object], line: int
) -> None:
    assert _lines(tmp_path, source, rule) == set()
    assert _lines(tmp_path, source, rule, **options) == {line}


def test_a_custom_stop_call_guarantees_the_stop(tmp_path: Path) -> None:
    assert _lines(tmp_path, CUSTOM_STOP, "LG104") == {7}
    options = {"extend_stop_calls": ["mycompany.profiling.halt_all"]}
    assert _lines(tmp_path, CUSTOM_STOP, "LG104", **options) == set()
