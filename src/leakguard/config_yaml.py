"""YAML for configuration documents: safe, strict (duplicate keys and out-of-range
integers are errors, as YAML says) and bounded (depth and size once aliases are
expanded). Its own module so that a run whose configuration documents come from the
cache (`leakguard.cache.DocumentCache`) never imports PyYAML."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from leakguard.config import MAX_CONFIG_DEPTH, MAX_CONFIG_VALUES, ConfigError

# libyaml's parser when available: the pure-Python one took ~0.3 s per run for the
# bundled rule files, a large share of a warm-cache run.
_BaseLoader: Any = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader


class _StrictLoader(_BaseLoader):  # type: ignore[misc]
    """Safe YAML with duplicate keys and out-of-range integers reported, not resolved
    silently (YAML says a duplicate key is an error; PyYAML keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            identity = (key_node.tag, key_node.value)
            if identity in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                )
            seen.add(identity)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return int(super().construct_yaml_int(node))
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"integer too large ({len(node.value)} digits)", node.start_mark
            ) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_yaml_map)


def load_yaml(text: str) -> Any:
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_node_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


class TooBig(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(problem)
        self.where = where
        self.problem = problem


def _check_node_size(root: yaml.Node) -> None:
    """Reject documents too deep or too large once aliases are expanded, in time linear
    in the document's size (aliases are shared nodes: sizes are memoised per node)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int, where: str) -> int:
        if depth > MAX_CONFIG_DEPTH:
            raise TooBig(where, f"nested more than {MAX_CONFIG_DEPTH} levels deep")
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in active:
            raise TooBig(where, "a value contains itself (recursive alias)")
        active.add(id(node))
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += size(item, depth + 1, where)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                inner = f"{where}.{key.value}" if isinstance(key, yaml.ScalarNode) else where
                total += size(key, depth + 1, where) + size(value, depth + 1, inner.lstrip("."))
        if total > MAX_CONFIG_VALUES:
            raise TooBig(where, f"more than {MAX_CONFIG_VALUES:,} values once aliases are expanded")
        active.discard(id(node))
        sizes[id(node)] = total
        return total

    size(root, 0, "")


def yaml_problem(exc: yaml.YAMLError) -> str:
    """One line: `invalid YAML at line L, column C: problem`."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        problem = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return "invalid YAML: " + " ".join(str(exc).split())


def yaml_table(text: str, source: str) -> dict[str, Any]:
    """A user configuration's YAML document: a mapping (empty for an empty file); any
    problem raises `ConfigError` naming `source` and where."""
    try:
        data = load_yaml(text)
    except TooBig as exc:
        raise ConfigError(source, exc.where or "<document>", exc.problem) from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, "<document>", yaml_problem(exc)) from None
    except RecursionError:
        raise ConfigError(source, "<document>", "nested too deeply") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(source, "<document>", "expected a mapping at the top level")
    return data


def rule_documents(texts: Mapping[str, str]) -> dict[str, Any]:
    """The bundled rule files' documents, by file name."""
    documents: dict[str, Any] = {}
    for name, text in texts.items():
        try:
            documents[name] = load_yaml(text)
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"bundled rules/{name}", "<document>", f"invalid YAML: {exc}"
            ) from None
    return documents
