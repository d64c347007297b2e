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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import libcst as cst

from leakguard.analysis.asyncio_facts import is_test_file
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.finding import Related, Severity
from leakguard.fixes import FixPlan
from leakguard.message_bound import MAX_CODE_SPAN, MAX_MESSAGE, bound_message, shorten_code_spans
from leakguard.triage import TriageTree

# Gated collector -> the triage condition under which a rule may read its facts.
ReadConditions = Mapping[str, Callable[[TriageTree], bool]]

__all__ = [
    "MAX_CODE_SPAN",
    "MAX_MESSAGE",
    "LintRule",
    "ReadConditions",
    "Report",
    "bound_message",
    "shorten_code_spans",
]


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


class LintRule(cst.BatchableCSTVisitor):
    """Base class of every leakguard rule. Subclasses set `code`."""

    code: ClassVar[str] = ""
    # Names of project-wide fact collectors this rule reads through
    # `context.project` (see `leakguard.analysis.project`).
    PROJECT_FACTS: ClassVar[tuple[str, ...]] = ()
    # For a gated collector of `PROJECT_FACTS` (`rule_index.GATED_BY_READERS`): the
    # triage condition (on CPython's `ast`) without which this rule's analysis of a file
    # never reads its facts, so the file opens no gate for it (`engine._RuleGates`).
    # Never False for a file whose analysis may read them; unlisted: whenever it runs.
    READS_WHERE: ClassVar[ReadConditions] = {}

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """Whether this rule could report anything in the file whose `ast` is `tree`.

        Checked before LibCST parses the file (see `leakguard.triage`); must never be False
        for a file the rule reports in. Rules that do not define it in their own class
        body are always parsed.
        """
        return True

    @staticmethod
    def skips_file(path: str, spec: RuleSpec) -> bool:
        """Whether this rule reports nothing in the file at `path` (as the run displays
        it), whatever its code: a rule with a `skip_tests` option (the event-loop and
        request rules) skips test files while it is on (`is_test_file`). The triage then
        drops the rule before `could_fire`, so neither its condition nor LibCST's parse is
        paid for it there. The rule's visitors must skip such a file by asking this too."""
        return bool(spec.options.get("skip_tests")) and is_test_file(path)

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
