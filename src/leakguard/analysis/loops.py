"""Loop accumulation facts shared by LG102, LG103, LG106 and LG109.

- `LoopTrackingRule`: a rule base class that keeps the loops around the current node
  (within the current function) with their constant-folded iteration counts, so a
  rule's `visit_Call` can ask "am I inside >= 500 iterations?" in O(1) before any work.
- `growth_of(node)`: is this node growing a container (`x.append(v)`, `x.add(v)`,
  `x[k] = v`, `x += [v]`, ...)?
- `persistence_of(growth, context)`: does that container outlive the call (module
  global, class/instance attribute, escaping closure, mutable default, parameter), and
  where was it defined?
- `release_of(persistence, context)`: does something in the same scope release it
  (see `leakguard.analysis.cleanup`)?
- `function_escapes(...)`: does a nested function outlive its enclosing call (returned,
  stored, registered, decorated)? Only then is its captured state persistent.

Iteration counts come from `ConstantTable.iteration_count`; unknown counts stay None
and are never guessed.
"""

from __future__ import annotations

import ast
import io
import itertools
import tokenize
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import libcst as cst

from leakguard.analysis.cleanup import (
    CONSTRUCTOR_NAMES,
    Release,
    attribute_binding,
    binding_value,
    class_methods,
    class_release,
    container_key,
    find_release,
    is_bounded_container,
    is_weak_container,
    receiver_name,
    with_bound,
)
from leakguard.analysis.scopes import (
    Location,
    Storage,
    bound_names,
    function_scope,
    innermost_function,
    locate,
    outer_functions,
    possible_storages,
)
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.rule import LintRule
from leakguard.slicing import source_lines
from leakguard.triage import TriageTree, dotted
from leakguard.walker import SCOPE_NODES, descendants, iter_children

LoopNode = cst.For | cst.While

# method -> does it need a known container binding to be trusted as growth?
# (`update`/`add` also exist on hashers, progress bars, archives ...)
GROW_METHODS: Mapping[str, bool] = {
    "append": False,
    "appendleft": False,
    "extend": False,
    "extendleft": False,
    "insert": True,
    "add": True,
    "update": True,
    "setdefault": True,
}
_DICT_FACTORIES = frozenset(
    {"dict", "collections.defaultdict", "collections.OrderedDict", "collections.Counter"}
)
_CONTAINER_FACTORIES = _DICT_FACTORIES | frozenset(
    {"list", "set", "collections.deque", "bytearray"}
)
# Calls that keep a callable passed to them (registration), when made on an object that
# outlives the enclosing call (a parameter, `self`, a module, a returned local).
_ESCAPE_CALLS = frozenset(
    {
        "register",
        "connect",
        "subscribe",
        "listen",
        "on",
        "bind",
        "signal",
        "setattr",
        "append",
        "add",
        "setdefault",
    }
)


@dataclass(frozen=True)
class LoopFrame:
    node: LoopNode
    count: int | None


def loop_count(loop: LoopNode, context: FileContext) -> int | None:
    """Iterations of a `for` loop when certain (literal/constant-folded), else None."""
    if isinstance(loop, cst.For):
        return context.constants.iteration_count(loop.iter)
    return None


class LoopTrackingRule(LintRule):
    """A rule that knows the loops around the current node, innermost last.

    Subclasses that override `visit_For`/`leave_For` (etc.) must call super().
    """

    def __init__(self, context: FileContext, spec: RuleSpec) -> None:
        super().__init__(context, spec)
        # One frame list per function (or the module): loops outside the current
        # function do not repeat a nested function's body.
        self._frames: list[list[LoopFrame]] = [[]]

    # loops --------------------------------------------------------------------------
    def visit_For(self, node: cst.For) -> None:
        self._frames[-1].append(LoopFrame(node, loop_count(node, self.context)))

    def leave_For(self, original_node: cst.For) -> None:
        self._frames[-1].pop()

    def visit_While(self, node: cst.While) -> None:
        self._frames[-1].append(LoopFrame(node, None))

    def leave_While(self, original_node: cst.While) -> None:
        self._frames[-1].pop()

    # scope barriers -----------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._frames.append([])

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._frames.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._frames.append([])

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._frames.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._frames.append([])

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._frames.pop()

    # queries ------------------------------------------------------------------------
    @property
    def in_loop(self) -> bool:
        return bool(self._frames[-1])

    @property
    def has_known_loop(self) -> bool:
        return any(f.count is not None for f in self._frames[-1])

    def active_loops(self) -> list[LoopFrame]:
        """Loops whose *body* holds the current node (not their `iter`/`else`), outermost
        first."""
        frames = self._frames[-1]
        if not frames:
            return []
        stack = self.context.stack
        positions = {id(n): i for i, n in enumerate(stack)}
        active = []
        for frame in frames:
            index = positions.get(id(frame.node))
            if index is not None and index + 1 < len(stack) and stack[index + 1] is frame.node.body:
                active.append(frame)
        return active


@dataclass(frozen=True)
class LoopNest:
    """The loops that repeat a growth, with the counts that are known."""

    loops: tuple[LoopFrame, ...]
    # Inner loops/sizes that fill what is added each time (e.g. an inner list of 200).
    inner: tuple[int, ...] = ()

    @property
    def known_counts(self) -> list[int]:
        counts = [f.count for f in self.loops if f.count is not None]
        return counts + list(self.inner)

    @property
    def product(self) -> int | None:
        counts = self.known_counts
        if not counts:
            return None
        total = 1
        for count in counts:
            total *= count
        return total

    @property
    def all_known(self) -> bool:
        return all(f.count is not None for f in self.loops)

    def qualifies(self, min_iterations: int, min_nested_iterations: int) -> bool:
        counts = self.known_counts
        if any(c >= min_iterations for c in counts):
            return True
        product = self.product
        return len(counts) >= 2 and product is not None and product >= min_nested_iterations

    def describe(self, context: FileContext, inner_label: str = "") -> str:
        """`1000 iterations (loop on line 12)` / `50 x 200 = 10000 iterations (...)`."""
        counts = self.known_counts
        lines = ", ".join(str(context.line_of(f.node)) for f in self.loops)
        where = "loop on line" if len(self.loops) == 1 else "nested loops on lines"
        product = self.product or 0
        if len(counts) == 1:
            text = f"{product} iterations"
        else:
            text = " x ".join(str(c) for c in counts) + f" = {product} iterations"
        if not self.all_known:
            text = "at least " + text
        detail = f"{where} {lines}"
        if self.inner and inner_label:
            detail += f"; {inner_label}"
        return f"{text} ({detail})"


@dataclass(frozen=True)
class Growth:
    """A statement that adds to a container."""

    node: cst.CSTNode  # what to report: the call, the assignment
    container: cst.BaseExpression
    key: str
    method: str  # "append", "[]=", "+="
    value: cst.BaseExpression | None  # what is added, when one expression
    needs_known_binding: bool = False
    needs_dict_binding: bool = False

    @property
    def spelled(self) -> str:
        if self.method == "[]=":
            return f"{self.key}[...] = ..."
        if self.method == "+=":
            return f"{self.key} += ..."
        if self.method == "+":
            return f"{self.key} = {self.key} + ..."
        return f"{self.key}.{self.method}(...)"


def growth_of_call(call: cst.Call) -> Growth | None:
    func = call.func
    if not isinstance(func, cst.Attribute):
        return None
    method = func.attr.value
    needs_binding = GROW_METHODS.get(method)
    if needs_binding is None:
        return None
    key = container_key(func.value)
    if key is None:
        return None
    value: cst.BaseExpression | None = None
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if (method == "insert" and len(positional) >= 2) or (
        method == "setdefault" and len(positional) >= 2
    ):
        value = positional[1].value
    elif positional:
        value = positional[0].value
    return Growth(call, func.value, key, method, value, needs_known_binding=needs_binding)


def growth_of_assign(node: cst.Assign) -> Growth | None:
    """`container[key] = value` with a non-constant key (a constant key does not grow)."""
    for target in node.targets:
        subscript = target.target
        if not isinstance(subscript, cst.Subscript) or len(subscript.slice) != 1:
            continue
        index = subscript.slice[0].slice
        if not isinstance(index, cst.Index):
            continue
        if isinstance(index.value, (cst.SimpleString, cst.Integer, cst.Float)):
            continue
        key = container_key(subscript.value)
        if key is None:
            continue
        return Growth(
            node,
            subscript.value,
            key,
            "[]=",
            node.value,
            needs_known_binding=True,
            needs_dict_binding=True,
        )
    return None


def growth_of_augassign(node: cst.AugAssign) -> Growth | None:
    """`container += [items]` (list concatenation in place)."""
    if not isinstance(node.operator, cst.AddAssign):
        return None
    if not isinstance(node.value, (cst.List, cst.ListComp, cst.Tuple)):
        return None
    key = container_key(node.target)
    if key is None:
        return None
    return Growth(node, node.target, key, "+=", node.value)


class GrowthRule(LintRule):
    """A rule told about every place that grows a container: `x.append(...)` (and the
    other GROW_METHODS), `x[k] = v` and `x += [...]`, while `watching()` is true.
    Subclasses implement `on_growth`; cheap `watching()` checks keep the hot path short."""

    def watching(self) -> bool:
        return True

    def on_growth(self, growth: Growth) -> None:
        raise NotImplementedError

    def growth_of_assignment(self, node: cst.Assign) -> Growth | None:
        return growth_of_assign(node)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in GROW_METHODS:
            return
        if self.watching():
            growth = growth_of_call(node)
            if growth is not None:
                self.on_growth(growth)

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.watching():
            growth = self.growth_of_assignment(node)
            if growth is not None:
                self.on_growth(growth)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if self.watching():
            growth = growth_of_augassign(node)
            if growth is not None:
                self.on_growth(growth)


@dataclass(frozen=True)
class Persistence:
    """Where a grown container lives and what could release it."""

    location: Location
    key: str
    binding: cst.BaseExpression | None = None
    # A node on the line where the container was defined, for messages.
    defined_at: cst.CSTNode | None = None
    # Scopes to search for a release, with how to search them.
    release_scopes: tuple[tuple[cst.CSTNode, bool, bool], ...] = field(default=())
    class_owner: cst.ClassDef | None = None
    attribute: str | None = None
    module_after: cst.CSTNode | None = None

    @property
    def storage(self) -> Storage:
        return self.location.storage

    def where(self, context: FileContext) -> str:
        """`module global defined on line 3`."""
        text = self.location.storage.value
        if self.defined_at is not None:
            text += f" defined on line {context.line_of(self.defined_at)}"
        return text


def _current_function(context: FileContext) -> cst.FunctionDef | None:
    for node in context.ancestors():
        if isinstance(node, cst.FunctionDef):
            return node
        if isinstance(node, (cst.ClassDef, cst.Lambda)):
            return None
    return None


def _function_chain(context: FileContext) -> list[cst.FunctionDef]:
    """Enclosing functions, innermost first (lambdas and classes end the chain)."""
    chain = []
    for node in context.ancestors():
        if isinstance(node, cst.FunctionDef):
            chain.append(node)
        elif isinstance(node, cst.ClassDef):
            break
    return chain


def _enclosing_class(context: FileContext) -> cst.ClassDef | None:
    seen_function = False
    for node in context.ancestors():
        if isinstance(node, cst.FunctionDef):
            if seen_function:
                return None
            seen_function = True
        elif isinstance(node, cst.ClassDef):
            return node if seen_function else None
    return None


def _top_statement(context: FileContext) -> cst.CSTNode | None:
    stack = context.stack
    return stack[1] if len(stack) > 1 else None


def _root_name(expr: cst.BaseExpression) -> str:
    while isinstance(expr, (cst.Attribute, cst.Subscript)):
        expr = expr.value
    return expr.value if isinstance(expr, cst.Name) else ""


def is_container_binding(value: cst.BaseExpression | None, context: FileContext) -> bool:
    if value is None:
        return False
    if isinstance(value, (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)):
        return True
    if isinstance(value, cst.Call):
        return context.imports.qualify(value.func) in _CONTAINER_FACTORIES
    return False


# Where a grown container outlives the call (`persistence_of`); a parameter only when
# the rule counts the caller's containers.
_PERSISTENT = frozenset(
    {
        Storage.MUTABLE_DEFAULT,
        Storage.CLOSURE,
        Storage.MODULE_GLOBAL,
        Storage.INSTANCE_ATTRIBUTE,
        Storage.CLASS_ATTRIBUTE,
    }
)


def growth_container(
    tree: TriageTree, node: ast.AST, methods: Collection[str], rebinding: bool = False
) -> ast.expr | None:
    """Triage: the container a statement may grow as `GrowthRule` sees it, or None: `x`
    of `x.append(...)` (a grow method), `x[k] = v` (`growth_of_assign`: not a slice, not
    a plain literal key) or `x += [...]` (a list, a list comprehension or a tuple), where
    `x` is a name chain; with `rebinding`, also `x = x + ...`."""
    container: ast.expr | None = None
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr in methods:
            container = node.func.value
    elif isinstance(node, ast.Assign):
        container = next(
            (
                t.value
                for t in node.targets
                if isinstance(t, ast.Subscript)
                and not isinstance(t.slice, ast.Slice)
                and not _plain_literal(tree, t.slice)
            ),
            None,
        )
        if container is None and rebinding and isinstance(node.value, ast.BinOp):
            target = node.targets[0]
            container = target if isinstance(target, ast.Name) else None
    elif (
        isinstance(node, ast.AugAssign)
        and isinstance(node.op, ast.Add)
        and isinstance(node.value, (ast.List, ast.ListComp, ast.Tuple))
    ):
        container = node.target
    return container if container is not None and dotted(container) is not None else None


def _plain_literal(tree: TriageTree, node: ast.expr) -> bool:
    """A number, or one string or bytes literal (LibCST's `Integer`, `Float` and
    `SimpleString`; implicitly concatenated strings are one `ast.Constant`, but not one
    `SimpleString`)."""
    if not isinstance(node, ast.Constant):
        return False
    if type(node.value) in (int, float):
        return True
    if not isinstance(node.value, (str, bytes)) or node.lineno != node.end_lineno:
        return False
    lines = source_lines(tree)
    if node.lineno > len(lines):
        return False
    # `ast` columns count UTF-8 bytes.
    source = lines[node.lineno - 1].encode("utf-8")[node.col_offset : node.end_col_offset]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source.decode("utf-8")).readline))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        return False
    return sum(token.type == tokenize.STRING for token in tokens) == 1


def persistent_growths(
    tree: TriageTree, nodes: Iterable[ast.AST], methods: Collection[str], include_parameters: bool
) -> list[ast.AST]:
    """Triage: the statements among `nodes` that may grow a container outliving the call
    (`growth_container`, whose storage may be persistent: `scopes.possible_storages`)."""
    judged = _judged_growths(tree, methods, include_parameters)
    wanted = _PERSISTENT | ({Storage.PARAMETER} if include_parameters else set())
    found: list[ast.AST] = []
    for node in nodes:
        if type(node) not in _GROWTH_TYPES:
            continue
        persistent = judged.get(id(node))
        if persistent is None:
            container = growth_container(tree, node, methods)
            function = None if container is None else innermost_function(tree, node)
            persistent = judged[id(node)] = container is not None and (
                function is None or bool(possible_storages(tree, function, container) & wanted)
            )
        if persistent:
            found.append(node)
    return found


# The only node types `growth_container` finds a container in.
_GROWTH_TYPES = frozenset({ast.Call, ast.Assign, ast.AugAssign})


def _judged_growths(
    tree: TriageTree, methods: Collection[str], include_parameters: bool
) -> dict[int, bool]:
    """`persistent_growths`'s verdicts so far (`id(node)` -> may grow a persistent
    container), kept on the tree: rules ask it for every loop, and a statement in nested
    loops is asked once per loop around it."""
    kept = tree.memo.get("loops.growths")
    if kept is None or kept[0] is not methods:
        kept = tree.memo["loops.growths"] = (methods, {False: {}, True: {}})
    judged: dict[int, bool] = kept[1][include_parameters]
    return judged


def _sized_deque(call: ast.Call) -> bool:
    """`deque(items, maxlen=N)` or `deque(items, N)` with N written and not `None`."""
    sizes = [k.value for k in call.keywords if k.arg == "maxlen"]
    if len(call.args) > 1 and not any(isinstance(a, ast.Starred) for a in call.args[:2]):
        sizes.append(call.args[1])
    return any(not (isinstance(v, ast.Constant) and v.value is None) for v in sizes)


def container_names(tree: TriageTree, function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Triage (see `leakguard.triage`): names `function` may bind to a mutable
    container that can grow (what `is_container_binding` accepts and
    `is_bounded_container` does not), judged on CPython's `ast`: assignments anywhere
    in it and parameter defaults."""
    factories = {name.rsplit(".", 1)[-1] for name in _CONTAINER_FACTORIES}
    literals = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)

    def is_container(value: ast.expr | None) -> bool:
        if isinstance(value, literals):
            return True
        if not isinstance(value, ast.Call):
            return False
        callee = dotted(value.func) or ""
        if callee.rsplit(".", 1)[-1] not in factories:
            return False
        return not (callee.endswith("deque") and _sized_deque(value))

    found: set[str] = set()
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    with_defaults = positional[len(positional) - len(arguments.defaults) :]
    defaults = [
        *zip(with_defaults, arguments.defaults, strict=True),
        *zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True),
    ]
    found.update(arg.arg for arg, default in defaults if is_container(default))
    for node in tree.walk(function):
        if isinstance(node, ast.Assign) and is_container(node.value):
            found.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and is_container(node.value):
            found.update([node.target.id] if isinstance(node.target, ast.Name) else [])
    return found


def is_dict_binding(value: cst.BaseExpression | None, context: FileContext) -> bool:
    if value is None:
        return False
    if isinstance(value, (cst.Dict, cst.DictComp)):
        return True
    if isinstance(value, cst.Call):
        return context.imports.qualify(value.func) in _DICT_FACTORIES
    return False


def persistence_of(
    growth: Growth,
    context: FileContext,
    *,
    include_parameters: bool = True,
) -> Persistence | None:
    """Where the grown container lives, when it outlives the call; else None.

    Function-local containers (even returned ones: the caller owns them), attributes
    filled in the constructor that binds them, closures whose inner function never
    escapes, `with`-bound names and bounded/weak containers are not persistent.
    """
    location = locate(growth.container, context)
    storage = location.storage
    key = growth.key
    root = _root_name(growth.container)
    if storage in (Storage.LOCAL, Storage.UNKNOWN) or with_bound(root, context):
        return None
    function = _current_function(context)
    own_scope: tuple[tuple[cst.CSTNode, bool, bool], ...] = (
        ((function, False, False),) if function is not None else ()
    )
    if storage is Storage.PARAMETER:
        if not include_parameters:
            return None
        return Persistence(location, key, None, function, own_scope)
    if storage is Storage.MUTABLE_DEFAULT:
        binding = _default_of(function, root) if function is not None else None
        return Persistence(location, key, binding, function, own_scope)
    if storage is Storage.MODULE_GLOBAL:
        if root != key:
            return None  # `module_obj.attr.append`: not a container we can follow
        binding = binding_value(root, context.module, context)
        top = _top_statement(context)
        scopes = ((context.module, True, False), *own_scope)
        return Persistence(location, key, binding, location.definition, scopes, module_after=top)
    if storage is Storage.INSTANCE_ATTRIBUTE:
        owner = _enclosing_class(context)
        if owner is None or function is None or "." not in key:
            return None
        attribute = key.split(".", 1)[1]
        if _filled_while_built(function, owner, key, attribute, context):
            return None  # filled while being built: the new object owns it
        binding = attribute_binding(owner, attribute, context)
        return Persistence(
            location, key, binding, binding, own_scope, class_owner=owner, attribute=attribute
        )
    if storage is Storage.CLASS_ATTRIBUTE:
        owner = _enclosing_class(context) or (
            location.definition if isinstance(location.definition, cst.ClassDef) else None
        )
        if owner is None:
            return None
        attribute = key.split(".", 1)[1] if "." in key else key
        binding = attribute_binding(owner, attribute, context)
        return Persistence(
            location,
            key,
            binding,
            binding or owner,
            ((owner, True, False), *own_scope),
            class_owner=owner,
            attribute=attribute,
        )
    if storage is Storage.CLOSURE:
        binder = location.definition
        if not isinstance(binder, cst.FunctionDef):
            return None
        if not _escapes_up_to(binder, context):
            return None  # a helper called and dropped inside the binding call
        if _inside_test(binder, context):
            return None  # callbacks and mocks made by a test die with the test
        if root in _returned_names(binder, context):
            return None  # `return log, wrapper`: the caller owns the state and reads it
        binding = binding_value(root, binder, context) if root == key else None
        if binding is None and root == key:
            binding = _default_of(binder, root)
        return Persistence(
            location, key, binding, binding or binder, ((binder, True, True), *own_scope)
        )
    return None


def _filled_while_built(
    function: cst.FunctionDef,
    owner: cst.ClassDef,
    key: str,
    attribute: str,
    context: FileContext,
) -> bool:
    """A constructor that binds `self.<attribute>` and fills it, or a helper called only
    from constructors (`__init__` -> `self._build_table()`) filling an attribute the
    constructor binds: the object under construction owns the container."""
    if function.name.value in CONSTRUCTOR_NAMES:
        return binding_value(key, function, context) is not None
    if not _only_called_from_constructors(function.name.value, owner, context):
        return False
    for method in class_methods(owner):
        if method.name.value in CONSTRUCTOR_NAMES:
            receiver = receiver_name(method)
            if receiver and binding_value(f"{receiver}.{attribute}", method, context):
                return True
    return False


def _only_called_from_constructors(name: str, owner: cst.ClassDef, context: FileContext) -> bool:
    memo_key = ("loops.ctor_helper", id(owner), name)
    cached = context.memo.get(memo_key)
    if cached is not None:
        return bool(cached)
    calls_in_constructors = 0
    calls_elsewhere = 0
    for method in class_methods(owner):
        receiver = receiver_name(method)
        for node in descendants(method.body, stop_at=SCOPE_NODES):
            if (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == name
                and isinstance(node.func.value, cst.Name)
                and node.func.value.value == receiver
            ):
                if method.name.value in CONSTRUCTOR_NAMES:
                    calls_in_constructors += 1
                else:
                    calls_elsewhere += 1
    result = calls_in_constructors > 0 and calls_elsewhere == 0
    context.memo[memo_key] = result
    return result


def _default_of(function: cst.FunctionDef, name: str) -> cst.BaseExpression | None:
    params = function.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value == name:
            return param.default
    return None


# Methods whose `self.x = []` binds a container rather than releasing one: a reset in
# `__enter__` starts a fresh list that then outlives `__exit__`.
_BINDING_METHODS = CONSTRUCTOR_NAMES | {"__enter__", "__aenter__"}
_TEST_SETUP_NAMES = frozenset({"setUp", "setUpClass", "asyncSetUp", "setup_method"})


def inside_test(tree: TriageTree, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Triage: `_inside_test` on CPython's `ast`: `function` or one around it is a test
    or a test set-up."""
    return any(
        f.name.startswith("test") or f.name in _TEST_SETUP_NAMES
        for f in [function, *outer_functions(tree, function)]
    )


def _inside_test(binder: cst.FunctionDef, context: FileContext) -> bool:
    """Is `binder` a test function (or nested in one)? Its closures end with the test."""
    chain = _function_chain(context)
    if binder not in chain:
        return False
    for function in chain[chain.index(binder) :]:
        name = function.name.value
        if name.startswith("test") or name in _TEST_SETUP_NAMES:
            return True
    return False


def _escapes_up_to(binder: cst.FunctionDef, context: FileContext) -> bool:
    """Every function between the current node and `binder` escapes its parent."""
    chain = _function_chain(context)
    if binder not in chain:
        return False
    index = chain.index(binder)
    for inner, outer in itertools.pairwise(chain[: index + 1]):
        if not function_escapes(inner, outer, context):
            return False
    return True


def function_escapes(inner: cst.FunctionDef, outer: cst.FunctionDef, context: FileContext) -> bool:
    """Does the nested function `inner` outlive a call of `outer`?

    Yes when it is returned or yielded (also inside `wraps(f)(inner)`, a tuple, a dict),
    stored on an object that outlives the call (`self.handler = inner`, a module global,
    a parameter's attribute), registered on such an object (`atexit.register(inner)`,
    `bus.subscribe(inner)`, `@app.route(...)`). Stored on or registered with a local
    object that is not returned, it dies with the call (test callbacks, mocks, helpers).
    """
    memo_key = ("loops.escapes", id(inner), id(outer))
    cached = context.memo.get(memo_key)
    if cached is not None:
        return bool(cached)
    name = inner.name.value
    scope = function_scope(outer, context)
    returned = _returned_names(outer, context)
    if _rebinds(outer, name):
        # `p = parameters[0]` after `def p(...)`: the name no longer means the function,
        # so where it goes says nothing about the closure.
        context.memo[memo_key] = False
        return False

    def outlives(expr: cst.BaseExpression) -> bool:
        root = _root_name(expr)
        if not root:
            return False
        if root in returned:
            return True
        return root not in scope.locals or root in scope.globals

    result = name in returned
    for decorator in inner.decorators:
        target = decorator.decorator
        callee = target.func if isinstance(target, cst.Call) else target
        if isinstance(callee, cst.Attribute) and outlives(callee.value):
            qualified = context.imports.qualify(callee) or ""
            if not qualified.endswith("wraps"):
                result = True  # `@app.route(...)`, `@atexit.register`: registration
    if not result:
        for node in descendants(outer.body, stop_at=SCOPE_NODES):
            if isinstance(node, cst.Assign) and _mentions_name(node.value, name):
                for assign_target in node.targets:
                    stored = assign_target.target
                    kept_outside = (
                        isinstance(stored, (cst.Attribute, cst.Subscript)) and outlives(stored)
                    ) or (isinstance(stored, cst.Name) and stored.value in scope.globals)
                    result = result or kept_outside
            elif isinstance(node, cst.Call) and _is_escape_call(node, name, outlives):
                result = True
            if result:
                break
    context.memo[memo_key] = result
    return result


def _rebinds(outer: cst.FunctionDef, name: str) -> bool:
    for node in descendants(outer.body, stop_at=SCOPE_NODES):
        if isinstance(node, cst.Assign) and any(
            name in bound_names(t.target) for t in node.targets
        ):
            return True
        if isinstance(node, cst.For) and name in bound_names(node.target):
            return True
    return False


def _returned_names(outer: cst.FunctionDef, context: FileContext) -> frozenset[str]:
    """Names whose value `outer` returns or yields (not names it only calls there)."""
    memo_key = ("loops.returned", id(outer))
    cached = context.memo.get(memo_key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    names: set[str] = set()
    for node in descendants(outer.body, stop_at=SCOPE_NODES):
        if isinstance(node, (cst.Return, cst.Yield)) and isinstance(node.value, cst.BaseExpression):
            skipped: set[int] = set()  # called names and `.attr` names are not values
            for part in [node.value, *descendants(node.value, stop_at=SCOPE_NODES)]:
                if isinstance(part, cst.Call) and isinstance(part.func, cst.Name):
                    skipped.add(id(part.func))
                elif isinstance(part, cst.Attribute):
                    skipped.add(id(part.attr))
                if isinstance(part, cst.Name) and id(part) not in skipped:
                    names.add(part.value)
    result = frozenset(names)
    context.memo[memo_key] = result
    return result


def _is_escape_call(
    call: cst.Call, name: str, outlives: Callable[[cst.BaseExpression], bool]
) -> bool:
    if not any(isinstance(a.value, cst.Name) and a.value.value == name for a in call.args):
        return False
    func = call.func
    if isinstance(func, cst.Name):
        return func.value == "setattr" and bool(call.args) and outlives(call.args[0].value)
    if not isinstance(func, cst.Attribute):
        return False
    callee = func.attr.value
    if callee not in _ESCAPE_CALLS and not callee.startswith("add_"):
        return False
    return outlives(func.value)


def _mentions_name(expr: cst.CSTNode, name: str) -> bool:
    """`name` used as a value (not called) somewhere in `expr`."""
    if isinstance(expr, cst.Name):
        return expr.value == name
    attributes: set[int] = set()  # `obj.name`: an attribute, not the variable
    for node in [expr, *descendants(expr, stop_at=SCOPE_NODES)]:
        if isinstance(node, cst.Attribute):
            attributes.add(id(node.attr))
        elif isinstance(node, cst.Name) and node.value == name and id(node) not in attributes:
            return True
    return False


def release_of(
    persistence: Persistence, context: FileContext, include_gc: bool = False
) -> Release | None:
    """Something in the same scope that releases the container, or None."""
    key = persistence.key
    for scope, into_functions, skip_direct in persistence.release_scopes:
        after = persistence.module_after if isinstance(scope, cst.Module) else None
        found = find_release(
            scope,
            key,
            context,
            include_gc=include_gc,
            into_functions=into_functions,
            skip_direct_assignments=skip_direct,
            module_statements_after=after,
        )
        if found is not None:
            return found
    if persistence.class_owner is not None and persistence.attribute is not None:
        found = class_release(
            persistence.class_owner,
            persistence.attribute,
            context,
            include_gc=include_gc,
            binding_methods=_BINDING_METHODS,
        )
        if found is not None:
            return found
    return None


def is_unbounded(persistence: Persistence, context: FileContext) -> bool:
    binding = persistence.binding
    return not (is_bounded_container(binding, context) or is_weak_container(binding, context))


def binding_accepts(growth: Growth, persistence: Persistence, context: FileContext) -> bool:
    """Is the growth trusted given what the container was bound to?"""
    binding = persistence.binding
    if growth.needs_dict_binding:
        return is_dict_binding(binding, context)
    if growth.needs_known_binding:
        return is_container_binding(binding, context)
    return True


# -- what one growth adds per iteration -------------------------------------------------


def loop_local_values(
    loops: list[LoopFrame], context: FileContext
) -> dict[str, cst.BaseExpression]:
    """Names assigned inside the loops' bodies -> their (last) value, for estimating what
    is appended (`data = "x" * 1000; CACHE.append(data)`)."""
    values: dict[str, cst.BaseExpression] = {}
    for frame in loops:
        memo_key = ("loops.local_values", id(frame.node))
        cached = context.memo.get(memo_key)
        if cached is None:
            cached = {}
            for node in descendants(frame.node.body, stop_at=SCOPE_NODES):
                if isinstance(node, cst.Assign):
                    for target in node.targets:
                        for name in bound_names(target.target):
                            if isinstance(target.target, cst.Name):
                                cached[name] = node.value
            context.memo[memo_key] = cached
        values.update(cached)
    return values


def inner_fill_count(name: str, loop: LoopFrame, context: FileContext) -> int | None:
    """How many items a loop-local collection `name` receives per iteration of `loop`:
    `inner = []; for j in range(200): inner.append(...)` -> 200. None when unknown or
    when `name` is cleared/deleted in the loop body (per-iteration cleanup)."""
    body = loop.node.body
    if find_release(body, name, context, skip_direct_assignments=True) is not None:
        return None
    best: int | None = None
    for node in descendants(body, stop_at=SCOPE_NODES):
        if isinstance(node, cst.Assign) and any(
            isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets
        ):
            # A generator expression is consumed once, not bound as a filled container.
            filled = not isinstance(node.value, cst.GeneratorExp)
            count = context.constants.comprehension_count(node.value) if filled else None
            if count is not None:
                best = max(best or 0, count)
        elif isinstance(node, cst.For):
            count = _fills_in(node, name, context)
            if count is not None:
                best = max(best or 0, count)
    return best


def _fills_in(loop: cst.For, name: str, context: FileContext) -> int | None:
    """Known-count product of `loop` (and loops in it) around `name.append(...)`."""
    count = context.constants.iteration_count(loop.iter)
    if count is None:
        return None
    best: int | None = None
    for child in _statements(loop.body):
        if isinstance(child, cst.For):
            inner = _fills_in(child, name, context)
            if inner is not None:
                best = max(best or 0, count * inner)
        elif _grows_name(child, name):
            best = max(best or 0, count)
    return best


def _statements(block: cst.BaseSuite) -> Iterator[cst.CSTNode]:
    """Statements of a block, looking through `if`/`try`/`with` (not loops or scopes)."""
    todo: list[cst.CSTNode] = list(iter_children(block))
    while todo:
        node = todo.pop(0)
        if isinstance(node, (cst.If, cst.Try, cst.With, cst.IndentedBlock, cst.Else)):
            todo[:0] = list(iter_children(node))
            continue
        yield node


def _grows_name(statement: cst.CSTNode, name: str) -> bool:
    for node in [statement, *descendants(statement, stop_at=(*SCOPE_NODES, cst.For))]:
        if isinstance(node, cst.Call):
            growth = growth_of_call(node)
            if growth is not None and growth.key == name:
                return True
    return False


def unreleased_persistence(
    growth: Growth, context: FileContext, include_parameters: bool = True
) -> Persistence | None:
    """Where the grown container lives, when it outlives the call, can really grow
    (its binding accepts this growth and is not bounded) and nothing releases it;
    otherwise None."""
    persistence = persistence_of(growth, context, include_parameters=include_parameters)
    if persistence is None or not binding_accepts(growth, persistence, context):
        return None
    if not is_unbounded(persistence, context) or release_of(persistence, context) is not None:
        return None
    return persistence
