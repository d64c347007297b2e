"""The analyzer's LibCST parse skips node validation (a non-public hook, see
`analyzer._unvalidated_nodes`): trees and the source round trip must be exactly those of
`libcst.parse_module`, and validation must be back on afterwards."""

from __future__ import annotations

import gc
import sysconfig
from pathlib import Path

import libcst as cst
import pytest

from leakguard.analyzer import parse_module

TESTS = Path(__file__).parent
STDLIB_SAMPLE = 15
# Small modules keep the test quick; the bench compares every file it parses.
STDLIB_MAX_BYTES = 40_000


def _sources() -> list[Path]:
    fixtures = sorted((TESTS / "fixtures").rglob("*.py"))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.glob("*.py") if p.stat().st_size <= STDLIB_MAX_BYTES)
    step = max(1, len(files) // STDLIB_SAMPLE)
    return fixtures + files[::step][:STDLIB_SAMPLE]


def _text(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
        cst.parse_module(text)
    except (UnicodeDecodeError, cst.ParserSyntaxError):
        return None  # deliberately broken fixtures: nothing to compare
    return text


def test_trees_and_round_trip_are_those_of_libcst() -> None:
    compared = 0
    for path in _sources():
        text = _text(path)
        if text is None:
            continue
        fast = parse_module(text)
        assert fast.code == text, path
        assert fast.deep_equals(cst.parse_module(text)), path
        compared += 1
    assert compared >= STDLIB_SAMPLE


def test_validation_is_back_after_parsing() -> None:
    parse_module("x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")


def test_validation_is_back_after_a_parse_error() -> None:
    with pytest.raises(cst.ParserSyntaxError):
        parse_module("def (:\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")


def test_the_garbage_collector_is_paused_during_the_parse_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    real = cst.parse_module

    def recording(text: str) -> cst.Module:
        seen.append(gc.isenabled())
        return real(text)

    monkeypatch.setattr(cst, "parse_module", recording)
    assert gc.isenabled()
    parse_module("x = 1\n")
    with pytest.raises(cst.ParserSyntaxError):
        parse_module("def (:\n")
    assert seen == [False, False]
    assert gc.isenabled()
