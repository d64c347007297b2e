"""`leakguard server` end to end: a real LSP client (pygls's) talks to the server
process over stdio: initialize, didOpen, publishDiagnostics with the right ranges,
didChange (debounced), codeAction (fix, fix all, suppress), didSave, shutdown.

Waits are bounded (`asyncio.wait_for` on the notification), never sleeps.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

TIMEOUT = 60.0

SOURCE = """\
import asyncio
import time


async def handler(request):
    loop = asyncio.get_event_loop()
    time.sleep(1)
    return loop
"""


CHAIN = """\
import time


def pause():
    time.sleep(1)


async def handler():
    pause()
"""


class _Client:
    """A pygls client that records diagnostics per (uri, version)."""

    def __init__(self) -> None:
        self.client = LanguageClient("leakguard-tests", "1")
        self.published: list[types.PublishDiagnosticsParams] = []
        self.changed = asyncio.Event()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.published.append(params)
            self.changed.set()

    async def wait_for(
        self, matches: Callable[[types.PublishDiagnosticsParams], bool]
    ) -> types.PublishDiagnosticsParams:
        async def poll() -> types.PublishDiagnosticsParams:
            while True:
                for params in reversed(self.published):
                    if matches(params):
                        return params
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(poll(), TIMEOUT)


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits (ASCII text here, so UTF-16 units are code points)."""
    lines = text.splitlines(keepends=True)

    def offset(position: types.Position) -> int:
        return sum(len(line) for line in lines[: position.line]) + position.character

    spans = sorted((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits)
    out, cursor = [], 0
    for start, end, new in spans:
        out.append(text[cursor:start] + new)
        cursor = end
    return "".join(out) + text[cursor:]


async def _session(root: Path) -> None:
    (root / "pyproject.toml").write_text(
        '[tool.leakguard]\nselect = ["LG201", "LG203"]\n', encoding="utf-8"
    )
    path = root / "service.py"
    path.write_text(SOURCE, encoding="utf-8")
    uri = path.as_uri()
    recorder = _Client()
    client = recorder.client
    await client.start_io(sys.executable, "-m", "leakguard", "server")
    try:
        result = await asyncio.wait_for(
            client.initialize_async(
                types.InitializeParams(
                    capabilities=types.ClientCapabilities(),
                    root_uri=root.as_uri(),
                    workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="p")],
                )
            ),
            TIMEOUT,
        )
        assert result.capabilities.code_action_provider is not None
        client.initialized(types.InitializedParams())

        # didOpen -> diagnostics for the in-memory text, with exact ranges.
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id="python", version=1, text=SOURCE)
            )
        )
        opened = await recorder.wait_for(lambda p: p.uri == uri and p.version == 1)
        by_code = {d.code: d for d in opened.diagnostics}
        assert set(by_code) == {"LG201", "LG203"}
        loop_call = by_code["LG203"]
        assert loop_call.range == types.Range(types.Position(5, 11), types.Position(5, 35))
        assert loop_call.severity == types.DiagnosticSeverity.Warning
        assert loop_call.source == "leakguard"
        assert loop_call.code_description is not None
        assert loop_call.code_description.href.endswith("/docs/rules/LG203.md")
        sleep_call = by_code["LG201"]
        assert sleep_call.range == types.Range(types.Position(6, 4), types.Position(6, 17))

        # codeAction on the LG203 line: its safe fix, a suppression, and fix-all.
        actions = await asyncio.wait_for(
            client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=loop_call.range,
                    context=types.CodeActionContext(diagnostics=[loop_call]),
                )
            ),
            TIMEOUT,
        )
        assert actions is not None
        titles = {a.title: a for a in actions if isinstance(a, types.CodeAction)}
        fix = titles["LG203: Use `asyncio.get_running_loop()`"]
        assert fix.is_preferred
        assert fix.edit is not None and fix.edit.changes is not None
        fixed = _apply(SOURCE, fix.edit.changes[uri])
        assert "loop = asyncio.get_running_loop()" in fixed
        assert "time.sleep(1)" in fixed  # one finding's fix touches only its own node
        suppress = titles["LG203: suppress with a noqa comment"]
        assert suppress.edit is not None and suppress.edit.changes is not None
        assert "asyncio.get_event_loop()  # noqa: LG203\n" in _apply(
            SOURCE, suppress.edit.changes[uri]
        )
        fix_all = titles["leakguard: fix all safe fixes in this file"]
        assert fix_all.kind == "source.fixAll.leakguard"
        assert fix_all.edit is not None and fix_all.edit.changes is not None
        everything = _apply(SOURCE, fix_all.edit.changes[uri])
        assert "await asyncio.sleep(1)" in everything
        assert "asyncio.get_running_loop()" in everything

        # didChange (the buffer, not the file on disk) -> debounced diagnostics.
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
            )
        )
        changed = await recorder.wait_for(lambda p: p.uri == uri and p.version == 2)
        assert [d.code for d in changed.diagnostics] == ["LG201"]
        assert path.read_text(encoding="utf-8") == SOURCE  # the server never writes files

        # didSave -> analysed again at once.
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=3),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=everything)],
            )
        )
        client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        saved = await recorder.wait_for(lambda p: p.uri == uri and p.version == 3)
        assert list(saved.diagnostics) == []

        # A blocking call one helper down: the chain's steps are related locations.
        helper = root / "helper.py"
        helper_uri = helper.as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=helper_uri, language_id="python", version=1, text=CHAIN)
            )
        )
        chained = await recorder.wait_for(lambda p: p.uri == helper_uri)
        (blocking,) = chained.diagnostics
        assert blocking.range.start == types.Position(8, 4)
        assert blocking.related_information
        step = blocking.related_information[0]
        assert step.location.uri == helper_uri
        assert step.location.range.start.line == 4  # `time.sleep(1)` in `pause`

        await asyncio.wait_for(client.shutdown_async(None), TIMEOUT)
        client.exit(None)
    finally:
        # After a failed step the server may still run: end it, so the test never hangs.
        process = client._server
        if process is not None and process.returncode is None:
            try:
                await asyncio.wait_for(process.wait(), TIMEOUT)
            except asyncio.TimeoutError:
                process.kill()
        await asyncio.wait_for(client.stop(), TIMEOUT)


def test_language_server_end_to_end(tmp_path: Path) -> None:
    asyncio.run(_session(tmp_path))


def test_server_command_is_listed() -> None:
    from leakguard.cli import build_parser

    parser_help: Any = build_parser().format_help()
    assert "server" in parser_help
