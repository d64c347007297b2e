"""`--add-noqa`: suppression comments for every finding, merged with existing ones."""

from __future__ import annotations

import io
import tokenize
from collections import defaultdict
from collections.abc import Iterable

from leakguard.finding import Finding
from leakguard.fixes import Edit
from leakguard.fixes.render import apply_edits, split_lines
from leakguard.suppression import LEAKGUARD_PATTERN, NOQA_PATTERN, comment_lines


def _uncommentable_lines(text: str) -> set[int]:
    """Lines whose end is inside a multi-line token (a triple-quoted string) or
    continued with a backslash: a comment cannot go there."""
    lines: set[int] = set()
    for number, line in enumerate(split_lines(text), start=1):
        if line.rstrip("\r\n").endswith("\\"):
            lines.add(number)
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.end[0] > token.start[0]:
                lines.update(range(token.start[0], token.end[0]))
    except (tokenize.TokenError, SyntaxError):
        pass
    return lines


def comment_line(finding: Finding, blocked: set[int]) -> int:
    """The line where a suppression comment for `finding` goes: its first line, or the
    next line where a comment is possible (the end of a multi-line string)."""
    line = finding.line
    while line in blocked:
        line += 1
    return line


def noqa_edits(text: str, findings: Iterable[Finding]) -> list[Edit]:
    """Edits adding `# noqa: CODES` for the unsuppressed `findings` of `text`."""
    wanted = [f for f in findings if not f.suppressed]
    if not wanted:
        return []
    blocked = _uncommentable_lines(text)
    codes: dict[int, set[str]] = defaultdict(set)
    for finding in wanted:
        codes[comment_line(finding, blocked)].add(finding.rule)
    lines = split_lines(text)
    comments = comment_lines(text)
    edits: list[Edit] = []
    for number, rules in sorted(codes.items()):
        if number > len(lines):
            continue
        body = lines[number - 1].rstrip("\r\n").rstrip()
        comment = comments.get(number)
        if comment is not None and not body.endswith(comment):
            comment = None  # the comment is not where it is expected; add a new one
        merged = merge_comment(comment or "", rules)
        if merged is None:
            continue
        if comment is not None:
            start = len(body) - len(comment)
            edits.append(Edit(number, start + 1, number, len(body) + 1, merged))
        else:
            edits.append(Edit(number, len(body) + 1, number, len(body) + 1, "  " + merged))
    return edits


def merge_comment(comment: str, rules: Iterable[str]) -> str | None:
    """`comment` extended to suppress `rules`, or None when it already does all."""
    wanted = set(rules)
    for pattern, template in (
        (NOQA_PATTERN, "# noqa: {}"),
        (LEAKGUARD_PATTERN, "# leakguard: ignore[{}]"),
    ):
        match = pattern.search(comment)
        if match is None:
            continue
        existing = match.group("codes")
        if existing is None or not existing.strip():
            return None  # a bare suppression covers every rule already
        present = [c.strip().upper() for c in existing.replace(",", " ").split() if c.strip()]
        missing = sorted(r for r in wanted if not any(r.startswith(c) for c in present))
        if not missing:
            return None
        replaced = template.format(", ".join([*present, *missing]))
        return comment[: match.start()] + replaced + comment[match.end() :]
    suffix = f"# noqa: {', '.join(sorted(wanted))}"
    return f"{comment}  {suffix}" if comment else suffix


def add_noqa_text(text: str, findings: Iterable[Finding]) -> tuple[str, int]:
    """`text` with suppressions added, and how many lines got one."""
    edits = noqa_edits(text, findings)
    return (apply_edits(text, edits), len(edits)) if edits else (text, 0)
