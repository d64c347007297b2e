"""Scope and persistence facts: does a container outlive the call that fills it?

Answers "where does `x` live?" for a name or attribute used inside a function, from the
ancestor stack of the current node: a local, a parameter (the caller owns it), a mutable
default argument, a closure-captured variable, a module global, an instance attribute
or a class attribute. Facts per function are computed once per file (memoised in
`FileContext.memo`). Cheaper than LibCST's ScopeProvider, and enough for these rules.
"""

from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass
from enum import Enum

import libcst as cst

from leakguard.analysis.containers import MUTABLE_FACTORIES
from leakguard.context import FileContext
from leakguard.triage import SCOPES, TriageTree, dotted, method_owners, nested_functions
from leakguard.walker import SCOPE_NODES, descendants

FunctionNode = cst.FunctionDef | cst.Lambda


class Storage(str, Enum):
    LOCAL = "local variable"
    PARAMETER = "parameter"
    MUTABLE_DEFAULT = "mutable default argument"
    CLOSURE = "closure-captured variable"
    MODULE_GLOBAL = "module global"
    INSTANCE_ATTRIBUTE = "instance attribute"
    CLASS_ATTRIBUTE = "class attribute"
    UNKNOWN = "unknown"

    @property
    def persistent(self) -> bool:
        """Outlives one call of the function (PARAMETER is the caller's, so excluded)."""
        return self in _PERSISTENT


_PERSISTENT = {
    Storage.MUTABLE_DEFAULT,
    Storage.CLOSURE,
    Storage.MODULE_GLOBAL,
    Storage.INSTANCE_ATTRIBUTE,
    Storage.CLASS_ATTRIBUTE,
}

MUTABLE_LITERALS = (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)


@dataclass(frozen=True)
class FunctionScope:
    node: FunctionNode
    params: tuple[str, ...]  # in order; params[0] is `self`/`cls` for methods
    mutable_default_params: frozenset[str]
    locals: frozenset[str]
    globals: frozenset[str]
    nonlocals: frozenset[str]
    is_method: bool
    decorators: tuple[str, ...]

    @property
    def receiver(self) -> str | None:
        """`self` (or `cls`) name for methods, else None."""
        return self.params[0] if self.is_method and self.params else None

    @property
    def is_classmethod(self) -> bool:
        return any(d.rsplit(".", 1)[-1] == "classmethod" for d in self.decorators)

    @property
    def is_staticmethod(self) -> bool:
        return any(d.rsplit(".", 1)[-1] == "staticmethod" for d in self.decorators)


@dataclass(frozen=True)
class Location:
    storage: Storage
    name: str  # the root name, e.g. `CACHE` or `self.items`
    # Where the container was bound (its assignment), when known; for messages.
    definition: cst.CSTNode | None = None


def is_mutable_constructor(node: cst.BaseExpression | None, context: FileContext) -> bool:
    if node is None:
        return False
    if isinstance(node, MUTABLE_LITERALS):
        return True
    if isinstance(node, cst.Call):
        name = context.imports.qualify(node.func)
        return name in MUTABLE_FACTORIES
    return False


def is_read(node: cst.Name, parent: cst.CSTNode | None) -> bool:
    """`node` (a child of `parent`) reads a variable: not an attribute's name, a
    keyword, a binding target (`x = ...`, `for x in`, `with ... as x`, a parameter), a
    `global`/`nonlocal` declaration or a definition's or import's name. `x += 1` reads
    `x` (and binds it)."""
    if isinstance(parent, cst.Attribute):
        return parent.attr is not node
    if isinstance(parent, cst.Arg):
        return parent.keyword is not node
    if isinstance(parent, (cst.AsName, cst.AssignTarget, cst.Param, cst.NameItem)):
        return False
    if isinstance(parent, (cst.For, cst.CompFor, cst.AnnAssign, cst.NamedExpr)):
        return parent.target is not node
    return not isinstance(parent, (cst.FunctionDef, cst.ClassDef, cst.ImportAlias))


def bound_names(target: cst.BaseExpression) -> list[str]:
    """Names bound by an assignment/for/with target (tuples and starred unpacked)."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        names: list[str] = []
        for element in target.elements:
            names.extend(bound_names(element.value))
        return names
    if isinstance(target, cst.StarredElement):
        return bound_names(target.value)
    return []


def _params(params: cst.Parameters) -> list[cst.Param]:
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            found.append(star)
    return found


# The nodes that bind or declare a name in a function's own scope.
BINDING_NODES = (
    cst.Global,
    cst.Nonlocal,
    cst.Assign,
    cst.AnnAssign,
    cst.AugAssign,
    cst.For,
    cst.WithItem,
    cst.NamedExpr,
    cst.ExceptHandler,
    cst.FunctionDef,
    cst.ClassDef,
    cst.Import,
    cst.ImportFrom,
)


def function_scope(
    node: FunctionNode, context: FileContext, is_method: bool = False
) -> FunctionScope:
    key = ("scope", id(node), is_method)  # a method's first parameter is no plain local
    cached = context.memo.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    params = _params(node.params)
    names = tuple(p.name.value for p in params)
    mutable_defaults = frozenset(
        p.name.value for p in params if is_mutable_constructor(p.default, context)
    )
    locals_: set[str] = set()
    globals_: set[str] = set()
    nonlocals: set[str] = set()
    for item in [node.body]:
        for child in [item, *descendants(item, stop_at=SCOPE_NODES, only=BINDING_NODES)]:
            if isinstance(child, cst.Global):
                globals_.update(n.name.value for n in child.names)
            elif isinstance(child, cst.Nonlocal):
                nonlocals.update(n.name.value for n in child.names)
            elif isinstance(child, cst.Assign):
                for target in child.targets:
                    locals_.update(bound_names(target.target))
            elif isinstance(child, (cst.AnnAssign, cst.AugAssign, cst.For)):
                locals_.update(bound_names(child.target))
            elif isinstance(child, cst.WithItem) and child.asname is not None:
                locals_.update(bound_names(child.asname.name))
            elif isinstance(child, cst.NamedExpr):
                locals_.update(bound_names(child.target))
            elif isinstance(child, cst.ExceptHandler) and child.name is not None:
                locals_.update(bound_names(child.name.name))
            elif isinstance(child, (cst.FunctionDef, cst.ClassDef)) and child is not node:
                locals_.add(child.name.value)
            elif isinstance(child, cst.Import):
                for alias in child.names:
                    if alias.asname is not None:
                        locals_.update(bound_names(alias.asname.name))
                    else:
                        locals_.add(_root_name(alias.name))
            elif isinstance(child, cst.ImportFrom) and not isinstance(child.names, cst.ImportStar):
                for alias in child.names:
                    if alias.asname is not None:
                        locals_.update(bound_names(alias.asname.name))
                    elif isinstance(alias.name, cst.Name):
                        locals_.add(alias.name.value)
    decorators: tuple[str, ...] = ()
    if isinstance(node, cst.FunctionDef):
        decorators = tuple(
            context.imports.qualify(_decorator_target(d)) or _dotted(_decorator_target(d))
            for d in node.decorators
        )
    scope = FunctionScope(
        node=node,
        params=names,
        mutable_default_params=mutable_defaults,
        locals=frozenset(locals_ - globals_ - nonlocals),
        globals=frozenset(globals_),
        nonlocals=frozenset(nonlocals),
        is_method=is_method,
        decorators=decorators,
    )
    context.memo[key] = scope
    return scope


def _root_name(node: cst.BaseExpression) -> str:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else ""


def _decorator_target(decorator: cst.Decorator) -> cst.BaseExpression:
    target = decorator.decorator
    return target.func if isinstance(target, cst.Call) else target


def _dotted(node: cst.BaseExpression) -> str:
    from leakguard.analysis.imports import dotted_name

    return dotted_name(node) or ""


def module_bindings(context: FileContext) -> dict[str, cst.CSTNode]:
    """Names bound at module level -> the statement that (first) binds them."""
    cached = context.memo.get("module_bindings")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    bindings: dict[str, cst.CSTNode] = {}

    def scan(body: object) -> None:
        for statement in body:  # type: ignore[attr-defined]
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    names: list[str] = []
                    if isinstance(small, cst.Assign):
                        for target in small.targets:
                            names.extend(bound_names(target.target))
                    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                        names.extend(bound_names(small.target))
                    elif isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
                        small.names, cst.ImportStar
                    ):
                        for alias in small.names:
                            if alias.asname is not None:
                                names.extend(bound_names(alias.asname.name))
                            else:
                                names.append(_root_name(alias.name))
                    for name in names:
                        bindings.setdefault(name, statement)
            elif isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                bindings.setdefault(statement.name.value, statement)
            elif isinstance(statement, (cst.If, cst.Try, cst.With, cst.For, cst.While)):
                scan(statement.body.body)
                if isinstance(statement, cst.Try):
                    for handler in statement.handlers:
                        scan(handler.body.body)
                orelse = getattr(statement, "orelse", None)
                if orelse is not None and hasattr(orelse, "body"):
                    inner = orelse.body
                    scan(inner.body if hasattr(inner, "body") else [orelse])

    scan(context.module.body)
    context.memo["module_bindings"] = bindings
    return bindings


def own_bindings(tree: TriageTree, function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Triage (see `leakguard.triage`): names `function` binds in its own scope, judged
    on CPython's `ast`: its parameters and what its body binds (assignment, loop, `with`,
    `except` and walrus targets, imports, definitions; not a comprehension's variables), less
    what it declares `nonlocal` or `global`. Never more than `function_scope`'s params
    and locals: a name left out may still be local, a name in it is."""
    memo: dict[int, set[str]] = tree.memo.setdefault("scopes.own_bindings", {})
    found = memo.get(id(function))
    if found is not None:
        return found
    found = set(_parameters(function))
    # The body only: a walrus in a default or a decorator binds in the enclosing scope.
    own = tree.scope_nodes(function.body, SCOPES)
    declared: set[str] = set()
    # A comprehension's own variables live in the comprehension's scope.
    comprehension = {
        id(name)
        for node in own
        if isinstance(node, ast.comprehension)
        for name in tree.walk(node.target)
    }
    for node in own:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            if id(node) not in comprehension:
                found.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            found.add(node.name)
        elif isinstance(node, (ast.Nonlocal, ast.Global)):
            declared.update(node.names)
    found -= declared
    memo[id(function)] = found
    return found


def possible_storages(
    tree: TriageTree, function: ast.FunctionDef | ast.AsyncFunctionDef, container: ast.expr
) -> set[Storage]:
    """Triage: where `locate` may find that `container` (a name, attribute and subscript
    chain), used in the own scope of `function`, lives; a superset, judged on CPython's
    `ast`."""
    root = container
    while isinstance(root, (ast.Attribute, ast.Subscript)):
        root = root.value
    if not isinstance(root, ast.Name):
        return {Storage.UNKNOWN}
    name = root.id
    attribute = root is not container
    if attribute and id(function) in method_owners(tree) and name == _receiver(function):
        return {Storage.INSTANCE_ATTRIBUTE, Storage.CLASS_ATTRIBUTE}
    if name in own_bindings(tree, function):
        if name in _parameters(function):
            return {Storage.PARAMETER, Storage.MUTABLE_DEFAULT}
        return {Storage.LOCAL}
    found = {Storage.UNKNOWN}
    if any(name in own_bindings(tree, outer) for outer in outer_functions(tree, function)):
        found.add(Storage.CLOSURE)
    if name in _module_stores(tree):
        found.add(Storage.MODULE_GLOBAL)
    if attribute and name in {klass.name for klass in tree.of(ast.ClassDef)}:
        found.add(Storage.CLASS_ATTRIBUTE)
    return found


def declared_static_or_class(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Triage: a decorator written `staticmethod` or `classmethod` (last part)."""
    for decorator in function.decorator_list:
        name = dotted(decorator) or ""
        if name.rsplit(".", 1)[-1] in ("staticmethod", "classmethod"):
            return True
    return False


def innermost_function(
    tree: TriageTree, node: ast.AST
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """Triage: the innermost function (through classes) whose source span holds `node`
    (a statement), or None at module level."""
    ordered: list[ast.FunctionDef | ast.AsyncFunctionDef] | None = tree.memo.get(
        "scopes.functions_by_start"
    )
    if ordered is None:
        ordered = sorted(tree.functions, key=lambda f: (f.lineno, f.col_offset))
        tree.memo["scopes.functions_by_start"] = ordered
        tree.memo["scopes.function_starts"] = [(f.lineno, f.col_offset) for f in ordered]
    starts: list[tuple[int, int]] = tree.memo["scopes.function_starts"]
    start = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
    end = (getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0)
    # Functions starting later than `node` cannot hold it; of the others, the latest
    # to start that ends after it is the innermost (spans nest).
    for index in range(bisect.bisect_left(starts, start) - 1, -1, -1):
        function = ordered[index]
        if (function.end_lineno or 0, function.end_col_offset or 0) >= end:
            return function
    return None


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """`FunctionScope.params`: the parameter names, in LibCST's order."""
    arguments = function.args
    ordered = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    ordered.extend(a for a in (arguments.vararg, arguments.kwarg) if a is not None)
    return [argument.arg for argument in ordered]


def _receiver(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """`FunctionScope.receiver` of a method: its first parameter."""
    parameters = _parameters(function)
    return parameters[0] if parameters else None


def is_direct_method(tree: TriageTree, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Triage: `function` sits directly in a class body (a method)."""
    return id(function) in method_owners(tree)


def outer_functions(
    tree: TriageTree, function: ast.FunctionDef | ast.AsyncFunctionDef
) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Triage: the functions around `function` (through classes), innermost first."""
    parents = _parent_functions(tree)
    found = []
    outer = parents.get(id(function))
    while outer is not None:
        found.append(outer)
        outer = parents.get(id(outer))
    return found


def _parent_functions(tree: TriageTree) -> dict[int, ast.FunctionDef | ast.AsyncFunctionDef]:
    found: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] | None = tree.memo.get(
        "scopes.parent_functions"
    )
    if found is None:
        by_id = {id(function): function for function in tree.functions}
        found = {
            id(inner): by_id[outer]
            for outer, inners in nested_functions(tree).items()
            for inner in inners
        }
        tree.memo["scopes.parent_functions"] = found
    return found


def _module_stores(tree: TriageTree) -> set[str]:
    """Names module-level code stores to (a superset of the assigned names of
    `module_bindings`)."""
    found: set[str] | None = tree.memo.get("scopes.module_stores")
    if found is None:
        found = {
            node.id
            for node in tree.scope_nodes(tree.tree.body, SCOPES)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
        }
        tree.memo["scopes.module_stores"] = found
    return found


def enclosing_scopes(context: FileContext) -> list[tuple[FunctionScope, cst.ClassDef | None]]:
    """Functions around the current node, innermost first, each with the class that
    directly contains it (for methods)."""
    scopes: list[tuple[FunctionScope, cst.ClassDef | None]] = []
    ancestors = context.stack[:-1] if context.stack else []
    for index in range(len(ancestors) - 1, -1, -1):
        node = ancestors[index]
        if isinstance(node, (cst.FunctionDef, cst.Lambda)):
            owner = _direct_class(ancestors, index)
            scope = function_scope(node, context, is_method=owner is not None)
            scopes.append((scope, owner))
    return scopes


def _direct_class(ancestors: list[cst.CSTNode], index: int) -> cst.ClassDef | None:
    """The ClassDef whose body directly holds ancestors[index], if any."""
    for position in range(index - 1, -1, -1):
        node = ancestors[position]
        if isinstance(node, cst.ClassDef):
            return node
        if isinstance(node, (cst.FunctionDef, cst.Lambda)):
            return None
    return None


def locate(expr: cst.BaseExpression, context: FileContext) -> Location:
    """Where the container `expr` (a name or attribute chain) lives, seen from the
    current node's position."""
    root = expr
    while isinstance(root, (cst.Attribute, cst.Subscript)):
        root = root.value
    if not isinstance(root, cst.Name):
        return Location(Storage.UNKNOWN, "")
    name = root.value
    scopes = enclosing_scopes(context)
    is_attribute = root is not expr
    display = _dotted(expr) if isinstance(expr, cst.Attribute) else name
    if scopes:
        innermost, owner = scopes[0]
        if is_attribute and owner is not None and name == innermost.receiver:
            storage = (
                Storage.CLASS_ATTRIBUTE if innermost.is_classmethod else Storage.INSTANCE_ATTRIBUTE
            )
            if not innermost.is_staticmethod:
                return Location(storage, display or name)
        for depth, (scope, scope_owner) in enumerate(scopes):
            if name in scope.globals:
                break
            if name in scope.nonlocals:
                continue  # bound further out: keep looking, it is a closure capture
            if name in scope.params:
                if depth == 0:
                    if name in scope.mutable_default_params:
                        return Location(Storage.MUTABLE_DEFAULT, display, scope.node)
                    if is_attribute and scope_owner is not None and name == scope.receiver:
                        return Location(Storage.INSTANCE_ATTRIBUTE, display)
                    return Location(Storage.PARAMETER, display, scope.node)
                return Location(Storage.CLOSURE, display, scope.node)
            if name in scope.locals:
                if depth == 0:
                    return Location(Storage.LOCAL, display)
                return Location(Storage.CLOSURE, display, scope.node)
    bindings = module_bindings(context)
    if name in bindings:
        node = bindings[name]
        if isinstance(node, cst.ClassDef) and is_attribute:
            return Location(Storage.CLASS_ATTRIBUTE, display, node)
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            return Location(Storage.UNKNOWN, display, node)
        if context.imports.aliases.get(name) is not None and not _assigned_at_module(name, node):
            return Location(Storage.UNKNOWN, display, node)  # an imported module or name
        return Location(Storage.MODULE_GLOBAL, display, node)
    owner_class = next((c for _, c in scopes if c is not None), None)
    if owner_class is not None and not scopes:
        return Location(Storage.CLASS_ATTRIBUTE, display)
    return Location(Storage.UNKNOWN, display)


def _assigned_at_module(name: str, statement: cst.CSTNode) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    return any(
        isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)) for small in statement.body
    )
