"""LG110 model-load-per-request: a model loaded inside a request handler, or in a function
a handler calls, instead of once at start-up."""

from __future__ import annotations

import re
from functools import cached_property

import libcst as cst

from leakguard.analysis.asyncio_facts import is_test_file, offload_call
from leakguard.analysis.model_loads import (
    LoaderVocabulary,
    is_lazy_initialiser,
    is_memoised,
    loader_name,
    model_load,
    persistent_key,
)
from leakguard.analysis.request_paths import RequestPaths, own_calls, request_paths
from leakguard.rule import LintRule


class ModelLoadPerRequest(LintRule):
    code = "LG110"

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
            if offload is None or offload.target is None:
                return
            # `await asyncio.to_thread(joblib.load, path)` loads per request just the same.
            loader = loader_name(offload.target, self.context, self._vocabulary)
            if loader is None:
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
        shared model on purpose: nothing piles up and only that endpoint pays."""
        statement = self.context.current_statement(node)
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        stored = False
        for small in statement.body:
            if isinstance(small, (cst.Assign, cst.AnnAssign)):
                targets = (
                    [t.target for t in small.targets]
                    if isinstance(small, cst.Assign)
                    else [small.target]
                )
                stored = stored or any(persistent_key(t, frozenset()) for t in targets)
        if not stored:
            return False
        root = paths.roots.get(id(function), "")
        return bool(
            self._reload_pattern.search(function.name.value) or self._reload_pattern.search(root)
        )
