"""Configuration: bundled rule definitions (`rules/*.yaml`) merged with user overrides.

User overrides come from `[tool.leakguard]` in `pyproject.toml`, `.leakguard.yaml` or
`leakguard.yaml` (found by walking up from the first target), or `--config FILE`.
Every problem is reported as a `ConfigError` naming the file and the key.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from leakguard.finding import Severity

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from leakguard.cache import DocumentCache

USER_CONFIG_NAMES = (".leakguard.yaml", "leakguard.yaml", "pyproject.toml")

DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".git/",
    ".hg/",
    ".svn/",
    ".venv/",
    "venv/",
    ".env/",
    "env/",
    "build/",
    "dist/",
    "__pycache__/",
    "node_modules/",
    ".tox/",
    ".nox/",
    ".eggs/",
    "*.egg-info/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".leakguard_cache/",
    "site-packages/",
)


DEFAULT_CACHE_DIR = ".leakguard_cache"
DEFAULT_MAX_FILE_SIZE = 2_000_000  # bytes
# Per-file budgets (see engine/supervisor): a file whose analysis takes longer, or needs
# more address space, is stopped and reported; the run goes on.
DEFAULT_FILE_TIMEOUT = 20.0  # seconds
DEFAULT_FILE_MEMORY_MB = 4096  # MiB of address space per worker; 0: no limit
_MAX_FILE_TIMEOUT = 86_400.0
# Below this, the interpreter and LibCST cannot even start.
_MIN_FILE_MEMORY_MB = 256
_MAX_FILE_MEMORY_MB = 1 << 30

# Bounds on user configuration files. Real configurations are a few KB, a few levels
# deep and have a few hundred values; the limits only stop hostile or broken input
# (a YAML alias bomb expands 4 KB into billions of values) before it costs minutes.
MAX_CONFIG_BYTES = 1_000_000
MAX_CONFIG_DEPTH = 32
MAX_CONFIG_VALUES = 100_000


class ConfigError(Exception):
    """A configuration problem; the message names the file and the key."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        super().__init__(f"{source}: {key}: {problem}")


# The configuration's values are NamedTuples, not dataclasses (`_replace` for a changed
# copy): a warm run imports this module, and `dataclasses` with the `exec` that makes
# each class's methods cost a fifth of such a run (`leakguard.finding`).

# The default of a mapping field: one shared empty dict, read-only by its type. Not a
# `MappingProxyType`: that cannot be pickled, and the configuration is pickled to the
# worker processes wherever they are spawned (macOS, Windows; Linux from Python 3.14).
_NO_ENTRIES: Mapping[str, Any] = {}


class RuleSpec(NamedTuple):
    """One rule's definition from bundled YAML, with user overrides applied."""

    id: str
    name: str
    severity: Severity
    enabled: bool
    summary: str
    message: str
    prefilter: tuple[str, ...]
    options: Mapping[str, Any]
    cwe: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    precision: str = "high"
    security_severity: float | None = None
    # How to fix a finding (a template formatted with the same fields as `message`);
    # `message` says only what is wrong, in one line of at most 120 characters.
    help: str = ""
    # Options a former version had (name -> why it went): a user config that still sets
    # one gets a warning instead of a failed run, so upgrading never breaks CI.
    retired_options: Mapping[str, str] = _NO_ENTRIES

    def option(self, name: str) -> Any:
        return self.options[name]


_RULE_KEYS_REQUIRED = {"id", "name", "severity", "summary", "message", "prefilter"}
_RULE_KEYS_OPTIONAL = {
    "enabled",
    "options",
    "cwe",
    "tags",
    "precision",
    "security_severity",
    "help",
    "retired_options",
}


def _bundled_dir(kind: str) -> Traversable:
    folder = Path(__file__).parent / "_bundled" / kind
    if folder.is_dir():
        return folder  # importlib.resources costs ~3-10 ms of imports a run
    from importlib import resources

    return resources.files("leakguard") / "_bundled" / kind


# The bundled rule definitions, read once per process (`bundled_rule_specs`).
_BUNDLED: dict[str, RuleSpec] = {}


def bundled_rule_specs(documents: DocumentCache | None = None) -> dict[str, RuleSpec]:
    """All rule definitions shipped with leakguard, by id. With `documents`, their
    parsed YAML comes from that cache while the bundle's text is unchanged."""
    if _BUNDLED:
        return _BUNDLED
    folder = _bundled_dir("rules")
    texts = {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    }
    specs: dict[str, RuleSpec] = {}
    for name, raw in _parse_document(documents, "bundled rules", texts, _rule_documents).items():
        source = f"bundled rules/{name}"
        spec = _parse_rule_spec(raw, source)
        if spec.id in specs:
            raise ConfigError(source, "id", f"duplicate rule id {spec.id}")
        specs[spec.id] = spec
    _BUNDLED.update(specs)
    return _BUNDLED


def _rule_documents(texts: Mapping[str, str]) -> dict[str, Any]:
    from leakguard.config_yaml import rule_documents

    return rule_documents(texts)


def _parse_document(
    documents: DocumentCache | None,
    kind: str,
    texts: Mapping[str, str],
    parse: Callable[[Mapping[str, str]], Any],
) -> Any:
    if documents is None:
        return parse(texts)
    return documents.parse(kind, texts, parse)


def bundled_doc(rule_id: str) -> str | None:
    """The rule's documentation page (Markdown), shipped inside the package."""
    page = _bundled_dir("docs") / f"{rule_id}.md"
    return page.read_text(encoding="utf-8") if page.is_file() else None


def _parse_rule_spec(raw: Any, source: str) -> RuleSpec:
    if not isinstance(raw, dict):
        raise ConfigError(source, "<document>", "expected a mapping")
    missing = _RULE_KEYS_REQUIRED - raw.keys()
    if missing:
        raise ConfigError(source, sorted(missing)[0], "required key is missing")
    unknown = raw.keys() - _RULE_KEYS_REQUIRED - _RULE_KEYS_OPTIONAL
    if unknown:
        raise ConfigError(source, sorted(unknown)[0], "unknown key")
    options = raw.get("options") or {}
    if not isinstance(options, dict):
        raise ConfigError(source, "options", "expected a mapping")
    security_severity = raw.get("security_severity")
    return RuleSpec(
        id=str(raw["id"]),
        name=str(raw["name"]),
        severity=_severity(raw["severity"], source, "severity"),
        enabled=bool(raw.get("enabled", True)),
        summary=str(raw["summary"]).strip(),
        message=str(raw["message"]).strip(),
        prefilter=tuple(_string_list(raw["prefilter"], source, "prefilter")),
        options=dict(options),
        cwe=tuple(int(c) for c in raw.get("cwe") or ()),
        tags=tuple(str(t) for t in raw.get("tags") or ()),
        precision=str(raw.get("precision", "high")),
        security_severity=float(security_severity) if security_severity is not None else None,
        help=str(raw.get("help") or "").strip(),
        retired_options={
            str(name): str(why).strip() for name, why in (raw.get("retired_options") or {}).items()
        },
    )


def _severity(value: Any, source: str, key: str) -> Severity:
    try:
        return Severity.parse(str(value))
    except ValueError as exc:
        raise ConfigError(source, key, str(exc)) from None


def _string_list(value: Any, source: str, key: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list):
        raise ConfigError(source, key, f"expected a list of strings, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(source, key, f"expected a list of strings, found {item!r}")
    return list(value)


class Config(NamedTuple):
    """The effective configuration of one run."""

    rules: Mapping[str, RuleSpec]
    enabled: frozenset[str]
    root: Path
    source: str | None = None
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    fail_on: Severity = Severity.WARNING
    respect_gitignore: bool = True
    include_pyi: bool = False
    # Apply the excludes to files named explicitly too (pre-commit names every file).
    force_exclude: bool = False
    cache_dir: str = DEFAULT_CACHE_DIR
    # Larger files are reported under `errors` instead of analysed: LibCST parses about
    # 0.1-0.2 MB/s, so one multi-megabyte generated file would dominate a run.
    # 0 disables the limit.
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    # Per-file budgets: analysis time in seconds, worker address space in MiB (0: none).
    file_timeout: float = DEFAULT_FILE_TIMEOUT
    file_memory_mb: int = DEFAULT_FILE_MEMORY_MB
    extras: Mapping[str, Any] = _NO_ENTRIES
    # Problems that do not stop the run (retired options), each naming its key; the
    # engine reports them as warnings against the config file.
    warnings: tuple[str, ...] = ()

    def enabled_specs(self) -> list[RuleSpec]:
        return [self.rules[r] for r in sorted(self.enabled)]

    def rules_for_path(self, relative_path: str) -> frozenset[str]:
        """Enabled rules minus those that `per-file-ignores` turns off for this path."""
        ignored: set[str] = set()
        for pattern, codes in self.per_file_ignores:
            if _path_matches(relative_path, pattern):
                ignored |= {r for r in self.enabled if any(r.startswith(c) for c in codes)}
        return self.enabled - ignored

    def digest(self) -> str:
        """Identifies everything that can change a file's findings (for the cache)."""
        payload = {
            "enabled": sorted(self.enabled),
            "rules": {
                rid: [
                    spec.severity.value,
                    spec.message,
                    spec.help,
                    list(spec.prefilter),
                    spec.options,
                ]
                for rid, spec in sorted(self.rules.items())
                if rid in self.enabled
            },
            # A rule may read another rule's options (LG202 uses LG201's call lists),
            # enabled or not.
            "options": {rid: spec.options for rid, spec in sorted(self.rules.items())},
            "per_file_ignores": [[p, sorted(c)] for p, c in self.per_file_ignores],
        }
        blob = json.dumps(payload, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:32]


def _path_matches(relative_path: str, pattern: str) -> bool:
    if fnmatch.fnmatch(relative_path, pattern):
        return True
    # A bare file or directory name matches anywhere, as in flake8 and ruff.
    if "/" not in pattern.rstrip("/"):
        parts = relative_path.split("/")
        return any(fnmatch.fnmatch(part, pattern.rstrip("/")) for part in parts)
    return relative_path.startswith(pattern.rstrip("/") + "/")


# ----------------------------------------------------------------------------------------
# User configuration


_TOP_LEVEL_KEYS = {
    "select",
    "ignore",
    "extend-select",
    "extend-ignore",
    "per-file-ignores",
    "exclude",
    "extend-exclude",
    "severity",
    "fail-on",
    "respect-gitignore",
    "include-pyi",
    "force-exclude",
    "cache-dir",
    "max-file-size",
    "file-timeout",
    "file-memory-mb",
    "rules",
}


def find_user_config(
    start: Path, documents: Callable[[Path], DocumentCache | None] | None = None
) -> Path | None:
    """The nearest `.leakguard.yaml`, `leakguard.yaml` or `pyproject.toml` with our table.
    `documents(folder)`: where a `pyproject.toml` parsed before may come from."""
    try:
        here = start.resolve()
    except (OSError, RuntimeError):  # a symlink loop: look from where the link is
        here = Path(os.path.abspath(start)).parent
    if not here.is_dir():
        here = here.parent
    for folder in (here, *here.parents):
        for name in USER_CONFIG_NAMES:
            candidate = folder / name
            if not candidate.is_file():
                continue
            if name != "pyproject.toml":
                return candidate
            if _pyproject_has_table(candidate, documents(folder) if documents else None):
                return candidate
    return None


def _pyproject_has_table(path: Path, documents: DocumentCache | None = None) -> bool:
    try:
        raw = path.read_bytes()
    except OSError:
        return False
    if b"leakguard" not in raw:
        return False  # any spelling of our table names it (and TOML costs ~5 ms)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # Undecodable but meant for us: `read_user_config` reports it.
        return b"tool.leakguard" in raw
    if documents is not None:
        _consult_hints(documents, path, text)
    try:
        return "table" in _parse_document(documents, "toml", {"": text}, _toml_tool_table)
    except ConfigError:
        # A broken file that means to configure us must be reported, not skipped
        # (`read_user_config` names the problem); one that doesn't is not our business.
        return "tool.leakguard" in text


def _read_config_text(path: Path, source: str) -> str:
    """The file's text, refusing what is not a small regular UTF-8 file: reading
    /dev/zero never ends and a FIFO blocks until someone writes to it."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise block right here.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ConfigError(source, "<file>", f"cannot read: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ConfigError(source, "<file>", "not a regular file")
        data = os.read(descriptor, MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(source, "<file>", f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(descriptor)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(source, "<file>", f"larger than {MAX_CONFIG_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            source, "<file>", f"not valid UTF-8: byte 0x{data[exc.start]:02x} at line {line}"
        ) from None


def read_user_config(path: Path, documents: DocumentCache | None = None) -> dict[str, Any]:
    """The raw user table from a config file; syntax problems raise `ConfigError`. With
    `documents`, a table parsed before from the same text comes from that cache (only a
    document that parsed without error is ever kept there; the table is validated by
    `apply_user_table` on every run either way)."""
    source = str(path)
    text = _read_config_text(path, source)
    if documents is not None:
        _consult_hints(documents, path, text)
    if path.suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(
            source,
            "<file>",
            f"unsupported configuration file type {path.suffix or '(no suffix)'!r}: expected "
            "pyproject.toml (or another .toml file) or .leakguard.yaml (.yaml, .yml)",
        )
    if path.suffix == ".toml":
        try:
            found = _parse_document(documents, "toml", {"": text}, _toml_tool_table)
        except ConfigError as exc:
            raise ConfigError(source, exc.key, exc.problem) from None
        table = found.get("table", {})
        if not isinstance(table, dict):
            raise ConfigError(source, "tool.leakguard", "expected a table")
        _check_depth(table, source, "tool.leakguard")
        return table
    table = _parse_document(documents, "yaml", {"": text}, lambda t: _yaml_table(t[""], source))
    assert isinstance(table, dict)
    return table


def _tomllib() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib


def _toml_tool_table(texts: Mapping[str, str]) -> dict[str, Any]:
    """`{"table": ...}` with the document's `tool.leakguard` value, `{}` without one; a
    document that is not TOML raises `ConfigError` (naming no file: the caller does)."""
    tomllib = _tomllib()
    try:
        data = tomllib.loads(texts[""])
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", "<document>", f"invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError("", "<document>", "nested too deeply") from None
    except ValueError as exc:  # e.g. an integer over Python's digit limit
        raise ConfigError("", "<document>", f"invalid value: {exc}") from None
    tool = data.get("tool")
    return {"table": tool["leakguard"]} if isinstance(tool, dict) and "leakguard" in tool else {}


def _yaml_table(text: str, source: str) -> dict[str, Any]:
    from leakguard.config_yaml import yaml_table

    return yaml_table(text, source)


def _check_depth(value: Any, source: str, where: str, depth: int = 0) -> None:
    if depth > MAX_CONFIG_DEPTH:
        raise ConfigError(source, where, f"nested more than {MAX_CONFIG_DEPTH} levels deep")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_depth(item, source, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_depth(item, source, where, depth + 1)


class CliOverrides(NamedTuple):
    select: Sequence[str] | None = None
    ignore: Sequence[str] | None = None
    extend_select: Sequence[str] | None = None
    exclude: Sequence[str] | None = None
    extend_exclude: Sequence[str] | None = None
    fail_on: str | None = None
    force_exclude: bool | None = None


def load_config(
    targets: Sequence[Path],
    config_file: Path | None = None,
    cli: CliOverrides | None = None,
    base: Mapping[str, RuleSpec] | None = None,
    *,
    cache: bool = False,
) -> Config:
    """Build the effective configuration for a run over `targets`. With `cache`, the
    parsed configuration documents are kept in the project's cache directory, so a run
    whose configuration did not change imports no YAML (or TOML) parser."""
    cli = cli or CliOverrides()
    # Where the cache is by default, for each folder a configuration is looked for in.
    caches: dict[Path, DocumentCache] = {}

    def documents_at(folder: Path) -> DocumentCache:
        folder = folder.resolve()
        if folder not in caches:
            caches[folder] = _documents(folder / DEFAULT_CACHE_DIR)
        return caches[folder]

    start = targets[0] if targets else Path.cwd()
    path = config_file or find_user_config(start, documents_at if cache else None)
    source = str(path) if path else "<defaults>"
    root = path.resolve().parent if path else Path.cwd().resolve()
    documents = documents_at(root) if cache else None
    user: dict[str, Any] = read_user_config(path, documents) if path else {}
    moved = user.get("cache-dir", DEFAULT_CACHE_DIR)
    if documents is not None and moved != DEFAULT_CACHE_DIR:
        # Nothing is written where the user moved the cache from: what was parsed
        # goes where it moved to.
        parsed = documents
        documents = _documents(root / moved) if _is_directory_name(moved) else None
        if documents is not None:
            documents.adopt(parsed)
    specs = dict(base if base is not None else bundled_rule_specs(documents))
    config = apply_cli(apply_user_table(specs, user, source, root, documents), cli, documents)
    if documents is not None:
        documents.save()
    return config


# A `cache-dir` line of a YAML or TOML configuration, and the directory it names.
_CACHE_DIR_LINE = (
    r"""^[ \t]*["']?cache-dir["']?[ \t]*[:=][ \t]*["']?([^"'#\r\n]+?)["']?[ \t]*(?:#.*)?$"""
)


def _consult_hints(documents: DocumentCache, path: Path, text: str) -> None:
    """Where a configuration moves the cache cannot be known before it is parsed: its
    document (`text`, read from `path`) is also looked up in the directories its
    `cache-dir` lines name. Another tool's table may have such a line too: each is only a
    place to look (documents are keyed by their whole text), so a wrong one costs a
    parse, never a wrong table."""
    if "cache-dir" not in text:
        return
    import re

    for hint in re.findall(_CACHE_DIR_LINE, text, flags=re.MULTILINE):
        if _is_directory_name(hint) and hint.strip() != DEFAULT_CACHE_DIR:
            documents.consult(path.parent / hint.strip())


def _documents(directory: Path) -> DocumentCache:
    from leakguard.cache import DocumentCache

    return DocumentCache(directory)


def _is_directory_name(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and "\0" not in value


def apply_user_table(
    specs: dict[str, RuleSpec],
    user: Mapping[str, Any],
    source: str,
    root: Path,
    documents: DocumentCache | None = None,
) -> Config:
    prefix = "tool.leakguard." if source.endswith(".toml") else ""
    for key in user:
        if key not in _TOP_LEVEL_KEYS:
            hint = _close_match(key, _TOP_LEVEL_KEYS)
            raise ConfigError(source, prefix + key, "unknown key" + hint)

    def codes(key: str) -> list[str]:
        values = _string_list(user[key], source, prefix + key)
        for value in values:
            _check_selector(value, specs, source, prefix + key)
        return values

    severities = user.get("severity", {})
    if not isinstance(severities, dict):
        raise ConfigError(source, prefix + "severity", "expected a table of rule id to severity")
    for rule_id, value in severities.items():
        key = f"{prefix}severity.{rule_id}"
        if rule_id not in specs:
            raise ConfigError(source, key, "unknown rule id")
        specs[rule_id] = specs[rule_id]._replace(severity=_severity(value, source, key))

    warnings: list[str] = []
    rule_tables = user.get("rules", {})
    if not isinstance(rule_tables, dict):
        raise ConfigError(source, prefix + "rules", "expected a table of rule id to options")
    for rule_id, overrides in rule_tables.items():
        key = f"{prefix}rules.{rule_id}"
        if rule_id not in specs:
            raise ConfigError(source, key, "unknown rule id")
        if not isinstance(overrides, dict):
            raise ConfigError(source, key, "expected a table of options")
        specs[rule_id] = _override_options(specs[rule_id], overrides, source, key, warnings)

    enabled = {rid for rid, spec in specs.items() if spec.enabled}
    if "select" in user:
        enabled = _expand(codes("select"), specs)
    if "extend-select" in user:
        enabled |= _expand(codes("extend-select"), specs)
    for key in ("ignore", "extend-ignore"):
        if key in user:
            enabled -= _expand(codes(key), specs)

    per_file: list[tuple[str, frozenset[str]]] = []
    table = user.get("per-file-ignores", {})
    if not isinstance(table, dict):
        raise ConfigError(source, prefix + "per-file-ignores", "expected a table of glob to codes")
    for pattern, values in table.items():
        key = f"{prefix}per-file-ignores.{pattern}"
        items = _string_list(values, source, key)
        for value in items:
            _check_selector(value, specs, source, key)
        per_file.append((str(pattern), frozenset(items)))

    def paths(key: str) -> tuple[str, ...] | None:
        if key not in user:
            return None
        values = _string_list(user[key], source, prefix + key)
        return _check_patterns(values, source, prefix + key, documents)

    def flag(key: str, default: bool) -> bool:
        value = user.get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(source, prefix + key, "expected true or false")
        return value

    max_file_size = user.get("max-file-size", DEFAULT_MAX_FILE_SIZE)
    if isinstance(max_file_size, bool) or not isinstance(max_file_size, int) or max_file_size < 0:
        raise ConfigError(
            source, prefix + "max-file-size", "expected a number of bytes (0 for no limit)"
        )
    file_timeout = user.get("file-timeout", DEFAULT_FILE_TIMEOUT)
    if (
        isinstance(file_timeout, bool)
        or not isinstance(file_timeout, (int, float))
        or not 0 < file_timeout <= _MAX_FILE_TIMEOUT
    ):
        raise ConfigError(
            source,
            prefix + "file-timeout",
            f"expected a number of seconds above 0 and at most {_MAX_FILE_TIMEOUT:,}",
        )
    file_memory_mb = user.get("file-memory-mb", DEFAULT_FILE_MEMORY_MB)
    if (
        isinstance(file_memory_mb, bool)
        or not isinstance(file_memory_mb, int)
        or not (file_memory_mb == 0 or _MIN_FILE_MEMORY_MB <= file_memory_mb <= _MAX_FILE_MEMORY_MB)
    ):
        raise ConfigError(
            source,
            prefix + "file-memory-mb",
            f"expected MiB between {_MIN_FILE_MEMORY_MB} and {_MAX_FILE_MEMORY_MB:,} "
            "(0 for no limit)",
        )
    cache_dir = user.get("cache-dir", DEFAULT_CACHE_DIR)
    if not _is_directory_name(cache_dir):
        raise ConfigError(source, prefix + "cache-dir", "expected a directory name")
    return Config(
        rules=specs,
        enabled=frozenset(enabled),
        root=root,
        source=source,
        exclude=paths("exclude") or DEFAULT_EXCLUDE,
        extend_exclude=paths("extend-exclude") or (),
        per_file_ignores=tuple(per_file),
        fail_on=_severity(user.get("fail-on", "warning"), source, prefix + "fail-on"),
        respect_gitignore=flag("respect-gitignore", True),
        include_pyi=flag("include-pyi", False),
        force_exclude=flag("force-exclude", False),
        cache_dir=cache_dir,
        max_file_size=max_file_size,
        file_timeout=float(file_timeout),
        file_memory_mb=file_memory_mb,
        warnings=tuple(warnings),
    )


def apply_cli(config: Config, cli: CliOverrides, documents: DocumentCache | None = None) -> Config:
    source = "command line"
    enabled = set(config.enabled)
    if cli.select is not None:
        for value in cli.select:
            _check_selector(value, config.rules, source, "--select")
        enabled = _expand(cli.select, config.rules)
    if cli.extend_select is not None:
        for value in cli.extend_select:
            _check_selector(value, config.rules, source, "--extend-select")
        enabled |= _expand(cli.extend_select, config.rules)
    if cli.ignore is not None:
        for value in cli.ignore:
            _check_selector(value, config.rules, source, "--ignore")
        enabled -= _expand(cli.ignore, config.rules)
    changes: dict[str, Any] = {"enabled": frozenset(enabled)}
    if cli.exclude is not None:
        changes["exclude"] = _check_patterns(cli.exclude, source, "--exclude", documents)
    if cli.extend_exclude:
        extra = _check_patterns(cli.extend_exclude, source, "--extend-exclude", documents)
        changes["extend_exclude"] = config.extend_exclude + extra
    if cli.fail_on is not None:
        changes["fail_on"] = _severity(cli.fail_on, source, "--fail-on")
    if cli.force_exclude is not None:
        changes["force_exclude"] = cli.force_exclude
    return config._replace(**changes)


def _check_patterns(
    values: Iterable[str], source: str, key: str, documents: DocumentCache | None = None
) -> tuple[str, ...]:
    """The patterns, each checked to be one pathspec accepts. With `documents`, a list
    checked before is known good from the cache, which keeps only what passed (an
    invalid pattern fails every run): a warm run then never imports pathspec."""
    patterns = tuple(values)

    def check(texts: Mapping[str, str]) -> bool:
        import pathspec

        for value in patterns:
            try:
                pathspec.GitIgnoreSpec.from_lines([value])
            except ValueError as exc:  # pathspec's GitIgnorePatternError, e.g. a bare "!"
                raise ConfigError(source, key, f"invalid pattern {value!r}: {exc}") from None
        return True

    _parse_document(documents, "patterns", {str(i): p for i, p in enumerate(patterns)}, check)
    return patterns


def _check_selector(value: str, specs: Mapping[str, RuleSpec], source: str, key: str) -> None:
    if value == "ALL":
        return
    if not value.strip():
        # Every rule id starts with "": an empty entry would silently match them all.
        raise ConfigError(source, key, "empty rule code")
    if not any(rule_id.startswith(value) for rule_id in specs):
        raise ConfigError(source, key, f"unknown rule id or prefix {value!r}")


def _expand(selectors: Iterable[str], specs: Mapping[str, RuleSpec]) -> set[str]:
    chosen: set[str] = set()
    for value in selectors:
        chosen |= {rid for rid in specs if value == "ALL" or rid.startswith(value)}
    return chosen


def _override_options(
    spec: RuleSpec, overrides: Mapping[str, Any], source: str, key: str, warnings: list[str]
) -> RuleSpec:
    options = dict(spec.options)
    added: list[str] = []  # user-supplied list entries, e.g. extra call names
    for name, value in overrides.items():
        option_key = f"{key}.{name}"
        if name.startswith("extend_") and name[len("extend_") :] in spec.options:
            target = name[len("extend_") :]
            if not isinstance(spec.options[target], list):
                raise ConfigError(source, option_key, f"{target} is not a list option")
            extra = _string_list(value, source, option_key)
            options[target] = [*options[target], *extra]
            added.extend(extra)
            continue
        if name in spec.retired_options and name not in spec.options:
            warnings.append(f"{option_key}: ignored: {spec.retired_options[name]}")
            continue
        if name not in spec.options:
            known = ", ".join(sorted(spec.options)) or "none"
            raise ConfigError(source, option_key, f"unknown option for {spec.id} (known: {known})")
        options[name] = _coerce_like(spec.options[name], value, source, option_key)
        if isinstance(options[name], list):
            added.extend(options[name])
    return spec._replace(options=options, prefilter=_widen_prefilter(spec.prefilter, added))


def _widen_prefilter(prefilter: tuple[str, ...], entries: Iterable[str]) -> tuple[str, ...]:
    """The bundled prefilter only knows the bundled names: a file that calls only a
    user-added `mylib.unsafe_load` would skip the rule. Any code using a dotted name
    spells its last part (`mylib.*`: the module), so that part becomes a token too.
    An empty prefilter means "always run" and stays empty."""
    if not prefilter:
        return prefilter
    tokens = list(prefilter)
    for entry in entries:
        parts = [p for p in entry.split(".") if p and p != "*"]
        if parts and parts[-1] not in tokens:
            tokens.append(parts[-1])
    return tuple(tokens)


def _coerce_like(default: Any, value: Any, source: str, key: str) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, (int, float)):
        accepted = (int, float) if isinstance(default, float) else int
        if isinstance(value, accepted) and not isinstance(value, bool):
            _check_threshold(default, value, source, key)
            return float(value) if isinstance(default, float) else value
    elif isinstance(default, str):
        if isinstance(value, str):
            if key.endswith("_severity"):
                _severity(value, source, key)  # `string_severity = "loud"` names the key
            return value
    elif isinstance(default, list):
        return _string_list(value, source, key)
    elif isinstance(default, dict) and isinstance(value, dict):
        return value
    raise ConfigError(
        source, key, f"expected {type(default).__name__}, got {type(value).__name__} ({value!r})"
    )


def _check_threshold(default: float, value: float, source: str, key: str) -> None:
    """Counts, sizes and depths are never negative (and are not NaN); a `min_*` threshold
    whose default is positive would report every occurrence at 0."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(source, key, f"expected a finite number, got {value!r}")
    if value < 0:
        raise ConfigError(source, key, f"expected a number >= 0, got {value!r}")
    if value == 0 and default > 0 and key.rsplit(".", 1)[-1].startswith("min_"):
        raise ConfigError(source, key, "expected a number > 0 (0 would report every occurrence)")


def _close_match(key: str, known: Iterable[str]) -> str:
    import difflib

    matches = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
