"""`leakguard server`: a language server over stdio (pygls + lsprotocol).

What an editor gets:

* diagnostics for the in-memory text of each open Python document on open and save,
  and after edits once typing pauses (`DEBOUNCE_SECONDS`), with each rule code linked
  to its documentation page (`codeDescription`);
* code actions: apply a finding's fix (safe or unsafe, each marked), fix all safe fixes
  in the file (also as the `source.fixAll.leakguard` kind, for fix-on-save), and add a
  suppression comment (`# noqa: LGxxx`, merged with one already on the line).

Configuration is the project's own: each document's `pyproject.toml`/`leakguard.toml`
is found from its path exactly as `leakguard check` finds it. Fixes are computed only
when the editor asks for code actions.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition

from leakguard import __version__
from leakguard.config import Config, ConfigError, load_config
from leakguard.engine import check_text
from leakguard.finding import Finding, Severity
from leakguard.fixes import Edit
from leakguard.fixes.apply import finding_key, fix_text
from leakguard.fixes.noqa import noqa_edits
from leakguard.fixes.render import diff_edits

DOCS_URI = "https://github.com/leakguard/leakguard/blob/main/docs/rules/{rule}.md"
DEBOUNCE_SECONDS = 0.3
FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.leakguard"

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.NOTE: types.DiagnosticSeverity.Information,
}


@dataclass
class _Analysis:
    version: int | None
    source: str
    display: str
    config: Config
    findings: list[Finding]
    with_fixes: bool = False


class LeakguardServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("leakguard", __version__)
        self.analyses: dict[str, _Analysis] = {}
        self.pending: dict[str, asyncio.TimerHandle] = {}


server = LeakguardServer()


# -- analysis -------------------------------------------------------------------------------


def _config_and_display(document: TextDocument) -> tuple[Config, str]:
    path = Path(document.path) if document.path else Path.cwd() / "untitled.py"
    config = load_config([path])
    try:
        display = path.resolve().relative_to(config.root).as_posix()
    except ValueError:
        display = path.as_posix()
    return config, display


def analyse(ls: LeakguardServer, uri: str, *, with_fixes: bool = False) -> _Analysis | None:
    """The findings for the document's current text (reused while it is unchanged)."""
    document = ls.workspace.get_text_document(uri)
    source = document.source
    known = ls.analyses.get(uri)
    if (
        known is not None
        and known.source == source
        and known.version == document.version
        and (known.with_fixes or not with_fixes)
    ):
        return known
    try:
        config, display = _config_and_display(document)
    except ConfigError as exc:
        ls.window_show_message(
            types.ShowMessageParams(types.MessageType.Error, f"leakguard: {exc}")
        )
        return None
    run = check_text(source, display, config, fixes=with_fixes)
    findings = [f for r in run.results for f in r.findings]
    for error in run.errors:
        ls.window_log_message(
            types.LogMessageParams(types.MessageType.Warning, f"leakguard: {error.message}")
        )
    analysis = _Analysis(document.version, source, display, config, findings, with_fixes)
    ls.analyses[uri] = analysis
    return analysis


def publish(ls: LeakguardServer, uri: str) -> None:
    ls.pending.pop(uri, None)
    if not _is_python(uri):
        return
    analysis = analyse(ls, uri)
    if analysis is None:
        return
    document = ls.workspace.get_text_document(uri)
    root = analysis.config.root
    diagnostics = [diagnostic(document, f, root) for f in analysis.findings if not f.suppressed]
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=document.version)
    )


def _is_python(uri: str) -> bool:
    return uri.endswith((".py", ".pyi")) or not uri.startswith("file:")


def _position(document: TextDocument, line: int, column: int) -> types.Position:
    """1-based line and code-point column -> an LSP position in the client's units."""
    lines = document.lines
    if line - 1 >= len(lines):
        return types.Position(line=len(lines), character=0)
    return document.position_to_client_units(ServerTextPosition(line - 1, column - 1))


def _range(
    document: TextDocument, line: int, column: int, end_line: int, end_column: int
) -> types.Range:
    return types.Range(
        start=_position(document, line, column), end=_position(document, end_line, end_column)
    )


def diagnostic(
    document: TextDocument, finding: Finding, root: Path | None = None
) -> types.Diagnostic:
    message = finding.message if not finding.help else f"{finding.message}\n{finding.help}"
    # The steps of a chain (LG201 through helpers) as related locations, which editors
    # show under the diagnostic and can jump to.
    related = [
        types.DiagnosticRelatedInformation(
            location=types.Location(
                uri=_uri(step.path, root),
                range=types.Range(
                    types.Position(step.line - 1, 0), types.Position(step.line - 1, 0)
                ),
            ),
            message=step.message,
        )
        for step in finding.related
    ]
    return types.Diagnostic(
        range=_range(document, finding.line, finding.column, finding.end_line, finding.end_column),
        message=message,
        severity=_SEVERITY[finding.severity],
        code=finding.rule,
        code_description=types.CodeDescription(href=DOCS_URI.format(rule=finding.rule)),
        source="leakguard",
        data={"key": finding_key(finding)},
        related_information=related or None,
    )


def _uri(path: str, root: Path | None) -> str:
    location = Path(path)
    if not location.is_absolute() and root is not None:
        location = root / location
    return location.resolve().as_uri()


def _text_edits(
    document: TextDocument, edits: list[Edit] | tuple[Edit, ...]
) -> list[types.TextEdit]:
    return [
        types.TextEdit(
            range=_range(document, e.line, e.column, e.end_line, e.end_column), new_text=e.content
        )
        for e in edits
    ]


def _workspace_edit(uri: str, document: TextDocument, edits: Any) -> types.WorkspaceEdit:
    return types.WorkspaceEdit(changes={uri: _text_edits(document, edits)})


# -- notifications ---------------------------------------------------------------------------


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: LeakguardServer, params: types.DidOpenTextDocumentParams) -> None:
    publish(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: LeakguardServer, params: types.DidSaveTextDocumentParams) -> None:
    _cancel(ls, params.text_document.uri)
    publish(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: LeakguardServer, params: types.DidChangeTextDocumentParams) -> None:
    # Re-analyse once typing pauses, not on every keystroke.
    uri = params.text_document.uri
    _cancel(ls, uri)
    loop = asyncio.get_running_loop()
    ls.pending[uri] = loop.call_later(DEBOUNCE_SECONDS, publish, ls, uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
async def did_close(ls: LeakguardServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    _cancel(ls, uri)
    ls.analyses.pop(uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def _cancel(ls: LeakguardServer, uri: str) -> None:
    handle = ls.pending.pop(uri, None)
    if handle is not None:
        handle.cancel()


# -- code actions ----------------------------------------------------------------------------


def _overlaps(finding: Finding, requested: types.Range) -> bool:
    start = (finding.line - 1, finding.column - 1)
    end = (finding.end_line - 1, finding.end_column - 1)
    wanted_start = (requested.start.line, requested.start.character)
    wanted_end = (requested.end.line, requested.end.character)
    return start <= wanted_end and wanted_start <= end


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND]),
)
async def code_action(
    ls: LeakguardServer, params: types.CodeActionParams
) -> list[types.CodeAction] | None:
    uri = params.text_document.uri
    if not _is_python(uri):
        return None
    analysis = analyse(ls, uri, with_fixes=True)
    if analysis is None:
        return None
    document = ls.workspace.get_text_document(uri)
    only = params.context.only
    wants_quick_fixes = not only or any(
        types.CodeActionKind.QuickFix.value.startswith(kind) for kind in only
    )
    actions: list[types.CodeAction] = []
    shown = [f for f in analysis.findings if not f.suppressed]
    if wants_quick_fixes:
        for finding in shown:
            if _overlaps(finding, params.range):
                actions.extend(_finding_actions(uri, document, analysis, finding))
    fix_all = _fix_all(uri, document, analysis)
    if fix_all is not None and (
        not only or any(FIX_ALL_KIND.startswith(kind) for kind in only) or wants_quick_fixes
    ):
        actions.append(fix_all)
    return actions


def _finding_actions(
    uri: str, document: TextDocument, analysis: _Analysis, finding: Finding
) -> list[types.CodeAction]:
    related = [diagnostic(document, finding, analysis.config.root)]
    actions: list[types.CodeAction] = []
    if finding.fix is not None:
        unsafe = finding.fix.applicability.value == "unsafe"
        actions.append(
            types.CodeAction(
                title=f"{finding.rule}: {finding.fix.message}" + (" (unsafe)" if unsafe else ""),
                kind=types.CodeActionKind.QuickFix,
                diagnostics=related,
                is_preferred=not unsafe,
                edit=_workspace_edit(uri, document, finding.fix.edits),
            )
        )
    suppress = noqa_edits(analysis.source, [finding])
    if suppress:
        actions.append(
            types.CodeAction(
                title=f"{finding.rule}: suppress with a noqa comment",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=related,
                edit=_workspace_edit(uri, document, suppress),
            )
        )
    return actions


def _fix_all(uri: str, document: TextDocument, analysis: _Analysis) -> types.CodeAction | None:
    """Every safe fix of the file, repeated until stable, as one edit."""
    if not any(
        f.fix is not None and f.fix.applicability.value == "safe" and not f.suppressed
        for f in analysis.findings
    ):
        return None
    outcome = fix_text(analysis.source, analysis.display, analysis.config)
    if not outcome.changed:
        return None
    return types.CodeAction(
        title="leakguard: fix all safe fixes in this file",
        kind=FIX_ALL_KIND,
        edit=_workspace_edit(uri, document, diff_edits(analysis.source, outcome.fixed)),
    )


def main() -> int:
    server.start_io()
    return 0
