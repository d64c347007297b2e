"""How a fix refers to a library name: through an import the file already has, or by
adding one that binds a free name."""

from __future__ import annotations

import ast

import libcst as cst

from leakguard.analysis.imports import AstImportTable, ImportTable
from leakguard.analysis.scopes import module_bindings
from leakguard.context import FileContext
from leakguard.fixes import Import
from leakguard.fixes.sliced import need_whole_file
from leakguard.slicing import statement_blocks

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# All the text `slicing.elide` writes in place of elided units.
_PLACEHOLDER = 'pass; """'


def _module_imports(context: FileContext) -> ImportTable:
    """The imports at module level, the only ones a fix anywhere in the file can spell a
    name through (`aio.sleep` after a `def helper(): import asyncio as aio` elsewhere is
    a NameError). Module-level imports are never elided (`leakguard.slicing`)."""
    key = "fixes.module_imports"
    table = context.memo.get(key)
    if table is None:
        table = context.memo[key] = ImportTable.from_module(
            context.module, context.module_name, context.package, nested=False
        )
    return table


def _all_imports(context: FileContext) -> ImportTable:
    """Every import of the file as `ImportTable.from_module` reads them (those at module
    level, then those inside functions whose names the module does not bind): a name one
    of them binds is taken, since the fix may sit in that function.

    Of the whole file: in a sliced module (`leakguard.slicing`) the elided units' own
    imports are missing, so when the elided text holds an import the table is built
    from the whole file's `ast` (`AstImportTable`: the same scan, the same aliases)."""
    key = "fixes.all_imports"
    table = context.memo.get(key)
    if table is None:
        if _elided_mentions(context, "import"):
            table = AstImportTable(
                context.whole_ast(), context.source, context.module_name, context.package
            ).table
        else:
            table = ImportTable.from_module(context.module, context.module_name, context.package)
        context.memo[key] = table
    return table


def _elided_mentions(context: FileContext, word: str) -> bool:
    """Whether the elided units' text holds `word` (never for a file not sliced): an
    elided unit is replaced by `pass` and quotes (`slicing.elide`), so the sliced text
    holds fewer occurrences exactly when an elided one does (a word the placeholders
    could hold is taken as mentioned)."""
    if not context.sliced:
        return False
    if word in _PLACEHOLDER:
        return True
    return context.source.count(word) != context.parsed_source.count(word)


def _bound(context: FileContext, aliases: dict[str, str], name: str) -> bool:
    """Whether the whole module binds `name` (`module_bindings` or an import).

    A sliced module lacks the functions of the elided units: one defined at top level
    binds its name (`module_bindings` reads every top-level statement); one defined only
    in a module-level block binds it when `module_bindings`'s scan reaches that block,
    which only the whole module tells (`need_whole_file`)."""
    if name in aliases or name in module_bindings(context):
        return True
    if not _elided_mentions(context, name):
        return False
    body = context.whole_ast().body
    if any(isinstance(s, _FUNCTIONS) and s.name == name for s in body):
        return True
    if any(_defines_in_blocks(s, name) for s in body):
        need_whole_file(context)
        return True
    return False


def _defines_in_blocks(statement: ast.stmt, name: str) -> bool:
    """Whether a function named `name` is defined in a block of the compound statement
    `statement` (`if`, `try`, `with`, `for`, `while`, `match`; not a class or a function),
    at any depth of such blocks."""
    if isinstance(statement, (*_FUNCTIONS, ast.ClassDef)):
        return False
    return any(
        (isinstance(inner, _FUNCTIONS) and inner.name == name) or _defines_in_blocks(inner, name)
        for block in statement_blocks(statement)
        for inner in block
    )


def reference(
    context: FileContext, qualified: str, *, from_import: bool = False
) -> tuple[cst.BaseExpression, Import | None] | None:
    """An expression naming `qualified` (e.g. `asyncio.sleep`) in this file, and the
    import to add for it (None when the file's imports already provide it). With
    `from_import`, a missing name is imported as `from module import name`; otherwise
    as `import module`. None when the name it would bind is already taken."""
    module, _, name = qualified.rpartition(".")
    reusable = _module_imports(context).aliases
    for local, target in sorted(reusable.items()):
        if target == qualified:
            return cst.Name(local), None
    for local, target in sorted(reusable.items()):
        if target == module:
            return cst.Attribute(cst.Name(local), cst.Name(name)), None
    taken = _all_imports(context).aliases
    if from_import:
        if _bound(context, taken, name):
            return None
        return cst.Name(name), Import(module, name)
    root = module.split(".", 1)[0]
    if _bound(context, taken, root):
        return None
    return cst.parse_expression(qualified), Import(module)


def renamed_callee(
    context: FileContext, func: cst.BaseExpression, qualified: str
) -> tuple[cst.BaseExpression, Import | None] | None:
    """The callee `func` (resolving to some `module.old`) made to call `qualified`
    (`module.new`): `alias.old` keeps its alias, a bare imported name becomes an
    imported `new`."""
    if isinstance(func, cst.Attribute):
        return func.with_changes(attr=cst.Name(qualified.rsplit(".", 1)[-1])), None
    return reference(context, qualified, from_import=True)
