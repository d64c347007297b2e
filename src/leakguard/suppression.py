"""Inline suppressions: `# leakguard: ignore[LG101]`, `# leakguard: ignore`,
`# noqa: LG101` and bare `# noqa`."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass

_LEAKGUARD = re.compile(r"#\s*leakguard\s*:\s*ignore\b(?:\s*\[(?P<codes>[^\]]*)\])?", re.I)
_NOQA = re.compile(r"#\s*noqa\b(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.I)
_CODE = re.compile(r"[A-Z]+[0-9]*", re.I)

ALL = frozenset({"*"})


def comment_lines(source: str) -> dict[int, str]:
    """Comments by 1-based line number (only real comments, not text in strings)."""
    comments: dict[int, str] = {}
    lowered = source.lower()
    if "noqa" not in lowered and "leakguard" not in lowered:
        return comments  # no suppression anywhere: skip the (slow, pure Python) tokenizer
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.string
    except (tokenize.TokenError, SyntaxError, IndentationError):
        # LibCST accepted the file, so this is rare (e.g. tokenize is stricter about
        # some f-strings); fall back to a line scan rather than lose suppressions.
        for number, line in enumerate(source.splitlines(), start=1):
            if "#" in line:
                comments[number] = line[line.index("#") :]
    return comments


def without_noqa(comments: dict[int, str]) -> dict[int, str]:
    """`comments` with their `# noqa` directives removed, for a host that applies `noqa`
    itself (flake8), so that `--disable-noqa` there shows those findings."""
    if not any("noqa" in comment.lower() for comment in comments.values()):
        return comments
    return {number: _NOQA.sub("", comment) for number, comment in comments.items()}


@dataclass(frozen=True)
class Directive:
    """One suppression directive in a comment."""

    kind: str  # "leakguard" or "noqa"
    codes: frozenset[str]  # `ALL` for a bare directive
    text: str  # the directive as written in the comment


def directives(comment: str) -> list[Directive]:
    found = []
    for kind, pattern in (("leakguard", _LEAKGUARD), ("noqa", _NOQA)):
        for match in pattern.finditer(comment):
            codes = match.group("codes")
            if codes is None or not codes.strip():
                found.append(Directive(kind, ALL, match.group(0)))
            else:
                parsed = frozenset(c.upper() for c in _CODE.findall(codes))
                found.append(Directive(kind, parsed, match.group(0)))
    return found


def suppressions_of(
    rule: str, lines: Iterable[int], comments: dict[int, str]
) -> set[tuple[int, str]]:
    """The (line, code) pairs that suppress `rule` on these lines; code `*` for a bare
    directive. Empty: the finding is not suppressed."""
    used: set[tuple[int, str]] = set()
    for line in lines:
        comment = comments.get(line)
        if comment is None:
            continue
        for directive in directives(comment):
            if directive.codes is ALL:
                used.add((line, "*"))
            else:
                used.update((line, code) for code in directive.codes if rule.startswith(code))
    return used


def codes_in_comment(comment: str) -> frozenset[str] | None:
    """The codes a comment suppresses: ALL, a set of codes, or None for no suppression."""
    found: set[str] = set()
    for pattern in (_LEAKGUARD, _NOQA):
        for match in pattern.finditer(comment):
            codes = match.group("codes")
            if codes is None or not codes.strip():
                return ALL
            found |= {c.upper() for c in _CODE.findall(codes)}
    return frozenset(found) if found else None


def is_suppressed(rule: str, lines: Iterable[int], comments: dict[int, str]) -> bool:
    for line in lines:
        comment = comments.get(line)
        if comment is None:
            continue
        codes = codes_in_comment(comment)
        if codes is None:
            continue
        if codes is ALL or any(rule.startswith(code) for code in codes):
            return True
    return False


# For tools that edit suppression comments (`--add-noqa`, the editor's quick fix).
LEAKGUARD_PATTERN = _LEAKGUARD
NOQA_PATTERN = _NOQA
