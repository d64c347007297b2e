"""Parsed configuration documents (the bundled rule YAML, a user's YAML or TOML file) are
cached by their text (`DocumentCache`), so a warm run imports no YAML parser; a user's
configuration is still validated on every run, with the same errors, and a document
that fails to parse is never cached."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leakguard import config as config_module
from leakguard.cache import DocumentCache
from leakguard.config import ConfigError, load_config


class Parses:
    """Counts the YAML/TOML parses of user documents and of the rule bundle."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        # Bundled specs are read once per process: start each load from nothing.
        monkeypatch.setattr(config_module, "_BUNDLED", {})
        for name in ("_yaml_table", "_toml_tool_table", "_rule_documents"):
            monkeypatch.setattr(
                config_module, name, self.counting(name, getattr(config_module, name))
            )
        self.monkeypatch = monkeypatch

    def counting(self, name: str, function: Any) -> Any:
        def wrapper(*args: Any) -> Any:
            self.calls.append(name)
            return function(*args)

        return wrapper

    def load(self, *args: Any, **kwargs: Any) -> Any:
        self.monkeypatch.setattr(config_module, "_BUNDLED", {})
        return load_config(*args, **kwargs)

    def take(self) -> list[str]:
        taken, self.calls = sorted(self.calls), []
        return taken


YAML = "select: [LG4]\nrules:\n  LG401:\n    extend_unsafe_calls: [mylib.unsafe_load]\n"


@pytest.fixture
def cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Parses, Any]:
    """A project with a YAML configuration loaded once with the cache: the parses
    counter (emptied) and that configuration."""
    parses = Parses(monkeypatch)
    (tmp_path / ".leakguard.yaml").write_text(YAML)
    cold = parses.load([tmp_path], cache=True)
    assert parses.take() == ["_rule_documents", "_yaml_table"]
    return parses, cold


def test_a_warm_load_parses_nothing_and_gives_the_same_config(
    tmp_path: Path, cached: tuple[Parses, Any]
) -> None:
    parses, cold = cached
    assert (tmp_path / ".leakguard_cache" / "v1" / "documents.json").is_file()
    warm = parses.load([tmp_path], cache=True)
    assert parses.take() == []
    assert warm == cold
    assert warm.rules["LG401"].options["unsafe_calls"][-1] == "mylib.unsafe_load"
    # Without the cache (the default), everything is parsed.
    assert parses.load([tmp_path]) == cold
    assert parses.take() == ["_rule_documents", "_yaml_table"]


def test_pyproject_tables_are_cached_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parses = Parses(monkeypatch)
    (tmp_path / "pyproject.toml").write_text('[tool.leakguard]\nselect = ["LG1"]\n')
    cold = parses.load([tmp_path], tmp_path / "pyproject.toml", cache=True)
    assert parses.take() == ["_rule_documents", "_toml_tool_table"]
    assert parses.load([tmp_path], tmp_path / "pyproject.toml", cache=True) == cold
    assert parses.take() == []


def error_of(*args: Any, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(*args, **kwargs)
    return str(caught.value)


@pytest.mark.parametrize(
    "bad",
    [
        "select: [LG4\n",  # not YAML
        "select: [LG4]\nselect: [LG1]\n",  # a duplicate key
        "select: [LG999]\n",  # valid YAML, unknown rule
        "selekt: [LG4]\n",  # valid YAML, unknown key
        "- a list\n",  # not a mapping
    ],
)
def test_a_bad_config_fails_the_same_way_warm_or_cold(tmp_path: Path, bad: str) -> None:
    path = tmp_path / ".leakguard.yaml"
    path.write_text(YAML)
    load_config([tmp_path], cache=True)  # the good one is cached
    path.write_text(bad)
    expected = error_of([tmp_path])
    assert str(path) in expected
    assert error_of([tmp_path], cache=True) == expected
    assert error_of([tmp_path], cache=True) == expected  # and again, after a failed run


def test_a_moved_cache_directory_leaves_the_default_one_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses = Parses(monkeypatch)
    (tmp_path / ".leakguard.yaml").write_text("cache-dir: build/lg-cache\n")
    config = parses.load([tmp_path], cache=True)
    assert config.cache_dir == "build/lg-cache"
    assert not (tmp_path / ".leakguard_cache").exists()
    assert (tmp_path / "build" / "lg-cache" / "v1" / "documents.json").is_file()
    parses.take()
    assert parses.load([tmp_path], cache=True) == config
    # The bundle and the user's file both come from the moved cache (the file's
    # `cache-dir` line says where to look before it is parsed).
    assert parses.take() == []
    assert not (tmp_path / ".leakguard_cache").exists()


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".leakguard.yaml", "cache-dir: 'build/lg-cache'  # moved\n"),
        ("pyproject.toml", '[tool.ruff]\ncache-dir = "x"\n[tool.leakguard]\ncache-dir = "lg"\n'),
        # A `cache-dir` line that is not leakguard's: looked at, then parsed and kept in
        # the default cache.
        ("pyproject.toml", '[tool.ruff]\ncache-dir = "x"\n[tool.leakguard]\nfail-on = "error"\n'),
    ],
)
def test_a_configuration_is_parsed_once_wherever_it_moves_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str
) -> None:
    parses = Parses(monkeypatch)
    (tmp_path / name).write_text(text)
    config = parses.load([tmp_path], cache=True)
    assert parses.take() != []
    (tmp_path / name).write_text(text)  # the same text: written again, still known
    assert parses.load([tmp_path], cache=True) == config
    assert parses.take() == []
    assert not (tmp_path / "x").exists()
    # An edited file is parsed again (its cache-dir line unchanged).
    (tmp_path / name).write_text(text + "\n")
    parses.load([tmp_path], cache=True)
    assert parses.take() in (["_yaml_table"], ["_toml_tool_table"])


def test_documents_are_keyed_by_their_text(tmp_path: Path) -> None:
    calls: list[str] = []

    def parse(texts: dict[str, str]) -> dict[str, Any]:
        calls.append(texts["a"])
        return {"value": texts["a"]}

    documents = DocumentCache(tmp_path)
    assert documents.parse("kind", {"a": "x"}, parse) == {"value": "x"}
    documents.save()
    again = DocumentCache(tmp_path)
    assert again.parse("kind", {"a": "x"}, parse) == {"value": "x"}
    assert again.parse("kind", {"a": "y"}, parse) == {"value": "y"}  # an edited text
    assert again.parse("other kind", {"a": "x"}, parse) == {"value": "x"}
    assert calls == ["x", "y", "x"]


def test_a_document_json_cannot_give_back_is_not_kept(tmp_path: Path) -> None:
    documents = DocumentCache(tmp_path)
    assert documents.parse("kind", {"a": "x"}, lambda _: {1: "integer key"}) == {1: "integer key"}
    assert documents.parse("kind", {"a": "y"}, lambda _: {"when": object()})["when"] is not None
    documents.save()
    assert not documents.path.exists()


def test_a_corrupt_document_file_is_ignored(tmp_path: Path, cached: tuple[Parses, Any]) -> None:
    parses, cold = cached
    stored = tmp_path / ".leakguard_cache" / "v1" / "documents.json"
    for corrupt in ("{not json", "[]", json.dumps({"k": 1})):
        stored.write_text(corrupt)
        parses.take()
        assert parses.load([tmp_path], cache=True) == cold
        assert parses.take() == ["_rule_documents", "_yaml_table"]


@pytest.mark.parametrize("flag", ["--show-settings", "--show-files"])
def test_showing_the_settings_or_files_writes_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    from leakguard.cli import main

    (tmp_path / ".leakguard.yaml").write_text(YAML)
    (tmp_path / "app.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check", flag]) == 0
    assert "app.py" in capsys.readouterr().out or flag == "--show-settings"
    assert not (tmp_path / ".leakguard_cache").exists()
