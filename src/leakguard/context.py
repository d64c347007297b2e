"""What a rule can see about the file being analysed."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper

from leakguard.analysis.constants import ConstantTable
from leakguard.analysis.imports import ImportTable
from leakguard.analysis.project import is_package_file
from leakguard.positions import StatementPositions

if TYPE_CHECKING:
    from leakguard.analysis.project import ProjectIndex
    from leakguard.config import RuleSpec

_STATEMENT_TYPES = (cst.SimpleStatementLine, cst.BaseCompoundStatement)


class FileContext:
    """Per-file facts shared by all rules: source, tree, imports, constants, ancestors."""

    def __init__(
        self,
        path: str,
        source: str,
        module: cst.Module,
        module_name: str = "",
        project: ProjectIndex | None = None,
        rules: Mapping[str, RuleSpec] | None = None,
        parsed_source: str | None = None,
        ast_tree: ast.Module | None = None,
        elided: Sequence[tuple[int, int]] = (),
    ) -> None:
        # `source` is the file's text (comments, source lines, fingerprints);
        # `parsed_source` the text `module` was parsed from when units were elided
        # (`leakguard.slicing`): same lines and columns for the kept code.
        self.path = path
        self.source = source
        self.module = module
        self.parsed_source = source if parsed_source is None else parsed_source
        # Some units are elided (blank): a fact about the whole file comes from the
        # run's project facts (collected from the whole text), not from `module`.
        self.sliced = self.parsed_source != source
        # The elided spans (`slicing.Span`: first and last line, 1-based), when sliced:
        # a fix renders from the sliced module only away from them (`fixes.sliced`).
        self.elided: tuple[tuple[int, int], ...] = tuple(elided) if self.sliced else ()
        self.module_name = module_name
        # A package's `__init__`: its relative imports resolve from the package itself.
        self.package = is_package_file(path)
        self.imports = ImportTable.from_module(module, module_name, self.package)
        self.constants = ConstantTable.from_module(module, source)
        self.project = project
        # Every rule's spec as this run configures it (enabled or not): a rule that
        # reuses another rule's vocabulary (LG202 reads LG201's call lists) honours the
        # user's configuration of it. None: the bundled specs.
        self.rules = rules
        # Root-to-current path maintained by the engine's walk; stack[-1] is the node
        # whose visit/leave method is running.
        self.stack: list[cst.CSTNode] = []
        # Memo shared by rules for derived facts (e.g. per-function scope facts).
        self.memo: dict[Any, Any] = {}
        self._wrapper: MetadataWrapper | None = None
        # CPython's `ast` of the whole `source`, when the caller parsed it already (the
        # facts pass's, the triage's): `whole_ast`.
        self._ast = ast_tree
        self._positions = StatementPositions(module, self.parsed_source, self.stack)

    def whole_ast(self) -> ast.Module:
        """CPython's `ast` tree of the whole `source` (not of the sliced text `module`
        may come from), parsed at most once per file: the facts pass and the triage
        hand in theirs. Raises what `ast.parse` raises on text it cannot parse."""
        if self._ast is None:
            self._ast = ast.parse(self.source)
        return self._ast

    # -- ancestry -------------------------------------------------------------------------

    def ancestors(self) -> Iterator[cst.CSTNode]:
        """Ancestors of the current node, innermost first."""
        return reversed(self.stack[:-1])

    def enclosing(self, *types: type[cst.CSTNode]) -> cst.CSTNode | None:
        for node in self.ancestors():
            if isinstance(node, types):
                return node
        return None

    def enclosing_function(self) -> cst.FunctionDef | None:
        """The innermost function around the current node (lambdas are skipped)."""
        found = self.enclosing(cst.FunctionDef)
        return found if isinstance(found, cst.FunctionDef) else None

    def current_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        if isinstance(node, _STATEMENT_TYPES):
            return node
        for ancestor in reversed(self.stack):
            if isinstance(ancestor, _STATEMENT_TYPES):
                return ancestor
        return None

    # -- positions and text ---------------------------------------------------------------

    @property
    def metadata_wrapper(self) -> MetadataWrapper:
        if self._wrapper is None:
            # No copy: rules hold references to nodes of `self.module`.
            self._wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        return self._wrapper

    def position(self, node: cst.CSTNode) -> CodeRange:
        """Source range of `node` (lines 1-based, columns 0-based)."""
        return self._positions[node]

    def note_reported(self, node: cst.CSTNode) -> None:
        """`node` is being reported: where the walk is tells where to find its position."""
        self._positions.remember(node)

    def prefetch_positions(self, nodes: Iterable[cst.CSTNode]) -> None:
        """Resolve the positions of `nodes` together (one pass over the tree)."""
        self._positions.prefetch(nodes)

    def line_of(self, node: cst.CSTNode) -> int:
        return self.position(node).start.line

    def code_of(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)
