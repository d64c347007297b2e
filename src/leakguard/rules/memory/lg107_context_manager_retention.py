"""LG107 context-manager-retention: a `with`-able class keeps what its methods collect.

A class that defines `__enter__`/`__exit__` (or `__aenter__`/`__aexit__`) is checked for
methods that grow `self.<attribute>` (`append`, `extend`, `add`, `update`, `insert`,
`setdefault`, `self.x[k] = v`, `self.x += [...]`) where the attribute holds a mutable
container (a list/dict/set/deque literal or constructor, found through
`cleanup.attribute_binding`). It is reported when `__exit__` (or a `self.helper()` that
`__exit__` calls) neither clears, deletes, reassigns nor pops it
(`cleanup.class_release`), unless the container is bounded: `deque(maxlen=N)`, or a size
check in the growing method (`if len(self.x) >= N:`) whose branch releases the container,
raises or returns, which is the criteria's "limit method calls to <1000 total items".
Silent as well when the container is the object's working state: another method (not on
the exit path) uses what it holds (`cleanup.contents_reads`), or the exit path shuts each
element down (`cleanup.releases_each_element`).

One finding per container, at its first growth site.
"""

from __future__ import annotations

import ast

import libcst as cst

from leakguard.analysis.caches import constant_key
from leakguard.analysis.calls import keyword_arg
from leakguard.analysis.cleanup import (
    CLEAR_METHODS,
    EVICT_METHODS,
    attribute_binding,
    binding_value,
    class_methods,
    class_release,
    constructor_helpers,
    contents_reads,
    find_release,
    is_bounded_container,
    receiver_name,
    releases_each_element,
    self_calls,
)
from leakguard.analysis.imports import dotted_name
from leakguard.analysis.scopes import declared_static_or_class, is_mutable_constructor
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.rule import LintRule
from leakguard.slicing import units_of
from leakguard.triage import SCOPES, TriageTree, per_tree
from leakguard.walker import SCOPE_NODES, descendants, walk

_ENTER_EXIT_PAIRS = (("__enter__", "__exit__"), ("__aenter__", "__aexit__"))
_ENTER_METHODS = ("__enter__", "__aenter__")
_EXITS = (cst.Raise, cst.Return)
_CONTAINER_FACTORIES = frozenset(
    {
        "list",
        "dict",
        "set",
        "collections.deque",
        "collections.defaultdict",
        "collections.OrderedDict",
        "collections.Counter",
    }
)


class ContextManagerRetention(LintRule):
    code = "LG107"

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A class that defines both halves of a context manager and grows an attribute
        of its receiver outside its constructors (`_grown_attributes`)."""
        return any(_grown_attributes(tree, spec).values())

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Those context-manager classes whole, and every unit reading one of the
        attributes they grow through another name (`_read_from_outside`: `cm.items`
        elsewhere means the container is working state)."""
        grown = _grown_attributes(tree, spec)
        managers = [klass for klass in tree.of(ast.ClassDef) if grown.get(id(klass))]
        attributes = set().union(*grown.values())
        readers = [
            unit
            for unit in units_of(tree)
            if any(
                isinstance(node, ast.Attribute)
                and node.attr in attributes
                and isinstance(node.value, ast.Name)
                and node.value.id not in ("self", "cls")
                for node in tree.walk(unit)
            )
        ]
        outer = [tree.outermost(klass) for klass in managers]
        return [*managers, *(o for o in outer if o is not None), *readers]

    def __init__(self, context: FileContext, spec: RuleSpec) -> None:
        super().__init__(context, spec)
        self._growth_methods = frozenset(self.option("growth_methods"))
        self._constructors = frozenset(self.option("constructor_methods"))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        methods = {m.name.value: m for m in class_methods(node)}
        exit_methods = [
            methods[exit_name]
            for enter_name, exit_name in _ENTER_EXIT_PAIRS
            if enter_name in methods and exit_name in methods
        ]
        if not exit_methods:
            return
        reported: set[str] = set()
        setup_only = constructor_helpers(methods, self._constructors)
        for method in methods.values():
            name = method.name.value
            if name in self._constructors or name in setup_only or _is_static_or_class(method):
                continue
            receiver = receiver_name(method)
            if receiver is None:
                continue
            for attribute, site in self._growth_sites(method, receiver):
                if attribute in reported:
                    continue
                if self._retained(node, method, receiver, attribute, exit_methods, methods):
                    reported.add(attribute)
                    self._report(node, method, attribute, site, exit_methods[0])

    def _growth_sites(
        self, method: cst.FunctionDef, receiver: str
    ) -> list[tuple[str, cst.CSTNode]]:
        """(attribute, node) for each place the method grows `receiver.<attribute>`."""
        sites: list[tuple[str, cst.CSTNode]] = []
        scanned = (cst.Call, cst.Assign, cst.AugAssign)
        for node in descendants(method.body, stop_at=SCOPE_NODES, only=scanned):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
                if node.func.attr.value in self._growth_methods:
                    attribute = _receiver_attribute(node.func.value, receiver)
                    if attribute is not None:
                        sites.append((attribute, node))
            elif isinstance(node, (cst.Assign, cst.AugAssign)):
                targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else []
                if isinstance(node, cst.AugAssign) and isinstance(
                    node.operator, (cst.AddAssign, cst.BitOrAssign)
                ):
                    targets = [node.target]
                for target in targets:
                    if _is_whole_slice(target) or (
                        isinstance(target, cst.Subscript) and constant_key(target, self.context)
                    ):
                        # `self.x[:] = []` replaces the contents; `self.x["k"] = v` only
                        # ever overwrites a fixed set of keys. Neither grows the container.
                        continue
                    container = target.value if isinstance(target, cst.Subscript) else None
                    if container is None and isinstance(node, cst.AugAssign):
                        container = target
                    if container is None:
                        continue
                    attribute = _receiver_attribute(container, receiver)
                    if attribute is not None:
                        sites.append((attribute, node))
        return sites

    def _retained(
        self,
        owner: cst.ClassDef,
        method: cst.FunctionDef,
        receiver: str,
        attribute: str,
        exit_methods: list[cst.FunctionDef],
        methods: dict[str, cst.FunctionDef],
    ) -> bool:
        binding = self._container_binding(owner, attribute)
        if binding is None:
            return False  # not known to be a container (a hash, a counter, a buffer object)
        if is_bounded_container(binding, self.context):
            return False
        # An eviction path in any method bounds the container to what is live (a waiter
        # removed when it wakes, a patch removed by stop(), a reset per call); a reset in
        # `__enter__` does not: the data collected in the block outlives `__exit__`.
        release_scope = set(methods) - self._constructors - set(_ENTER_METHODS)
        if class_release(owner, attribute, self.context, methods=release_scope) is not None:
            return False
        if any(
            _empties_by_slice(method, attribute)
            for method in class_methods(owner)
            if method.name.value in release_scope
        ):
            return False
        exit_path = _exit_path(methods, exit_methods)
        if any(releases_each_element(methods[name], attribute) for name in exit_path):
            # `for t in self.workers: t.join()` on exit: the container holds the
            # object's own components and exit shuts each of them down.
            return False
        if any(
            contents_reads(other, attribute, self._growth_methods)
            for name, other in methods.items()
            if name not in exit_path
        ):
            # Another method uses what the container holds (a lookup table, a registry
            # of pages, lines it renders): it is the object's working state for its whole
            # lifetime, and clearing it on exit would break that method after the block.
            return False
        if attribute in _read_from_outside(self.context):
            # `with Capture() as cap: ...` then `cap.modules`: what the block collected
            # is the object's product, read after the block; clearing it in `__exit__`
            # would throw the result away.
            return False
        return not self._size_checked(method, f"{receiver}.{attribute}")

    def _container_binding(self, owner: cst.ClassDef, attribute: str) -> cst.BaseExpression | None:
        """The mutable container assigned to `self.<attribute>` anywhere in the class
        (constructors first), e.g. `self.items = None` in `__init__` and
        `self.items = []` in `__enter__`; None when it is never a known container."""
        first = attribute_binding(owner, attribute, self.context)
        if is_mutable_constructor(first, self.context) or self._dataclass_container(first):
            return first
        for method in class_methods(owner):
            receiver = receiver_name(method)
            if receiver is None:
                continue
            value = binding_value(f"{receiver}.{attribute}", method, self.context)
            if is_mutable_constructor(value, self.context):
                return value
        return None

    def _dataclass_container(self, value: cst.BaseExpression | None) -> bool:
        """`field(default_factory=list)` (dataclasses, attrs, pydantic)."""
        if not isinstance(value, cst.Call):
            return False
        factory = keyword_arg(value, "default_factory") or keyword_arg(value, "factory")
        if factory is None:
            return False
        name = self.context.imports.qualify(factory.value)
        return name in _CONTAINER_FACTORIES

    def _size_checked(self, method: cst.FunctionDef, key: str) -> bool:
        """`if len(self.x) >= N:` whose branch releases `self.x`, raises or returns."""
        for node in descendants(method.body, stop_at=SCOPE_NODES):
            if not isinstance(node, cst.If) or not _measures_length(node.test, key):
                continue
            branch = node.body
            if find_release(branch, key, self.context) is not None:
                return True
            if any(isinstance(n, _EXITS) for n in descendants(branch, stop_at=SCOPE_NODES)):
                return True
        return False

    def _report(
        self,
        owner: cst.ClassDef,
        method: cst.FunctionDef,
        attribute: str,
        site: cst.CSTNode,
        exit_method: cst.FunctionDef,
    ) -> None:
        line_of = self.context.line_of
        binding = self._container_binding(owner, attribute)
        defined = line_of(binding) if binding is not None else line_of(owner)
        if isinstance(site, cst.Call) and isinstance(site.func, cst.Attribute):
            growth = f"`{self.context.code_of(site.func)}(...)`"
        else:
            growth = "`" + self.context.code_of(site).strip().splitlines()[0] + "`"
        exit_name = f"{owner.name.value}.{exit_method.name.value}"
        exit_why = f"`{exit_name}` (line {line_of(exit_method)}) never clears, deletes or resets it"
        self.report(
            site,
            reset=_fresh_container(binding, self.context),
            growth=growth,
            method=f"{owner.name.value}.{method.name.value}",
            attribute=attribute,
            defined=defined,
            exit_why=exit_why,
            exit_name=exit_method.name.value,
        )


def _receiver_attribute(expr: cst.BaseExpression, receiver: str) -> str | None:
    """`items` for `self.items` (exactly one attribute below the receiver)."""
    if (
        isinstance(expr, cst.Attribute)
        and isinstance(expr.value, cst.Name)
        and expr.value.value == receiver
    ):
        return expr.attr.value
    return None


def _is_static_or_class(method: cst.FunctionDef) -> bool:
    for decorator in method.decorators:
        name = dotted_name(decorator.decorator) or ""
        if name.rsplit(".", 1)[-1] in ("staticmethod", "classmethod"):
            return True
    return False


def _exit_path(
    methods: dict[str, cst.FunctionDef], exit_methods: list[cst.FunctionDef]
) -> set[str]:
    """The exit methods and the methods they reach through `self.<name>(...)` calls."""
    reached = {m.name.value for m in exit_methods}
    todo = list(reached)
    while todo:
        for name in self_calls(methods[todo.pop()]):
            if name in methods and name not in reached:
                reached.add(name)
                todo.append(name)
    return reached


def _measures_length(test: cst.BaseExpression, key: str) -> bool:
    for node in [test, *descendants(test)]:
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name)
            and node.func.value == "len"
            and node.args
            and dotted_name(node.args[0].value) == key
        ):
            return True
    return False


def _fresh_container(binding: cst.BaseExpression | None, context: FileContext) -> str:
    """The text of an empty container of the same kind, for the suggested reset."""
    if isinstance(binding, (cst.Dict, cst.DictComp)):
        return "{}"
    if isinstance(binding, (cst.Set, cst.SetComp)):
        return "set()"
    if isinstance(binding, cst.Call):
        return context.code_of(binding.func) + "()"
    return "[]"


def _is_whole_slice(target: cst.BaseExpression) -> bool:
    """`x[:]` (no bounds): assigning to it replaces the whole contents."""
    if not isinstance(target, cst.Subscript) or len(target.slice) != 1:
        return False
    index = target.slice[0].slice
    return (
        isinstance(index, cst.Slice)
        and index.lower is None
        and index.upper is None
        and index.step is None
    )


def _empties_by_slice(method: cst.FunctionDef, attribute: str) -> bool:
    """`self.<attribute>[:] = []` in the method: the list is emptied in place."""
    receiver = receiver_name(method)
    if receiver is None:
        return False
    for node in descendants(method.body, stop_at=SCOPE_NODES):
        if not isinstance(node, cst.Assign) or not _is_empty_literal(node.value):
            continue
        for target in node.targets:
            if (
                _is_whole_slice(target.target)
                and _receiver_attribute(target.target.value, receiver) == attribute  # type: ignore[attr-defined]
            ):
                return True
    return False


@per_tree
def _grown_attributes(tree: TriageTree, spec: RuleSpec) -> dict[int, set[str]]:
    """Triage: per context-manager class (by id), the attributes of the receiver its
    methods other than constructors and static or class methods grow
    (`_growth_sites`: a growth method called on `self.x`, `self.x[k] = v`,
    `self.x += ...`, `self.x |= ...`) and none of its methods releases by a call
    (`_calls_release`)."""
    methods = frozenset(str(m) for m in spec.option("growth_methods"))
    constructors = frozenset(str(m) for m in spec.option("constructor_methods"))
    found: dict[int, set[str]] = {}
    # A class defines both halves only if the file does: most files need no class walked.
    defined = {function.name for function in tree.functions}
    if not any(enter in defined and exit in defined for enter, exit in _ENTER_EXIT_PAIRS):
        return found
    for klass in tree.of(ast.ClassDef):
        if not _defines_enter_exit(tree, klass):
            continue
        grown: set[str] = set()
        for method in tree.within(klass, SCOPES):
            if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            receiver = _first_positional(method)
            if method.name in constructors or receiver is None or declared_static_or_class(method):
                continue
            for node in tree.scope_nodes(method.body, SCOPES):
                containers: list[ast.expr] = []
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    if node.func.attr in methods:
                        containers = [node.func.value]
                elif isinstance(node, ast.Assign):
                    containers = [t.value for t in node.targets if isinstance(t, ast.Subscript)]
                elif isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.BitOr)):
                    target = node.target
                    containers = [target.value if isinstance(target, ast.Subscript) else target]
                grown.update(a for c in containers if (a := _attribute_of(c, receiver)) is not None)
        found[id(klass)] = grown - _calls_release(tree, klass, constructors)
    return found


def _calls_release(tree: TriageTree, klass: ast.ClassDef, constructors: frozenset[str]) -> set[str]:
    """The attributes a method of the class body (not a constructor, not `__enter__`)
    clears or evicts from by a call on its receiver (`self.x.clear()`, `self.x.pop(k)`):
    releases `class_release` finds, so `_retained` is False for them."""
    found: set[str] = set()
    releasing = CLEAR_METHODS | EVICT_METHODS
    for method in klass.body:
        if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        receiver = _first_positional(method)
        if receiver is None or method.name in constructors or method.name in _ENTER_METHODS:
            continue
        found.update(
            attribute
            for node in tree.scope_nodes(method.body, SCOPES)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in releasing
            and (attribute := _attribute_of(node.func.value, receiver)) is not None
        )
    return found


def _first_positional(method: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """A method's receiver: its first positional parameter."""
    arguments = [*method.args.posonlyargs, *method.args.args]
    return arguments[0].arg if arguments else None


def _attribute_of(node: ast.expr, receiver: str) -> str | None:
    """`x` when `node` is `receiver.x`."""
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == receiver
    ):
        return node.attr
    return None


def _defines_enter_exit(tree: TriageTree, klass: ast.ClassDef) -> bool:
    names = {
        node.name
        for node in tree.walk(klass)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    return any(enter in names and exit in names for enter, exit in _ENTER_EXIT_PAIRS)


def _is_empty_literal(value: cst.BaseExpression) -> bool:
    return isinstance(value, (cst.List, cst.Tuple)) and not value.elements


def _read_from_outside(context: FileContext) -> frozenset[str]:
    """Attribute names the file reads through a plain name that is not a method's
    receiver (`cm.exit_args`, `"\\n".join(cap.imported_modules)`), excluding calls of
    their methods (`obj.items.append(...)` mutates, it does not read a result)."""
    cached = context.memo.get("lg107.read_from_outside")
    if isinstance(cached, frozenset):
        return cached
    names: set[str] = set()
    path: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        if not (
            isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value not in ("self", "cls")
        ):
            return
        parent = path[-2] if len(path) > 1 else None
        if isinstance(parent, cst.Attribute) and parent.value is node:
            return  # `cm.items.append`: a method of the container, not its contents
        if isinstance(parent, (cst.AssignTarget, cst.AugAssign, cst.Del)):
            return
        names.add(node.attr.value)

    walk(context.module, visit, stack=path)
    result = frozenset(names)
    context.memo["lg107.read_from_outside"] = result
    return result
