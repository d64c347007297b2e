"""`analyzer.active_specs`: one Aho-Corasick pass must admit exactly the rules a
token-by-token `token in text` scan admits (the prefilter's definition)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from leakguard import analyzer
from leakguard.config import RuleSpec, load_config

FIXTURES = Path(__file__).parent / "fixtures" / "rules"


def _by_scanning(text: str, specs: Sequence[RuleSpec]) -> list[str]:
    return [s.id for s in specs if not s.prefilter or any(t in text for t in s.prefilter)]


def _texts() -> Iterator[str]:
    for path in sorted(FIXTURES.rglob("*.py")):
        yield path.read_text(encoding="utf-8", errors="replace")
    # Overlapping tokens, a token at the very end, lone surrogates, nothing at all.
    yield "x = {}\nx[k] = v  # async def"
    yield "import pickle\npickle.loads(b)\ncache"
    yield "\udcff jsonpickle \udcff"
    yield ""


@pytest.fixture(params=["automaton", "scan"])
def search(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Both ways `_TokenSearch` can look: the automaton, and the token-by-token scan of an
    environment without pyahocorasick."""
    if request.param == "scan":
        monkeypatch.setattr(analyzer, "ahocorasick", None)
    else:
        assert analyzer.ahocorasick is not None, "pyahocorasick is a dependency"
    analyzer._token_search.cache_clear()
    yield request.param
    analyzer._token_search.cache_clear()


def test_active_specs_match_scanning_each_token(search: str) -> None:
    specs = sorted(load_config([FIXTURES]).rules.values(), key=lambda s: s.id)
    # A rule without tokens and one with an empty token are always active.
    specs += [
        specs[0]._replace(id="LG990", prefilter=()),
        specs[0]._replace(id="LG991", prefilter=("", "never-in-any-text")),
    ]
    admitted = 0
    for text in _texts():
        expected = _by_scanning(text, specs)
        assert [s.id for s in analyzer.active_specs(text, specs)] == expected
        admitted += len(expected)
    # Most rules are active somewhere and inactive elsewhere: the comparison tells apart.
    assert 0 < admitted < len(specs) * len(list(_texts()))
