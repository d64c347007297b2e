"""Baselines: record today's findings so that only new ones fail a run.

`leakguard check --write-baseline .leakguard-baseline.json` records every open finding;
`leakguard check --baseline .leakguard-baseline.json` hides the recorded ones.

A finding is identified by rule + path + the hash of its line (the same line hash GitHub
uses, see `fingerprint.py`), never by line number, so code added or removed above it
does not bring it back. Lines whose hash changed because nearby code below them was
edited are matched a second way, by rule + path + the flagged line's text + message.
Matching counts: two identical findings recorded once leave one of them reported.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leakguard import __version__
from leakguard.config import ConfigError
from leakguard.engine import RunResult
from leakguard.finding import Finding

VERSION = 1

# (rule, path, line hash without its occurrence counter)
_HashKey = tuple[str, str, str]
# (rule, path, flagged line with whitespace collapsed, message)
_TextKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class Entry:
    rule: str
    path: str
    fingerprint: str
    code: str
    message: str

    @property
    def hash_key(self) -> _HashKey:
        return (self.rule, self.path, self.fingerprint.split(":", 1)[0])

    @property
    def text_key(self) -> _TextKey:
        return (self.rule, self.path, self.code, self.message)

    def to_json(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "path": self.path,
            "fingerprint": self.fingerprint,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True)
class Baseline:
    entries: tuple[Entry, ...]


def _normalise_code(line: str) -> str:
    return " ".join(line.split())


def entry_for(finding: Finding) -> Entry:
    return Entry(
        rule=finding.rule,
        path=finding.path,
        fingerprint=finding.fingerprint,
        code=_normalise_code(finding.source_line),
        message=finding.message,
    )


def write(run: RunResult, path: Path) -> None:
    """Record every open (not inline-suppressed) finding of `run`."""
    entries = sorted(
        (entry_for(f) for f in run.findings if not f.suppressed),
        key=lambda e: (e.path, e.rule, e.fingerprint, e.code, e.message),
    )
    document = {
        "version": VERSION,
        "tool": {"name": "leakguard", "version": __version__},
        "findings": [e.to_json() for e in entries],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "<file>", f"cannot write baseline: {exc}") from None


def read(path: Path) -> Baseline:
    """Load a baseline; a missing or malformed file raises `ConfigError` naming it."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            source, "<file>", "baseline file not found (create it with --write-baseline)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, "<file>", f"cannot read baseline: {exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(source, "<file>", f"baseline is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or "version" not in document:
        raise ConfigError(source, "<file>", "not a leakguard baseline (no version field)")
    if document["version"] != VERSION:
        raise ConfigError(
            source,
            "version",
            f"unsupported baseline version {document['version']!r} (expected {VERSION}); "
            "re-create it with --write-baseline",
        )
    findings = document.get("findings")
    if not isinstance(findings, list):
        raise ConfigError(source, "findings", "expected a list")
    return Baseline(tuple(_entry(item, source, index) for index, item in enumerate(findings)))


def _entry(item: Any, source: str, index: int) -> Entry:
    key = f"findings[{index}]"
    if not isinstance(item, dict):
        raise ConfigError(source, key, "expected an object")
    values: dict[str, str] = {}
    for name in ("rule", "path", "fingerprint", "code", "message"):
        value = item.get(name, "")
        if not isinstance(value, str):
            raise ConfigError(source, f"{key}.{name}", "expected a string")
        values[name] = value
    if not values["rule"] or not values["path"]:
        raise ConfigError(source, key, "rule and path are required")
    return Entry(**values)


def apply(run: RunResult, baseline: Baseline) -> RunResult:
    """`run` without the findings recorded in `baseline` (each entry hides one finding)."""
    entries = baseline.entries
    used = [False] * len(entries)
    by_hash: dict[_HashKey, list[int]] = defaultdict(list)
    by_text: dict[_TextKey, list[int]] = defaultdict(list)
    for index in reversed(range(len(entries))):  # reversed: pop() takes the first one
        if entries[index].fingerprint:
            by_hash[entries[index].hash_key].append(index)
        by_text[entries[index].text_key].append(index)

    def take(candidates: list[int]) -> bool:
        while candidates:
            index = candidates.pop()
            if not used[index]:
                used[index] = True
                return True
        return False

    open_findings = [f for result in run.results for f in result.findings if not f.suppressed]
    hidden: set[int] = set()
    # Pass 1, line hash: survives any edit outside the 100 characters that follow the
    # finding's start. Pass 2, line text: survives edits just below it.
    for finding in open_findings:
        entry = entry_for(finding)
        if entry.fingerprint and take(by_hash.get(entry.hash_key, [])):
            hidden.add(id(finding))
    for finding in open_findings:
        if id(finding) not in hidden and take(by_text.get(entry_for(finding).text_key, [])):
            hidden.add(id(finding))

    results = [
        result.replace(findings=[f for f in result.findings if id(f) not in hidden])
        for result in run.results
    ]
    return run.replace(results)
