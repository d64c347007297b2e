"""LG108 unbounded-cache: caches that only ever grow.

Three shapes, all reported where a reviewer changes the code:

1. `functools.lru_cache`/`functools.cache` (bare, called, aliased) on a method: the cache
   lives on the function object, keys every entry on `self`, and so keeps each instance
   alive (ruff B019 covers only this part). Static and class methods are exempt, and so
   is an `lru_cache` whose size the code fixes at `method_cache_small_maxsize` or below
   (`lru_cache(maxsize=1)`: at most that many instances outlive their use, no growth).
   Reported at the decorator.
2. `functools.cache` or `lru_cache(maxsize=None)` on a plain function that takes
   arguments and is reachable per request: it is a request handler of this file, or a
   handler of this file calls it or passes it on (`run_in_threadpool(fn, ...)`). The
   arguments then come from requests, so the keys are unbounded. Reported at the decorator.
3. A dict used as a cache (its name matches `cache_name_pattern`, or the function reads it
   by key before storing: the memo idiom; `setdefault` is both) stored into from a
   function (`CACHE[key] = value`, `self._cache[key] = value`, `CACHE.setdefault(k, v)`),
   where the dict is a module global, an instance or a class attribute created as a
   plain dict (`{}`, `dict()`, `OrderedDict()`, `defaultdict()`), and nothing in the
   module (globals) or class (attributes) evicts from it: no `pop`/`popitem`/`clear`/`del`,
   no reassignment outside the constructor, no `len(...)` size check, and the dict is not
   handed to other code (a call argument or return value) that might. Bounded types
   (`cachetools.LRUCache`/`TTLCache`, `WeakValueDictionary`) are not plain dicts and stay
   silent. Reported at the first store per dict; a stored fitted/loaded model is named.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Callable

import libcst as cst

from leakguard.analysis.caches import (
    WEB_FRAMEWORKS,
    cache_decorator,
    cache_decorator_maxsize,
    constant_key,
    decorator_target,
    eviction_index,
    is_constant,
    is_dict_constructor,
    is_enum_class,
    is_request_payload,
    is_unbounded_cache_decorator,
    key_bounded_by_program,
    key_bounded_by_source,
    literal_key,
    model_value,
    reads_by_key,
    reference_scopes,
    request_reachable_names,
    returns_stored_value,
    updates_existing_key,
    uses_web_framework,
)
from leakguard.analysis.calls import positional_arg
from leakguard.analysis.cleanup import (
    CONSTRUCTOR_NAMES,
    attribute_binding,
    binding_value,
    class_methods,
    constructor_helpers,
    enumerates_contents,
    receiver_name,
)
from leakguard.analysis.frameworks import is_request_handler
from leakguard.analysis.imports import dotted_name
from leakguard.analysis.lifecycle import is_lifecycle_hook, registration_calls
from leakguard.analysis.lifetimes import COLLECTOR as LIFETIMES
from leakguard.analysis.lifetimes import instances_die_with_call
from leakguard.analysis.loops import function_escapes
from leakguard.analysis.scopes import (
    Storage,
    declared_static_or_class,
    is_direct_method,
    locate,
    possible_storages,
)
from leakguard.analysis.singletons import COLLECTOR as SINGLETONS
from leakguard.analysis.singletons import is_process_singleton
from leakguard.analysis.summaries import COLLECTOR as SUMMARIES
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.fixes import Applicability, FixPlan, Rewrite, replace
from leakguard.fixes.names import renamed_callee
from leakguard.rule import LintRule
from leakguard.slicing import (
    class_regions,
    container_regions,
    units_naming,
    units_naming_attribute,
)
from leakguard.triage import (
    SCOPES,
    TriageTree,
    call_resolves_to,
    dotted,
    imports_any,
    last_parts,
    per_tree,
    spans_any,
)
from leakguard.walker import descendants

_FIX_METHOD = (
    "Cache per instance instead (`functools.cached_property`, or "
    "`self._lookup = functools.lru_cache(maxsize=N)(self._lookup_impl)` in `__init__`), "
    "or move the cached logic to a module-level function keyed by plain values."
)
_FIX_FUNCTION = (
    "Bound it: `functools.lru_cache(maxsize=N)` or `cachetools.TTLCache(maxsize=N, ttl=...)`."
)
_FIX_DICT = (
    "Use a bounded cache (`cachetools.LRUCache(maxsize=N)` or "
    "`cachetools.TTLCache(maxsize=N, ttl=...)`), or evict when `len({name}) > N`."
)
_MODEL_NOTE = (
    "; the stored value is a fitted/loaded model, so every key keeps a whole model in "
    'memory ("models never cleaned up")'
)


_CONSTRUCTORS = frozenset({"__init__", "__post_init__", "__new__", "__enter__", "__aenter__"})

# Implicitly static or class methods: their first argument is not an instance.
_IMPLICIT_STATIC = frozenset({"__new__", "__init_subclass__", "__class_getitem__"})


def _keyed_stores(tree: TriageTree) -> tuple[list[ast.stmt | ast.expr], list[tuple[int, int]]]:
    """The file's keyed stores (`x[k] = v`, `x.setdefault(k, v)`) and their sorted
    positions, for `spans_any`."""
    stores: list[ast.stmt | ast.expr] = [
        node
        for node in tree.of(ast.Assign)
        if any(isinstance(target, ast.Subscript) for target in node.targets)
    ]
    stores.extend(
        call
        for call in tree.of(ast.Call)
        if isinstance(call.func, ast.Attribute) and call.func.attr == "setdefault"
    )
    return stores, sorted((node.lineno, node.col_offset) for node in stores)


def _memoised(
    tree: TriageTree, function: ast.FunctionDef | ast.AsyncFunctionDef, decorators: set[str]
) -> bool:
    """A decorator of `function` is one of `decorators` (last names), as written or as
    its import qualifies it."""
    return any(
        _decorator_names(tree, decorator) & decorators for decorator in function.decorator_list
    )


def _decorator_names(tree: TriageTree, decorator: ast.expr) -> set[str]:
    """The last name of what a decorator calls (or is), as written and as its import
    qualifies it."""
    return last_parts(tree, decorator.func if isinstance(decorator, ast.Call) else decorator)


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
# Where a dict cache may live (`_dict_facts`), for `x[k] = v` and for `x.y[k] = v`.
_NAMED_DICTS = frozenset({Storage.MODULE_GLOBAL, Storage.CLOSURE})
_ATTRIBUTE_DICTS = frozenset({Storage.INSTANCE_ATTRIBUTE, Storage.CLASS_ATTRIBUTE})


def _stored_containers(store: ast.AST) -> list[ast.expr]:
    """What a keyed store (`_keyed_stores`) may grow: `x` of `x[k] = v` (each subscript
    target of `a[i] = b[j] = v` whose key is no literal) and of `x.setdefault(k, v)`."""
    if isinstance(store, ast.Assign):
        # A literal key names one slot, which the store replaces.
        return [
            target.value
            for target in store.targets
            if isinstance(target, ast.Subscript) and not literal_key(target)
        ]
    if isinstance(store, ast.Call) and isinstance(store.func, ast.Attribute):
        return [store.func.value]
    return []


@per_tree
def _candidates(
    tree: TriageTree, spec: RuleSpec
) -> tuple[list[ast.stmt | ast.expr], list[ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Triage: the keyed stores that may report, and the functions holding them or
    carrying a memoising decorator that may report.

    A store reports from a function's own scope, into `x` (a module global or a closure's
    dict) or `x.y` (an instance or class attribute), when the dict is
    named like a cache, read by key in that function (the memo idiom; `setdefault` is
    both), or handed a model (`_model_call_test`). A memoising decorator reports on a
    method (not a static or class method), or on a plain function that takes arguments,
    in a file importing a web framework, when it has no size limit."""
    decorators = {str(d).rsplit(".", 1)[-1] for d in spec.option("cache_decorators")}
    memoised = [f for f in tree.functions if _memoised(tree, f, decorators)]
    web = bool(memoised) and imports_any(tree, WEB_FRAMEWORKS)
    functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    for function in memoised:
        if is_direct_method(tree, function):
            if function.name not in _IMPLICIT_STATIC and not declared_static_or_class(function):
                functions.append(function)
        elif web and _takes_arguments(function) and _unbounded(tree, function, decorators):
            functions.append(function)
    stores: list[ast.stmt | ast.expr] = []
    # Only a function whose span (or a decorator's, above it) holds a keyed store can
    # store in its own scope.
    keyed, where = _keyed_stores(tree)
    # Only keyed stores have a container (`_stored_containers`): the others are skipped.
    store_ids = {id(node) for node in keyed}
    pattern = re.compile(str(spec.option("cache_name_pattern")), re.IGNORECASE)
    builds_model: Callable[[ast.expr], bool] | None = None
    for function in tree.functions if where else ():
        if not spans_any(function, where) and not any(
            spans_any(decorator, where) for decorator in function.decorator_list
        ):
            continue
        # The analysis stores into `function` from its lambdas and class bodies too
        # (`FileContext.enclosing_function`), where names are looked up differently.
        own = tree.within(function, _DEFS)
        direct: set[int] | None = None  # the nodes of its own scope, when a store asks
        found = False
        for node in own:
            if id(node) not in store_ids:
                continue
            if direct is None:
                direct = {id(inner) for inner in tree.within(function, SCOPES)}
            value: ast.expr | None
            if isinstance(node, ast.Assign):
                value = node.value
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "setdefault"
            ):
                value = node.args[1] if len(node.args) > 1 else None
            else:
                continue
            for container in _stored_containers(node):
                key = dotted(container)
                if key is None or key.count(".") > 1:
                    continue  # the analysis keys only `x` and `x.y`
                if id(node) in direct and not possible_storages(tree, function, container) & (
                    _ATTRIBUTE_DICTS if "." in key else _NAMED_DICTS
                ):
                    continue  # a local, a parameter, an imported module's dict
                if (
                    isinstance(node, ast.Call)
                    or pattern.search(key.rsplit(".", 1)[-1])
                    or _reads_by_key(own, {key})
                ):
                    break
                if builds_model is None:
                    builds_model = _model_call_test(tree, spec)
                if _stores_model(value, own, builds_model):
                    break
            else:
                continue
            stores.append(node)
            found = True
        if found and all(function is not other for other in functions):
            functions.append(function)
    return stores, functions


def _takes_arguments(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    arguments = function.args
    return bool(
        arguments.posonlyargs
        or arguments.args
        or arguments.kwonlyargs
        or arguments.vararg
        or arguments.kwarg
    )


def _unbounded(
    tree: TriageTree, function: ast.FunctionDef | ast.AsyncFunctionDef, decorators: set[str]
) -> bool:
    """A memoising decorator of `function` may have no size limit
    (`caches.is_unbounded_cache_decorator`): `cache`, or a call with `maxsize=None`."""
    for decorator in function.decorator_list:
        names = _decorator_names(tree, decorator)
        if not names & decorators:
            continue
        if "cache" in names:
            return True
        if isinstance(decorator, ast.Call):
            sizes = [k.value for k in decorator.keywords if k.arg == "maxsize"]
            sizes += decorator.args[:1]
            if any(isinstance(v, ast.Constant) and v.value is None for v in sizes):
                return True
    return False


def _model_call_test(tree: TriageTree, spec: RuleSpec) -> Callable[[ast.expr], bool]:
    """Whether a value is a call that may build a model (`caches.model_value`): a
    configured model method by name, or a call that may resolve to a model factory (a
    wildcard by its possible qualified names, any other by its last part, as written or
    imported). Judged for the values a store asks about, not for every call of the file."""
    factories = [str(name) for name in spec.option("model_factories")]
    wildcards = [name for name in factories if name.endswith(".*")]
    prefixes = tuple(name[:-1] for name in wildcards)
    methods = {str(name) for name in spec.option("model_methods")}
    lasts = {name.rsplit(".", 1)[-1] for name in factories if name not in wildcards}
    # A call's possible names follow from its name as written: judged once per name.
    judged: dict[str, bool] = {}

    def builds_model(value: ast.expr) -> bool:
        if not isinstance(value, ast.Call):
            return False
        if isinstance(value.func, ast.Attribute) and value.func.attr in methods:
            return True
        if call_resolves_to(tree, value, wildcards):
            return True
        written = dotted(value.func)
        if written is None:
            return False
        model = judged.get(written)
        if model is None:
            names = [written, *tree.names_of_call(value)]
            model = judged[written] = written.startswith(prefixes) or any(
                n.rsplit(".", 1)[-1] in lasts for n in names
            )
        return model

    return builds_model


def _stores_model(
    value: ast.expr | None, own: list[ast.AST], builds_model: Callable[[ast.expr], bool]
) -> bool:
    """The stored value is a model call, or a name its function assigns one to."""
    if isinstance(value, ast.Call):
        return builds_model(value)
    if not isinstance(value, ast.Name):
        return False
    return any(
        isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == value.id for t in node.targets)
        and builds_model(node.value)
        for node in own
    )


class UnboundedCache(LintRule):
    code = "LG108"
    # SUMMARIES: the run's classes, for an enum base in another file (`is_enum_class`).
    PROJECT_FACTS = (SINGLETONS, LIFETIMES, SUMMARIES)

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A keyed store or a memoised function that may report (`_candidates`)."""
        stores, functions = _candidates(tree, spec)
        return bool(stores or functions)

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Every keyed store that may report with where its container lives and what
        evicts it (`slicing.container_regions`, and the units naming its name or
        attribute); every
        function holding one or carrying a memoising decorator that may report, with
        its class, base classes and the top-level definitions it names
        (`slicing.class_regions`: eviction and inventory reads in other methods, key
        helpers, constructors' private helpers, enum bases); the units that name such a
        function (a private helper only constructors reach is no cache); and the calls
        that may register it as a request handler or a life-cycle hook (they may sit in
        any function of the file, `create_app()`)."""
        stores, functions = _candidates(tree, spec)
        names = {function.name for function in functions}
        registrations = [
            call
            for call in tree.of(ast.Call)
            if any(
                (isinstance(node, ast.Name) and node.id in names)
                or (isinstance(node, ast.Attribute) and node.attr in names)
                for argument in [*call.args, *(keyword.value for keyword in call.keywords)]
                for node in tree.walk(argument)
            )
        ]
        callers = [unit for name in sorted(names) for unit in units_naming(tree, name)]
        # The eviction index is file-wide and matches names and attribute names alone
        # (`owner._cache.clear()`, a local `cache.pop(k)` in another function).
        containers = [c for store in stores for c in _stored_containers(store)]
        evicting = [
            *(u for c in containers if isinstance(c, ast.Name) for u in units_naming(tree, c.id)),
            *(
                unit
                for c in containers
                if isinstance(c, ast.Attribute)
                for unit in units_naming_attribute(tree, c.attr)
            ),
        ]
        return [
            *container_regions(tree, stores),
            *class_regions(tree, functions),
            *callers,
            *evicting,
            *registrations,
            *registration_calls(tree),
        ]

    def __init__(self, context: FileContext, spec: RuleSpec) -> None:
        super().__init__(context, spec)
        self._decorators: list[str] = list(self.option("cache_decorators"))
        self._cache_name = re.compile(str(self.option("cache_name_pattern")), re.IGNORECASE)
        self._model_factories: list[str] = list(self.option("model_factories"))
        self._model_methods = frozenset(self.option("model_methods"))
        self._reported: set[tuple[int, str]] = set()
        self._small_maxsize = int(self.option("method_cache_small_maxsize"))

    # -- memoising decorators ------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not node.decorators:
            return
        for decorator in node.decorators:
            qualified = cache_decorator(decorator, self.context, self._decorators)
            if qualified is None:
                continue
            owner = self._direct_class()
            if owner is not None:
                if is_enum_class(owner, self.context):
                    return  # its instances are its members, alive for the process anyway
                if not _is_static_or_class(node) and node.name.value not in _IMPLICIT_STATIC:
                    self._report_method(node, decorator, qualified, owner)
            elif (
                is_unbounded_cache_decorator(decorator, qualified)
                and _has_parameters(node)
                and uses_web_framework(self.context)
                and (
                    is_request_handler(node, self.context)
                    or node.name.value in request_reachable_names(self.context)
                )
            ):
                self._report_function(node, decorator, qualified)
            return

    def _direct_class(self) -> cst.ClassDef | None:
        for ancestor in self.context.ancestors():
            if isinstance(ancestor, cst.ClassDef):
                return ancestor
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return None
        return None

    def _report_method(
        self,
        node: cst.FunctionDef,
        decorator: cst.Decorator,
        qualified: str,
        owner: cst.ClassDef,
    ) -> None:
        if owner in self.context.module.body and is_process_singleton(
            self.context, owner.name.value
        ):
            return  # one instance per process: keeping its `self` alive costs nothing
        maxsize = cache_decorator_maxsize(decorator, qualified, self.context, owner)
        if maxsize is not None and maxsize <= self._small_maxsize:
            return  # keeps at most `maxsize` instances alive: bounded, it cannot grow
        unbounded = is_unbounded_cache_decorator(decorator, qualified)
        what = (
            f"`@{self.context.code_of(decorator.decorator)}` on method "
            f"`{owner.name.value}.{node.name.value}` keeps every `self` it is called with alive"
        )
        why = (
            f"`{qualified}` keeps its cache on the class's function object and keys every entry "
            "on `self`, so each instance it is called with (and everything it references) "
            + (
                "stays alive for the life of the process: the cache has no size limit"
                if unbounded
                else "stays alive until pushed out of the cache, long after it is unused"
            )
        )
        self.report(decorator, what=what, why=why, fix=_FIX_METHOD)

    def _report_function(
        self, node: cst.FunctionDef, decorator: cst.Decorator, qualified: str
    ) -> None:
        what = (
            f"`@{self.context.code_of(decorator.decorator)}` on `{node.name.value}`, which runs "
            "per request, has no size limit"
        )
        why = (
            f"`{qualified}` keys its cache by the call's arguments, which come from "
            "requests, so every distinct input adds an entry that is never evicted"
        )
        fix_plan = bounded_cache_fix(decorator, int(self.option("fix_maxsize")), self.context)
        self.report(decorator, what=what, why=why, fix=_FIX_FUNCTION, fix_plan=fix_plan)

    # -- dict caches -----------------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            subscript = target.target
            if isinstance(subscript, cst.Subscript):
                self._check_store(subscript, subscript.value, node.value)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "setdefault":
            value = positional_arg(node, 1)
            self._check_store(node, func.value, value.value if value else None, reads_first=True)

    def _check_store(
        self,
        site: cst.CSTNode,
        container: cst.BaseExpression,
        value: cst.BaseExpression | None,
        reads_first: bool = False,
    ) -> None:
        key = dotted_name(container)
        if key is None or key.count(".") > 1:
            return
        function = self.context.enclosing_function()
        if function is None:
            return  # module-level code fills it once, at import
        name = key.rsplit(".", 1)[-1]
        # Cheapest evidence first; the file-wide eviction index comes last.
        is_model = value is not None and model_value(
            value, function, self.context, self._model_factories, self._model_methods
        )
        # A model built or fitted on every call and kept in a dict is the seed's "models
        # never cleaned up", memo idiom or not; start-up code fills registries once.
        model_per_call = is_model and not self._runs_once(function)
        if isinstance(site, cst.Subscript) and (
            constant_key(site, self.context) or updates_existing_key(function, site, key)
        ):
            return  # a fixed slot or an existing entry is replaced: nothing grows
        if isinstance(site, cst.Subscript) and key_bounded_by_program(
            site, function, self.context, self._enclosing_class()
        ):
            return  # one entry per process, thread or function of the program
        if (
            not is_model
            and isinstance(site, cst.Subscript)
            and key_bounded_by_source(
                function, site, key, list(self.context.ancestors()), self.context
            )
        ):
            return  # one entry per element of a finite source (a dataset, a schema file)
        if (
            value is not None
            and is_constant(value, self.context)
            and not self._cache_name.search(name)
        ):
            return  # a constant is not a computed result: a set of keys or a record
        reads = reads_first or reads_by_key(function, key)
        memo = reads and returns_stored_value(function, key)
        if not self._cache_name.search(name) and not model_per_call and not memo:
            if not ((is_model or self._request_reachable(function)) and reads):
                return  # a registry or an index, not a cache
            if not is_model and value is not None and self._stores_payload(value, function):
                return  # an in-memory store of what clients sent, not a cache
        if self._builds_object(function, key, value):
            return  # filled while building an object, keyed by what it is built with
        if not self._cache_name.search(name) and not is_model and self._listed(function, key):
            return  # the object's inventory, filled get-or-create: other methods list it
        location = locate(container, self.context)
        facts = self._dict_facts(location.storage, key, container, location.definition)
        if facts is None:
            return
        scope_root, binding, owner_label = facts
        marker = (id(scope_root), name)
        if marker in self._reported:
            return
        index = eviction_index(self.context)
        if name in (index.attributes if "." in key else index.names):
            return  # evicted, reset, size-checked or handed to code that may evict
        self._reported.add(marker)
        self._report_store(site, key, is_model, function, binding, owner_label, location.storage)

    def _stores_payload(self, value: cst.BaseExpression, function: cst.FunctionDef) -> bool:
        nearest: dict[str, cst.BaseExpression] = {}
        ancestors = list(self.context.ancestors())
        for inner, outer in itertools.pairwise(ancestors):
            if isinstance(outer, cst.IndentedBlock) and any(s is inner for s in outer.body):
                # For a local assigned on several paths, the assignment just before
                # the store in its own block is the one that reaches it.
                position = next(i for i, s in enumerate(outer.body) if s is inner)
                for statement in outer.body[:position]:
                    if isinstance(statement, cst.SimpleStatementLine):
                        for small in statement.body:
                            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                                target = small.targets[0].target
                                if isinstance(target, cst.Name):
                                    nearest[target.value] = small.value
                break
        return is_request_payload(value, function, nearest)

    def _builds_object(
        self, function: cst.FunctionDef, key: str, value: cst.BaseExpression | None
    ) -> bool:
        """The store runs while an object is built: in a constructor or a private helper
        only constructors reach (`self._engine = self._get_or_create_engine(uri)` in
        `__init__`), so there is one store per object built, keyed by its configuration,
        not one per call. Into the object's own dict, always; into a class-level or
        module dict, unless the stored value refers to the object: a registry of every
        instance keeps them all alive."""
        owner = self._enclosing_class()
        name = function.name.value
        if owner is None:
            # A private module function called only from constructors
            # (`_resolve_model(...)` in `APIHandler.__init__`) runs while objects are built.
            callers = reference_scopes(self.context).get(name, frozenset())
            return (
                name.startswith("_")
                and any(m is function for m in _module_functions(self.context.module))
                and bool(callers)
                and callers <= CONSTRUCTOR_NAMES
            )
        if not any(m is function for m in class_methods(owner)):
            return False
        if name not in CONSTRUCTOR_NAMES:
            memo_key = ("lg108.constructor_helpers", id(owner))
            helpers = self.context.memo.get(memo_key)
            if helpers is None:
                methods = {m.name.value: m for m in class_methods(owner)}
                helpers = self.context.memo[memo_key] = constructor_helpers(methods)
            if name not in helpers:
                return False
        receiver = receiver_name(function)
        if receiver is not None and key.startswith(f"{receiver}."):
            return True
        return (
            value is None
            or receiver is None
            or not any(
                isinstance(n, cst.Name) and n.value == receiver
                for n in [value, *descendants(value)]
            )
        )

    def _listed(self, function: cst.FunctionDef, key: str) -> bool:
        """Another method of the class lists what `self.<attribute>` holds (a report
        iterating `self.modules.keys()`): a cache is only looked up by key."""
        owner = self._enclosing_class()
        receiver = receiver_name(function)
        if owner is None or receiver is None or not key.startswith(f"{receiver}."):
            return False
        attribute = key.split(".", 1)[1]
        return any(
            method is not function and enumerates_contents(method, attribute)
            for method in class_methods(owner)
        )

    def _runs_once(self, function: cst.FunctionDef) -> bool:
        return function.name.value in _CONSTRUCTORS or is_lifecycle_hook(function, self.context)

    def _request_reachable(self, function: cst.FunctionDef) -> bool:
        if not uses_web_framework(self.context):
            return False
        owner = self._enclosing_class()
        return is_request_handler(function, self.context, owner) or (
            owner is None and function.name.value in request_reachable_names(self.context)
        )

    def _dict_facts(
        self,
        storage: Storage,
        key: str,
        container: cst.BaseExpression,
        scope: cst.CSTNode | None = None,
    ) -> tuple[cst.CSTNode, cst.BaseExpression, str] | None:
        """(where evictions are searched, the dict's binding, a label) or None."""
        if storage is Storage.MODULE_GLOBAL and "." not in key:
            binding = binding_value(key, self.context.module, self.context)
            if is_dict_constructor(binding, self.context) and binding is not None:
                return self.context.module, binding, f"module-level dict `{key}`"
            return None
        if storage is Storage.CLOSURE and "." not in key and isinstance(scope, cst.FunctionDef):
            # A memoising decorator's or factory's dict: it lives as long as the
            # function returned, usually the process. A helper that does not leave
            # the call (a per-request lookup memo) dies with its dict.
            inner = self.context.enclosing_function()
            if inner is None or not function_escapes(inner, scope, self.context):
                return None
            binding = binding_value(key, scope, self.context)
            if is_dict_constructor(binding, self.context) and binding is not None:
                return scope, binding, f"dict `{key}` captured from `{scope.name.value}()`"
            return None
        if storage in (Storage.INSTANCE_ATTRIBUTE, Storage.CLASS_ATTRIBUTE) and key.count(".") == 1:
            owner = self._owner_class(container)
            if owner is None:
                return None
            attribute = key.split(".", 1)[1]
            binding = self._attribute_dict(owner, attribute)
            if binding is None:
                return None
            in_class_body = any(
                isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is binding
                for statement in owner.body.body
                if isinstance(statement, cst.SimpleStatementLine)
                for small in statement.body
            )
            kind = (
                "instance"
                if storage is Storage.INSTANCE_ATTRIBUTE and not in_class_body
                else "class-level"
            )
            if (
                kind == "instance"
                and owner in self.context.module.body
                and instances_die_with_call(self.context, owner.name.value)
            ):
                return None  # every instance the run makes dies with its call, dict and all
            return owner, binding, f"{kind} dict `{key}` of `{owner.name.value}`"
        return None

    def _owner_class(self, container: cst.BaseExpression) -> cst.ClassDef | None:
        root = container
        while isinstance(root, cst.Attribute):
            root = root.value
        if isinstance(root, cst.Name):
            for statement in self.context.module.body:
                if isinstance(statement, cst.ClassDef) and statement.name.value == root.value:
                    return statement
        return self._enclosing_class()

    def _enclosing_class(self) -> cst.ClassDef | None:
        for ancestor in self.context.ancestors():
            if isinstance(ancestor, cst.ClassDef):
                return ancestor
        return None

    def _attribute_dict(self, owner: cst.ClassDef, attribute: str) -> cst.BaseExpression | None:
        first = attribute_binding(owner, attribute, self.context)
        if first is not None:
            return first if is_dict_constructor(first, self.context) else None
        for method in class_methods(owner):
            receiver = receiver_name(method)
            if receiver is None:
                continue
            value = binding_value(f"{receiver}.{attribute}", method, self.context)
            if value is not None:
                return value if is_dict_constructor(value, self.context) else None
        return None

    def _report_store(
        self,
        site: cst.CSTNode,
        key: str,
        is_model: bool,
        function: cst.FunctionDef,
        binding: cst.BaseExpression,
        owner_label: str,
        storage: Storage,
    ) -> None:
        line_of = self.context.line_of
        store = self.context.code_of(site).strip().splitlines()[0]
        if isinstance(site, cst.Subscript):
            store += " = ..."
        what = f"`{store}` grows {owner_label}, which is never evicted"
        scope = {Storage.MODULE_GLOBAL: "this module", Storage.CLOSURE: "this file"}.get(
            storage, "the class"
        )
        lifetime = {
            Storage.INSTANCE_ATTRIBUTE: "for as long as the instance lives",
            Storage.CLOSURE: "for as long as the function that captures it lives",
        }.get(storage, "for the life of the process")
        why = (
            f"{owner_label[0].upper()}{owner_label[1:]} (created at line {line_of(binding)}) gets "
            f"an entry on every call of `{function.name.value}`"
            f"{_MODEL_NOTE if is_model else ''}, and nothing in {scope} ever evicts from it "
            "(no `pop`, `popitem`, `del`, `clear()`, reassignment or "
            f"`len()` size check), so every distinct key is kept {lifetime}"
        )
        self.report(site, what=what, why=why, fix=_FIX_DICT.format(name=key))


def _is_static_or_class(node: cst.FunctionDef) -> bool:
    for decorator in node.decorators:
        target = decorator.decorator
        name = dotted_name(target.func if isinstance(target, cst.Call) else target) or ""
        if name.rsplit(".", 1)[-1] in ("staticmethod", "classmethod"):
            return True
    return False


def _module_functions(module: cst.Module) -> list[cst.FunctionDef]:
    return [s for s in module.body if isinstance(s, cst.FunctionDef)]


def _has_parameters(node: cst.FunctionDef) -> bool:
    params = node.params
    return bool(
        params.params
        or params.posonly_params
        or params.kwonly_params
        or isinstance(params.star_arg, cst.Param)
        or params.star_kwarg is not None
    )


# -- fix ------------------------------------------------------------------------------------


def bounded_cache_fix(decorator: cst.Decorator, maxsize: int, context: FileContext) -> FixPlan:
    """`@cache` / `@lru_cache(maxsize=None)` on a plain function -> `@lru_cache(maxsize=N)`
    (`fix_maxsize`, under the file's own alias). Unsafe: evicted entries are computed
    again, and code relying on every result staying cached changes behaviour."""
    target, call = decorator_target(decorator)
    bound = cst.Integer(str(maxsize))

    def build() -> Rewrite | None:
        if call is not None:  # lru_cache(maxsize=None) or lru_cache(None)
            current = next(
                (a for a in call.args if a.keyword is not None and a.keyword.value == "maxsize"),
                call.args[0] if call.args and call.args[0].keyword is None else None,
            )
            if current is None:
                return None
            return replace(current.value, bound)
        callee = renamed_callee(context, target, "functools.lru_cache")
        if callee is None:
            return None
        func, needed = callee
        no_space = cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        )
        argument = cst.Arg(bound, keyword=cst.Name("maxsize"), equal=no_space)
        return replace(target, cst.Call(func, [argument]), *([needed] if needed else []))

    return FixPlan(f"Bound it: `lru_cache(maxsize={maxsize})`", Applicability.UNSAFE, build)


def _reads_by_key(nodes: list[ast.AST], keys: set[str | None]) -> bool:
    """Triage: whether any of `keys` is read by key among `nodes` (`d[k]`, `k in d`,
    `d.get(k)`, `d.setdefault(...)`), a superset of what `reads_by_key` accepts."""
    for node in nodes:
        read: list[ast.expr] = []
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            read = [node.value]
        elif isinstance(node, ast.Compare):
            read = node.comparators
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            read = [node.func.value] if node.func.attr in ("get", "setdefault", "pop") else []
        if any(dotted(expr) in keys for expr in read):
            return True
    return False
