"""LG205 unbounded-concurrency: one task (or pool job) per item of a request-derived or
parameter collection, with no semaphore/capacity limiter and no length bound."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import libcst as cst

from leakguard.analysis.arguments import fed_by_server_data
from leakguard.analysis.bindings import assigned_values
from leakguard.analysis.caller_trust import COLLECTOR as CALLER_TRUST
from leakguard.analysis.caller_trust import OPTION as PRIVILEGED
from leakguard.analysis.caller_trust import privileged_handler
from leakguard.analysis.calls import positional_arg
from leakguard.analysis.entrypoints import entry_point_regions, is_entry_point
from leakguard.analysis.frameworks import may_have_request_handlers
from leakguard.analysis.imports import dotted_name, matches_any
from leakguard.analysis.pydantic_models import (
    COLLECTOR,
    DICT_VIEWS,
    ITERATION_WRAPPERS,
    attribute_chain,
    guarded_before,
    handler_params,
    model_index,
    param_tree,
    request_bindings,
    request_data_names,
    request_handlers,
    resolve_field,
)
from leakguard.analysis.request_paths import (
    functions_with_owner,
    qualified_name,
    request_path_regions,
    request_paths,
)
from leakguard.analysis.summaries import COLLECTOR as SUMMARIES
from leakguard.analysis.summaries import summary_index
from leakguard.config import RuleSpec
from leakguard.rule import LintRule, ReadConditions
from leakguard.slicing import callee_regions, container_filler_regions
from leakguard.triage import (
    SCOPES,
    TriageTree,
    dotted,
    enclosing_functions,
    last_names,
    per_tree,
)
from leakguard.walker import SCOPE_NODES, descendants

_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)
# (the iterable walked, the per-item work: a call or a callable handed over)
FanOut = tuple[cst.BaseExpression, cst.BaseExpression | None]


# Pool methods that start one job per item.
_POOL_MAPS = ("map", "imap", "imap_unordered", "starmap")
_POOL_NAME = re.compile(r"executor|pool", re.IGNORECASE)
_AST_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


@dataclass(frozen=True)
class Source:
    """The collection a fan-out walks and why it is unbounded."""

    collection: cst.BaseExpression
    why: str  # "parameter `urls`", "request field `Batch.items`", "request data"


class UnboundedConcurrency(LintRule):
    code = "LG205"
    PROJECT_FACTS = (COLLECTOR, SUMMARIES, CALLER_TRUST)
    # the trust of callers is asked of the file's request handlers (`_unbounded_source`)
    READS_WHERE: ClassVar[ReadConditions] = {CALLER_TRUST: may_have_request_handlers}

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A fan-out shape `visit_Call` looks at (`_fan_outs`)."""
        return bool(_fan_outs(tree, spec))

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Each fan-out's function, the functions it names (the per-item work whose
        limiter counts, a length-checking helper), the functions that may reach it from a
        request handler (`request_paths`) and, in a script, the handlers."""
        functions = enclosing_functions(tree, _fan_outs(tree, spec))
        if not functions:
            return []
        depth = int(spec.option("max_call_depth"))
        callers = request_path_regions(tree, functions, depth)
        return [
            *functions,
            *callee_regions(tree, functions),
            *callers,
            *entry_point_regions(tree),
            # `arguments.fed_by_server_data`: a module-level list a caller hands over is
            # request data when a function of the file fills it.
            *container_filler_regions(tree, [*functions, *callers]),
        ]

    @cached_property
    def _spawn_methods(self) -> frozenset[str]:
        return frozenset(self.option("spawn_methods"))

    @cached_property
    def _limiter_pattern(self) -> re.Pattern[str]:
        return re.compile(str(self.option("limiter_name_pattern")), re.IGNORECASE)

    @cached_property
    def _skipped_file(self) -> bool:
        return self.skips_file(self.context.path, self.spec)

    def visit_Call(self, node: cst.Call) -> None:
        if self._skipped_file:
            return
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else None
        if isinstance(func, cst.Name):
            last = self.context.imports.aliases.get(func.value, func.value).rsplit(".", 1)[-1]
        if last is None:
            return
        found: FanOut | None = None
        if last == "gather":
            found = self._gathered(node)
        elif last in self._spawn_methods:
            found = self._spawned_in_loop(node, last)
        elif last in _POOL_MAPS and isinstance(func, cst.Attribute):
            found = self._pool_map(node, func)
        if found is None:
            return
        iterable, work = found
        function = self.context.enclosing_function()
        if function is None or self._exempt(function):
            return
        source = self._unbounded_source(iterable, function, node)
        if source is None or self._limited(function, work):
            return
        self.report(
            node,
            call=self.context.code_of(func),
            collection=self.context.code_of(source.collection),
            why=source.why,
        )

    # -- fan-out shapes ------------------------------------------------------------------

    def _gathered(self, node: cst.Call) -> FanOut | None:
        """`asyncio.gather(*(f(x) for x in xs))`, `gather(*tasks)` with `tasks` built
        from `xs` in the same function: (xs, the per-item call)."""
        if self.context.imports.call_name(node) not in self.option("gather_functions"):
            return None
        starred = next((a.value for a in node.args if a.star == "*"), None)
        if starred is None:
            return None
        if isinstance(starred, _COMPREHENSIONS):
            return _comprehension_source(starred)
        if isinstance(starred, cst.Call) and dotted_name(starred.func) == "map":
            callable_arg, items = positional_arg(starred, 0), positional_arg(starred, 1)
            if callable_arg is not None and items is not None:
                return items.value, callable_arg.value
            return None
        if isinstance(starred, cst.Name):
            return self._list_source(starred.value)
        return None

    def _list_source(self, name: str) -> FanOut | None:
        function = self.context.enclosing_function()
        if function is None:
            return None
        for value in assigned_values(function, self.context).get(name, ()):
            if isinstance(value, _COMPREHENSIONS):
                source = _comprehension_source(value)
                # `[create_task(f(x)) for x in xs]` is reported at `create_task`.
                if source is not None and not self._is_spawn(source[1]):
                    return source
                return None
        for node in descendants(function.body, stop_at=SCOPE_NODES):
            if isinstance(node, cst.For) and node.asynchronous is None:
                for inner in descendants(node.body, stop_at=SCOPE_NODES):
                    if (
                        isinstance(inner, cst.Call)
                        and isinstance(inner.func, cst.Attribute)
                        and inner.func.attr.value == "append"
                        and isinstance(inner.func.value, cst.Name)
                        and inner.func.value.value == name
                        and inner.args
                        and not self._is_spawn(inner.args[0].value)
                    ):
                        return node.iter, inner.args[0].value
        return None

    def _is_spawn(self, node: cst.BaseExpression | None) -> bool:
        return (
            isinstance(node, cst.Call)
            and isinstance(node.func, (cst.Attribute, cst.Name))
            and (node.func.attr.value if isinstance(node.func, cst.Attribute) else node.func.value)
            in self._spawn_methods
        )

    def _spawned_in_loop(self, node: cst.Call, last: str) -> FanOut | None:
        """`create_task`/`ensure_future`/`start_soon`/`submit`/`run_in_executor` once per
        iteration of a loop or comprehension of the same function: (xs, the work)."""
        if not node.args:
            return None
        if (
            last in ("create_task", "ensure_future")
            and isinstance(node.func, cst.Name)
            and self.context.imports.call_name(node) not in self.option("task_functions")
        ):
            return None
        stack = self.context.stack
        if len(stack) >= 2 and isinstance(stack[-2], cst.Await):
            return None  # awaited in place: one at a time
        work_arg = positional_arg(node, 1 if last == "run_in_executor" else 0)
        work = work_arg.value if work_arg is not None else None
        for ancestor in self.context.ancestors():
            if isinstance(ancestor, SCOPE_NODES):
                return None
            if isinstance(ancestor, cst.For):
                return None if ancestor.asynchronous is not None else (ancestor.iter, work)
            if isinstance(ancestor, _COMPREHENSIONS):
                return ancestor.for_in.iter, work
            if isinstance(ancestor, cst.While):
                return None
        return None

    def _pool_map(self, node: cst.Call, func: cst.Attribute) -> FanOut | None:
        """`executor.map(f, xs)` / `pool.imap(f, xs)` on a receiver named like a pool."""
        receiver = dotted_name(func.value) or ""
        if not _POOL_NAME.search(receiver.rsplit(".", 1)[-1]):
            return None
        work, items = positional_arg(node, 0), positional_arg(node, 1)
        if work is None or items is None:
            return None
        return items.value, work.value

    # -- where the items come from -------------------------------------------------------

    def _exempt(self, function: cst.FunctionDef) -> bool:
        return is_entry_point(function, self.context)

    def _unbounded_source(
        self, iterable: cst.BaseExpression, function: cst.FunctionDef, fanout: cst.Call
    ) -> Source | None:
        collection = _walked(iterable)
        if collection is None:
            return None
        chain = attribute_chain(collection) if isinstance(collection, cst.Attribute) else None
        root = _root_name(collection)
        if root is None:
            return None
        source: Source | None = None
        handler = id(function) in request_handlers(self.context)
        if handler and privileged_handler(function, self.context, self.option(PRIVILEGED)):
            return None  # only privileged callers choose what it fans out over
        if handler and chain is not None:
            bindings = request_bindings(function, self.context)
            if root in bindings:
                index = model_index(self.context)
                found = resolve_field(index, bindings[root], chain[1])
                if found is None or not index.top_collection_unbounded(found[2]):
                    return None
                owner, field, _ = found
                source = Source(collection, f"request field `{owner.rsplit('.', 1)[-1]}.{field}`")
        if source is None and handler and root in request_data_names(function, self.context):
            source = Source(collection, "request data")
        if source is None and isinstance(collection, cst.Name):
            param = next((p for p in handler_params(function) if p.name.value == root), None)
            if param is None or root in ("self", "cls"):
                return None
            if not self._unbounded_param(param) or not self._on_request_path(function):
                return None
            depth = int(self.option("max_call_depth"))
            if fed_by_server_data(function, root, self.context, depth):
                return None  # every caller passes the server's own data
            source = Source(collection, f"parameter `{root}`")
        if source is None:
            return None
        statement = self.context.current_statement(fanout) or fanout
        loop = next(
            (a for a in self.context.ancestors() if isinstance(a, cst.For) and a.iter is iterable),
            statement,
        )
        if guarded_before(function, loop, collection, self.context):
            return None
        return source

    def _on_request_path(self, function: cst.FunctionDef) -> bool:
        """A parameter's items come from a request when a handler reaches the function:
        in this file (by name) or from another file of the run (summaries). Elsewhere the
        caller is code of the same program (start-up, a batch job, a library's user)."""
        if self.option("parameters_anywhere"):
            return True
        depth = int(self.option("max_call_depth"))
        if request_paths(self.context, depth).describe(function) is not None:
            return True
        index = summary_index(self.context)
        if index is None:
            return False
        qualname = qualified_name(function, self.context)
        return index.handler_chain(self.context.module_name, qualname, depth) is not None

    def _unbounded_param(self, param: cst.Param) -> bool:
        tree = param_tree(param, self.context)
        kind = tree["k"]
        if kind == "any":
            return True
        if kind == "seq":
            return model_index(self.context).top_collection_unbounded(tree)
        if kind == "ref":
            return model_index(self.context).top_collection_unbounded(tree) or not tree.get("b")
        return kind == "union" and model_index(self.context).top_collection_unbounded(tree)

    # -- limits --------------------------------------------------------------------------

    def _limited(self, function: cst.FunctionDef, work: cst.BaseExpression | None) -> bool:
        """A semaphore or capacity limiter in the fanning-out function (or one enclosing
        it), or in the function each item runs."""
        scopes: list[cst.CSTNode] = [
            a for a in self.context.ancestors() if isinstance(a, cst.FunctionDef)
        ]
        target = _work_name(work)
        if target is not None:
            scopes.extend(
                f for f, _ in functions_with_owner(self.context.module) if f.name.value == target
            )
        return any(self._has_limiter(scope) for scope in scopes)

    def _has_limiter(self, scope: cst.CSTNode) -> bool:
        key = ("LG205.limiter", id(scope))
        cached = self.context.memo.get(key)
        if isinstance(cached, bool):
            return cached
        result = False
        body = scope.body if isinstance(scope, cst.FunctionDef) else scope
        for node in descendants(body, stop_at=(cst.ClassDef,)):
            if isinstance(node, cst.Call):
                name = self.context.imports.call_name(node)
                if matches_any(name, self.option("limiters")):
                    result = True
                    break
                func = node.func
                if (
                    isinstance(func, cst.Attribute)
                    and func.attr.value == "acquire"
                    and self._limiter_pattern.search(dotted_name(func.value) or "")
                ):
                    result = True
                    break
            elif isinstance(node, cst.WithItem):
                item = node.item
                text = dotted_name(item.func if isinstance(item, cst.Call) else item) or ""
                if self._limiter_pattern.search(text):
                    result = True
                    break
        self.context.memo[key] = result
        return result


@per_tree
def _fan_outs(tree: TriageTree, spec: RuleSpec) -> list[ast.Call]:
    """The fan-out shapes `visit_Call` looks at: `gather(*...)`, a spawn method called in
    a `for` loop or a comprehension, or `map(f, xs)` on a receiver named like a pool
    (names perhaps renamed on import). Remembered on the tree: `could_fire` and
    `regions` ask it with the same spec."""
    spawns = frozenset(spec.option("spawn_methods"))
    if not tree.functions or not tree.called & {"gather", *spawns, *_POOL_MAPS}:
        return []
    found: list[ast.Call] = []
    for call in tree.of(ast.Call):
        names = last_names(tree, call.func)
        starred = any(isinstance(a, ast.Starred) for a in call.args)
        if "gather" in names and starred:
            found.append(call)
        elif names & set(_POOL_MAPS) and isinstance(call.func, ast.Attribute):
            receiver = (dotted(call.func.value) or "").rsplit(".", 1)[-1]
            if _POOL_NAME.search(receiver) and (len(call.args) >= 2 or starred):
                found.append(call)
    loops: list[ast.AST] = [*tree.of(ast.For), *tree.of(*_AST_COMPREHENSIONS)]
    found.extend(
        node
        for loop in loops
        for node in tree.within(loop, SCOPES)
        if isinstance(node, ast.Call) and node.args and last_names(tree, node.func) & spawns
    )
    return found


def _comprehension_source(
    node: cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp,
) -> FanOut:
    element = node.value if isinstance(node, cst.DictComp) else node.elt
    return node.for_in.iter, element


def _walked(iterable: cst.BaseExpression) -> cst.BaseExpression | None:
    """The collection a loop really walks (`enumerate(x)` -> x, `x.items()` -> x,
    `range(len(x))` -> x); None for slices (`x[:10]` is bounded) and anything else."""
    node = iterable
    for _ in range(4):
        if isinstance(node, cst.Call):
            func = node.func
            positional = [a.value for a in node.args if a.keyword is None and not a.star]
            if isinstance(func, cst.Name) and func.value in ITERATION_WRAPPERS and positional:
                node = positional[0]
                continue
            if isinstance(func, cst.Name) and func.value == "zip" and positional:
                node = positional[0]
                continue
            if isinstance(func, cst.Name) and func.value == "range" and len(positional) == 1:
                inner = positional[0]
                if (
                    isinstance(inner, cst.Call)
                    and isinstance(inner.func, cst.Name)
                    and inner.func.value == "len"
                    and inner.args
                ):
                    node = inner.args[0].value
                    continue
                return None
            if isinstance(func, cst.Attribute) and func.attr.value in DICT_VIEWS and not positional:
                node = func.value
                continue
            return None
        break
    if isinstance(node, cst.Name):
        return node
    if isinstance(node, cst.Attribute) and dotted_name(node) is not None:
        return node
    if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name):
        # `data["items"]`: an item of request data; a slice is bounded.
        if any(isinstance(e.slice, cst.Slice) for e in node.slice):
            return None
        return node
    return None


def _root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _work_name(work: cst.BaseExpression | None) -> str | None:
    """`fetch` for `fetch(x)`, `self.fetch(x)`, `fetch` (a callable handed to submit)."""
    if isinstance(work, cst.Await):
        work = work.expression
    if isinstance(work, cst.Call):
        work = work.func
    if isinstance(work, cst.Name):
        return work.value
    if isinstance(work, cst.Attribute):
        return work.attr.value
    return None
