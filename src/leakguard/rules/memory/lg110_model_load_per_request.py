"""LG110 model-load-per-request: a model loaded inside a request handler, or in a function
a handler calls, instead of once at start-up."""

from __future__ import annotations

import ast
import re
from functools import cached_property

import libcst as cst

from leakguard.analysis.asyncio_facts import offload_call
from leakguard.analysis.frameworks import may_have_request_handlers
from leakguard.analysis.model_loads import (
    LoaderVocabulary,
    assignment_targets,
    declared_globals,
    is_lazy_initialiser,
    is_memoised,
    loader_name,
    model_load,
    persistent_key,
    returns_value_of,
    stores_persistently,
)
from leakguard.analysis.request_paths import (
    RequestPaths,
    dependency_target,
    functions_with_owner,
    handler_path_regions,
    own_calls,
    request_paths,
)
from leakguard.analysis.summaries import COLLECTOR as SUMMARIES
from leakguard.analysis.summaries import Vocabulary, cst_reference, summary_index
from leakguard.config import RuleSpec
from leakguard.finding import Related
from leakguard.rule import LintRule
from leakguard.triage import TriageTree
from leakguard.walker import SCOPE_NODES, descendants, walk


class ModelLoadPerRequest(LintRule):
    code = "LG110"
    PROJECT_FACTS = (SUMMARIES,)

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A function that may be a request handler: request paths start at the file's
        own handlers (a load may be any call, through the run's function summaries)."""
        return may_have_request_handlers(tree)

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """It reports in the functions on the file's request paths
        (`request_paths.handler_path_regions`)."""
        return handler_path_regions(tree, int(spec.option("max_call_depth")))

    @cached_property
    def _vocabulary(self) -> LoaderVocabulary:
        return LoaderVocabulary.from_options(self.options)

    @cached_property
    def _last_names(self) -> frozenset[str]:
        return self._vocabulary.last_names()

    @cached_property
    def _skipped_file(self) -> bool:
        return self.skips_file(self.context.path, self.spec)

    @cached_property
    def _reload_pattern(self) -> re.Pattern[str]:
        return re.compile(str(self.option("reload_function_pattern")), re.IGNORECASE)

    def visit_Call(self, node: cst.Call) -> None:
        if self._skipped_file:
            return
        loader = model_load(node, self.context, self._vocabulary, self._last_names)
        if loader is None:
            offload = offload_call(node, self.context)
            if offload is not None and offload.target is not None:
                # `await asyncio.to_thread(joblib.load, path)` loads per request just the same.
                loader = loader_name(offload.target, self.context, self._vocabulary)
        if loader is None:
            self._check_other_file(node)
            return
        function = self.context.enclosing_function()
        if function is None:
            return
        paths = self._paths()
        where = paths.describe(function)
        if where is None or self._loads_once(function):
            return
        where = self._per_request_path(node, function, paths, where)
        if where is not None:
            self.report(node, call=loader, where=where)

    def _check_other_file(self, node: cst.Call) -> None:
        """A call on a request path into a function of another file of the run that
        loads a model (transitively, through the run's function summaries)."""
        index = summary_index(self.context)
        function = self.context.enclosing_function()
        if index is None or function is None:
            return
        dependency = dependency_target(node, self.context)
        if dependency is not None:
            # `model=Depends(get_model)` with `get_model` imported: called per request.
            reference = cst_reference(dependency, self.context)
            target = index.resolve(self.context.module_name, reference) if reference else None
        else:
            target = index.callee(node, self.context)
        if target is None or target.split(":", 1)[0] == self.context.module_name:
            return  # unknown, or in this file: followed by name above
        where = self._paths().describe(function)
        if where is None or self._loads_once(function):
            return
        chain = index.find(
            target, self._summary_vocabulary, ("loads_model",), int(self.option("max_call_depth"))
        )
        if chain is None:
            return
        evidence = chain.evidence
        hops = " -> … -> " if len(chain.steps) > 2 else " -> "
        # The whole chain is in the related locations; the message names its two ends.
        shown = f"{chain.steps[0].label}{hops}{evidence.label}"
        place = f"{evidence.path.rsplit('/', 1)[-1]}:{evidence.line}"
        self.report(
            node,
            f"{shown} ({place}) loads a model per request in {where}",
            related=tuple(Related(path, line, text) for path, line, text in chain.related()),
        )

    @cached_property
    def _summary_vocabulary(self) -> Vocabulary:
        vocabulary = self._vocabulary
        return Vocabulary(loaders=(*vocabulary.calls, *vocabulary.generic_calls))

    def _paths(self) -> RequestPaths:
        return request_paths(
            self.context,
            int(self.option("max_call_depth")),
            lambda caller: [] if self._loads_once(caller) else own_calls(caller),
            key=("LG110", tuple(self.option("cache_decorators"))),
        )

    def _loads_once(self, function: cst.FunctionDef) -> bool:
        """Memoised, or a lazy initialiser: what it loads (or what it calls loads) is
        kept and loaded once per process (per key)."""
        return is_memoised(
            function, self.context, self.option("cache_decorators")
        ) or is_lazy_initialiser(function, self.context)

    def _per_request_path(
        self, node: cst.Call, function: cst.FunctionDef, paths: RequestPaths, where: str
    ) -> str | None:
        """How the load runs per request (`where`, or the path that does when a reload
        endpoint reached the function first), or None when it only replaces the shared
        model: `app.state.model = torch.load(path)` in a `reload_model` endpoint swaps the
        one shared model on purpose, nothing piles up and only that endpoint pays. So
        does a helper that loads and returns the model when every request-path function
        that calls it is such an endpoint storing the result (`request.app.state.ef =
        get_ef(name)` in `update_embedding_config`)."""
        statement = self.context.current_statement(node)
        if not isinstance(statement, cst.SimpleStatementLine):
            return where
        stored = False
        for small in statement.body:
            targets = assignment_targets(small)
            stored = stored or any(persistent_key(t, frozenset()) for t in targets)
        if stored:
            return None if self._reloads(function, paths) else where
        if not returns_value_of(function, statement, node):
            return where
        return self._helper_per_request(function, paths, where)

    def _reloads(self, function: cst.FunctionDef, paths: RequestPaths) -> bool:
        root = paths.roots.get(id(function), "")
        return bool(
            self._reload_pattern.search(function.name.value) or self._reload_pattern.search(root)
        )

    def _named_out_of_sight(self, helper: cst.FunctionDef, paths: RequestPaths) -> str | None:
        """Outside the bodies `_helper_per_request` reads (request-path functions),
        `helper` is only called where it stands (at import, in startup code): None.
        Named in a lambda of a request-path function, or as a value anywhere (`load =
        helper`, `{"st": helper}`), it may run per request out of sight: how (the
        message's `where`)."""
        name = helper.name.value
        stack: list[cst.CSTNode] = []
        found: str | None = None

        def visit(node: cst.CSTNode) -> None:
            nonlocal found
            if found is not None or not (isinstance(node, cst.Name) and node.value == name):
                return
            in_lambda = False
            function = None
            for scope in reversed(stack[:-1]):
                if isinstance(scope, cst.Lambda):
                    in_lambda = True
                elif isinstance(scope, cst.FunctionDef):
                    function = scope
                    break
            if function is helper:
                return
            on_path = function is not None and id(function) in paths.reached
            if on_path and not in_lambda:
                return  # read by `_helper_per_request`
            callee: cst.CSTNode = node
            parents = stack[-2::-1]
            if parents and isinstance(parents[0], cst.Attribute) and parents[0].attr is node:
                callee, parents = parents[0], parents[1:]
            call = parents[0] if parents else None
            if on_path and function is not None:
                found = f"`{name}` (in a lambda of {self._caller(function, paths)})"
            elif not (isinstance(call, cst.Call) and call.func is callee):
                found = self._through_value(name, stack, paths)

        walk(self.context.module, visit, stack=stack)
        return found

    def _through_value(self, name: str, stack: list[cst.CSTNode], paths: RequestPaths) -> str:
        """`where` for `helper` handed on as a value: through the module-level name it is
        stored under (`load = helper`, `LOADERS = {"st": helper}`) when a request-path
        function reads that name, else the line that hands it on."""
        mention = stack[-1]
        statement = next((n for n in stack if isinstance(n, cst.SimpleStatementLine)), None)
        assigned: set[str] = set()
        if statement is not None and statement in self.context.module.body:
            for small in statement.body:
                for target in assignment_targets(small):
                    if isinstance(target, cst.Name):
                        assigned.add(target.value)
        for caller, _owner in functions_with_owner(self.context.module):
            if not assigned or id(caller) not in paths.reached:
                continue
            alias = next(
                (
                    n.value
                    for n in descendants(caller.body, stop_at=SCOPE_NODES)
                    if isinstance(n, cst.Name) and n.value in assigned
                ),
                None,
            )
            if alias is not None:
                return f"`{name}` (as `{alias}` in {self._caller(caller, paths)})"
        return f"`{name}` (handed on as a value at line {self.context.line_of(mention)})"

    @staticmethod
    def _caller(function: cst.FunctionDef, paths: RequestPaths) -> str:
        """A request-path function as a message names it: the handler itself, or the
        function with the handler it is reached from."""
        root = paths.roots.get(id(function), "")
        if function.name.value == root:
            return f"request handler `{root}`"
        return f"`{function.name.value}`, reached from request handler `{root}`"

    def _helper_per_request(
        self, helper: cst.FunctionDef, paths: RequestPaths, where: str
    ) -> str | None:
        """None when every function on a request path that names `helper` calls it only
        as the value of a store into state that outlives the request, and is (or is
        reached from) a reload endpoint; at least one does. Else the path that runs it per
        request: a caller that uses the model itself, hands the helper on
        (`to_thread(helper, ...)`) or stores it elsewhere, or `where` when none names it."""
        name = helper.name.value
        escaped = self._named_out_of_sight(helper, paths)
        if escaped is not None:
            return escaped
        found = False
        for caller, _owner in functions_with_owner(self.context.module):
            if caller is helper or id(caller) not in paths.reached:
                continue
            mentions = [
                n
                for n in descendants(caller.body, stop_at=SCOPE_NODES)
                if (isinstance(n, cst.Name) and n.value == name)
                or (isinstance(n, cst.Attribute) and n.attr.value == name)
            ]
            if not mentions:
                continue
            globals_ = declared_globals(caller)
            stored: set[int] = set()
            for small in descendants(caller.body, stop_at=SCOPE_NODES):
                if (
                    isinstance(small, (cst.Assign, cst.AnnAssign))
                    and isinstance(small.value, cst.Call)
                    and stores_persistently(small, globals_)
                ):
                    stored.add(id(small.value.func))
                    if isinstance(small.value.func, cst.Attribute):
                        stored.add(id(small.value.func.attr))
                    # The slot stored into (`state.embedder = embedder(name)`) names
                    # no call of the helper.
                    for target in assignment_targets(small):
                        if isinstance(target, cst.Attribute):
                            stored.update((id(target), id(target.attr)))
            if any(id(n) not in stored for n in mentions) or not self._reloads(caller, paths):
                return f"`{name}` (called by {self._caller(caller, paths)})"
            found = True
        return None if found else where
