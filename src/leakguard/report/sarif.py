"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

What GitHub reads is documented in "SARIF support for code scanning"; the choices here
follow it:

* every enabled rule is described in `tool.driver.rules`, with its doc page as help, so
  an alert can be understood without leakguard installed;
* results carry `partialFingerprints.primaryLocationLineHash`, computed exactly as
  github/codeql-action does, so alerts keep their identity when code moves;
* inline-suppressed findings are left out unless asked for: GitHub ignores SARIF
  `suppressions` and would open alerts for them;
* files that could not be analysed become `toolExecutionNotifications`, not results.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from typing import Any, TextIO
from urllib.parse import quote

from leakguard import __version__
from leakguard.config import Config, RuleSpec, bundled_doc
from leakguard.engine import RunResult
from leakguard.finding import FileError, Finding, Related, Severity
from leakguard.registry import rule_codes
from leakguard.report import ReportOptions
from leakguard.report.paths import relocate, source_root

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/leakguard/leakguard"
DOCS_URI = "https://github.com/leakguard/leakguard/blob/main/docs/rules/{rule}.md"
SRCROOT = "%SRCROOT%"
FILE_ERROR_ID = "file-not-analysed"

# GitHub's `problem.severity` vocabulary differs from SARIF levels for the lowest grade.
_PROBLEM_SEVERITY = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.NOTE: "recommendation",
}


def write(run: RunResult, out: TextIO, options: ReportOptions) -> None:
    json.dump(to_document(run, options), out, indent=2, ensure_ascii=False)
    out.write("\n")


def to_document(run: RunResult, options: ReportOptions) -> dict[str, Any]:
    config = options.config
    # URIs are relative to the repository's top level: GitHub resolves them there.
    base = options.base or config.root
    srcroot = source_root(base)
    run = relocate(run, base, srcroot, absolute_outside=True)
    findings = [f for f in run.findings if options.sarif_include_suppressed or not f.suppressed]
    specs = _reported_rules(config, findings)
    rule_index = {spec.id: index for index, spec in enumerate(specs)}
    sarif_run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "leakguard",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule_descriptor(spec) for spec in specs],
                "notifications": [
                    {
                        "id": FILE_ERROR_ID,
                        "shortDescription": {
                            "text": "A file could not be read, decoded or parsed."
                        },
                    }
                ],
            }
        },
        "invocations": [_invocation(run)],
        "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(srcroot)}},
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, rule_index[f.rule]) for f in findings],
    }
    if options.sarif_category:
        sarif_run["automationDetails"] = {"id": options.sarif_category}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [sarif_run]}


def _reported_rules(config: Config, findings: list[Finding]) -> list[RuleSpec]:
    """Enabled real rules, plus any rule that somehow produced a finding, by id."""
    classes = rule_codes()
    wanted = {rid for rid in config.enabled if rid in classes}
    wanted |= {f.rule for f in findings if f.rule in config.rules}
    return [config.rules[rid] for rid in sorted(wanted)]


# -- rules ---------------------------------------------------------------------------


def _rule_descriptor(spec: RuleSpec) -> dict[str, Any]:
    page = bundled_doc(spec.id) or f"# {spec.id} {spec.name}\n\n{spec.summary}\n"
    text, markdown = markdown_to_text(page), page
    # Per-finding advice is in each result's message; a rule whose advice does not depend
    # on the finding also gets it here, ahead of the page's own Fix section.
    advice = static_help(spec)
    if advice:
        text = f"{text.rstrip()}\n\nHow to fix: {advice}\n"
        markdown = f"{markdown.rstrip()}\n\n**How to fix:** {advice}\n"
    descriptor: dict[str, Any] = {
        "id": spec.id,
        "name": spec.name,
        "shortDescription": {"text": spec.summary},
        "fullDescription": {"text": _section(page, "What it does") or spec.summary},
        "help": {"text": text, "markdown": markdown},
        "helpUri": DOCS_URI.format(rule=spec.id),
        "defaultConfiguration": {"level": spec.severity.value},
        "properties": _rule_properties(spec),
    }
    return descriptor


_FIELD = re.compile(r"(?<!\{)\{[A-Za-z_]\w*\}")


def static_help(spec: RuleSpec) -> str:
    """The rule's `help` if it reads the same for every finding (no `{field}`), else ''."""
    return "" if _FIELD.search(spec.help) else spec.help


def _rule_properties(spec: RuleSpec) -> dict[str, Any]:
    tags = list(spec.tags)
    is_security = "security" in tags or spec.security_severity is not None
    if is_security and "security" not in tags:
        tags.insert(0, "security")
    tags += [f"external/cwe/cwe-{cwe}" for cwe in spec.cwe]
    properties: dict[str, Any] = {
        "tags": tags,
        "precision": spec.precision,
        "problem.severity": _PROBLEM_SEVERITY[spec.severity],
    }
    # The flat key is what CodeQL emits and GitHub reads; the nested copy serves tools
    # that treat `problem.severity` as a path.
    properties["problem"] = {"severity": _PROBLEM_SEVERITY[spec.severity]}
    if spec.security_severity is not None:
        properties["security-severity"] = f"{spec.security_severity:.1f}"
    return properties


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


def _section(page: str, title: str) -> str:
    """The text of one `## title` section, as plain text."""
    lines = page.splitlines()
    collected: list[str] = []
    inside = False
    for line in lines:
        heading = _HEADING.match(line)
        if heading and len(heading.group(1)) <= 2:
            if inside:
                break
            inside = heading.group(2).strip().lower() == title.lower()
            continue
        if inside:
            collected.append(line)
    return markdown_to_text("\n".join(collected)).strip()


_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")


def markdown_to_text(page: str) -> str:
    """A readable plain-text rendering of a doc page (for consumers without Markdown)."""
    lines: list[str] = []
    for line in page.splitlines():
        if line.startswith("```"):
            continue  # keep the code, drop the fences
        heading = _HEADING.match(line)
        if heading:
            line = heading.group(2)
        line = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", line)
        line = _EMPHASIS.sub(r"\2", line)
        lines.append(line)
    return "\n".join(lines).strip() + "\n"


# -- results -------------------------------------------------------------------------


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    region: dict[str, Any] = {
        "startLine": finding.line,
        "startColumn": finding.column,
        "endLine": finding.end_line,
        "endColumn": finding.end_column,
    }
    if finding.source_line:
        region["snippet"] = {"text": finding.source_line}
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": finding.severity.value,
        "message": {"text": result_text(finding)},
        "locations": [
            {"physicalLocation": {"artifactLocation": _artifact(finding.path), "region": region}}
        ],
    }
    if finding.related:
        result["relatedLocations"] = [
            _related_location(step, index) for index, step in enumerate(finding.related, 1)
        ]
        result["codeFlows"] = [_code_flow(finding, region)]
    if finding.fingerprint:
        result["partialFingerprints"] = {"primaryLocationLineHash": finding.fingerprint}
    if finding.fix is not None:
        result["fixes"] = [_fix(finding)]
    if finding.suppressed:
        suppression: dict[str, Any] = {"kind": "inSource", "status": "accepted"}
        comment = _comment_of(finding.source_line)
        if comment:
            suppression["justification"] = comment
        result["suppressions"] = [suppression]
    return result


def _related_location(step: Related, index: int) -> dict[str, Any]:
    return {
        "id": index,
        "physicalLocation": {
            "artifactLocation": _artifact(step.path),
            "region": {"startLine": step.line},
        },
        "message": {"text": step.message},
    }


def _code_flow(finding: Finding, region: dict[str, Any]) -> dict[str, Any]:
    """The chain as one thread flow: the reported call, then each step down to the cause."""
    first = {
        "location": {
            "physicalLocation": {"artifactLocation": _artifact(finding.path), "region": region},
            "message": {"text": finding.message},
        },
        "nestingLevel": 0,
    }
    steps = [
        {
            "location": {
                "physicalLocation": {
                    "artifactLocation": _artifact(step.path),
                    "region": {"startLine": step.line},
                },
                "message": {"text": step.message},
            },
            "nestingLevel": index,
        }
        for index, step in enumerate(finding.related, 1)
    ]
    return {"threadFlows": [{"locations": [first, *steps]}]}


def result_text(finding: Finding) -> str:
    """What is wrong, then how to fix it: viewers show the first line as the alert title
    (SARIF 3.11.4: the first sentence must stand on its own)."""
    return f"{finding.message}\n{finding.help}" if finding.help else finding.message


def _fix(finding: Finding) -> dict[str, Any]:
    """The finding's fix as SARIF: one artifact change, a replacement per edit (an
    insertion is an empty deleted region)."""
    fix = finding.fix
    assert fix is not None
    replacements = [
        {
            "deletedRegion": {
                "startLine": edit.line,
                "startColumn": edit.column,
                "endLine": edit.end_line,
                "endColumn": edit.end_column,
            },
            "insertedContent": {"text": edit.content},
        }
        for edit in fix.edits
    ]
    return {
        "description": {"text": fix.message},
        "artifactChanges": [
            {"artifactLocation": _artifact(finding.path), "replacements": replacements}
        ],
        "properties": {"applicability": fix.applicability.value},
    }


def _comment_of(line: str) -> str:
    # Good enough for a justification: the suppression is normally the line's comment.
    return line[line.index("#") :].strip() if "#" in line else ""


def _artifact(path: str) -> dict[str, Any]:
    """A relative URI under %SRCROOT%, or an absolute file URI for files outside it."""
    posix = PurePosixPath(path)
    if posix.is_absolute() or Path(path).is_absolute():
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(posix.as_posix()), "uriBaseId": SRCROOT}


def _directory_uri(root: Path) -> str:
    uri = root.resolve().as_uri()
    return uri if uri.endswith("/") else uri + "/"


# -- invocation ----------------------------------------------------------------------


def _invocation(run: RunResult) -> dict[str, Any]:
    notifications = [_file_error(e) for e in sorted(run.errors, key=lambda e: e.path)]
    notifications += [
        {
            "level": "warning",
            "message": {"text": f"no such file or directory: {missing}"},
            "descriptor": {"id": FILE_ERROR_ID, "index": 0},
        }
        for missing in run.missing
    ]
    # The run itself completed: a file that could not be parsed is reported as a
    # notification rather than failing the whole analysis.
    return {"executionSuccessful": True, "toolExecutionNotifications": notifications}


def _file_error(error: FileError) -> dict[str, Any]:
    return {
        "level": error.level,
        "message": {"text": error.message},
        "descriptor": {"id": FILE_ERROR_ID, "index": 0},
        "locations": [{"physicalLocation": {"artifactLocation": _artifact(error.path)}}],
    }
