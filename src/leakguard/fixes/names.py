"""How a fix refers to a library name: through an import the file already has, or by
adding one that binds a free name."""

from __future__ import annotations

import libcst as cst

from leakguard.analysis.imports import ImportTable
from leakguard.analysis.scopes import module_bindings
from leakguard.context import FileContext
from leakguard.fixes import Import


def _module_imports(context: FileContext) -> ImportTable:
    """Imports at module level only: the engine's table also holds imports met inside
    functions, which a fix elsewhere in the file cannot use."""
    key = "fixes.module_imports"
    table = context.memo.get(key)
    if table is None:
        table = context.memo[key] = ImportTable.from_module(
            context.module, context.module_name, context.package
        )
    return table


def reference(
    context: FileContext, qualified: str, *, from_import: bool = False
) -> tuple[cst.BaseExpression, Import | None] | None:
    """An expression naming `qualified` (e.g. `asyncio.sleep`) in this file, and the
    import to add for it (None when the file's imports already provide it). With
    `from_import`, a missing name is imported as `from module import name`; otherwise
    as `import module`. None when the name it would bind is already taken."""
    module, _, name = qualified.rpartition(".")
    aliases = _module_imports(context).aliases
    for local, target in sorted(aliases.items()):
        if target == qualified:
            return cst.Name(local), None
    for local, target in sorted(aliases.items()):
        if target == module:
            return cst.Attribute(cst.Name(local), cst.Name(name)), None
    taken = set(module_bindings(context)) | set(aliases)
    if from_import:
        if name in taken:
            return None
        return cst.Name(name), Import(module, name)
    root = module.split(".", 1)[0]
    if root in taken:
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
