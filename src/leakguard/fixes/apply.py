"""Applying fixes to a file until it is stable: `--fix`, `--diff`, stdin, the server.

Each round analyses the text with fixes computed, takes the applicable fixes of
unsuppressed findings whose edits do not touch one another (the rest wait for the next
round, as in Ruff), applies them, and checks the result still parses; rounds repeat
until nothing changes. A result that would not parse is never kept: the text of the
last good round stays, and the file is reported.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from leakguard.analysis.project import ProjectIndex
from leakguard.analyzer import analyze_text
from leakguard.config import Config
from leakguard.finding import FileError, FileResult, Finding
from leakguard.fixes import Edit, Fix
from leakguard.fixes.render import apply_edits, compatible, parses

# Enough for fixes that unlock others (an import added once for several calls) while
# bounding a pathological back-and-forth between two rules.
MAX_ROUNDS = 10


@dataclass
class FixOutcome:
    """What fixing one file did. `result` analyses `fixed` (without fixes computed)."""

    display: str
    original: str
    fixed: str
    result: FileResult
    applied: Counter[str] = field(default_factory=Counter)  # rule -> fixes applied

    @property
    def changed(self) -> bool:
        return self.fixed != self.original


def applicable(finding: Finding, unsafe: bool) -> Fix | None:
    fix = finding.fix
    if fix is None or finding.suppressed or not fix.applicability.applies(unsafe):
        return None
    return fix


def fix_text(
    text: str,
    display: str,
    config: Config,
    project: ProjectIndex | None = None,
    *,
    unsafe: bool = False,
    only: frozenset[str] | None = None,
) -> FixOutcome:
    """Fix `text` until stable. `only` limits fixing to findings with these fingerprints
    (sort keys as `path:line:column:rule`), for the editor's "fix this one" action."""
    outcome = FixOutcome(display, text, text, FileResult(display))
    current = text
    errors: list[FileError] = []
    for _ in range(MAX_ROUNDS):
        result = analyze_text(current, display, config, project, fixes=True)
        chosen: list[tuple[Finding, Fix]] = []
        taken: list[Edit] = []
        for finding in result.findings:
            fix = applicable(finding, unsafe)
            if fix is None or (only is not None and finding_key(finding) not in only):
                continue
            if compatible(taken, fix.edits, current):
                chosen.append((finding, fix))
                taken.extend(fix.edits)
        if not chosen:
            break
        fixed = apply_edits(current, taken)
        if fixed == current:
            break
        if not parses(fixed):
            rules = ", ".join(sorted({f.rule for f, _ in chosen}))
            errors.append(
                FileError(
                    display,
                    f"fixes for {rules} would leave the file unparsable; left untouched "
                    "(please report)",
                )
            )
            break
        current = fixed
        outcome.applied.update(f.rule for f, _ in chosen)
        if only is not None:
            break  # one requested fix, applied once
    else:
        errors.append(
            FileError(display, f"fixes did not settle after {MAX_ROUNDS} rounds (please report)")
        )
    outcome.fixed = current
    outcome.result = analyze_text(current, display, config, project)
    outcome.result.errors.extend(errors)
    return outcome


def finding_key(finding: Finding) -> str:
    return f"{finding.path}:{finding.line}:{finding.column}:{finding.rule}"


def has_fixes(result: FileResult, unsafe: bool) -> bool:
    return any(applicable(f, unsafe) is not None for f in result.findings)
