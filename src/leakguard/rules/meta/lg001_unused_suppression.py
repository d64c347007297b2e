"""LG001 unused-suppression: suppression comments that suppress nothing (Ruff's RUF100).

Not a tree visitor: whether a suppression is used is known only once every other rule
has reported, so `unused_suppressions` runs after them on the file's findings and the
comments the analyzer already collected. Judged are leakguard's own directives only:
`# leakguard: ignore` (bare or with codes) and the `LG` codes of `# noqa: ...`; a bare
`# noqa` and other tools' codes (`# noqa: E501`) belong to flake8 and friends.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping

from leakguard.config import RuleSpec
from leakguard.finding import Finding
from leakguard.fixes import Applicability, Edit, Fix
from leakguard.rule import LintRule, bound_message
from leakguard.suppression import ALL, Directive, directives
from leakguard.triage import TriageTree

CODE = "LG001"


class UnusedSuppression(LintRule):
    code = CODE

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        return False  # never needs the parsed tree (see `unused_suppressions`)


def unused_suppressions(
    path: str,
    comments: Mapping[int, str],
    source_lines: list[str],
    used: Collection[tuple[int, str]],
    spec: RuleSpec,
    enabled: Collection[str],
    known: Iterable[str],
) -> list[Finding]:
    """One finding per comment with leakguard codes (or a bare `leakguard: ignore`)
    that no finding of this run used. `used` holds (line, code) pairs, `*` for bare."""
    known_codes = frozenset(known)
    findings = []
    for line, comment in sorted(comments.items()):
        for directive in directives(comment):
            unused = _unused_codes(directive, line, used)
            if not unused:
                continue
            if CODE in directive_codes(directive):
                continue  # a directive that names LG001 is kept on purpose
            text = source_lines[line - 1] if line <= len(source_lines) else comment
            start = text.find(directive.text)
            column = start + 1 if start >= 0 else 1
            findings.append(
                Finding(
                    rule=CODE,
                    name=spec.name,
                    severity=spec.severity,
                    path=path,
                    line=line,
                    column=column,
                    end_line=line,
                    end_column=column + len(directive.text),
                    message=bound_message(_message(directive, unused, enabled, known_codes)),
                    help=spec.help.format(target=_target(directive, unused)),
                    source_line=text,
                    fixable=Applicability.SAFE,
                    fix=removal(text, line, start, directive, unused) if start >= 0 else None,
                )
            )
    return findings


def removal(text: str, line: int, start: int, directive: Directive, unused: list[str]) -> Fix:
    """Drop the unused codes from the directive, or the directive when nothing in it is
    used (with the spaces that separated it; a justification after it goes with it)."""
    end = start + len(directive.text)
    kept = [c for c in _written_codes(directive) if c not in unused] if unused != ["*"] else []
    if kept:
        if directive.kind == "noqa":
            replacement = f"# noqa: {', '.join(kept)}"
        else:
            replacement = f"# leakguard: ignore[{', '.join(kept)}]"
        edit = Edit(line, start + 1, line, end + 1, replacement)
        return Fix(f"Remove {', '.join(unused)} from the directive", Applicability.SAFE, (edit,))
    after = text[end:].rstrip("\r\n")
    if after.strip().startswith("#"):  # another comment follows: keep it
        end += len(after) - len(after.lstrip())
    else:
        if after.strip():  # a justification (`-- reason`) belongs to the directive
            end += len(after)
        start = len(text[:start].rstrip())
    edit = Edit(line, start + 1, line, end + 1, "")
    return Fix("Remove the unused suppression", Applicability.SAFE, (edit,))


def _written_codes(directive: Directive) -> list[str]:
    """The directive's codes in the order they are written."""
    body = directive.text.split(":", 1)[1] if directive.kind == "noqa" else directive.text
    if directive.kind == "leakguard":
        body = body[body.find("[") + 1 :] if "[" in body else ""
    seen: list[str] = []
    for code in re.findall(r"[A-Za-z]+[0-9]+", body):
        if code.upper() not in seen:
            seen.append(code.upper())
    return seen


def directive_codes(directive: Directive) -> frozenset[str]:
    return frozenset() if directive.codes is ALL else directive.codes


def _unused_codes(directive: Directive, line: int, used: Collection[tuple[int, str]]) -> list[str]:
    if directive.codes is ALL:
        if directive.kind != "leakguard":
            return []  # a bare noqa directive may serve another linter
        return [] if (line, "*") in used else ["*"]
    ours = sorted(c for c in directive.codes if c.startswith("LG") and c != CODE)
    if directive.kind == "leakguard":
        ours = sorted(c for c in directive.codes if c != CODE)
    return [code for code in ours if (line, code) not in used]


def _message(
    directive: Directive, unused: list[str], enabled: Collection[str], known: frozenset[str]
) -> str:
    shown = directive.text if len(directive.text) <= 40 else directive.text[:39] + "…"
    if unused == ["*"]:
        return f"`{shown}` suppresses nothing on this line"
    notes = []
    for code in unused:
        if not any(rule.startswith(code) for rule in known):
            notes.append(f"{code} is not a leakguard rule")
        elif not any(rule.startswith(code) for rule in enabled):
            notes.append(f"{code} is not enabled")
    why = f" ({'; '.join(notes)})" if notes else ""
    return f"Unused suppression of {', '.join(unused)} in `{shown}`{why}"


def _target(directive: Directive, unused: list[str]) -> str:
    if unused == ["*"] or set(unused) >= set(directive_codes(directive)):
        return "the comment"
    return "the unused code" + ("s " if len(unused) > 1 else " ") + ", ".join(unused)
