"""The values that flow from analysis to reporting.

Plain classes, not dataclasses: a warm run imports this module, and `dataclasses` (with
`inspect`, ~7 ms) and the `exec` that makes each class's methods cost a fifth of it
(issue 14). The immutable values are `NamedTuple`s (`_replace` for a changed copy).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, NamedTuple

from leakguard.fixes import Applicability, Fix


class Severity(str, Enum):
    """Ordered severities; `error` is the most serious."""

    NOTE = "note"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {value!r} (expected one of: {allowed})") from None


_RANK = {Severity.NOTE: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class Related(NamedTuple):
    """A location that explains a finding (a step of a call chain). `line` is 1-based."""

    path: str
    line: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "message": self.message}


class Finding(NamedTuple):
    """One reported problem. Lines and columns are 1-based; `end_column` is exclusive."""

    rule: str
    name: str
    severity: Severity
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    suppressed: bool = False
    # Hash of the reported source line's normalised text plus its occurrence index;
    # survives unrelated edits above the finding (used by baselines and SARIF).
    fingerprint: str = ""
    # The source line the finding starts on, for text output without re-reading files.
    source_line: str = ""
    # Other locations that explain the finding, in order (e.g. each call of a chain that
    # ends in the blocking call); empty for most findings.
    related: tuple[Related, ...] = ()
    # How to fix it (the rule's `help`); `message` says only what is wrong.
    help: str = ""
    # Whether the rule offers a fix, and how safe it is (known without computing it).
    fixable: Applicability | None = None
    # The computed fix, only when the run asked for fixes.
    fix: Fix | None = None

    def sort_key(self) -> tuple[str, int, int, str, int, int, str]:
        """Position, then rule, then the rest of what is reported: two findings of one
        rule at one position (a call and the chain it starts) come out in the same order
        in every run, whatever order a set of findings held them in."""
        return (
            self.path,
            self.line,
            self.column,
            self.rule,
            self.end_line,
            self.end_column,
            self.message,
        )

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape (see docs: JSON output contract)."""
        data: dict[str, Any] = {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity.value,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "message": self.message,
            "suppressed": self.suppressed,
        }
        if self.related:
            data["related"] = [r.to_json() for r in self.related]
        if self.help:
            data["help"] = self.help
        if self.fix is not None:
            data["fix"] = self.fix.to_json()
        return data

    def to_cache(self) -> dict[str, Any]:
        data = self._asdict()
        data["severity"] = self.severity.value
        data["related"] = [r._asdict() for r in self.related]
        data["fixable"] = self.fixable.value if self.fixable is not None else None
        data["fix"] = self.fix.to_json() if self.fix is not None else None
        return data

    @classmethod
    def from_cache(cls, data: dict[str, Any]) -> Finding:
        related = tuple(Related(**r) for r in data.get("related", ()))
        fixable, fix = data.get("fixable"), data.get("fix")
        return cls(
            **{
                **data,
                "severity": Severity(data["severity"]),
                "related": related,
                "fixable": Applicability(fixable) if fixable else None,
                "fix": Fix.from_json(fix) if fix else None,
            }
        )


class FileError(NamedTuple):
    """A file that could not be read, decoded or parsed. The run goes on without it.

    An error makes the run exit 1 (the file was not checked). A warning does not: it
    reports something the user chose or that loses nothing (a file over
    `max-file-size`, a symlink loop whose files are checked under their real path).
    """

    path: str
    message: str
    warning: bool = False

    @property
    def level(self) -> str:
        return "warning" if self.warning else "error"

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "level": self.level}


class FileResult:
    """One file's findings and errors, and how the run got them. Mutable: the analysis
    fills it in."""

    __slots__ = ("errors", "findings", "from_cache", "lines", "parsed", "parsed_lines", "path")

    def __init__(
        self,
        path: str,
        findings: list[Finding] | None = None,
        errors: list[FileError] | None = None,
        lines: int = 0,
        from_cache: bool = False,
        parsed: bool = False,
        parsed_lines: int = 0,
    ) -> None:
        self.path = path
        self.findings: list[Finding] = [] if findings is None else findings
        self.errors: list[FileError] = [] if errors is None else errors
        self.lines = lines
        self.from_cache = from_cache
        # Whether LibCST parsed the file for this result (triage let some rule through).
        self.parsed = parsed
        # How many of its lines LibCST parsed (`slicing.parsed_lines`: elided units
        # excluded).
        self.parsed_lines = parsed_lines

    def replace(
        self,
        *,
        path: str | None = None,
        findings: list[Finding] | None = None,
        errors: list[FileError] | None = None,
    ) -> FileResult:
        """A copy (of the same class) with these parts changed."""
        return type(self)(
            self.path if path is None else path,
            self.findings if findings is None else findings,
            self.errors if errors is None else errors,
            self.lines,
            self.from_cache,
            self.parsed,
            self.parsed_lines,
        )

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"
