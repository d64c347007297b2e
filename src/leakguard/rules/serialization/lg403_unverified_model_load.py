"""LG403 unverified-model-load: model files loaded without comparing a digest first."""

from __future__ import annotations

import ast

import libcst as cst

from leakguard.analysis.arguments import DEFAULT_DEPTH, from_command_line
from leakguard.analysis.calls import keyword_arg, positional_arg
from leakguard.analysis.entrypoints import main_block_ast
from leakguard.analysis.files import in_memory_buffer
from leakguard.analysis.imports import matches_any
from leakguard.analysis.integrity import (
    DIRECTORY_WRITER_CALLS,
    CheckVocabulary,
    checked_before,
    filled_directory_round_trip,
    innermost_scope,
    own_format_round_trip,
    private_round_trip,
    round_trip,
)
from leakguard.analysis.startup import COLLECTOR as STARTUP
from leakguard.analysis.summaries import COLLECTOR as SUMMARIES
from leakguard.config import RuleSpec
from leakguard.rule import LintRule
from leakguard.slicing import (
    callee_regions,
    caller_regions,
    constant_user_regions,
    format_pair_regions,
)
from leakguard.triage import (
    TriageTree,
    calls_resolve_to,
    calls_resolving_to,
    enclosing_function,
)

# Keyword names under which the loaders above take their source.
_SOURCE_KEYWORDS = ("filename", "f", "file", "filepath", "path", "path_or_bytes", "export_dir")
_MAX_SHOWN = 40


class UnverifiedModelLoad(LintRule):
    code = "LG403"
    # Function summaries of the run: integrity checks in helpers of other files.
    PROJECT_FACTS = (SUMMARIES, STARTUP)

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A call that may resolve to one of the configured model loaders."""
        return calls_resolve_to(tree, spec.option("model_load_calls")) or calls_resolve_to(
            tree, spec.option("generic_load_calls")
        )

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Each load's function with the functions of the file it may call, as deep as a
        digest check is looked for (`integrity.checked_before`) and, for a pickle-like
        loader, the imports of ML packages (`_model_context` reads every import). A load
        outside any function is judged with the module's own code: the whole file."""
        generic = calls_resolving_to(tree, spec.option("generic_load_calls"))
        functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        for call in [*calls_resolving_to(tree, spec.option("model_load_calls")), *generic]:
            function = enclosing_function(tree, call)
            if function is None:
                return None
            functions.append(function)
        depth = int(spec.option("max_call_depth"))
        found: list[ast.AST] = [*functions, *callee_regions(tree, functions, depth)]
        # `arguments.from_command_line`: who calls the load's function with what, and
        # the argparse helper the main block calls.
        found.extend(caller_regions(tree, functions, DEFAULT_DEPTH))
        main = main_block_ast(tree)
        if main is not None:
            found.extend(callee_regions(tree, [main]))
        if generic:
            found.extend(_ml_imports(tree, spec.option("ml_packages")))
        # `integrity.private_round_trip`: every other use of a constant file name.
        found.extend(constant_user_regions(tree, functions))
        # `integrity.own_format_round_trip`: who may fill the directory a load reads
        found.extend(format_pair_regions(tree, functions, DIRECTORY_WRITER_CALLS))
        return found

    def visit_Call(self, node: cst.Call) -> None:
        if not node.args:
            return
        name = self.context.imports.call_name(node)
        if name is None:
            return
        generic = matches_any(name, self.option("generic_load_calls"))
        if not generic and not matches_any(name, self.option("model_load_calls")):
            return
        source = self._source(node)
        if source is None or (generic and not self._model_context(source)):
            return
        scope = innermost_scope(self.context)
        vocabulary = CheckVocabulary(
            tuple(self.option("compare_calls")),
            tuple(self.option("digest_calls")),
            int(self.option("max_call_depth")),
        )
        if (
            checked_before(node, scope, self.context, vocabulary)
            or round_trip(node, source, self.context)
            or private_round_trip(node, source, self.context)
            or filled_directory_round_trip(node, source, self.context)
            or own_format_round_trip(node, source, self.context)
        ):
            return
        if from_command_line(source, scope, self.context):
            return  # the operator's own file, named on the command line
        if in_memory_buffer(source, scope, self.context):
            return  # bytes handed over in memory: no file or path to verify (LG401's part)
        self.report(node, call=name, source=self._shown(source), scope=self._scope_label(scope))

    def _model_context(self, source: cst.BaseExpression) -> bool:
        """For pickle-like loaders: is a model plausible here?"""
        packages = self.option("ml_packages")
        if any(t.split(".", 1)[0] in packages for t in self.context.imports.aliases.values()):
            return True
        parts = self.option("model_name_parts")
        texts = [self.context.code_of(source)]
        statement = self.context.current_statement(source)
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)):
                    texts.append(self.context.code_of(small))
        function = self.context.enclosing_function()
        if function is not None:
            texts.append(function.name.value)
            texts.extend(p.name.value for p in function.params.params)
        lowered = " ".join(texts).lower()
        return any(part in lowered for part in parts)

    @staticmethod
    def _source(node: cst.Call) -> cst.BaseExpression | None:
        for keyword in _SOURCE_KEYWORDS:
            found = keyword_arg(node, keyword)
            if found is not None:
                return found.value
        first = positional_arg(node, 0)
        return first.value if first is not None else None

    def _shown(self, expression: cst.BaseExpression) -> str:
        text = " ".join(self.context.code_of(expression).split())
        return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."

    @staticmethod
    def _scope_label(scope: cst.CSTNode) -> str:
        if isinstance(scope, cst.FunctionDef):
            return f"`{scope.name.value}()`"
        if isinstance(scope, cst.ClassDef):
            return f"the body of class `{scope.name.value}`"
        return "this module"


def _ml_imports(tree: TriageTree, packages: list[str]) -> list[ast.AST]:
    """The imports that may bind a name to one of `packages` (relative ones included: the
    file's own package may be one)."""
    wanted = set(packages)
    found: list[ast.AST] = []
    for statement in tree.of(ast.Import):
        if any(alias.name.split(".", 1)[0] in wanted for alias in statement.names):
            found.append(statement)
    for source in tree.of(ast.ImportFrom):
        if source.level or (source.module or "").split(".", 1)[0] in wanted:
            found.append(source)
    return found
