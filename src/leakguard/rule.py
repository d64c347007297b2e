"""The rule API, modelled on Fixit's `LintRule`.

A rule is a LibCST visitor (`visit_<Node>` / `leave_<Node>` methods) with a code, that
reads its thresholds and call lists from its YAML spec and calls `self.report(...)`.
One instance is made per file; all enabled rules share one traversal of the tree.

Rules may declare LibCST metadata providers in `METADATA_DEPENDENCIES`; they are
computed only when a rule that declares them runs on a file. Positions are computed
lazily through `self.context.position(node)` and only for files with findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import libcst as cst

from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.finding import Related, Severity


@dataclass(frozen=True)
class Report:
    """A finding before positions and suppressions are resolved."""

    rule: str
    node: cst.CSTNode
    statement: cst.CSTNode | None
    message: str
    # None: the rule's configured severity. Set by rules whose findings vary in
    # seriousness (e.g. wildcard CORS with credentials).
    severity: Severity | None = None
    # Locations that explain the finding (e.g. the steps of a call chain).
    related: tuple[Related, ...] = ()


class LintRule(cst.BatchableCSTVisitor):
    """Base class of every leakguard rule. Subclasses set `code`."""

    code: ClassVar[str] = ""
    # Names of project-wide fact collectors this rule reads through
    # `context.project` (see `leakguard.analysis.project`).
    PROJECT_FACTS: ClassVar[tuple[str, ...]] = ()

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
        **fields: object,
    ) -> None:
        """Report `node`. Without `message`, the spec's template is formatted with `fields`.

        `severity` overrides the spec's severity for this finding only; a rule that raises
        it must keep a user's `severity` override in charge (escalate only while the spec
        still has its bundled severity).
        """
        text = message if message is not None else self.spec.message.format(**fields)
        statement = self.context.current_statement(node)
        self.reports.append(
            Report(self.code, node, statement, text.strip(), severity, tuple(related))
        )
