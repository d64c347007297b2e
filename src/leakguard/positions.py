"""Source positions for the few nodes that are reported, without resolving the tree.

LibCST's PositionProvider regenerates the code of the whole module and re-visits every
node, which costs more than parsing it; a run needs positions for a handful of findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

from leakguard.walker import paths_to


class StatementPositions(Mapping[cst.CSTNode, CodeRange]):
    """`PositionProvider` ranges computed for a few statements, on demand.

    Resolving a whole module regenerates all of its code; findings need a handful of
    nodes. A statement's code generated on its own, with the indentation of the blocks
    around it, is exactly its text in the file, so its nodes' positions are those LibCST
    gives for it alone, shifted by the line on which it starts. That line is found by
    locating the code in the source when it occurs exactly once; otherwise the next
    enclosing statement is tried, and for a top-level statement the code lengths of
    the statements before it are summed.
    """

    def __init__(self, module: cst.Module, source: str, stack: list[cst.CSTNode]) -> None:
        self._module = module
        self._source = source
        # A statement's generated code always ends in a newline, also the last one of a
        # file without a final newline; searching a source padded with one lets the last
        # statement match itself instead of an identical earlier one.
        self._padded = (
            source
            if not source or source.endswith(("\n", "\r"))
            else source + module.default_newline
        )
        self._stack = stack  # the walk's current path, root first
        self._ranges: dict[cst.CSTNode, CodeRange] = {}
        self._done: set[int] = set()  # ids of statements resolved
        self._ambiguous: set[int] = set()  # ids of statements whose code is not unique
        self._top_index = {id(s): i for i, s in enumerate(module.body)}
        self._offsets: list[int] | None = None
        self._everything: Mapping[cst.CSTNode, CodeRange] | None = None
        # id(node) -> the walk's path when the node was reported (see `remember`)
        self._paths: dict[int, tuple[cst.CSTNode, ...]] = {}

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        found = self._ranges.get(node)
        if found is not None:
            return found
        if self._stack and self._stack[0] is self._module:
            # During the walk the node is usually below the node being visited: its
            # own statement is resolved then, not a whole enclosing class or function.
            path = self._path_below(tuple(self._stack), node)
            if path is not None:
                self._resolve_path(path)
                found = self._ranges.get(node)
                if found is not None:
                    return found
        self.prefetch([node])
        found = self._ranges.get(node)
        if found is not None:
            return found
        # Not below a statement the lean walker sees (e.g. the module itself).
        if self._everything is None:
            wrapper = MetadataWrapper(self._module, unsafe_skip_copy=True)
            self._everything = wrapper.resolve(PositionProvider)
        return self._everything[node]

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self._ranges)

    def __len__(self) -> int:
        return len(self._ranges)

    def remember(self, node: cst.CSTNode) -> None:
        """Note the walk's current path for `node`, which is being reported: the node is
        usually the one visited or below it, so `prefetch` finds its path from there
        instead of searching the whole tree."""
        stack = self._stack
        if stack and stack[0] is self._module:
            self._paths[id(node)] = tuple(stack)

    def prefetch(self, nodes: Iterable[cst.CSTNode]) -> None:
        """Resolve the statements holding `nodes`: from the paths `remember` noted when
        it can, else with at most one pass over the tree."""
        wanted = {id(n): n for n in nodes if n not in self._ranges}
        if not wanted:
            return
        if self._paths:
            on_paths: dict[int, tuple[cst.CSTNode, ...]] = {}
            for noted in self._paths.values():
                for depth in range(len(noted)):
                    on_paths.setdefault(id(noted[depth]), noted[: depth + 1])
            for key, node in list(wanted.items()):
                path = on_paths.get(key) or self._noted_path(node)
                if path is not None:
                    self._resolve_path(path)
                    if node in self._ranges:
                        del wanted[key]
            if not wanted:
                return
        self._search(set(wanted))

    def _noted_path(self, node: cst.CSTNode) -> tuple[cst.CSTNode, ...] | None:
        """The path to `node` below the node that was visited when it was reported."""
        noted = self._paths.get(id(node))
        return None if noted is None else self._path_below(noted, node)

    @staticmethod
    def _path_below(
        prefix: tuple[cst.CSTNode, ...], node: cst.CSTNode
    ) -> tuple[cst.CSTNode, ...] | None:
        """The path to `node` if it is `prefix[-1]` or below it, `prefix` first."""
        for below in paths_to(prefix[-1], {id(node)}):
            return (*prefix[:-1], *below)
        return None

    def _search(self, wanted: set[int]) -> None:
        """Resolve the statements holding the nodes whose ids are `wanted`, in one pass
        over the tree."""
        for path in paths_to(self._module, wanted):
            self._resolve_path(path)

    def _resolve_path(self, path: Sequence[cst.CSTNode]) -> None:
        """Resolve the innermost statement on `path` (root first) whose line can be
        found, trying enclosing statements outwards."""
        units = [
            k
            for k in range(1, len(path))
            if isinstance(path[k], _STATEMENTS)
            and isinstance(path[k - 1], (cst.IndentedBlock, cst.Module))
        ]
        for k in reversed(units):
            if id(path[k]) in self._done:
                return
            if id(path[k]) in self._ambiguous:
                continue
            indents = [
                self._module.default_indent if block.indent is None else block.indent
                for block in path[:k]
                if isinstance(block, cst.IndentedBlock)
            ]
            if self._resolve(path[k], indents):
                return

    def _resolve(self, statement: cst.CSTNode, indents: list[str]) -> bool:
        top_index = self._top_index.get(id(statement)) if not indents else None
        # LibCST's provider driven directly: `MetadataWrapper.resolve` would also run an
        # (empty) batched visit that rebuilds every node, costing more than the codegen.
        provider = PositionProvider()
        state = PositionProvidingCodegenState(
            default_indent=self._module.default_indent,
            default_newline=self._module.default_newline,
            provider=provider,
        )
        state.indent_tokens = list(indents)
        statement._codegen(state)
        offset = self._unique_offset("".join(state.tokens))
        if offset is None:
            if top_index is None:
                self._ambiguous.add(id(statement))
                return False  # let the enclosing statement decide
            offset = self._cumulative_offsets()[top_index]
        self._done.add(id(statement))
        before = self._source[:offset]
        # LibCST counts "\r\n", "\r" and "\n" as line breaks.
        shift = before.count("\n") + before.count("\r") - before.count("\r\n")
        for node, where in provider._computed.items():
            if node not in self._ranges and isinstance(where, CodeRange):
                self._ranges[node] = CodeRange(
                    CodePosition(where.start.line + shift, where.start.column),
                    CodePosition(where.end.line + shift, where.end.column),
                )
        return True

    def _unique_offset(self, code: str) -> int | None:
        for candidate in (code, code.rstrip("\r\n")):
            if not candidate:
                return None
            hits = self._whole_line_hits(candidate)
            if hits:
                return hits[0] if len(hits) == 1 else None
        return None

    def _whole_line_hits(self, code: str) -> list[int]:
        """Offsets (at most two) where `code` occupies whole lines of the source: a
        statement's code also occurs inside a more deeply indented copy of it, or at the
        end of a longer line, and those are not where it is."""
        source = self._padded
        hits: list[int] = []
        start = source.find(code)
        while start >= 0 and len(hits) < 2:
            end = start + len(code)
            if (start == 0 or source[start - 1] in "\r\n") and (
                end == len(source) or source[end - 1] in "\r\n" or source[end] in "\r\n"
            ):
                hits.append(start)
            start = source.find(code, start + 1)
        return hits

    def _cumulative_offsets(self) -> list[int]:
        if self._offsets is None:
            module = self._module
            offset = sum(len(module.code_for_node(line)) for line in module.header)
            self._offsets = []
            for statement in module.body:
                self._offsets.append(offset)
                offset += len(module.code_for_node(statement))
        return self._offsets


_STATEMENTS = (cst.SimpleStatementLine, cst.BaseCompoundStatement)
