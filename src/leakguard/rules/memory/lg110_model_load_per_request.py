"""LG110 model-load-per-request: a model loaded inside a request handler, or in a function
a handler calls, instead of once at start-up."""

from __future__ import annotations

import ast
import re
from functools import cached_property

import libcst as cst

from leakguard.analysis.asyncio_facts import is_test_file, offload_call
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
        return bool(self.option("skip_tests")) and is_test_file(self.context.path)

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
        if self._replaces_shared_model(node, function, paths):
            return
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

    def _replaces_shared_model(
        self, node: cst.Call, function: cst.FunctionDef, paths: RequestPaths
    ) -> bool:
        """`app.state.model = torch.load(path)` in a `reload_model` endpoint swaps the one
        shared model on purpose: nothing piles up and only that endpoint pays. So does a
        helper that loads and returns the model when every request-path function that
        calls it is such an endpoint storing the result (`request.app.state.ef =
        get_ef(name)` in `update_embedding_config`)."""
        statement = self.context.current_statement(node)
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        stored = False
        for small in statement.body:
            targets = assignment_targets(small)
            stored = stored or any(persistent_key(t, frozenset()) for t in targets)
        if stored:
            return self._reloads(function, paths)
        return returns_value_of(function, statement, node) and self._callers_store_it(
            function, paths
        )

    def _reloads(self, function: cst.FunctionDef, paths: RequestPaths) -> bool:
        root = paths.roots.get(id(function), "")
        return bool(
            self._reload_pattern.search(function.name.value) or self._reload_pattern.search(root)
        )

    def _named_off_request_paths_only_in_calls(
        self, helper: cst.FunctionDef, paths: RequestPaths
    ) -> bool:
        """Outside the bodies `_callers_store_it` reads (request-path functions), `helper`
        is only called where it stands (at import, in startup code). Named in a lambda of
        a request-path function, or as a value anywhere (`load = helper`, `{"st":
        helper}`), it may run per request out of sight: False."""
        name = helper.name.value
        stack: list[cst.CSTNode] = []
        ok = True

        def visit(node: cst.CSTNode) -> None:
            nonlocal ok
            if not ok or not (isinstance(node, cst.Name) and node.value == name):
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
                return  # read by `_callers_store_it`
            callee: cst.CSTNode = node
            parents = stack[-2::-1]
            if parents and isinstance(parents[0], cst.Attribute) and parents[0].attr is node:
                callee, parents = parents[0], parents[1:]
            call = parents[0] if parents else None
            ok = not on_path and isinstance(call, cst.Call) and call.func is callee

        walk(self.context.module, visit, stack=stack)
        return ok

    def _callers_store_it(self, helper: cst.FunctionDef, paths: RequestPaths) -> bool:
        """Every function on a request path that names `helper` calls it only as the
        value of a store into state that outlives the request, and is (or is reached
        from) a reload endpoint; at least one does. A caller that uses the model itself,
        hands the helper on (`to_thread(helper, ...)`) or stores it elsewhere keeps the
        finding."""
        name = helper.name.value
        if not self._named_off_request_paths_only_in_calls(helper, paths):
            return False
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
            if any(id(n) not in stored for n in mentions) or not self._reloads(caller, paths):
                return False
            found = True
        return found
