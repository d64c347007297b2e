"""LG401 unsafe-deserialization: loaders that execute code embedded in the data."""

from __future__ import annotations

import ast

import libcst as cst

from leakguard.analysis.caches import WEB_FRAMEWORKS
from leakguard.analysis.calls import is_literal_false, is_literal_true, keyword_arg, positional_arg
from leakguard.analysis.entrypoints import command_line_code, may_be_command_line_program
from leakguard.analysis.imports import matches_any
from leakguard.analysis.integrity import (
    DIRECTORY_WRITER_CALLS,
    OWN_FORMAT_CALLER_DEPTH,
    class_state_round_trip,
    innermost_scope,
    own_format_round_trip,
    private_round_trip,
    refused_unless_opted_in,
    round_trip,
    shipped_text_config,
)
from leakguard.analysis.scopes import module_bindings
from leakguard.analysis.startup import COLLECTOR as STARTUP
from leakguard.analysis.summaries import COLLECTOR as SUMMARIES
from leakguard.config import RuleSpec
from leakguard.fixes import Applicability, FixPlan, Rewrite, replace, without_arg
from leakguard.fixes.names import renamed_callee
from leakguard.rule import LintRule
from leakguard.slicing import (
    callee_regions,
    caller_regions,
    constant_user_regions,
    enclosing_class,
    format_pair_regions,
)
from leakguard.triage import (
    TriageTree,
    calls_resolve_to,
    calls_resolving_to,
    enclosing_function,
    imports_any,
)
from leakguard.triage import dotted as ast_dotted

# Loaders that `yaml.safe_load` replaces with a behaviour change (they build Python
# objects that a safe loader refuses); a custom loader class is left to a human.
_UNSAFE_YAML_LOADERS = frozenset({"FullLoader", "Loader", "UnsafeLoader"})

_CALL_OPTIONS = (
    "unsafe_calls",
    "yaml_load_calls",
    "numpy_load_calls",
    "torch_load_calls",
    "keras_load_calls",
)

_PICKLE_FIX = (
    "Use a format that holds data only: skops.io.load with an explicit trusted= list, "
    "ONNX, safetensors or JSON."
)


def _loads_bytes(call: ast.Call) -> bool:
    """`pickle.loads(blob)`, `marshal.loads(data)`: a load of a value, not of a file."""
    return (ast_dotted(call.func) or "").rsplit(".", 1)[-1] == "loads"


class UnsafeDeserialization(LintRule):
    code = "LG401"
    # `entrypoints.command_line_program` asks whether a route of the run reaches the file.
    PROJECT_FACTS = (SUMMARIES, STARTUP)

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A call that may resolve to one of the configured loaders."""
        return any(calls_resolve_to(tree, spec.option(option)) for option in _CALL_OPTIONS)

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """The candidate calls (the round trip is judged in the call's function; safe
        loader classes are module-level) and the functions of the file those functions
        call: a helper that writes the file it returns makes a round trip. A YAML load in
        a file that may be a command-line program and imports no web framework is judged
        with the whole file (`integrity.shipped_text_config` reads every call of it)."""
        calls = [
            *calls_resolving_to(tree, [p for option in _CALL_OPTIONS for p in spec.option(option)])
        ]
        yaml_calls = [p for p in spec.option("unsafe_calls") if p.startswith("yaml.")]
        if (
            not imports_any(tree, WEB_FRAMEWORKS)
            and may_be_command_line_program(tree)
            and calls_resolve_to(tree, [*yaml_calls, *spec.option("yaml_load_calls")])
        ):
            return None  # `integrity.shipped_text_config` reads every write of the file
        functions = [f for call in calls if (f := enclosing_function(tree, call)) is not None]
        # `integrity.private_round_trip` and `own_format_round_trip`: every other use of
        # a constant file name the load's function reads, and (the latter) the functions
        # of the file that call the load's function, whether they download first.
        # `integrity.class_state_round_trip`: the classes of a file load's function and
        # of its callers (the state file method, every other use of it, the writes); a
        # load of bytes (`pickle.loads(blob)`) reads no state file, its class may go.
        callers = caller_regions(tree, functions, OWN_FORMAT_CALLER_DEPTH + 1)
        file_loads = [
            f
            for call in calls
            if not _loads_bytes(call) and (f := enclosing_function(tree, call)) is not None
        ]
        stateful = caller_regions(tree, file_loads, OWN_FORMAT_CALLER_DEPTH + 1)
        return [
            *calls,
            *callee_regions(tree, functions, 1),
            *constant_user_regions(tree, functions),
            *callers,
            *format_pair_regions(tree, functions, DIRECTORY_WRITER_CALLS),
            *(c for node in stateful if (c := enclosing_class(tree, node)) is not None),
        ]

    def visit_Call(self, node: cst.Call) -> None:
        name = self.context.imports.call_name(node)
        if name is None:
            return
        verdict = self._verdict(name, node)
        source = node.args[0].value if node.args else None
        if verdict is None or refused_unless_opted_in(
            node, self.context, self.option("opt_in_switches")
        ):
            return
        if not (
            source is not None
            and (
                round_trip(node, source, self.context)
                or private_round_trip(node, source, self.context)
                or own_format_round_trip(node, source, self.context)
                or class_state_round_trip(node, source, self.context)
                or self._shipped_config(name, source)
            )
        ):
            why, fix = verdict
            self.report(node, call=name, why=why, fix=fix, fix_plan=self._fix_plan(name, node))

    def _shipped_config(self, name: str, source: cst.BaseExpression) -> bool:
        """A YAML loader reading a config file versioned with the code, in a command-line
        program (a developer's or operator's script, not a service), run by the program
        itself (not on import): the `!!python` tags it needs are reviewed in the
        repository like the code that loads them."""
        return (
            name.startswith("yaml.")
            and command_line_code(self.context)
            and shipped_text_config(source, innermost_scope(self.context), self.context)
        )

    def _verdict(self, name: str, node: cst.Call) -> tuple[str, str] | None:
        if matches_any(name, self.option("unsafe_calls")):
            if name.startswith("yaml."):
                return "constructs arbitrary Python objects", "Use yaml.safe_load."
            if name.startswith("marshal."):
                return "loads code objects and crashes on crafted input", _PICKLE_FIX
            if name.startswith("joblib.") or name.endswith(".joblib.load"):
                return "unpickles the file (joblib uses pickle, so it is not a fix)", _PICKLE_FIX
            return "unpickles its input", _PICKLE_FIX
        if matches_any(name, self.option("yaml_load_calls")):
            loader = keyword_arg(node, "Loader") or positional_arg(node, 1)
            if loader is None or not self._is_safe_loader(loader.value):
                return (
                    "without a safe Loader constructs arbitrary Python objects",
                    "Use yaml.safe_load or Loader=yaml.SafeLoader.",
                )
            return None
        if matches_any(name, self.option("numpy_load_calls")):
            # numpy.load(file, mmap_mode=None, allow_pickle=False, ...)
            allow = keyword_arg(node, "allow_pickle") or positional_arg(node, 2)
            if allow is not None and is_literal_true(allow.value):
                return "with allow_pickle=True unpickles object arrays", "Drop allow_pickle=True."
            return None
        if matches_any(name, self.option("torch_load_calls")):
            weights_only = keyword_arg(node, "weights_only")
            if weights_only is None:
                if self.option("torch_before_2_6"):
                    return (
                        "without weights_only=True unpickles the checkpoint (torch < 2.6)",
                        "Pass weights_only=True or use safetensors.",
                    )
                return None
            if is_literal_false(weights_only.value):
                return (
                    "with weights_only=False unpickles the checkpoint",
                    "Pass weights_only=True or use safetensors.",
                )
            return None
        if matches_any(name, self.option("keras_load_calls")):
            safe_mode = keyword_arg(node, "safe_mode")
            if safe_mode is not None and is_literal_false(safe_mode.value):
                return (
                    "with safe_mode=False deserializes arbitrary lambdas",
                    "Keep safe_mode=True (the default).",
                )
        return None

    def _is_safe_loader(self, loader: cst.BaseExpression, depth: int = 3) -> bool:
        qualified = self.context.imports.qualify(loader)
        text = qualified or (loader.value if isinstance(loader, cst.Name) else "")
        if text.rsplit(".", 1)[-1] in self.option("yaml_safe_loaders"):
            return True
        # `class StrictLoader(yaml.SafeLoader): ...` defined in this file is safe too.
        if isinstance(loader, cst.Name) and qualified is None and depth > 0:
            defined = module_bindings(self.context).get(loader.value)
            if isinstance(defined, cst.ClassDef):
                return any(self._is_safe_loader(b.value, depth - 1) for b in defined.bases)
        return False

    # -- fixes ------------------------------------------------------------------------------

    def _fix_plan(self, name: str, node: cst.Call) -> FixPlan | None:
        if name == "yaml.load":
            return self._yaml_fix(node)
        if matches_any(name, self.option("torch_load_calls")):
            weights_only = keyword_arg(node, "weights_only")
            if weights_only is not None and is_literal_false(weights_only.value):
                value = weights_only.value
                return FixPlan(
                    "Pass `weights_only=True`",
                    Applicability.UNSAFE,
                    lambda: replace(value, cst.Name("True")),
                )
        return None

    def _yaml_fix(self, node: cst.Call) -> FixPlan | None:
        """`yaml.load(x)` -> `yaml.safe_load(x)`: safe, as PyYAML >= 6 requires a Loader
        and so this call fails today anyway. With `Loader=FullLoader/Loader/UnsafeLoader`
        the loader is dropped too: unsafe, as tagged Python objects no longer load."""
        loader = keyword_arg(node, "Loader") or positional_arg(node, 1)
        if loader is None:
            applicability = Applicability.SAFE
        else:
            qualified = self.context.imports.qualify(loader.value) or ""
            if qualified.rsplit(".", 1)[-1] not in _UNSAFE_YAML_LOADERS:
                return None
            applicability = Applicability.UNSAFE

        def build() -> Rewrite | None:
            callee = renamed_callee(self.context, node.func, "yaml.safe_load")
            if callee is None:
                return None
            func, needed = callee
            call = node if loader is None else without_arg(node, loader)
            return replace(node, call.with_changes(func=func), *([needed] if needed else []))

        return FixPlan("Use `yaml.safe_load`", applicability, build)
