"""Import and alias resolution: turn `np.load`, `l(...)` or `StandardScaler` into the
qualified names rules match on (`numpy.load`, `pickle.loads`,
`sklearn.preprocessing.StandardScaler`).

Deliberately flow-insensitive and cheap: one table per file, filled by a pre-pass over
module-level imports (including those under `if`/`try`) and then by imports met inside
functions during the walk. This is far cheaper than LibCST's QualifiedNameProvider,
which needs the full ScopeProvider.
"""

from __future__ import annotations

import ast
import builtins
import re
from functools import lru_cache

import libcst as cst

from leakguard.analysis.project import from_base

_BUILTIN_NAMES = frozenset(dir(builtins))
_LINE_BREAKS = re.compile("\r\n?|\n")


# Asked of every name and attribute of a file, several times (a few thousand distinct
# names a file): the answer is remembered.
@lru_cache(maxsize=8192)
def class_like(name: str | None) -> bool:
    """The last part of a dotted name is a CapWords name (PEP 8's class names), not a
    constant's (`MAX_ROWS`): `ErrorResponse`, `errors.QuotaExceeded`."""
    last = (name or "").rsplit(".", 1)[-1]
    return last[:1].isupper() and not last.isupper()


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None (calls, subscripts...)."""
    # Exact type tests (LibCST has no subclasses of these): called for most calls and
    # names of a file, and `isinstance` on LibCST's ABC-based classes is slow.
    if type(node) is cst.Name:
        return node.value
    parts: list[str] = []
    current: cst.BaseExpression = node
    while type(current) is cst.Attribute:
        parts.append(current.attr.value)
        current = current.value
    if type(current) is not cst.Name:
        return None
    parts.append(current.value)
    return ".".join(reversed(parts))


def _module_dotted(node: cst.BaseExpression | None) -> str:
    if node is None:
        return ""
    name = dotted_name(node)
    return name or ""


class ImportTable:
    """Local name -> fully qualified name, for one file."""

    def __init__(self, module_name: str = "", package: bool = False) -> None:
        # e.g. "pkg.sub.mod" for pkg/sub/mod.py; resolves relative imports.
        self.module_name = module_name
        # The file is a package's `__init__` (`module_name` names the package itself).
        self.package = package
        self.aliases: dict[str, str] = {}

    @classmethod
    def from_module(
        cls,
        module: cst.Module,
        module_name: str = "",
        package: bool = False,
        *,
        nested: bool = True,
    ) -> ImportTable:
        """The module's imports; with `nested`, those inside functions and classes too."""
        table = cls(module_name, package)
        table._scan_block(module.body)
        if not nested:
            return table
        # Imports inside functions (`def load(p): import torch; return torch.load(p)`,
        # common for optional heavy dependencies) resolve alike, unless the module
        # binds the name itself.
        local = cls(module_name, package)
        local._scan_nested(module.body, top=True)
        for name, target in local.aliases.items():
            table.aliases.setdefault(name, target)
        return table

    def _scan_nested(self, body: object, top: bool = False) -> None:
        """Record imports in function and class bodies, at any statement depth."""
        # Every statement of the file passes here: exact type tests, since `isinstance`
        # on LibCST's ABC-based classes is slow when it fails.
        for statement in body:  # type: ignore[attr-defined]
            kind = _STATEMENT_KINDS[type(statement)]
            if kind is _DEFINITION:
                self._scan_statements(statement.body)
            elif kind is _COMPOUND:
                for block in _blocks(statement):
                    self._scan_nested(block.body, top=top)
            elif not top and kind is _LINE:
                for small in statement.body:
                    if type(small) in _IMPORTS:
                        self.record(small)

    def _scan_statements(self, suite: cst.BaseSuite) -> None:
        if isinstance(suite, cst.IndentedBlock):
            self._scan_nested(suite.body)
        elif isinstance(suite, cst.SimpleStatementSuite):
            for small in suite.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)):
                    self.record(small)

    def _scan_block(self, body: object) -> None:
        for statement in body:  # type: ignore[attr-defined]
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self.record(small)
            elif isinstance(statement, cst.If):
                self._scan_block(statement.body.body)
                orelse = statement.orelse
                while orelse is not None:
                    self._scan_block(orelse.body.body)
                    orelse = orelse.orelse if isinstance(orelse, cst.If) else None
            elif isinstance(statement, cst.Try):
                self._scan_block(statement.body.body)
                for handler in statement.handlers:
                    self._scan_block(handler.body.body)
                if statement.orelse is not None:
                    self._scan_block(statement.orelse.body.body)

    def record(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = _module_dotted(alias.name)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.aliases[alias.asname.name.value] = full
                else:
                    root = full.split(".")[0]
                    self.aliases[root] = root
            return
        base = self._resolve_from_base(node)
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            imported = _module_dotted(alias.name)
            local = imported
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.aliases[local] = f"{base}.{imported}" if base else imported

    def _resolve_from_base(self, node: cst.ImportFrom) -> str:
        return from_base(
            self.module_name, _module_dotted(node.module), len(node.relative), self.package
        )

    def qualify(self, node: cst.BaseExpression) -> str | None:
        """Qualified name of a Name/Attribute chain rooted at an import or a builtin."""
        name = dotted_name(node)
        if name is None:
            return None
        return self.qualify_dotted(name)

    def qualify_dotted(self, name: str) -> str | None:
        root, _, rest = name.partition(".")
        target = self.aliases.get(root)
        if target is None:
            return name if root in _BUILTIN_NAMES and not rest else None
        return f"{target}.{rest}" if rest else target

    def call_name(self, call: cst.Call) -> str | None:
        return self.qualify(call.func)

    def is_imported_from(self, node: cst.BaseExpression, *prefixes: str) -> bool:
        """True when `node` resolves to a name under one of the module `prefixes`."""
        qualified = self.qualify(node)
        return qualified is not None and any(
            qualified == p or qualified.startswith(p + ".") for p in prefixes
        )


class AstImportTable:
    """`ImportTable.from_module` for CPython's `ast` of the same source, for facts
    collected without LibCST: the same aliases, found by the same scan (imports at
    module level and under module-level `if`/`try`, then those in function and class
    bodies where the module does not bind the name). LibCST's scan looks only into
    indented blocks there, never into a block written on its header's line
    (`if x: import y`), so neither does this one (`tests/test_imports.py` compares both
    tables on every fixture file)."""

    def __init__(
        self, tree: ast.Module, text: str, module_name: str = "", package: bool = False
    ) -> None:
        self.table = ImportTable(module_name, package)
        # Lines as the tokenizer counts them (`str.splitlines` also splits at form feeds).
        self._lines = _LINE_BREAKS.split(text)
        self._scan_block(tree.body)
        nested = ImportTable(module_name, package)
        self._scan_nested(tree.body, nested, top=True)
        for name, target in nested.aliases.items():
            self.table.aliases.setdefault(name, target)

    def _inline(self, block: list[ast.stmt]) -> bool:
        """Whether `block` is written on its header's line (`if x: import y`): its first
        statement does not start its line."""
        first = block[0]
        line = self._lines[first.lineno - 1] if first.lineno <= len(self._lines) else ""
        return bool(line.encode()[: first.col_offset].strip())

    def _scan_block(self, body: list[ast.stmt]) -> None:
        for statement in body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                self._record(self.table, statement)
            elif isinstance(statement, ast.If):
                for block in (statement.body, statement.orelse):
                    if block and not self._inline(block):
                        self._scan_block(block)
            elif isinstance(statement, ast.Try):
                blocks = [statement.body, *(h.body for h in statement.handlers)]
                for block in [*blocks, statement.orelse]:
                    if block and not self._inline(block):
                        self._scan_block(block)

    def _scan_nested(self, body: list[ast.stmt], table: ImportTable, top: bool) -> None:
        for statement in body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self._scan_nested(statement.body, table, top=False)
            elif isinstance(statement, (ast.Import, ast.ImportFrom)):
                if not top:
                    self._record(table, statement)
            else:
                for block in _ast_blocks(statement):
                    if not self._inline(block):
                        self._scan_nested(block, table, top)

    def _record(self, table: ImportTable, node: ast.Import | ast.ImportFrom) -> None:
        table.aliases.update(ast_import_bindings(node, table.module_name, table.package))


def ast_import_bindings(
    node: ast.Import | ast.ImportFrom, module_name: str, package: bool = False
) -> list[tuple[str, str]]:
    """(local name, qualified name) of each name an `ast` import binds, as
    `ImportTable.record` does for LibCST (`from x import *` binds none we know)."""
    if isinstance(node, ast.Import):
        return [
            (alias.asname, alias.name) if alias.asname else (root, root)
            for alias in node.names
            for root in [alias.name.split(".")[0]]
        ]
    base = from_base(module_name, node.module or "", node.level, package)
    return [
        (alias.asname or alias.name, f"{base}.{alias.name}" if base else alias.name)
        for alias in node.names
        if alias.name != "*"
    ]


def _ast_blocks(statement: ast.stmt) -> list[list[ast.stmt]]:
    """The statement blocks of a compound statement, in `_blocks`'s order (its stack
    takes the body first, then the `else`, `finally`, handler and case blocks last to
    first): the scan records the last import of a name, so the order matters."""
    later: list[list[ast.stmt]] = [
        getattr(statement, "orelse", None) or [],
        getattr(statement, "finalbody", None) or [],
        *(handler.body for handler in getattr(statement, "handlers", ())),
        *(case.body for case in getattr(statement, "cases", ())),
    ]
    body: list[ast.stmt] = getattr(statement, "body", None) or []
    return [block for block in [body, *reversed(later)] if block]


def matches_any(qualified: str | None, names: object) -> bool:
    """Exact match against configured names; a trailing `.*` entry matches a prefix."""
    if qualified is None:
        return False
    exact, prefixes = _patterns(names)
    return qualified in exact or (bool(prefixes) and qualified.startswith(prefixes))


# id(names) -> (names, a copy, exact names, prefixes): a rule matches every call against
# the same few configured lists, so each is split once. `names` is held so that its id
# stays its own, and compared with the copy (in C, item by item) in case it was changed.
_PATTERNS: dict[int, tuple[object, list[str], frozenset[str], tuple[str, ...]]] = {}
_MAX_PATTERNS = 512


def _patterns(names: object) -> tuple[frozenset[str], tuple[str, ...]]:
    known = _PATTERNS.get(id(names))
    if known is not None and known[0] is names and known[1] == names:
        return known[2], known[3]
    listed: list[str] = list(names)  # type: ignore[call-overload]
    exact = frozenset(p for p in listed if not p.endswith(".*"))
    prefixes = tuple(p[:-1] for p in listed if p.endswith(".*"))
    if len(_PATTERNS) >= _MAX_PATTERNS:
        _PATTERNS.clear()
    if isinstance(names, list):
        _PATTERNS[id(names)] = (names, listed, exact, prefixes)
    return exact, prefixes


_IMPORTS = frozenset({cst.Import, cst.ImportFrom})
_DEFINITION, _COMPOUND, _LINE, _OTHER = "definition", "compound", "line", "other"


class _StatementKinds(dict[type, str]):
    """Statement type -> how `_scan_nested` treats it, decided once per type."""

    def __missing__(self, node_type: type) -> str:
        if issubclass(node_type, (cst.FunctionDef, cst.ClassDef)):
            kind = _DEFINITION
        elif issubclass(node_type, cst.BaseCompoundStatement):
            kind = _COMPOUND
        elif issubclass(node_type, cst.SimpleStatementLine):
            kind = _LINE
        else:
            kind = _OTHER
        # Keyed by LibCST node types, a fixed and finite set: bounded by construction.
        self[node_type] = kind  # leakguard: ignore[LG108]
        return kind


_STATEMENT_KINDS = _StatementKinds()


def _blocks(statement: cst.BaseCompoundStatement) -> list[cst.IndentedBlock]:
    """The indented blocks of a compound statement (body, else, handlers, finally)."""
    blocks: list[cst.IndentedBlock] = []
    todo: list[object] = [statement]
    while todo:
        node = todo.pop()
        for name in ("body", "orelse", "finalbody"):
            child = getattr(node, name, None)
            if isinstance(child, cst.IndentedBlock):
                blocks.append(child)
            elif isinstance(child, (cst.If, cst.Else, cst.Finally)):
                todo.append(child)
        for handler in getattr(node, "handlers", ()):
            todo.append(handler)
        for case in getattr(node, "cases", ()):
            todo.append(case)
    return blocks
