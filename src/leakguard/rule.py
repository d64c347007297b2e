"""The rule API, modelled on Fixit's `LintRule`.

A rule is a LibCST visitor (`visit_<Node>` / `leave_<Node>` methods) with a code, that
reads its thresholds and call lists from its YAML spec and calls `self.report(...)`.
One instance is made per file; all enabled rules share one traversal of the tree.

Rules may declare LibCST metadata providers in `METADATA_DEPENDENCIES`; they are
computed only when a rule that declares them runs on a file. Positions are computed
lazily through `self.context.position(node)` and only for files with findings.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, ClassVar

import libcst as cst

from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.finding import Related, Severity
from leakguard.fixes import FixPlan
from leakguard.triage import TriageTree


@dataclass(frozen=True)
class Report:
    """A finding before positions and suppressions are resolved."""

    rule: str
    node: cst.CSTNode
    statement: cst.CSTNode | None
    message: str
    help: str
    # None: the rule's configured severity. Set by rules whose findings vary in
    # seriousness (e.g. wildcard CORS with credentials).
    severity: Severity | None = None
    # Locations that explain the finding (e.g. the steps of a call chain).
    related: tuple[Related, ...] = ()
    # How to fix it, built only when fixes are requested (see `leakguard.fixes`).
    fix: FixPlan | None = None


# Quoted code longer than this is cut (a whole call with its arguments is not needed to
# say what is wrong, and would push the one-line message past 120 characters).
MAX_CODE_SPAN = 40
# A message is one line of at most this many characters (issue 15): quoting several
# names of up to `MAX_CODE_SPAN` each can still pass it, so the whole line is bounded.
MAX_MESSAGE = 120
# Spans are not cut below this while the line is too long (a name stays recognisable).
_MIN_CODE_SPAN = 12
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _cut_spans(message: str, width: int, keep: int) -> str:
    """Each code span longer than `width` cut to its first `keep` characters and `…`."""

    def cut(match: re.Match[str]) -> str:
        code = match.group(1)
        return match.group(0) if len(code) <= width else f"`{code[:keep]}…`"

    return _CODE_SPAN.sub(cut, message)


def shorten_code_spans(message: str) -> str:
    """`numpy.ones(shape=(1000, 10), dtype=...)` -> `numpy.ones(shape=(1000, 10), dt…`."""
    return _cut_spans(message, MAX_CODE_SPAN, MAX_CODE_SPAN - 10)


def bound_message(message: str, limit: int = MAX_MESSAGE) -> str:
    """`message` as one line of at most `limit` characters: long code spans are cut
    (`shorten_code_spans`), then, while the line is still too long, every span is cut to
    the widest length that fits (the longest names lose most), and only a line whose
    prose alone is too long is cut at the end."""
    text = shorten_code_spans(" ".join(message.split()))
    if len(text) <= limit:
        return text
    for width in range(MAX_CODE_SPAN - 1, _MIN_CODE_SPAN - 1, -1):
        shorter = _cut_spans(text, width, width - 1)
        if len(shorter) <= limit:
            return shorter
    text = _cut_spans(text, _MIN_CODE_SPAN, _MIN_CODE_SPAN - 1)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rstrip()
    if cut.count("`") % 2:
        cut = cut[: limit - 2].rstrip() + "`"  # close the span the cut opened
    return cut + "…"


class LintRule(cst.BatchableCSTVisitor):
    """Base class of every leakguard rule. Subclasses set `code`."""

    code: ClassVar[str] = ""
    # Names of project-wide fact collectors this rule reads through
    # `context.project` (see `leakguard.analysis.project`).
    PROJECT_FACTS: ClassVar[tuple[str, ...]] = ()

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """Whether this rule could report anything in the file whose `ast` is `tree`.

        Checked before LibCST parses the file (see `leakguard.triage`); must never be False
        for a file the rule reports in. Rules that do not define it in their own class
        body are always parsed.
        """
        return True

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """The `ast` nodes this rule must see whole to report everything it could report
        in the file (see `leakguard.slicing`): typically its candidates, whose enclosing
        function is then kept, or `tree.outermost(candidate)` when its analysis reads
        other methods or state of the class. None: the whole file. Asked only of rules
        that define it, and `could_fire`, in their own class body."""
        return None

    def __init__(self, context: FileContext, spec: RuleSpec) -> None:
        super().__init__()
        self.context = context
        self.spec = spec
        self.reports: list[Report] = []

    @property
    def options(self) -> Any:
        return self.spec.options

    def option(self, name: str) -> Any:
        return self.spec.options[name]

    def report(
        self,
        node: cst.CSTNode,
        message: str | None = None,
        *,
        severity: Severity | None = None,
        related: tuple[Related, ...] = (),
        help: str | None = None,
        fix_plan: FixPlan | None = None,
        **fields: object,
    ) -> None:
        """Report `node`. Without `message`, the spec's template is formatted with `fields`;
        without `help`, so is the spec's `help` template.

        `message` says what is wrong in one line, bounded here to `MAX_MESSAGE` characters
        (`bound_message`, checked by tests/test_messages.py); how to fix it goes in `help`.

        `severity` overrides the spec's severity for this finding only; a rule that raises
        it must keep a user's `severity` override in charge (escalate only while the spec
        still has its bundled severity). `fix_plan` attaches a fix; its `build` runs later,
        after the walk, so it must capture what it needs now.
        """
        text = message if message is not None else self.spec.message.format(**fields)
        text = bound_message(text)
        advice = help if help is not None else self.spec.help.format(**fields)
        statement = self.context.current_statement(node)
        self.context.note_reported(node)
        self.reports.append(
            Report(
                self.code,
                node,
                statement,
                text.strip(),
                advice.strip(),
                severity,
                tuple(related),
                fix_plan,
            )
        )


def declares_triage(cls: type[LintRule]) -> bool:
    """Whether `cls` itself (not a base class it shares with other rules) defines
    `could_fire`: an inherited condition was written for another rule's visitors."""
    return "could_fire" in cls.__dict__


def declares_regions(cls: type[LintRule]) -> bool:
    """Whether `cls` itself defines `regions` (with its own `could_fire`): an inherited
    one was written for another rule's analysis."""
    return "regions" in cls.__dict__ and declares_triage(cls)
