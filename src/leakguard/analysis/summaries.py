"""Function summaries and the call graph across the run.

Collected once per file (from the source text with `ast`, far cheaper than a second LibCST
parse) and merged across the run by the project machinery (`analysis/project.py`). For
each module-level function and method the collector records what its own body does that
the rules care about, each with the line that proves it, and the calls it makes to
possibly-own functions as *references* (resolved later, across the run):

- *blocks*: a blocking call (sleep, sync HTTP, file/socket I/O, subprocess): the call
  names are classified when queried, against the asking rule's vocabulary;
- *cpu_heavy*: model code (`fit`, `predict` on a model receiver) or a call into a heavy
  namespace (`heavy_modules`); *loops*: a `for` loop over a parameter whose body calls
  something (CPU-heavy work per item, asked for separately: LG202 counts it, LG201 not);
- *returns_model* / *loads_model*: returns / calls a model loader (or an estimator);
- *checks_digest*: compares a hash digest (`digest == x`; a call to a configured
  comparison such as `hmac.compare_digest` is classified when queried);
- *offloads*: hands work to a thread (`asyncio.to_thread`, `run_in_executor`, ...);
- *waits* / *bounded_waits* / *repeated_waits* (and *looped_calls*): waits on a peer or
  a child process with no deadline of its own (`requests.post` without `timeout=`, a
  client built without one) / with one / with one but made per item of a loop, and the
  functions called in a loop (`analysis/deadlines.py`); recorded for plain functions and
  for functions defined in a function's body (`outer.<locals>.inner`, their only facts);
- *once*: memoised (`@functools.cache`, `@lru_cache`...) or a lazy initialiser (tests and
  stores `self._model`/a `global`): `find(...)` stops there, since what it loads, reads or
  computes happens once, not per call.

Usage from a rule (the API other rules build on)::

    index = summary_index(context)            # None: no project facts in this run
    target = index.callee(call, context)      # the function of the run `call` calls
    chain = index.find(target, vocabulary, ("blocks",), depth=3)
    if chain: chain.text(), chain.related()   # "`load_rows()` -> `requests.get` (a.py:3)"
    index.find(target, vocabulary, ("loads_model",))     # model loads through helpers
    index.find(target, vocabulary, ("checks_digest",))   # integrity checks in helpers
    index.returns_model(target, vocabulary)              # `get_model().predict(x)`
    index.handler_chain(context.module_name, "Class.method")  # called from a route

Test modules (`test*.py`, `*_test.py`, `conftest.py`) are not summarised: nothing outside
the tests calls their functions. Every other function is summarised, even one with
nothing to tell: a call into it resolves, so the per-item work fact knows it is cheap.

*work*: the calls a function makes that are not cheap by their callee alone
(`analysis/cheap_calls.py`): `index.cheap(fid)` is True when none of them does work,
judging each call into the run by its callee's summary (an unknown library call is work).
A method called on a field of the method's own class annotated with a class
(`self.function.to_template_function()`, `function: ToolFunction`) is judged by that
method's summary when the class is a pydantic model of the run defining it, with no
override in a class of the run deriving from it (`model_method`); `entry_method` answers
the same for a value read along typed fields (an entry of `body.functions`), from the
classes each class's annotated fields mention (`holds` in the class facts).

Only *plain* (`def`) functions propagate facts: calling an `async def` builds a coroutine,
whatever it does is its own rule's business. Awaited calls are recorded as edges of the
call graph only (request paths follow `await service.score(x)`; an awaited call is no
blocking work), and calls made under a context manager or `wait_for` carry its qualified
names, so a rule can decline to follow a call its caller bounds in time (LG204).
Method calls are recorded by name and classified when queried, against the asking
rule's configured method lists. Resolution goes through imports and aliases,
`self.method`, module-level instances (`service = Service(); service.score()`) and
relative imports; an unresolved call stays unknown (never guessed). Propagation is
depth-limited (`max_call_depth`) and cycle-safe.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from leakguard.analysis.cheap_calls import (
    CHEAP_METHODS,
    PATTERN_MAKER,
    cheap_callee,
    made_object,
)
from leakguard.analysis.constants import constant_collections
from leakguard.analysis.deadlines import function_waits, made_values
from leakguard.analysis.generators import CONSUMING_NODES, consumed_in_place, cst_consumed
from leakguard.analysis.imports import ast_import_bindings, dotted_name, matches_any
from leakguard.analysis.locality import (
    LOCK_MAKERS,
    class_facts,
    enclosing_names,
    function_locality,
    global_value,
)
from leakguard.analysis.model_loads import is_model_loader
from leakguard.analysis.project import (
    FactCollector,
    ProjectIndex,
    facts_digest,
    module_identity,
    register_collector,
)
from leakguard.context import FileContext
from leakguard.triage import NodesByType, TriageTree
from leakguard.triage import dotted as ast_dotted

# Top-level names of the standard library: an import of one is never a run module's tail.
_STDLIB = frozenset(sys.stdlib_module_names)

COLLECTOR = "summaries"
DEFAULT_MAX_CALL_DEPTH = 3
# The cache closure follows calls this deep whatever a rule's `max_call_depth` says, so a
# configured depth above it is clamped (see `clamp_depth`).
MAX_SUPPORTED_DEPTH = 6

FACT_KINDS = (
    "blocks",
    "cpu_heavy",
    "loops",
    "returns_model",
    "loads_model",
    "checks_digest",
    "offloads",
    "waits",
    "bounded_waits",
    "repeated_waits",
)

_OFFLOAD_CALLS = frozenset(
    {
        "asyncio.to_thread",
        "anyio.to_thread.run_sync",
        "starlette.concurrency.run_in_threadpool",
        "fastapi.concurrency.run_in_threadpool",
        "trio.to_thread.run_sync",
    }
)
_OFFLOAD_METHODS = frozenset({"run_in_executor", "submit"})
_DIGEST_METHODS = frozenset({"hexdigest", "digest"})
_ROUTE_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "route", "api_route", "websocket"}
)
# Builtins worth recording as calls: the only one that blocks.
_RECORDED_BUILTINS = frozenset({"open"})
# Memoising decorators (last name): the body runs once per key, not once per call.
_MEMOISING = frozenset({"cache", "lru_cache", "cached_property", "cached", "alru_cache"})
# The bases that make a class a data model: a pydantic model is never a protocol or an
# abstract interface, and what a request parses into it is the declared class itself.
DATA_MODEL_BASES = frozenset(
    {"pydantic.BaseModel", "pydantic.main.BaseModel", "pydantic.v1.BaseModel"}
)
# The prefix of a work entry's kind for a method called on a value typed with a class
# (`self.function.to_template_function()` with `function: ToolFunction`): judged by the
# method's summary only when the class is a data model of the run (`model_method`).
TYPED_MODEL_METHOD = "m"
# Annotation names that only wrap or contain the classes they mention (`Optional[list[X]]`)
# or name builtin data, not a class whose methods the run could define.
_CONTAINER_NAMES = frozenset(
    {
        "Optional", "Union", "List", "Dict", "Set", "FrozenSet", "Tuple", "Sequence",
        "MutableSequence", "Mapping", "MutableMapping", "Iterable", "Collection",
        "list", "dict", "set", "frozenset", "tuple", "str", "bytes", "int", "float", "bool",
        "None", "Any", "object",
    }
)  # fmt: skip


# -- vocabulary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """How a rule classifies qualified call names (from its YAML options)."""

    blocking: tuple[str, ...] = ()  # `x.*` entries match a prefix
    heavy_modules: tuple[str, ...] = ()  # namespaces: `numpy` matches `numpy.linalg.svd`
    loaders: tuple[str, ...] = ()  # calls returning a model (`joblib.load`, `*.from_pretrained`)
    # Method names that block whatever the receiver (`read_text`, `fit`) and that run model
    # code on a receiver holding a model (`predict`): LG201's configured lists.
    blocking_methods: frozenset[str] = frozenset()
    model_methods: frozenset[str] = frozenset()
    # Constant-time comparisons that count as an integrity check (LG403's `compare_calls`).
    compare_calls: tuple[str, ...] = ()

    def is_blocking(self, name: str) -> bool:
        return matches_any(name, self.blocking)

    def is_heavy(self, name: str) -> bool:
        return any(name == m or name.startswith(m + ".") for m in self.heavy_modules)

    def is_loader(self, name: str) -> bool:
        return is_model_loader(name, self.loaders)


# Loaders whose value is a `(model, tokenizer)` pair: the first element is the model.
_PAIR_LOADERS = ("mlx_lm.",)
# Provenances whose model is called directly (`model(x)` runs the forward pass): MLX
# modules. A torch/other value stays a model only for its methods, since calling it may
# be anything (a tokenizer, a transform) and the rule must stay precise.
_CALLABLE_MODELS = ("mlx_lm.", "mlx.nn.")
_MLX_MODULE = "mlx.nn.Module"
# The provenance of a value read from the application's state (`request.app.state.x`).
_APP_STATE = ["model", "app.state"]
# Marks a recorded model call that calls the model value itself (`model(x)`), not a method.
CALLED = "called"


def is_callable_model(provenance: Sequence[Any]) -> bool:
    """A recorded provenance whose value runs model code when called (`model(x)`)."""
    return provenance[0] == "model" and str(provenance[1]).startswith(_CALLABLE_MODELS)


def clamp_depth(depth: int) -> int:
    return max(0, min(int(depth), MAX_SUPPORTED_DEPTH))


# -- collection (per file, from source text) --------------------------------------------


def collect_source(text: str, display: str) -> dict[str, Any] | None:
    """The summaries facts of one file (JSON-serialisable), or None if it has none."""
    from leakguard.analysis.asyncio_facts import is_test_file

    if is_test_file(display):
        return None  # nothing outside the tests calls a test module's functions
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return collect_tree(TriageTree(tree, text, display=display), text, display)


def collect_tree(tree: TriageTree, text: str, display: str) -> dict[str, Any] | None:
    """`collect_source` from an `ast` tree already parsed (the facts pass shares the
    triage's parse)."""
    from leakguard.analysis.asyncio_facts import is_test_file

    if is_test_file(display):
        return None  # nothing outside the tests calls a test module's functions
    module, package = module_identity(display)
    collector = FileSummaryCollector(module, tree, package)
    collector.digests = "digest" in text or "hashlib" in text
    return collector.run(tree.tree, display)


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
# The node types `_FunctionCollector.run`'s pass over a function's nodes reads (the
# parser makes no subclass of them).
_READ_BY_RUN = frozenset({ast.Call, ast.For, ast.Return, ast.Compare, ast.With, ast.AsyncWith})


class FileSummaryCollector:
    """One file's summaries as its `ast` is walked; its import table (`record_import`,
    `qualify`) is also what other run-wide `ast` facts use to resolve names."""

    def __init__(self, module: str, index: TriageTree | None = None, package: bool = False) -> None:
        self.module = module
        # The file is the package's `__init__` (relative imports start at `module`).
        self.package = package
        # The file's indexed tree (`run` needs it; the import table alone does not).
        self.index = index
        self.aliases: dict[str, str] = {}
        self.functions: dict[str, dict[str, Any]] = {}
        self.globals: set[str] = set()  # module-level functions, classes and assigned names
        # global -> ["def"] (a function or class), ["lit"] (a literal) or the reference of
        # the call that made it: how a call on it is judged local (`analysis/locality`)
        self.global_values: dict[str, list[str]] = {}
        self.locks: frozenset[str] = frozenset()  # module-level `threading.Lock()`s
        # module-level compiled patterns (`KEY_RE = re.compile(...)`): matching is cheap
        self.patterns: frozenset[str] = frozenset()
        self.unknown_globals: set[str] = set()
        self.instances: dict[str, list[str]] = {}  # global -> reference of its class
        self.model_globals: dict[str, list[Any]] = {}  # global -> provenance
        self.class_models: dict[str, dict[str, list[Any]]] = {}  # Class -> attr -> provenance
        self.mlx_modules: set[str] = set()  # classes of this file deriving from an MLX Module
        # Class -> field -> the class references its annotation mentions ([["?", name]]
        # for one no import or definition names, or a shape not read): what a value read
        # from that field of an instance may be (`SummaryIndex.entry_method`)
        self.class_fields: dict[str, dict[str, list[list[str]]]] = {}
        # Digest comparisons need "digest" (hexdigest, compare_digest) or hashlib in the text.
        self.digests = False

    # imports ---------------------------------------------------------------------------

    def record_import(self, node: ast.Import | ast.ImportFrom) -> None:
        self.aliases.update(ast_import_bindings(node, self.module, self.package))

    @property
    def indexed(self) -> TriageTree:
        """The file's indexed tree, which collecting its facts walks (an import table
        alone needs none)."""
        assert self.index is not None, "a file's summaries are collected from its index"
        return self.index

    def own_nodes(self, body: Sequence[ast.AST]) -> list[ast.AST]:
        """Nodes of a scope's own code in source order (nested scopes included, not
        entered), from the file's index."""
        return self.indexed.scope_nodes(body, _SCOPES, in_order=True)

    def walk(self, node: ast.AST) -> Iterator[ast.AST]:
        """`ast.walk(node)`'s nodes (in another order), from the file's index. Not
        remembered: the subtrees walked here are small and each is walked once or twice."""
        return self.indexed.walk(node)

    def qualify(self, dotted: str) -> str | None:
        root, _, rest = dotted.partition(".")
        target = self.aliases.get(root)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target

    # module ----------------------------------------------------------------------------

    def run(self, tree: ast.Module, display: str) -> dict[str, Any] | None:
        # Each node is visited once: module-level code, then each function's own body
        # (nested functions and lambdas are not summarised).
        definitions: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, str | None]] = []
        classes: list[ast.ClassDef] = []
        module_code: list[ast.stmt] = []
        for statement in _module_statements(tree.body):
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.globals.add(statement.name)
                self.global_values[statement.name] = ["def"]
                definitions.append((statement.name, statement, None))
            elif isinstance(statement, ast.ClassDef):
                self.globals.add(statement.name)
                self.global_values[statement.name] = ["def"]
                classes.append(statement)
                for item in statement.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        definitions.append((f"{statement.name}.{item.name}", item, statement.name))
            else:
                module_code.append(statement)
        own = {id(function): self.own_nodes(function.body) for _, function, _ in definitions}
        module_nodes = self.own_nodes(module_code)
        # each scope's nodes by type, for the passes that read a few types (`NodesByType`)
        grouped = {key: NodesByType(nodes) for key, nodes in own.items()}
        every = [(module_nodes, NodesByType(module_nodes))]
        every += [(nodes, grouped[key]) for key, nodes in own.items()]
        for nodes, by_type in every:
            if by_type.has(ast.Import, ast.ImportFrom):  # in source order: a later one wins
                for node in nodes:
                    if type(node) is ast.Import or type(node) is ast.ImportFrom:
                        self.record_import(node)
        self._mlx_module_classes(classes)
        for statement in module_code:
            if isinstance(statement, (ast.Assign, ast.AnnAssign)):
                self._module_assignment(statement)
            elif isinstance(statement, ast.ImportFrom):
                self._reexport(statement)
        for _, by_type in every:
            self._registry_fill(by_type.of(ast.Assign))
            for node in by_type.of(ast.Global):  # rebound in a function: unknown
                for name in node.names:
                    self.global_values.pop(name, None)
        for klass in classes:
            self.class_models[klass.name] = self._class_models(klass, grouped)
            self.class_fields[klass.name] = self._class_fields(klass)
        self.locks = frozenset(
            name for name, made in self.global_values.items() if made in LOCK_MAKERS
        )
        self.patterns = frozenset(
            name for name, made in self.global_values.items() if made == ["q", PATTERN_MAKER]
        )
        for qualname, function, owner in definitions:
            # Every function, even one with nothing else to tell: a call to it is then
            # known to be local (`analysis/locality`) and, when it is, cheap
            # (`SummaryIndex.cheap`), not unknown.
            self.functions[qualname] = _FunctionCollector(
                self, function, owner, own[id(function)], grouped[id(function)]
            ).run()
            self._nested_locality(qualname, function, own[id(function)])
        constants = constant_collections(self.indexed)
        made = {
            name: provenance
            for name, provenance in self.model_globals.items()
            if name not in self.unknown_globals and provenance[0] in ("model", "via", "import")
        }
        # A module holding only a client (`client = httpx.Client()`) or re-exporting one
        # (`from .backend import cache`) has facts too: what made its values; so does one
        # of bare classes (an `exceptions.py` of `class PipelineError(Exception): pass`),
        # whose hierarchy other facts resolve (`analysis/curated_exceptions`).
        if not self.functions and not constants and not made and not classes:
            return None
        facts: dict[str, Any] = {"path": display, "functions": self.functions}
        if constants:
            # fixed collections other files import (`if key in ALLOWED:`)
            facts["constants"] = sorted(constants)
        if classes:
            facts["classes"] = {klass.name: class_facts(klass, self) for klass in classes}
            for klass in classes:
                if self.class_fields.get(klass.name):
                    facts["classes"][klass.name]["holds"] = self.class_fields[klass.name]
        if self.instances:
            facts["instances"] = self.instances
        if made:
            # what made each module-level value (`cache = redis.from_url(...)`), for the
            # files that import it (`SummaryIndex.holds_object`)
            facts["made"] = made
        return facts

    def _nested_locality(
        self,
        qualname: str,
        outer: ast.FunctionDef | ast.AsyncFunctionDef,
        nodes: Sequence[ast.AST],
    ) -> None:
        """A function defined in a function's body (`def run_command(): ...` then
        `await asyncio.to_thread(run_command)`): only whether it is local
        (`analysis/locality`), as `outer.<locals>.inner`; one defined twice is not kept."""
        seen: set[str] = set()
        closure: dict[str, bool] | None = None
        enclosing: dict[str, str] | None = None  # values the closure reads (`deadlines`)
        for node in nodes:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if closure is None:
                closure = enclosing_names(outer, nodes, self.indexed)
            key = f"{qualname}.<locals>.{node.name}"
            if node.name in seen:
                self.functions.pop(key, None)
                continue
            seen.add(node.name)
            facts: dict[str, Any] = {"line": node.lineno, "nested": True}
            if isinstance(node, ast.AsyncFunctionDef):
                facts["async"] = True
            facts.update(function_locality(self, node, None, "", closure))
            if enclosing is None:
                enclosing = made_values(self, outer, nodes, frozenset())
            shadowed = _parameters(node) - set(self.aliases)
            waits = function_waits(self, node, None, "", shadowed, enclosing)
            if waits:
                facts["facts"] = waits
            self.functions[key] = facts

    def _class_fields(self, klass: ast.ClassDef) -> dict[str, list[list[str]]]:
        """{field: class references} of the class body's annotated fields that mention a
        class (`function: ToolFunction`, `tools: Optional[list[Tool]]`), or whose
        annotation is not read (`[["?", ""]]`); fields of builtin data only are left out."""
        found: dict[str, list[list[str]]] = {}
        for item in klass.body:
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                continue
            mentioned = mentioned_classes(item.annotation)
            if mentioned is None:
                found[item.target.id] = [["?", ""]]
                continue
            references: list[list[str]] = []
            for node in mentioned:
                reference = self.reference(node, None, frozenset())
                references.append(reference or ["?", ast_dotted(node) or ""])
            if references:
                found[item.target.id] = references
        return found

    def _mlx_module_classes(self, classes: Sequence[ast.ClassDef]) -> None:
        """Classes deriving (directly or through classes of this file) from an MLX layer
        (`class Net(nn.Module)` with `import mlx.nn as nn`): their instances are models."""
        for klass in classes:  # a base is defined before the classes deriving from it
            for base in klass.bases:
                dotted = ast_dotted(base) or ""
                qualified = self.qualify(dotted) or ""
                last = qualified.rsplit(".", 1)[-1]
                if (qualified.startswith("mlx.nn.") and last[:1].isupper()) or (
                    dotted in self.mlx_modules
                ):
                    self.mlx_modules.add(klass.name)
                    break

    def unpacked_model(
        self, target: ast.expr, value: ast.expr | None, local: Mapping[str, list[Any]]
    ) -> tuple[str, list[Any]] | None:
        """`model, tokenizer = mlx_lm.load(...)`: the name bound to the model of a pair
        loader (only the first element: the tokenizer is no model), and its provenance."""
        if not (isinstance(target, (ast.Tuple, ast.List)) and target.elts):
            return None
        first = target.elts[0]
        provenance = self.provenance(value, local)
        if (
            isinstance(first, ast.Name)
            and provenance is not None
            and provenance[0] == "model"
            and str(provenance[1]).startswith(_PAIR_LOADERS)
        ):
            return first.id, provenance
        return None

    def _module_assignment(self, node: ast.Assign | ast.AnnAssign) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            unpacked = self.unpacked_model(target, node.value, {})
            if unpacked is not None:
                self.model_globals[unpacked[0]] = unpacked[1]
            if not isinstance(target, ast.Name):
                continue
            self.globals.add(target.id)
            value = node.value
            made = global_value(value, self)
            if self.global_values.get(target.id, made) != made:
                made = None  # rebound to something else: unknown
            if made is None:
                self.unknown_globals.add(target.id)
                self.global_values.pop(target.id, None)
            elif target.id not in self.unknown_globals:
                self.global_values[target.id] = made
            provenance = self.provenance(value, {}) if value is not None else None
            if provenance is not None:
                self.model_globals[target.id] = provenance
            if isinstance(value, ast.Call):
                reference = self.reference(value.func, None, frozenset())
                if reference is not None and reference[1].rsplit(".", 1)[-1][:1].isupper():
                    self.instances[target.id] = reference
            if isinstance(value, ast.Dict) and any(
                v is not None and self.provenance(v, {}) is not None for v in value.values
            ):
                self.model_globals[target.id] = ["registry"]

    def _reexport(self, node: ast.ImportFrom) -> None:
        """`from .backend import cache` at module level, in a package's `__init__` or
        from within the package (relative, or under the file's top package): a value
        of the run other files may import from here, made where it comes from."""
        top = self.module.split(".", 1)[0]
        if not (self.package or node.level or (node.module or "").split(".")[0] == top):
            return
        for local, qualified in ast_import_bindings(node, self.module, self.package):
            if local not in self.model_globals:
                self.model_globals[local] = ["import", qualified]

    def _registry_fill(self, assignments: Sequence[ast.Assign]) -> None:
        """`MODELS[name] = joblib.load(...)` anywhere: MODELS is a registry of models."""
        for node in assignments:
            names = [
                t.value.id
                for t in node.targets
                if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)
            ]
            if names and self.provenance(node.value, {}) is not None:
                for name in names:
                    self.model_globals.setdefault(name, ["registry"])

    def _class_models(
        self, klass: ast.ClassDef, grouped: Mapping[int, NodesByType]
    ) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {}
        for item in klass.body:
            if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            args = item.args.posonlyargs + item.args.args
            receiver = args[0].arg if args else None
            for node in grouped[id(item)].of(ast.Assign):
                attrs = [
                    t.attr
                    for t in node.targets
                    if isinstance(t, ast.Attribute)
                    and isinstance(t.value, ast.Name)
                    and t.value.id == receiver
                ]
                if not attrs:
                    continue
                provenance = self.provenance(node.value, {})
                if provenance is not None:
                    for attr in attrs:
                        found.setdefault(attr, provenance)
        return found

    # references and provenance ---------------------------------------------------------

    def reference(
        self, func: ast.expr, owner: str | None, shadowed: frozenset[str], receiver: str = ""
    ) -> list[str] | None:
        """How a callee may name a function of the run: ["q", qualified] through an import,
        ["l", dotted] through a module-level name of this file, ["s", "Class.method"]."""
        dotted = ast_dotted(func)
        if dotted is None:
            return None
        root, _, rest = dotted.partition(".")
        if root in shadowed:
            return None
        if owner is not None and root == receiver and rest and "." not in rest:
            return ["s", f"{owner}.{rest}"]
        qualified = self.qualify(dotted)
        if qualified is not None:
            return ["q", qualified]
        if root in self.globals:
            return ["l", dotted]
        return None

    def provenance(
        self, value: ast.expr | None, local: Mapping[str, list[Any]]
    ) -> list[Any] | None:
        """Why `value` holds a model: ["model", how] (a loader or estimator), ["via", ref]
        (the return value of a function of the run), or None."""
        if isinstance(value, ast.Await):
            value = value.value
        if isinstance(value, ast.Name):
            return local.get(value.id)
        if not isinstance(value, ast.Call):
            return None
        dotted = ast_dotted(value.func)
        if dotted is None:
            return None
        if dotted in self.mlx_modules:
            return ["model", _MLX_MODULE]
        qualified = self.qualify(dotted)
        if qualified is not None:
            if is_model_loader(qualified) or _estimator_like(qualified):
                return ["model", qualified]
            if qualified.startswith("mlx.nn.") and qualified.rsplit(".", 1)[-1][:1].isupper():
                return ["model", qualified]  # `nn.Linear(...)`: an MLX layer runs when called
            return ["via", ["q", qualified]]
        if dotted.partition(".")[0] in self.globals:
            return ["via", ["l", dotted]]
        return None


# Annotation wrappers whose first argument is the value's type.
_TYPE_WRAPPERS = frozenset({"Optional", "Annotated", "Union"})


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return frozenset(a.arg for a in every if a is not None)


def annotated_class(annotation: ast.expr | None) -> ast.expr | None:
    """The class an annotation names (`httpx.Client`, through `Optional[...]`,
    `Annotated[...]`, `X | None` and strings), or None for anything else (a builtin or
    a generic is judged by the name of the method)."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        sides = [annotation.left, annotation.right]
        kept = [s for s in sides if not (isinstance(s, ast.Constant) and s.value is None)]
        return annotated_class(kept[0]) if len(kept) == 1 else None
    if isinstance(annotation, ast.Subscript):
        wrapper = (ast_dotted(annotation.value) or "").rsplit(".", 1)[-1]
        inner = annotation.slice
        if wrapper not in _TYPE_WRAPPERS:
            return None
        options = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        if wrapper == "Annotated":
            options = options[:1]
        kept = [o for o in options if not (isinstance(o, ast.Constant) and o.value is None)]
        return annotated_class(kept[0]) if len(kept) == 1 else None
    if isinstance(annotation, (ast.Name, ast.Attribute)):
        return annotation
    return None


def mentioned_classes(annotation: ast.expr | None) -> list[ast.expr] | None:
    """The class names an annotation mentions at any level (`Optional[list[Tool]]`,
    `dict[str, A | B]`, a string), without the containers and builtin names around them
    and `Annotated`'s metadata; None for a shape it does not read (a call such as
    `conlist(X)`, `Literal` is fine: constants only)."""
    if annotation is None:
        return None
    if isinstance(annotation, ast.Constant):
        if isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return None
            return mentioned_classes(annotation)
        return [] if annotation.value is None or annotation.value is Ellipsis else None
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        left, right = mentioned_classes(annotation.left), mentioned_classes(annotation.right)
        return None if left is None or right is None else [*left, *right]
    if isinstance(annotation, ast.Tuple):
        found: list[ast.expr] = []
        for element in annotation.elts:
            inner = mentioned_classes(element)
            if inner is None:
                return None
            found.extend(inner)
        return found
    if isinstance(annotation, ast.Subscript):
        wrapper = (ast_dotted(annotation.value) or "").rsplit(".", 1)[-1]
        if wrapper == "Literal":
            return []
        inner_node = annotation.slice
        if wrapper == "Annotated" and isinstance(inner_node, ast.Tuple) and inner_node.elts:
            inner_node = inner_node.elts[0]
        inner = mentioned_classes(inner_node)
        if inner is None:
            return None
        outer = mentioned_classes(annotation.value) if wrapper != "Annotated" else []
        return None if outer is None else [*outer, *inner]
    if isinstance(annotation, (ast.Name, ast.Attribute)):
        dotted = ast_dotted(annotation)
        if dotted is None:
            return None
        return [] if dotted.rsplit(".", 1)[-1] in _CONTAINER_NAMES else [annotation]
    return None


def _estimator_like(qualified: str) -> bool:
    last = qualified.rsplit(".", 1)[-1]
    return qualified.startswith(("sklearn.", "xgboost.", "lightgbm.", "catboost.")) and (
        last[:1].isupper()
    )


def _module_statements(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, including those under `if`/`try` (guarded definitions)."""
    for statement in body:
        if isinstance(statement, ast.If):
            yield from _module_statements(statement.body)
            yield from _module_statements(statement.orelse)
        elif isinstance(statement, ast.Try):
            yield from _module_statements(statement.body)
            for handler in statement.handlers:
                yield from _module_statements(handler.body)
            yield from _module_statements(statement.orelse)
        else:
            yield statement


class _FunctionCollector:
    def __init__(
        self,
        file: FileSummaryCollector,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        owner: str | None,
        nodes: list[ast.AST],
        grouped: NodesByType,
    ) -> None:
        self.file = file
        self.nodes = nodes
        self.grouped = grouped  # `nodes` by type
        self.function = function
        self.owner = owner
        args = function.args
        positional = args.posonlyargs + args.args
        self.receiver = positional[0].arg if owner is not None and positional else ""
        self.params = {
            a.arg
            for a in [*positional, *args.kwonlyargs, args.vararg, args.kwarg]
            if a is not None and a.arg != self.receiver
        }
        self.facts: dict[str, list[Any]] = {}
        self.calls: list[list[Any]] = []
        self.recorded: dict[str, list[Any]] = {}  # callee key -> its entry in `calls`
        self.under: dict[int, list[str]] = {}
        self.consumed: set[int] = set()  # calls whose value is iterated where it is made
        self.model_calls: list[list[Any]] = []
        self.offloaded_models: list[list[Any]] = []  # methods handed to a thread
        self.methods: list[list[Any]] = []  # [name, dotted callee or "", line], first of each
        # Calls that are not cheap by their callee alone (`analysis/cheap_calls.py`):
        # [kind, name, line] of each possible call into the run, or [["x", "", line]] once
        # a call to anything else makes the function do work (`SummaryIndex.cheap`).
        self.work: list[list[Any]] = []
        self.seen_methods: set[str] = set()
        # Cheap-named method calls whose receiver's maker is known, judged when queried
        # (`SummaryIndex.holds_object`): [provenance, method, line]; those on a parameter
        # of unknown type, [name, position, method] (first of each); and the values of
        # known maker handed to a possible function of the run, [kind, name, position or
        # keyword, provenance, line] (`fetch(client, url)`, whose `client.get` is work).
        self.objects: list[list[Any]] = []
        self.receives: list[list[Any]] = []
        self.handed: list[list[Any]] = []
        self.param_types: dict[str, list[str]] = {}
        self.held: dict[str, list[Any]] = {}  # `with httpx.Client() as client`: its maker
        self.returns: list[list[Any]] = []
        self.locals: set[str] = set()
        self.local_models: dict[str, list[Any]] = {}
        self.stores: dict[str, int] = {}  # local name -> how many times it is bound
        self.digest_names: set[str] = set()
        self.shadowed: frozenset[str] | None = None  # set once all bindings are known

    def _fact(self, kind: str, label: str, line: int) -> None:
        self.facts.setdefault(kind, [label, line])

    def run(self) -> dict[str, Any]:
        function = self.function
        nodes = self.nodes
        # the passes whose answer does not depend on the order across types read only
        # the nodes of the types they ask about
        grouped = self.grouped
        self._bindings(grouped)
        self.shadowed = frozenset((self.locals | self.params) - set(self.file.aliases))
        self.param_types = self._annotated_types()
        awaited = {id(n.value) for n in grouped.of(ast.Await)}
        self.under = self._contexts(grouped.of(ast.With, ast.AsyncWith, ast.Call))
        self.consumed = consumed_in_place(grouped.of(*CONSUMING_NODES))
        offloaded: set[int] = set()
        for node in nodes:
            if type(node) not in _READ_BY_RUN:
                continue  # most nodes (names, attributes, constants): one look-up
            if isinstance(node, ast.Call):
                if id(node) in offloaded:
                    continue
                if self._offload(node):
                    self._fact("offloads", ast_dotted(node.func) or "offload", node.lineno)
                    for arg in node.args:
                        offloaded.update(id(n) for n in self.file.walk(arg))
                        self._offloaded_method(arg)
                    continue
                if id(node) not in awaited:
                    self._call(node)
                else:
                    # `await svc.score(x)`: an edge of the call graph (request paths
                    # follow it), never evidence of blocking work itself.
                    self._awaited(node)
            elif isinstance(node, (ast.For, ast.While)) and isinstance(node, ast.For):
                self._loop(node)
            elif isinstance(node, ast.Return) and node.value is not None:
                self._return(node.value, node.lineno)
            elif isinstance(node, ast.Compare) and self.file.digests:
                self._compare(node)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                self._held(node)  # before the calls of its body (nodes in source order)
        summary: dict[str, Any] = {"line": function.lineno}
        if isinstance(function, ast.AsyncFunctionDef):
            summary["async"] = True
            if grouped.has(ast.Await, ast.AsyncFor, ast.AsyncWith):
                summary["awaits"] = True  # its class fixes an async interface (`async_interfaces`)
        elif grouped.has(ast.Yield, ast.YieldFrom):
            summary["generator"] = True
        if self._is_handler():
            summary["handler"] = True
        if _runs_once(function, self.receiver, grouped):
            summary["once"] = True
        if not isinstance(function, ast.AsyncFunctionDef):  # only plain functions are followed
            self.facts.update(
                function_waits(self.file, function, self.owner, self.receiver, self._shadowed())
            )
        if self.facts:
            summary["facts"] = self.facts
        if self.calls:
            summary["calls"] = self.calls
        if self.model_calls:
            summary["model_calls"] = self.model_calls
        if self.offloaded_models:
            summary["offloaded_models"] = self.offloaded_models
        if self.methods:
            summary["methods"] = self.methods
        if self.returns:
            summary["returns"] = self.returns
        summary.update(function_locality(self.file, function, self.owner, self.receiver))
        if self.work:
            summary["work"] = self.work
        for key, entries in (
            ("objects", self.objects),
            ("receives", self.receives),
            ("handed", self.handed),
        ):
            if entries:
                summary[key] = entries
        iterated = self._iterated_parameters(nodes)
        if iterated:
            summary["iterates"] = iterated
        return summary

    def _iterated_parameters(self, nodes: Sequence[ast.AST]) -> list[list[Any]]:
        """[name, position] of each parameter whose value (or a local derived from it)
        a loop or comprehension of the body iterates; position among the positional
        parameters after the receiver, -1 for the others. A call handing an item to such
        a parameter works through the item's contents (`SummaryIndex.iterated`)."""
        if not self.params or not self.grouped.has(ast.For, ast.comprehension):
            return []  # no parameter, or nothing a loop or comprehension iterates
        derived: dict[str, set[str]] = {name: {name} for name in self.params}
        iterated: set[str] = set()
        for node in nodes:
            kind = type(node)
            if kind is ast.Assign or kind is ast.AnnAssign or kind is ast.AugAssign:
                value = node.value  # type: ignore[attr-defined]
                if value is None:
                    continue
                sources = self._sources(value, derived)
                if not sources:
                    continue
                targets = node.targets if kind is ast.Assign else [node.target]  # type: ignore[attr-defined]
                for target in targets:
                    for name in self.file.walk(target):
                        if isinstance(name, ast.Name):
                            derived.setdefault(name.id, set()).update(sources)
            elif kind is ast.For or kind is ast.comprehension:
                iterated |= self._sources(node.iter, derived)  # type: ignore[attr-defined]
        return [[name, self._position(name)] for name in sorted(iterated)]

    def _sources(self, value: ast.AST, derived: Mapping[str, set[str]]) -> set[str]:
        found: set[str] = set()
        for node in self.file.walk(value):
            if isinstance(node, ast.Name) and node.id in derived:
                found |= derived[node.id]
        return found

    def _bindings(self, grouped: NodesByType) -> None:
        for name in grouped.of(ast.Name):
            if isinstance(name.ctx, ast.Store):
                self.locals.add(name.id)
                self.stores[name.id] = self.stores.get(name.id, 0) + 1
        self._dependency_params()
        for node in grouped.of(ast.Assign):
            if len(node.targets) == 1:
                target = node.targets[0]
                unpacked = self.file.unpacked_model(target, node.value, self.local_models)
                if unpacked is not None:
                    self.local_models.setdefault(*unpacked)
                if isinstance(target, ast.Name):
                    provenance = self.file.provenance(node.value, self.local_models)
                    if provenance is None and isinstance(
                        node.value, (ast.Attribute, ast.Subscript)
                    ):
                        provenance = self._model_provenance(node.value)
                    if provenance is not None:
                        self.local_models.setdefault(target.id, provenance)
                    if self.file.digests and _digest_expression(node.value, self.digest_names):
                        self.digest_names.add(target.id)

    def _dependency_params(self) -> None:
        """`model=Depends(get_model)`: the parameter holds what `get_model` returns."""
        args = self.function.args
        positional = args.posonlyargs + args.args
        pairs = list(
            zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True)
        )
        pairs += [
            (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
        ]
        for param, default in pairs:
            if not (isinstance(default, ast.Call) and default.args):
                continue
            name = ast_dotted(default.func) or ""
            if name.rsplit(".", 1)[-1] != "Depends":
                continue
            reference = self.file.reference(default.args[0], None, frozenset())
            if reference is not None:
                self.local_models[param.arg] = ["via", reference]

    def _shadowed(self) -> frozenset[str]:
        if self.shadowed is None:  # while bindings are being read
            return frozenset((self.locals | self.params) - set(self.file.aliases))
        return self.shadowed

    def _offload(self, call: ast.Call) -> bool:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in _OFFLOAD_METHODS:
            return True
        dotted = ast_dotted(func)
        return dotted is not None and self.file.qualify(dotted) in _OFFLOAD_CALLS

    def _call(self, call: ast.Call) -> None:
        func = call.func
        line = call.lineno
        dotted = ast_dotted(func)
        shadowed = self._shadowed()
        if isinstance(func, ast.Name) and func.id in _RECORDED_BUILTINS:
            if func.id not in shadowed and func.id not in self.file.globals:
                self._record(["q", func.id], call)
                self._work(["q", func.id], line)
            return
        reference = self.file.reference(func, self.owner, shadowed, self.receiver)
        if reference is not None:
            self._record(reference, call)
            self._handed(reference, call)
        elif (typed := self._typed_method(func)) is not None:
            # an edge only: what the method is (work, a blocking name) stays judged as
            # for any receiver, since the class may be a library's
            self._record(typed, call)
            self._handed(typed, call)
        if not _cheap_call(call, self.file):
            self._work(reference or self._field_model_method(func), line)
        elif isinstance(func, ast.Attribute) and func.attr in CHEAP_METHODS:
            self._cheap_named(func, line)
        if isinstance(func, (ast.Name, ast.Attribute)) and dotted is not None:
            # `model(x)` on an MLX model: the call itself runs the forward pass.
            provenance = self._model_provenance(func)
            if provenance is not None and is_callable_model(provenance):
                self.model_calls.append([provenance, f"{dotted}()", line, CALLED])
                return
        if not isinstance(func, ast.Attribute) or func.attr in CHEAP_METHODS:
            return
        if reference is not None and reference[0] == "q" and _module_like(reference[1], func):
            return  # `np.linalg.norm(...)`: a module function, classified by its name
        # Method names are classified when queried, against the asking rule's configured
        # lists (a user's `blocking_methods` entry counts in helpers too).
        if func.attr not in self.seen_methods:
            self.seen_methods.add(func.attr)
            self.methods.append([func.attr, dotted or "", line])
        provenance = self._model_provenance(func.value)
        if provenance is not None:
            # ["model", how] or ["via", reference]: judged when queried, across the run
            self.model_calls.append([provenance, f"{dotted or _short(func)}()", line])

    def _offloaded_method(self, arg: ast.expr) -> None:
        """`to_thread(self.model.predict, x)`: the method handed to a thread, with its
        receiver's provenance (judged when queried, `SummaryIndex.offloaded_model_at`);
        apart from `model_calls`, since handing it over runs nothing here."""
        if not isinstance(arg, ast.Attribute):
            return
        provenance = self._model_provenance(arg.value)
        if provenance is not None:
            label = f"{ast_dotted(arg) or _short(arg)}()"
            self.offloaded_models.append([provenance, label, arg.lineno])

    def _cheap_named(self, func: ast.Attribute, line: int) -> None:
        """`client.get(url)`: a method cheap by its name, whose receiver's maker decides
        (`SummaryIndex.holds_object`), or the caller's value when it is a parameter."""
        maker = self._maker(func.value)
        if maker is not None:
            self.objects.append([maker, func.attr, ast_dotted(func.value) or "", line])
            return
        receiver = func.value
        name = self._plain_param(receiver)
        if name is not None:
            entry = [name, self._position(name), func.attr]
            if entry not in self.receives:
                self.receives.append(entry)

    def _plain_param(self, value: ast.expr) -> str | None:
        """The name of a parameter of no known maker (its caller decides what it holds)
        that `value` is, or None."""
        if (
            isinstance(value, ast.Name)
            and value.id in self.params
            and value.id not in self.local_models
            and value.id not in self.param_types
            and value.id not in self.held
        ):
            return value.id
        return None

    def _handed(self, reference: list[str], call: ast.Call) -> None:
        """Values of known maker handed to a possible function of the run."""
        handed: list[tuple[int | str, ast.expr]] = [
            (at, arg) for at, arg in enumerate(call.args) if not isinstance(arg, ast.Starred)
        ]
        handed += [(k.arg, k.value) for k in call.keywords if k.arg is not None]
        for at, value in handed:
            if not isinstance(value, (ast.Name, ast.Attribute)):
                continue
            maker = self._maker(value)
            if maker is not None:
                self.handed.append([*reference[:2], at, maker, call.lineno])
            elif (name := self._plain_param(value)) is not None:
                # `def get(client, key): return fetch(client, key)`: what `fetch` calls
                # on its parameter, this function calls on its own
                self.receives.append([name, self._position(name), [*reference[:2], at]])

    def _maker(self, receiver: ast.expr) -> list[Any] | None:
        """What made the value `receiver` holds, when known: a parameter's annotated
        class, a `with` target's manager, a name imported from a module of the run
        (["import", qualified]: judged by what made it there), or
        `_receiver_provenance` (a local, `self.x` or a module-level value assigned from
        a call, a model; not `app.state`, which holds settings and tables as well)."""
        if isinstance(receiver, ast.Name):
            typed = self.param_types.get(receiver.id)
            if typed is not None:
                return ["via", typed]
            if receiver.id in self.held:
                return self.held[receiver.id]
            imported = self.file.aliases.get(receiver.id)
            if imported is not None and receiver.id not in self._shadowed():
                return ["import", imported]
        found = self._receiver_provenance(receiver)
        if found is None and isinstance(receiver, ast.Attribute):
            # `net.client` through `import app.net as net`: what made it in that module
            dotted = ast_dotted(receiver)
            root = (dotted or "").split(".", 1)[0]
            if root in self.file.aliases and root not in self._shadowed():
                return ["import", self.file.qualify(dotted or "")]
        return None if found == _APP_STATE else found

    def _held(self, node: ast.With | ast.AsyncWith) -> None:
        """`with httpx.Client() as client`: what made the value `client` holds."""
        for item in node.items:
            target = item.optional_vars
            if isinstance(target, ast.Name):
                made = self.file.provenance(item.context_expr, self.local_models)
                if made is not None:
                    self.held.setdefault(target.id, made)

    def _annotated_types(self) -> dict[str, list[str]]:
        """Parameters annotated with a class (`client: httpx.Client`, `db: Session | None`):
        the reference of the class; builtin and typing annotations are none."""
        args = self.function.args
        found: dict[str, list[str]] = {}
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if arg.arg == self.receiver:
                continue
            annotated = annotated_class(arg.annotation)
            if annotated is None:
                continue
            reference = self.file.reference(annotated, None, frozenset())
            if reference is not None:
                found[arg.arg] = reference
        return found

    def _position(self, name: str) -> int:
        """`name`'s position among the positional parameters after the receiver, or -1."""
        args = self.function.args
        positional = [a.arg for a in args.posonlyargs + args.args if a.arg != self.receiver]
        return positional.index(name) if name in positional else -1

    def _work(self, reference: list[str] | None, line: int) -> None:
        """A call that is not cheap by its callee alone: a possible call into the run
        (judged when queried, by the callee's summary) or, for any other callee, work."""
        if self.work and self.work[0][0] == "x":
            return  # already work whatever the run's functions do
        if reference is None:
            self.work[:] = [["x", "", line]]
        elif all(entry[:2] != reference[:2] for entry in self.work):
            self.work.append([*reference[:2], line])

    def _awaited(self, call: ast.Call) -> None:
        reference = self.file.reference(call.func, self.owner, self._shadowed(), self.receiver)
        if reference is None:
            reference = self._typed_method(call.func)
        if reference is not None:
            self._record(reference, call, awaited=True)

    def _typed_method(self, func: ast.expr) -> list[str] | None:
        """`store.upload` on a parameter annotated with a class (`store: Store`), or on a
        local bound once to a call of one (`runner = Probe(host)`): the reference of that
        class's method (["q", "app.store.Store.upload"]), which resolves when the class
        is the run's and defines it (a function's return value never resolves so); an
        override in a subclass is not followed."""
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return None
        name = func.value.id
        typed = self.param_types.get(name)
        if typed is None and self.stores.get(name) == 1:
            made = self.local_models.get(name)  # `runner = Probe(host)`, bound once
            if made is not None and made[0] == "via":
                typed = made[1]
        if typed is None or typed[0] not in ("q", "l"):
            return None
        return [typed[0], f"{typed[1]}.{func.attr}"]

    def _field_model_method(self, func: ast.expr) -> list[str] | None:
        """`self.function.to_template_function()` in a method of a class whose body
        annotates `function` with one class (`function: ToolFunction`): a work entry
        judged by that class's method when the class is a data model of the run
        (`SummaryIndex.model_method`: a pydantic model defining the method, no class of
        the run overriding it); anything else stays work. A method of a value of
        another kind keeps the judgement of any receiver (`_typed_method`)."""
        if not (
            self.owner is not None
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Attribute)
            and isinstance(func.value.value, ast.Name)
            and func.value.value.id == self.receiver
            and self.receiver not in self._shadowed()
        ):
            return None
        held = self.file.class_fields.get(self.owner, {}).get(func.value.attr, [])
        if len(held) != 1 or held[0][0] not in ("q", "l"):
            return None
        kind, name = held[0]
        return [TYPED_MODEL_METHOD + kind, f"{name}.{func.attr}"]

    def _contexts(self, nodes: Sequence[ast.AST]) -> dict[int, list[str]]:
        """Calls made under a context manager or `asyncio.wait_for` that may bound them in
        time (`async with asyncio.timeout(5)`), with its qualified names: a request path
        does not follow a call its caller bounds (LG204 judges which names bound).
        `nodes`: the function's `with` statements and calls (any order: each call's
        names are read as a set)."""
        under: dict[int, list[str]] = {}
        for node in nodes:
            bodies: list[ast.AST] = []
            names: list[str] = []
            kind = type(node)
            if kind is ast.With or kind is ast.AsyncWith:
                items = node.items  # type: ignore[attr-defined]
                names = [n for item in items if (n := self._bounding(item.context_expr))]
                bodies = list(node.body)  # type: ignore[attr-defined]
            elif kind is ast.Call and _named(node.func, "wait_for") and node.args:  # type: ignore[attr-defined]
                name = self._bounding(node)  # type: ignore[arg-type]
                if name is not None:
                    names, bodies = [name], [node.args[0]]  # type: ignore[attr-defined]
            for body in bodies if names else ():
                for inner in self.file.walk(body):
                    if isinstance(inner, ast.Call):
                        under.setdefault(id(inner), []).extend(names)
        return under

    def _bounding(self, expression: ast.expr) -> str | None:
        """The qualified name of an imported call that may set a timeout (not with a
        literal `None` delay), else None."""
        if not isinstance(expression, ast.Call):
            return None
        dotted = ast_dotted(expression.func)
        qualified = self.file.qualify(dotted) if dotted is not None else None
        if qualified is None:
            return None
        delays = [*expression.args[:2], *(k.value for k in expression.keywords)]
        if delays and all(isinstance(d, ast.Constant) and d.value is None for d in delays):
            return None
        return qualified

    def _record(self, reference: list[str], call: ast.Call, *, awaited: bool = False) -> None:
        """One entry per callee: [kind, name, line] plus, when every call of it so far was
        awaited or made under a context manager, {"awaited": 1, "under": [names]}, and
        when some call's value is iterated in place, {"consumed": 1}: a generator
        function's body runs only then."""
        key = reference[0] + ":" + reference[1]
        flags: dict[str, Any] = {}
        if awaited:
            flags["awaited"] = 1
        if id(call) in self.consumed:
            flags["consumed"] = 1
        under = self.under.get(id(call))
        if under:
            flags["under"] = sorted(set(under))
        entry = self.recorded.get(key)
        if entry is None:
            line = call.lineno
            entry = [*reference, line, flags] if flags else [*reference, line]
            self.recorded[key] = entry
            self.calls.append(entry)
        elif len(entry) == 3:
            if flags.get("consumed"):
                entry.append({"consumed": 1})
        elif len(entry) == 4:
            # The weakest of the calls counts: one plain call makes the callee a plain
            # callee of this function, one call outside a context an unbounded one.
            old = entry[3]
            merged: dict[str, Any] = {}
            if old.get("awaited") and awaited:
                merged["awaited"] = 1
            common = sorted(set(old.get("under", ())) & set(flags.get("under", ())))
            if common:
                merged["under"] = common
            if old.get("consumed") or flags.get("consumed"):
                merged["consumed"] = 1
            if merged:
                entry[3] = merged
            else:
                entry.pop()

    def _model_provenance(self, receiver: ast.expr) -> list[Any] | None:
        """Why `receiver` may hold a model, in the terms the run's queries judge
        (`SummaryIndex.model_provenance`): ["model", how] or ["via", reference]. A
        module-level dict of models (["registry"]) is no model itself (its entries are,
        `MODELS[name]`), and a name the module imports from another (["import", ...])
        says only what made it (`_maker`)."""
        found = self._receiver_provenance(receiver)
        return found if found is not None and found[0] in ("model", "via") else None

    def _receiver_provenance(self, receiver: ast.expr) -> list[Any] | None:
        if isinstance(receiver, ast.Call):
            return self.file.provenance(receiver, self.local_models)
        if isinstance(receiver, ast.Subscript):
            receiver = receiver.value
            if isinstance(receiver, ast.Name) and receiver.id not in self._shadowed():
                found = self.file.model_globals.get(receiver.id)
                return ["model", "registry"] if found is not None else None
            return None
        dotted = ast_dotted(receiver)
        if dotted is None:
            return None
        if ".state." in f".{dotted}." and dotted.split(".")[0] in ("app", "request", "self"):
            return [*_APP_STATE]  # `request.app.state.model`: put there at start-up
        root, _, rest = dotted.partition(".")
        if not rest:
            if root in self.local_models:
                return self.local_models[root]
            if root in self._shadowed():
                return None
            return self.file.model_globals.get(root)
        if root == self.receiver and self.owner is not None and "." not in rest:
            return self.file.class_models.get(self.owner, {}).get(rest)
        return None

    def _loop(self, loop: ast.For) -> None:
        names = {n.id for n in self.file.walk(loop.iter) if isinstance(n, ast.Name)}
        over = sorted(names & self.params)
        if not over:
            return
        calls = [
            n
            for n in self.file.own_nodes(loop.body)
            if isinstance(n, ast.Call) and not _cheap_call(n, self.file)
        ]
        if calls:
            self._fact("loops", f"a loop over `{over[0]}`|does work per item", loop.lineno)

    def _return(self, value: ast.expr, line: int) -> None:
        provenance = self.file.provenance(value, self.local_models)
        if provenance is None and isinstance(value, (ast.Attribute, ast.Subscript, ast.Name)):
            provenance = self._model_provenance(value)
        if provenance is None:
            return
        if provenance[0] == "via":
            self.returns.append([*provenance[1], line])
        else:
            self._fact("returns_model", f"{provenance[1]}", line)

    def _compare(self, node: ast.Compare) -> None:
        if not any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
            return
        if any(
            _digest_expression(side, self.digest_names) for side in [node.left, *node.comparators]
        ):
            self._fact("checks_digest", "a digest comparison", node.lineno)

    def _is_handler(self) -> bool:
        for decorator in self.function.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(target, ast.Attribute) and target.attr in _ROUTE_METHODS:
                return True
        return False


def _runs_once(
    function: ast.FunctionDef | ast.AsyncFunctionDef, receiver: str, grouped: NodesByType
) -> bool:
    """Memoised (`@functools.cache`, `@lru_cache`, ...) or a lazy initialiser that tests
    and stores state outliving the call (`if self._model is None: self._model = ...`,
    `global _model`): what it loads is loaded once (per key), not per call."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if (ast_dotted(target) or "").rsplit(".", 1)[-1] in _MEMOISING:
            return True
    shared = {n for node in grouped.of(ast.Global) for n in node.names}
    stored: set[str] = set()
    for node in grouped.of(ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Subscript):
                target = target.value
            dotted = ast_dotted(target)
            if dotted is None:
                continue
            root = dotted.split(".", 1)[0]
            on_receiver = bool(receiver) and root == receiver and "." in dotted
            constant = isinstance(target, ast.Name) and dotted.isupper()
            if on_receiver or root in shared or constant:
                stored.add(dotted)
    if not stored:
        return False
    for branch in grouped.of(ast.If, ast.IfExp, ast.While, ast.BoolOp):
        test = branch.values[0] if isinstance(branch, ast.BoolOp) else branch.test  # type: ignore[attr-defined]
        if any(
            _tested_name(inner) in stored
            for inner in ast.walk(test)
            if isinstance(inner, (ast.Name, ast.Attribute, ast.Call))
        ):
            return True
    return False


def _tested_name(node: ast.AST) -> str | None:
    """The state a guard reads: `self._x` in `self._x is None`, and in
    `hasattr(self, "_x")` / `getattr(self, "_x", None)` (a memo attribute not set in
    `__init__`)."""
    if isinstance(node, (ast.Name, ast.Attribute)):
        return ast_dotted(node)
    if not isinstance(node, ast.Call):
        return None
    if (
        isinstance(node.func, ast.Name)
        and node.func.id in ("hasattr", "getattr")
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        owner = ast_dotted(node.args[0])
        return f"{owner}.{node.args[1].value}" if owner is not None else None
    return None


def _digest_expression(node: ast.expr, digest_names: set[str]) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call):
            func = inner.func
            if isinstance(func, ast.Attribute) and func.attr in _DIGEST_METHODS:
                return True
            dotted = ast_dotted(func) or ""
            if dotted.startswith("hashlib.") or dotted in ("hmac.new", "hmac.digest"):
                return True
        elif isinstance(inner, ast.Name) and inner.id in digest_names:
            return True
    return False


def _module_like(qualified: str, func: ast.Attribute) -> bool:
    """The callee is an attribute of an imported module (`np.fit`), not of an object."""
    del func
    parent = qualified.rsplit(".", 1)[0]
    return not parent.rsplit(".", 1)[-1][:1].isupper()


def _cheap_call(call: ast.Call, file: FileSummaryCollector) -> bool:
    """No work by its callee alone (`analysis/cheap_calls.py`, the vocabulary the
    per-item work fact uses)."""
    func = call.func
    method = func.attr if isinstance(func, ast.Attribute) else None
    if not cheap_callee(ast_dotted(func), method, file.aliases, file.patterns):
        return False
    # `sorted(parts, key=score)` calls `score` for each element.
    return all(_cheap_key(k.value, file) for k in call.keywords if k.arg == "key")


def _cheap_key(key: ast.expr, file: FileSummaryCollector) -> bool:
    if isinstance(key, ast.Lambda):
        calls = (n for n in ast.walk(key.body) if isinstance(n, ast.Call))
        return all(_cheap_call(call, file) for call in calls)
    method = key.attr if isinstance(key, ast.Attribute) else None
    return cheap_callee(ast_dotted(key), method, file.aliases, file.patterns)


# -- the run-wide index -----------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One link of an evidence chain: what happens, where (path, line)."""

    label: str  # "`load_rows()`" or "`requests.get`"
    path: str
    line: int
    what: str = ""  # for the last step: "does network I/O synchronously", ...


@dataclass(frozen=True)
class Chain:
    """Evidence found in a function of the run, and the calls leading to it."""

    steps: tuple[Step, ...]  # [callee called from the rule's site, ..., the evidence]
    kind: str

    @property
    def evidence(self) -> Step:
        return self.steps[-1]

    def text(self) -> str:
        """ "`load_rows()` -> `requests.get` (app/data.py:14)"."""
        parts = [self.steps[0].label]
        for step in self.steps[1:]:
            parts.append(f"{step.label} ({step.path}:{step.line})")
        return " -> ".join(parts)

    def summary(self, here: str, *, arrows: bool = False) -> str:
        """Short enough for a one-line message: "`load_rows()` calls `requests.get`
        (data.py:14)", "`refresh()` -> `fetch()` -> `requests.get` (line 12)", with "…"
        for the middle of chains over three steps. File names only: the full paths are in
        `related()`."""
        evidence = self.evidence
        if evidence.path == here:
            where = f"line {evidence.line}"
        else:
            where = f"{evidence.path.rsplit('/', 1)[-1]}:{evidence.line}"
        labels = [step.label for step in self.steps]
        if len(labels) == 2 and not arrows:
            verb = "has" if evidence.label.startswith("a loop") else "calls"
            return f"{labels[0]} {verb} {labels[1]} ({where})"
        if len(labels) > 3:
            labels = [labels[0], "…", labels[-1]]
        return " -> ".join(labels) + f" ({where})"

    def related(self) -> list[tuple[str, int, str]]:
        """(path, line, message) of each step after the first call, for related locations."""
        out: list[tuple[str, int, str]] = []
        for index, step in enumerate(self.steps[1:], start=1):
            last = index == len(self.steps) - 1
            caller = self.steps[index - 1].label
            verb = "has" if step.label.startswith("a loop") else "calls"
            message = f"{caller} {verb} {step.label}"
            if last and step.what:
                message += f", which {step.what}"
            out.append((step.path, step.line, message))
        return out


@dataclass
class _Function:
    fid: str  # "module:Qual.name"
    module: str
    qualname: str
    path: str
    raw: Mapping[str, Any]

    @property
    def is_async(self) -> bool:
        return bool(self.raw.get("async"))

    @property
    def awaits(self) -> bool:
        """An `async def` whose own body awaits (`await`, `async for`, `async with`)."""
        return bool(self.raw.get("awaits"))

    @property
    def is_generator(self) -> bool:
        """A plain function with `yield` of its own: calling it only builds a generator."""
        return bool(self.raw.get("generator"))

    @property
    def label(self) -> str:
        return f"`{self.qualname}()`"


@dataclass
class SummaryIndex:
    """All summaries of the run, with call resolution and transitive queries."""

    functions: dict[str, _Function] = field(default_factory=dict)
    instances: dict[str, Mapping[str, list[str]]] = field(default_factory=dict)
    classes: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # module -> Class -> facts
    constants: dict[str, frozenset[str]] = field(default_factory=dict)  # module -> fixed names
    made: dict[str, Mapping[str, list[Any]]] = field(default_factory=dict)  # module -> makers
    _suffixes: dict[str, str] = field(default_factory=dict)
    _memo: dict[Any, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, facts: Mapping[str, Any]) -> SummaryIndex:
        index = cls()
        for module, value in facts.items():
            if not isinstance(value, dict):
                continue
            path = str(value.get("path", module))
            for qualname, raw in value.get("functions", {}).items():
                fid = f"{module}:{qualname}"
                index.functions[fid] = _Function(fid, module, qualname, path, raw)
            index.instances[module] = value.get("instances", {})
            index.classes[module] = value.get("classes", {})
            index.constants[module] = frozenset(value.get("constants", ()))
            index.made[module] = value.get("made", {})
            parts = module.split(".")
            for start in range(len(parts)):
                suffix = ".".join(parts[start:])
                known = index._suffixes.get(suffix)
                if known is None or len(module) < len(known):
                    index._suffixes[suffix] = module
        return index

    # resolution ------------------------------------------------------------------------

    def _module(self, dotted: str) -> str | None:
        """The run's module an import names: by its dotted tail (the run's root may lie
        above the import roots). A standard-library name (`tempfile`, `json.decoder`)
        is the standard library's module, not a run module that only ends like it (a
        vendored `_vendor/aiofiles/tempfile.py`): only an exact match shadows it."""
        dotted = dotted.lstrip(".")
        found = self._suffixes.get(dotted)
        if found is not None and found != dotted and dotted.split(".")[0] in _STDLIB:
            return None
        return found

    def module_named(self, dotted: str) -> str | None:
        """The run's module an import of `dotted` names, or None (`_module`)."""
        return self._module(dotted)

    def resolve(self, module: str, reference: Sequence[Any]) -> str | None:
        """The function id a call reference (recorded in `module`) names, or None."""
        key = ("resolve", module, reference[0], reference[1])
        if key in self._memo:
            return self._memo[key]  # type: ignore[no-any-return]
        found = self._resolve(module, str(reference[0]), str(reference[1]), 0)
        self._memo[key] = found
        return found

    def _resolve(self, module: str, kind: str, name: str, hops: int) -> str | None:
        if hops > 3:
            return None
        if kind in ("s", "l"):
            return self._in_module(module, name, hops)
        if kind != "q":
            return None
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            target = self._module(".".join(parts[:cut]))
            if target is not None:
                found = self._in_module(target, ".".join(parts[cut:]), hops)
                if found is not None:
                    return found
        return None

    def _in_module(self, module: str, name: str, hops: int) -> str | None:
        fid = f"{module}:{name}"
        if fid in self.functions:
            return fid
        head, _, method = name.partition(".")
        if not method or "." in method:
            return None
        instance = self.instances.get(module, {}).get(head)
        if instance is None:
            return None
        klass = self._class_of(module, instance, hops + 1)
        if klass is None:
            return None
        fid = f"{klass[0]}:{klass[1]}.{method}"
        return fid if fid in self.functions else None

    def _class_of(self, module: str, reference: Sequence[str], hops: int) -> tuple[str, str] | None:
        kind, name = reference[0], reference[1]
        if kind == "l" and "." not in name:
            return module, name
        if kind == "q":
            parts = name.split(".")
            for cut in range(len(parts) - 1, 0, -1):
                target = self._module(".".join(parts[:cut]))
                if target is not None and cut == len(parts) - 1:
                    return target, parts[-1]
        return None

    def class_named(self, module: str, reference: Sequence[Any]) -> tuple[str, str] | None:
        """(module, Class) of a class of the run that a reference recorded in `module`
        names (`["l", "Base"]`, `["q", "app.base.Base"]`), or None."""
        kind, name = str(reference[0]), str(reference[1])
        if kind == "l":
            return (module, name) if name in self.classes.get(module, {}) else None
        if kind != "q":
            return None
        head, _, last = name.rpartition(".")
        target = self._module(head) if head else None
        if target is not None and last in self.classes.get(target, {}):
            return target, last
        return None

    def base_classes(self, klass: tuple[str, str]) -> list[tuple[str, str]]:
        """The classes of the run among `klass`'s direct bases (a generic base,
        `Base[T]`, is `Base`)."""
        facts = self.classes.get(klass[0], {}).get(klass[1], {})
        found = []
        for base in facts.get("bases", ()):
            named = self.class_named(klass[0], base)
            if named is not None and named != klass:
                found.append(named)
        return found

    def methods(self, klass: tuple[str, str]) -> Mapping[str, _Function]:
        """The methods `klass` (a class of the run) defines in its body, by name."""
        table = self._memo.get("methods")
        if table is None:
            table = {}
            for function in self.functions.values():
                owner, _, name = function.qualname.rpartition(".")
                if owner and "." not in owner and "<" not in name:
                    table.setdefault((function.module, owner), {})[name] = function
            self._memo["methods"] = table
        return table.get(klass, {})  # type: ignore[no-any-return]

    def related(self, klass: tuple[str, str], *, upward: bool) -> tuple[tuple[str, str], ...]:
        """The run's classes above `klass` (`upward`: its bases, theirs, ...) or below it
        (the classes deriving from it through any chain), `klass` left out; walked once
        per class and direction (LG202 asks it for every class of every module)."""
        key = ("related", klass, upward)
        found = self._memo.get(key)
        if found is None:
            step = self.base_classes if upward else self.subclasses
            reached: list[tuple[str, str]] = []
            seen = {klass}
            pending = [klass]
            while pending:
                for other in step(pending.pop()):
                    if other not in seen:
                        seen.add(other)
                        reached.append(other)
                        pending.append(other)
            found = self._memo[key] = tuple(reached)
        return found

    def subclasses(self, klass: tuple[str, str]) -> list[tuple[str, str]]:
        """The classes of the run that name `klass` among their direct bases."""
        table = self._memo.get("subclasses")
        if table is None:
            table = {}
            for module, classes in sorted(self.classes.items()):
                for name in sorted(classes):
                    for base in self.base_classes((module, name)):
                        table.setdefault(base, []).append((module, name))
            self._memo["subclasses"] = table
        return list(table.get(klass, ()))

    def callee(self, call: cst.Call, context: FileContext) -> str | None:
        """The function of the run whose body `call` (in the file being analysed) runs:
        None for a generator function whose generator is not iterated in place (its body
        runs wherever the generator is consumed)."""
        reference = cst_reference(call.func, context)
        if reference is None:
            return None
        target = self.resolve(context.module_name, reference)
        function = self.functions.get(target) if target is not None else None
        if function is not None and function.is_generator and not cst_consumed(call, context):
            return None
        return target

    def function(self, fid: str) -> _Function | None:
        return self.functions.get(fid)

    # queries ---------------------------------------------------------------------------

    def direct(
        self, fid: str, vocabulary: Vocabulary, kinds: Sequence[str]
    ) -> tuple[Step, str] | None:
        """The first evidence of one of `kinds` in the function's own body, and its kind."""
        function = self.functions.get(fid)
        if function is None:
            return None
        found: list[tuple[int, Step, str]] = []
        for kind in kinds:
            fact = function.raw.get("facts", {}).get(kind)
            if fact:
                label, _, what = str(fact[0]).partition("|")
                label = label if kind == "loops" else f"`{label}`"
                found.append((int(fact[1]), Step(label, function.path, int(fact[1]), what), kind))
        for reference in function.raw.get("calls", ()):
            if reference[0] != "q" or _flags(reference).get("awaited"):
                continue  # an awaited call is an async API's, not blocking work
            name, line = str(reference[1]), int(reference[2])
            kind_what = self._classify(name, vocabulary, kinds)
            if kind_what is not None and self.resolve(function.module, reference) is None:
                kind, what = kind_what
                found.append((line, Step(f"`{name}`", function.path, line, what), kind))
        if vocabulary.blocking_methods and ("blocks" in kinds or "cpu_heavy" in kinds):
            for name, dotted, line in function.raw.get("methods", ()):
                if name not in vocabulary.blocking_methods:
                    continue
                kind, what = describe_method(name)
                if kind in kinds:
                    label = f"`{dotted or '….' + name}()`"
                    found.append((int(line), Step(label, function.path, int(line), what), kind))
        if "cpu_heavy" in kinds:
            for entry in function.raw.get("model_calls", ()):
                provenance, label, line = entry[0], str(entry[1]), entry[2]
                if entry[3:] != [CALLED] and _method_of(label) not in vocabulary.model_methods:
                    continue
                if self.model_provenance(function.module, provenance, vocabulary) is not None:
                    what = "runs CPU-bound model code"
                    found.append(
                        (int(line), Step(f"`{label}`", function.path, int(line), what), "cpu_heavy")
                    )
        if not found:
            return None
        found.sort(key=lambda item: item[0])
        return found[0][1], found[0][2]

    def cheap(self, fid: str | None, depth: int = DEFAULT_MAX_CALL_DEPTH) -> bool:
        """Function `fid` of the run does no work per call: every call it makes is cheap
        (`analysis/cheap_calls.py`) or into a cheap function of the run, at most `depth`
        functions deep; it has no loop doing work over its parameters and offloads
        nothing. An `async def` is not cheap (its coroutine does its work once awaited,
        for each call); a memoised or lazily initialising function works once, not per
        call (cheap). Whether it loops over what it is handed is `iterated`."""
        function = self.functions.get(fid) if fid is not None else None
        if function is None:
            return False
        return self._cheap(function.fid, clamp_depth(depth), frozenset())

    def iterated(self, fid: str) -> list[tuple[str, int]]:
        """(name, position) of the parameters function `fid` loops over (or over a value
        derived from them): -1 for a parameter that is not positional."""
        function = self.functions.get(fid)
        if function is None:
            return []
        return [(str(name), int(at)) for name, at in function.raw.get("iterates", ())]

    def _cheap(self, fid: str, depth: int, active: frozenset[str]) -> bool:
        function = self.functions[fid]
        if function.is_async:
            return False  # its coroutine's work runs for each call, once awaited
        if function.raw.get("once") or fid in active:
            return True  # a cycle: the functions on it are judged by their other calls
        if depth <= 0:
            return False
        key = ("cheap", fid, depth)
        if key in self._memo:
            return bool(self._memo[key])
        raw = function.raw
        facts = raw.get("facts", {})
        result = "loops" not in facts and "offloads" not in facts
        for kind, name, *_ in raw.get("work", ()) if result else ():
            if kind.startswith(TYPED_MODEL_METHOD):
                target = self.model_method(function.module, [kind[1:], name])
            else:
                target = self.resolve(function.module, [kind, name]) if kind != "x" else None
            callee = self.functions.get(target) if target is not None else None
            if callee is None or not self._cheap(callee.fid, depth - 1, active | {fid}):
                result = False
                break
        if result and any(
            self.holds_object(function.module, maker, method, depth - 1)
            for maker, method, *_ in raw.get("objects", ())
        ):
            result = False  # `client.get(url)` on an HTTP client: work, whatever its name
        if result and any(
            self._hands_object(function.module, entry, depth - 1) for entry in raw.get("handed", ())
        ):
            result = False
        if not active:
            self._memo[key] = result
        return result

    def model_method(self, module: str, reference: Sequence[Any]) -> str | None:
        """The function id of `Class.method` that `reference` (recorded in `module`)
        names, when `Class` is a data model of the run (a pydantic model, through the
        run's bases: `DATA_MODEL_BASES`) that defines the method itself and no class of
        the run deriving from it overrides it; else None (unknown: work). A protocol or
        a plain class may be handed anything with a method of that name."""
        target = self.resolve(module, reference)
        if target is None:
            return None
        owner, _, qualname = target.partition(":")
        klass, dot, method = qualname.rpartition(".")
        if not dot or "." in klass or klass not in self.classes.get(owner, {}):
            return None
        if not self._data_model(owner, klass) or self._overridden((owner, klass), method):
            return None
        return target

    def entry_method(
        self, module: str, roots: Sequence[str], path: Sequence[str], method: str
    ) -> list[str] | None:
        """The function ids of `method` on a value read from a value of the classes
        `roots` (qualified as `module` names them, or short) along the fields `path`
        (`function` of `for function in body.functions`, `body: ChatRequest`): the
        classes each field's annotation mentions (through bases), each of which must be
        a data model of the run with its own unoverridden method (`model_method`); None
        when any step or class is not known so (another package's class, `Any`, a field
        of builtin data only, a field the run cannot find)."""
        current: set[tuple[str, str]] = set()
        for root in roots:
            found = self.class_named(module, ["q", root] if "." in root else ["l", root])
            if found is None:
                return None
            current.add(found)
        for step in path:
            following: set[tuple[str, str]] = set()
            for owner, klass in current:
                held = self._field_classes(owner, klass, step, 0)
                if not held:
                    return None
                following |= held
            current = following
        methods: list[str] = []
        for owner, klass in sorted(current):
            fid = self.model_method(owner, ["l", f"{klass}.{method}"])
            if fid is None:
                return None
            methods.append(fid)
        return methods or None

    def _field_classes(
        self, module: str, klass: str, field_name: str, hops: int
    ) -> set[tuple[str, str]] | None:
        """The run's classes field `field_name` of class `klass` (or of a base of the
        run) may hold; None when a class it mentions is not the run's or it is unknown."""
        if hops > 8:
            return None
        facts = self.classes.get(module, {}).get(klass)
        if facts is None:
            return None
        held = facts.get("holds", {}).get(field_name)
        if held is not None:
            found: set[tuple[str, str]] = set()
            for reference in held:
                named = self.class_named(module, reference) if reference[0] != "?" else None
                if named is None:
                    return None
                found.add(named)
            return found
        # the first base of the run declaring the field (in the order of the bases)
        for base in self.base_classes((module, klass)):
            if self._declares(base, field_name, hops + 1):
                return self._field_classes(*base, field_name, hops + 1)
        return None

    def _declares(self, klass: tuple[str, str], field_name: str, hops: int) -> bool:
        """`klass` or a base of the run annotates `field_name` with a class."""
        if hops > 8:
            return False
        if field_name in self.classes.get(klass[0], {}).get(klass[1], {}).get("holds", {}):
            return True
        return any(self._declares(b, field_name, hops + 1) for b in self.base_classes(klass))

    def _data_model(self, module: str, klass: str) -> bool:
        """`klass` or a run ancestor of it names a data-model base (`pydantic.BaseModel`)."""
        chain = [(module, klass), *self.related((module, klass), upward=True)]
        return any(
            base[0] == "q" and base[1] in DATA_MODEL_BASES
            for owner, name in chain
            for base in self.classes.get(owner, {}).get(name, {}).get("bases", ())
        )

    def _overridden(self, klass: tuple[str, str], method: str) -> bool:
        """A class of the run deriving from `klass` (through any chain of the run's
        bases) defines `method` itself."""
        return any(method in self.methods(sub) for sub in self.related(klass, upward=False))

    def holds_object(
        self,
        module: str,
        maker: Sequence[Any],
        method: str,
        depth: int = DEFAULT_MAX_CALL_DEPTH,
    ) -> bool:
        """A value made by `maker` (recorded in `module`: ["model", how] or ["via",
        reference]) is an object whose `method`, cheap by its name, is work: a model; a
        class of the run whose own `method` is not cheap; what a function of the run
        returns, when that is one; an instance the run makes at module level of such a
        maker; a name from outside the run that `cheap_calls.made_object` judges one (an
        HTTP client, a Redis connection, a database session). Anything else (a pydantic
        model of the run, a module-level dict, an unresolved local name) is judged by
        the method's name."""
        if maker[0] == "model":
            return True
        if depth <= 0:
            return False
        if maker[0] == "import":
            # a name imported from a module of the run: what made it there; from
            # elsewhere, unknown (`from sqlalchemy import func`, `from flask import
            # session`: modules and framework proxies as often as clients)
            head, _, last = str(maker[1]).rpartition(".")
            owner = self._module(head) if head else None
            made = self.made.get(owner, {}).get(last) if owner is not None else None
            return made is not None and self.holds_object(owner, made, method, depth - 1)  # type: ignore[arg-type]
        reference = maker[1]
        key = ("object", module, reference[0], reference[1], method, depth)
        if key in self._memo:
            return bool(self._memo[key])
        self._memo[key] = False  # a cycle through returns: judged by the other paths
        result = self._holds_object(module, reference, method, depth)
        self._memo[key] = result
        return result

    def _holds_object(self, module: str, reference: Sequence[Any], method: str, depth: int) -> bool:
        kind, name = str(reference[0]), str(reference[1])
        target = self.resolve(module, [kind, name])
        if target is not None:
            function = self.functions[target]
            if function.raw.get("facts", {}).get("returns_model"):
                return True
            return any(
                self.holds_object(function.module, ["via", [k, n]], method, depth - 1)
                for k, n, _ in function.raw.get("returns", ())
            )
        klass = self._class_of(module, [kind, name], 0)
        if klass is not None and klass[1] in self.classes.get(klass[0], {}):
            own = f"{klass[0]}:{klass[1]}.{method}"
            return own in self.functions and not self.cheap(own, depth)
        if kind != "q":
            return False
        head = name.rpartition(".")[0]
        if (head and self._module(head) is not None) or name.split(".")[0] in self._packages():
            return False  # in a module of the run, but no function or class of it: unknown
        return made_object(name)

    def _packages(self) -> frozenset[str]:
        """Names of the run's packages (a directory holding a summarised module)."""
        found = self._memo.get("packages")
        if found is None:
            found = frozenset(s.split(".", 1)[0] for s in self._suffixes if "." in s)
            self._memo["packages"] = found
        return found

    def _hands_object(self, module: str, entry: Sequence[Any], depth: int) -> bool:
        """A recorded `handed` entry gives a function of the run an object on which it
        calls a cheap-named method (`fetch(client, url)` doing `client.get(url)`)."""
        kind, name, at, maker = entry[0], entry[1], entry[2], entry[3]
        target = self.resolve(module, [kind, name])
        if target is None:
            return False
        return any(
            self.holds_object(module, maker, method, depth)
            for method in self._received_methods(target, at, depth, frozenset())
        )

    def _received_methods(self, fid: str, at: Any, depth: int, active: frozenset[str]) -> list[str]:
        """The cheap-named methods function `fid` calls on its parameter `at` (a
        position among the positional parameters, or a keyword), directly or through
        the functions of the run it hands the parameter to (at most `depth` deep)."""
        function = self.functions.get(fid)
        if function is None or depth < 0 or fid in active:
            return []
        found: list[str] = []
        for param, position, method in function.raw.get("receives", ()):
            if param != at and position != at:
                continue
            if isinstance(method, str):
                found.append(method)
                continue
            target = self.resolve(function.module, method[:2])
            if target is not None:
                found += self._received_methods(target, method[2], depth - 1, active | {fid})
        return found

    def constant_collection(self, module: str, reference: Sequence[Any]) -> bool:
        """The name a reference makes in `module` (["l", name] or ["q", qualified]) is a
        fixed collection of constants of the run (`constants.constant_collections`).
        Not proven: that no other module mutates it through its import."""
        kind, name = str(reference[0]), str(reference[1])
        owner: str | None = module
        if kind == "q":
            head, _, name = name.rpartition(".")
            owner = self._module(head) if head else None
        elif kind != "l" or "." in name:
            return False
        return owner is not None and name in self.constants.get(owner, ())

    def object_method_at(self, module: str, line: int, method: str, receiver: str = "") -> bool:
        """The `.method(...)` call on `line` of `module` (on `receiver`, its dotted
        source when it has one), cheap by its name, is on an object (`holds_object`)."""
        return any(
            self.holds_object(module, maker, method)
            for maker, name, shown, _ in self._line_table(module, "objects").get(line, ())
            if name == method and (not receiver or not shown or shown == receiver)
        )

    def hands_object_at(self, module: str, line: int, reference: Sequence[Any]) -> bool:
        """The call on `line` of `module` to the function `reference` names hands it an
        object it calls a cheap-named method on (`_hands_object`)."""
        return any(
            entry[0] == reference[0]
            and entry[1] == reference[1]
            and self._hands_object(module, entry, DEFAULT_MAX_CALL_DEPTH)
            for entry in self._line_table(module, "handed").get(line, ())
        )

    def _line_table(self, module: str, kind: str) -> dict[int, list[Sequence[Any]]]:
        """line -> the entries of `kind` recorded by the functions of `module`."""
        key = ("lines", module, kind)
        table = self._memo.get(key)
        if table is None:
            table = {}
            for fid in self.in_module(module):
                for entry in self.functions[fid].raw.get(kind, ()):
                    table.setdefault(int(entry[-1]), []).append(entry)
            self._memo[key] = table
        return table

    def _classify(
        self, name: str, vocabulary: Vocabulary, kinds: Sequence[str]
    ) -> tuple[str, str] | None:
        if "blocks" in kinds and vocabulary.is_blocking(name):
            return "blocks", describe_blocking(name)
        if "loads_model" in kinds and vocabulary.is_loader(name):
            return "loads_model", "loads a model"
        if "cpu_heavy" in kinds and vocabulary.is_heavy(name):
            return "cpu_heavy", f"runs `{name.split('.')[0]}` code"
        if "checks_digest" in kinds and matches_any(name, vocabulary.compare_calls):
            return "checks_digest", "compares a digest"
        return None

    def find(
        self,
        fid: str | None,
        vocabulary: Vocabulary,
        kinds: Sequence[str],
        depth: int = DEFAULT_MAX_CALL_DEPTH,
    ) -> Chain | None:
        """Evidence of `kinds` in plain function `fid` or, transitively, in the plain
        functions it calls, at most `depth` functions deep (1: its own body only)."""
        if fid is None:
            return None
        function = self.functions.get(fid)
        if function is None or function.is_async:
            return None
        steps = self._find(fid, vocabulary, tuple(kinds), clamp_depth(depth), frozenset())
        if steps is None:
            return None
        first = Step(function.label, function.path, int(function.raw.get("line", 0)))
        return Chain((first, *steps[0]), steps[1])

    def _find(
        self,
        fid: str,
        vocabulary: Vocabulary,
        kinds: tuple[str, ...],
        depth: int,
        active: frozenset[str],
    ) -> tuple[tuple[Step, ...], str] | None:
        if depth <= 0 or fid in active:
            return None
        if self.functions[fid].raw.get("once"):
            # Memoised or lazily initialised: it loads, reads or computes once, not per
            # call (real-world review: cached settings readers and dtype tables).
            return None
        key = ("find", fid, vocabulary, kinds, depth)
        if key in self._memo:
            return self._memo[key]  # type: ignore[no-any-return]
        function = self.functions[fid]
        result: tuple[tuple[Step, ...], str] | None = None
        direct = self.direct(fid, vocabulary, kinds)
        if direct is not None:
            result = ((direct[0],), direct[1])
        else:
            for reference in function.raw.get("calls", ()):
                if _flags(reference).get("awaited"):
                    continue
                target = self.resolve(function.module, reference)
                callee = self.functions.get(target) if target else None
                if callee is None or callee.is_async:
                    continue
                if callee.is_generator and not _flags(reference).get("consumed"):
                    continue  # only built here: its body runs wherever it is iterated
                inner = self._find(target, vocabulary, kinds, depth - 1, active | {fid})  # type: ignore[arg-type]
                if inner is not None:
                    hop = Step(callee.label, function.path, int(reference[2]))
                    result = ((hop, *inner[0]), inner[1])
                    break
        if not active:
            self._memo[key] = result
        return result

    def model_provenance(
        self, module: str, provenance: Sequence[Any], vocabulary: Vocabulary
    ) -> str | None:
        """Why a recorded receiver holds a model (`joblib.load`, `get_model()`), or None."""
        if provenance[0] == "model":
            return str(provenance[1])
        reference = provenance[1]
        if reference[0] == "q" and vocabulary.is_loader(str(reference[1])):
            return str(reference[1])
        target = self.resolve(module, reference)
        if target is not None and self.returns_model(target, vocabulary) is not None:
            return f"{self.functions[target].qualname}()"
        return None

    def model_call_at(
        self, module: str, line: int, method: str, vocabulary: Vocabulary
    ) -> str | None:
        """Why the receiver of the `.method(...)` call on `line` of `module` holds a model
        (its provenance: a loader, `app.state`, a registry, a function returning one)."""
        table = self._memo.get(("model_calls", module))
        if table is None:
            table = {}
            for fid in self.in_module(module):
                for entry in self.functions[fid].raw.get("model_calls", ()):
                    if entry[3:] != [CALLED]:
                        table.setdefault((int(entry[2]), str(entry[1])), entry[0])
            self._memo[("model_calls", module)] = table
        for (at, label), provenance in table.items():
            if at == line and label.endswith(f".{method}()"):
                return self.model_provenance(module, provenance, vocabulary)
        return None

    def offloaded_model_at(
        self, module: str, line: int, method: str, vocabulary: Vocabulary
    ) -> str | None:
        """Why the receiver of the `.method` handed to a thread on `line` of `module`
        (`to_thread(self.model.predict, x)`) holds a model, or None."""
        for entry in self._line_table(module, "offloaded_models").get(line, ()):
            if str(entry[1]).endswith(f".{method}()"):
                return self.model_provenance(module, entry[0], vocabulary)
        return None

    def called_model_at(self, module: str, line: int, callee: str) -> str | None:
        """Why `callee`, called on `line` of `module` (`model(x)`), is a model that runs
        when called (an MLX model: `mlx_lm.load`, an `mlx.nn.Module` instance), or None."""
        table = self._memo.get(("called_models", module))
        if table is None:
            table = {
                (int(entry[2]), str(entry[1])): str(entry[0][1])
                for fid in self.in_module(module)
                for entry in self.functions[fid].raw.get("model_calls", ())
                if entry[3:] == [CALLED]
            }
            self._memo[("called_models", module)] = table
        found = table.get((line, f"{callee}()"))
        return str(found) if found is not None else None

    def returns_model(self, fid: str | None, vocabulary: Vocabulary) -> Step | None:
        """Where function `fid` returns a model (transitively through functions it
        returns the result of), or None."""
        if fid is None:
            return None
        return self._returns_model(fid, vocabulary, DEFAULT_MAX_CALL_DEPTH, frozenset())

    def _returns_model(
        self, fid: str, vocabulary: Vocabulary, depth: int, active: frozenset[str]
    ) -> Step | None:
        function = self.functions.get(fid)
        if function is None or depth <= 0 or fid in active:
            return None
        fact = function.raw.get("facts", {}).get("returns_model")
        if fact:
            return Step(f"`{fact[0]}`", function.path, int(fact[1]), "returns a model")
        for kind, name, line in function.raw.get("returns", ()):
            if kind == "q" and vocabulary.is_loader(str(name)):
                return Step(f"`{name}`", function.path, int(line), "returns a model")
            target = self.resolve(function.module, [kind, name])
            if target is not None and self._returns_model(
                target, vocabulary, depth - 1, active | {fid}
            ):
                return Step(f"`{name}()`", function.path, int(line), "returns a model")
        return None

    def handler_chain(
        self,
        module: str,
        qualname: str,
        depth: int = DEFAULT_MAX_CALL_DEPTH,
        bounded_by: frozenset[str] = frozenset(),
    ) -> list[str] | None:
        """Function ids from a request handler (decorated as a route anywhere in the run)
        down to `module:qualname`, if one calls it within `depth` calls; else None. Calls
        made under a context manager (or `wait_for`) named in `bounded_by` are not
        followed: the caller bounds them in time."""
        path = self.handler_path(module, qualname, depth, bounded_by)
        return [fid for fid, _ in path] if path is not None else None

    def handler_path(
        self,
        module: str,
        qualname: str,
        depth: int = DEFAULT_MAX_CALL_DEPTH,
        bounded_by: frozenset[str] = frozenset(),
    ) -> list[tuple[str, int]] | None:
        """As `handler_chain`, each function with the line of the call that reaches it
        (in the function before it; 0 for the handler)."""
        reached = self._handler_reach(clamp_depth(depth), bounded_by)
        return reached.get(f"{module}:{qualname}")

    def _handler_reach(
        self, depth: int, bounded_by: frozenset[str] = frozenset()
    ) -> dict[str, list[tuple[str, int]]]:
        key = ("handlers", depth, bounded_by)
        cached = self._memo.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        reached: dict[str, list[tuple[str, int]]] = {}
        frontier = [[(fid, 0)] for fid, f in self.functions.items() if f.raw.get("handler")]
        for path in frontier:
            reached.setdefault(path[0][0], path)
        for _ in range(depth):
            following = []
            for path in frontier:
                function = self.functions[path[-1][0]]
                for reference in function.raw.get("calls", ()):
                    if (
                        bounded_by
                        and _flags(reference).get("under")
                        and not bounded_by.isdisjoint(_flags(reference)["under"])
                    ):
                        continue
                    target = self.resolve(function.module, reference)
                    if target is not None and target not in reached:
                        reached[target] = [*path, (target, int(reference[2]))]
                        following.append(reached[target])
            frontier = following
        self._memo[key] = reached
        return reached

    def _handler_callers(self) -> dict[str, list[list[Any]]]:
        """callee -> [caller, line, flags] for every call among the functions request
        handlers reach (all calls, `MAX_SUPPORTED_DEPTH` deep): what a file's request
        paths from other files can depend on."""
        cached = self._memo.get("handler_callers")
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        callers: dict[str, list[list[Any]]] = {}
        frontier = [fid for fid, f in self.functions.items() if f.raw.get("handler")]
        seen = set(frontier)
        for _ in range(MAX_SUPPORTED_DEPTH):
            following = []
            for fid in frontier:
                function = self.functions[fid]
                for reference in function.raw.get("calls", ()):
                    target = self.resolve(function.module, reference)
                    if target is None:
                        continue
                    callers.setdefault(target, []).append(
                        [fid, int(reference[2]), _flags(reference)]
                    )
                    if target not in seen:
                        seen.add(target)
                        following.append(target)
            frontier = following
        self._memo["handler_callers"] = callers
        return callers

    def callers(self, fid: str) -> list[str]:
        """The functions reached from request handlers that call `fid` (ids, in call
        order): who may hand it request data."""
        return [str(edge[0]) for edge in self._handler_callers().get(fid, ())]

    def all_callers(self, fid: str) -> list[str]:
        """Every function of the run whose calls resolve to `fid` (ids; request paths or
        not). Built once, on first use: only a rule proving that a function runs at
        start-up alone asks."""
        table = self._memo.get("all_callers")
        if table is None:
            table = {}
            for caller, function in self.functions.items():
                for reference in function.raw.get("calls", ()):
                    target = self.resolve(function.module, reference)
                    if target is not None:
                        table.setdefault(target, []).append(caller)
            self._memo["all_callers"] = table
        return list(table.get(fid, ()))

    def _upstream(self, own: Iterable[str]) -> dict[str, Any]:
        """Every handler-reachable caller of `own`, transitively, with its calls towards
        them and whether it is a handler: editing any of them may change which of `own`
        are on a request path (and how)."""
        callers = self._handler_callers()
        found: dict[str, Any] = {}
        frontier = [fid for fid in own if fid in callers]
        seen = set(frontier)
        for _ in range(MAX_SUPPORTED_DEPTH):
            following = []
            for fid in frontier:
                edges = callers.get(fid, [])
                found[fid] = edges
                for caller, _, _ in edges:
                    if caller not in seen:
                        seen.add(caller)
                        following.append(caller)
            frontier = following
        return {
            fid: [bool(self.functions[fid].raw.get("handler")), edges]
            for fid, edges in sorted(found.items())
        }

    # cache dependencies ----------------------------------------------------------------

    def in_module(self, module: str) -> list[str]:
        """Function ids of `module`, in the order they were collected."""
        table = self._memo.get("by_module")
        if table is None:
            table = {}
            for fid, function in self.functions.items():
                table.setdefault(function.module, []).append(fid)
            self._memo["by_module"] = table
        found: list[str] = table.get(module, [])
        return found

    def dependencies(self, module: str) -> Any:
        """What the findings of `module` can depend on: the summaries of the functions
        its calls reach (with how each call resolved) and the request handlers that reach
        its functions (with every call on the way). Editing a helper changes this only
        for the files that reach it or that it reaches."""
        reached: set[str] = set()
        frontier = list(self.in_module(module))
        resolutions: list[Any] = []
        own = sorted(frontier)
        for _ in range(MAX_SUPPORTED_DEPTH + 1):
            following = []
            for fid in frontier:
                function = self.functions[fid]
                for reference in function.raw.get("calls", ()):
                    target = self.resolve(function.module, reference)
                    resolutions.append([fid, reference[0], reference[1], target])
                    if target is not None and target not in reached:
                        reached.add(target)
                        following.append(target)
                for provenance, *_ in function.raw.get("model_calls", ()):
                    if provenance[0] == "via":
                        via = provenance[1]
                        resolutions.append([fid, *via, self.resolve(function.module, via)])
            frontier = following
        return {
            "reached": {
                fid: [self.functions[fid].path, self._raw_digest(fid)] for fid in sorted(reached)
            },
            "resolutions": resolutions,
            "upstream": self._upstream(own),
            "values": self._values(own),
            # async methods the module's classes must keep, fixed by classes of other
            # modules (`async_interfaces.fixed_async_methods`: LG202)
            "interfaces": self._fixed_interfaces(module),
            # the run's data models (fields, bases, methods): a call on a typed entry
            # (`function.to_template_function()`) records no edge, yet is judged by them
            "models": self.models_digest(),
            # who calls the module's functions from other modules (start-up proofs)
            "callers": {
                fid: found
                for fid in own
                if (
                    found := sorted(
                        c for c in self.all_callers(fid) if not c.startswith(module + ":")
                    )
                )
            },
        }

    def _raw_digest(self, fid: str) -> str:
        """The digest of function `fid`'s summary, once per run: the functions a module's
        calls reach enter its key (`dependencies`), and many modules reach the same."""
        key = ("raw_digest", fid)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = facts_digest(self.functions[fid].raw)
        return str(found)

    def _fixed_interfaces(self, module: str) -> dict[str, list[str]]:
        # Imported lazily: the interface fact reads this index.
        from leakguard.analysis.async_interfaces import fixed_async_methods

        found = {}
        for name in sorted(self.classes.get(module, {})):
            fixed = fixed_async_methods(self, (module, name))
            if fixed:
                found[name] = sorted(fixed)
        return found

    def models_digest(self) -> str:
        """One digest of what other modules' findings read of the run's data models
        (`_data_model`): their class facts (the fields' classes, the bases) and, for each
        method, whether it is `cheap` at every depth a rule may ask, which `model_method`
        and `entry_method` serve for calls no edge records. The judgements, not the
        methods' summaries: those hold line numbers, and a line added above a model would
        re-analyse every module of the run; the judgements also follow what the methods
        call. They change rarely."""
        digest = self._memo.get("models_digest")
        if digest is None:
            models: dict[str, Any] = {}
            for module in sorted(self.classes):
                for klass, facts in sorted(self.classes[module].items()):
                    if not self._data_model(module, klass):
                        continue
                    prefix = f"{module}:{klass}."
                    methods = {
                        fid: [self.cheap(fid, depth) for depth in range(MAX_SUPPORTED_DEPTH + 1)]
                        for fid in self.in_module(module)
                        if fid.startswith(prefix) and "." not in fid[len(prefix) :]
                    }
                    models[f"{module}:{klass}"] = [facts, methods]
            blob = json.dumps(models, sort_keys=True, default=sorted)
            digest = hashlib.sha256(blob.encode()).hexdigest()[:32]
            self._memo["models_digest"] = digest
        return str(digest)

    def _values(self, own: Sequence[str]) -> Any:
        """The module-level facts of other modules that findings of `own`'s module may
        read through an import: what made each value of the modules its receivers were
        imported from, and one digest of the run's fixed collections (a whitelist may be
        imported from anywhere; they change rarely)."""
        digest = self._memo.get("constants_digest")
        if digest is None:
            blob = json.dumps(self.constants, sort_keys=True, default=sorted)
            digest = hashlib.sha256(blob.encode()).hexdigest()[:32]
            self._memo["constants_digest"] = digest
        owners: set[str] = set()
        for fid in own:
            raw = self.functions[fid].raw
            makers = [e[0] for e in raw.get("objects", ())]
            makers += [e[3] for e in raw.get("handed", ())]
            for maker in makers:
                if maker[0] == "import":
                    owner = self._module(str(maker[1]).rpartition(".")[0])
                    if owner is not None:
                        owners.add(owner)
        pending = set(owners)
        for _ in range(DEFAULT_MAX_CALL_DEPTH):
            # through re-exports (`from .backend import cache` in a package's `__init__`)
            reached = {
                self._module(str(maker[1]).rpartition(".")[0])
                for owner in pending
                for maker in self.made.get(owner, {}).values()
                if maker[0] == "import"
            }
            pending = {owner for owner in reached if owner is not None} - owners
            owners |= pending
        made = {owner: self.made.get(owner, {}) for owner in sorted(owners)}
        return [digest, made, self._makers_reached(made)]

    def _makers_reached(self, made: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, Any]:
        """How each module-level maker in `made` resolves and the summaries of the
        functions of the run it reaches through their returns (`client = make()` with
        `make` in a third module: editing `make` changes what `client` holds)."""
        found: dict[str, Any] = {}
        frontier = [(o, m) for o, values in made.items() for m in values.values()]
        for _ in range(DEFAULT_MAX_CALL_DEPTH):
            following = []
            for module, maker in frontier:
                if maker[0] != "via" or f"{module}|{maker[1][:2]}" in found:
                    continue
                target = self.resolve(module, maker[1][:2])
                raw = self.functions[target].raw if target is not None else None
                found[f"{module}|{maker[1][:2]}"] = [target, raw]
                if target is not None:
                    owner = self.functions[target].module
                    returns = self.functions[target].raw.get("returns", ())
                    following += [(owner, ["via", [k, n]]) for k, n, _ in returns]
            frontier = following
        return found


def _named(func: ast.expr, name: str) -> bool:
    """`name(...)` or `x.name(...)`, without resolving anything."""
    kind = type(func)
    return (kind is ast.Attribute and func.attr == name) or (  # type: ignore[attr-defined]
        kind is ast.Name and func.id == name  # type: ignore[attr-defined]
    )


def _flags(reference: Sequence[Any]) -> Mapping[str, Any]:
    """The flags of a recorded call (`awaited`, `under`), empty for a plain call."""
    return reference[3] if len(reference) > 3 else {}


def _dependencies(project: ProjectIndex, module: str) -> Any:
    index = summaries_of(project)
    if index is None:
        return None
    if not index.in_module(module):
        # a module of bare classes (request models) still has findings judged by the
        # run's data models' methods (LG301's entries turned into data)
        return {"models": index.models_digest()}
    return index.dependencies(module)


def summaries_of(project: ProjectIndex | None) -> SummaryIndex | None:
    return None if project is None else project.view(COLLECTOR, SummaryIndex.build)


def summary_index(context: FileContext) -> SummaryIndex | None:
    """The run's summaries (None when no enabled rule asked for them)."""
    return summaries_of(context.project)


# -- the CST side: references from calls in the file being analysed ---------------------


def cst_reference(func: cst.BaseExpression, context: FileContext) -> list[str] | None:
    """The reference a call's callee makes (same forms as the collector records)."""
    from leakguard.analysis.estimators import enclosing_function_and_class
    from leakguard.analysis.scopes import function_scope, module_bindings

    dotted = dotted_name(func)
    if dotted is None:
        return None
    root, _, rest = dotted.partition(".")
    function, owner = enclosing_function_and_class(context)
    if function is not None and owner is not None and rest and "." not in rest:
        params = [*function.params.posonly_params, *function.params.params]
        if params and root == params[0].name.value:
            return ["s", f"{owner.name.value}.{rest}"]
    if root in context.imports.aliases:
        qualified = context.imports.qualify_dotted(dotted)
        return ["q", qualified] if qualified is not None else None
    if root not in module_bindings(context):
        return None
    if function is not None:
        # Scope facts only for names that could be the module's own (the costly case).
        scope = function_scope(function, context)
        if root in scope.locals or root in scope.params:
            return None
    return ["l", dotted]


def _method_of(label: str) -> str:
    """`predict` for the label `self.model.predict()`."""
    return label[:-2].rsplit(".", 1)[-1]


def describe_method(name: str) -> tuple[str, str]:
    """(kind, what) of a configured blocking method (`read_text`, `fit`, a user's own)."""
    from leakguard.analysis.blocking import describe_method as describe

    return describe(name)


def describe_blocking(name: str) -> str:
    """What a blocking call does, for messages ("does network I/O synchronously")."""
    from leakguard.analysis.blocking import describe

    return describe(name)[0]


register_collector(
    FactCollector(
        COLLECTOR,
        # functions, the fixed collections a module of constants defines, the values a
        # module without functions makes or re-exports (`client = httpx.Client()`), and
        # the classes of a module of bare classes
        ("def ", "= {", "= [", "= (", "= frozenset(", "= set(", "import ", "class "),
        from_source=collect_source,
        from_tree=collect_tree,
        dependencies=_dependencies,
    )
)


def _short(func: ast.Attribute, limit: int = 40) -> str:
    """`get_model().predict` for messages; `….predict` when the receiver is long."""
    text = ast.unparse(func)
    return text if len(text) <= limit and "\n" not in text else f"….{func.attr}"
