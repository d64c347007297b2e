"""LG503 debug-mode-enabled: framework debug mode hard-coded on."""

from __future__ import annotations

import ast
from pathlib import PurePosixPath

import libcst as cst

from leakguard.analysis.bindings import assigned_values, module_assigned_once
from leakguard.analysis.calls import is_literal_true, keyword_arg
from leakguard.analysis.imports import dotted_name, matches_any
from leakguard.config import RuleSpec
from leakguard.fixes import Applicability, FixPlan, replace, without_arg
from leakguard.rule import LintRule
from leakguard.slicing import callee_regions, units_of
from leakguard.triage import TriageTree, first_line
from leakguard.walker import SCOPE_NODES, descendants

_ASGI = (
    "unhandled errors return full tracebacks (source lines, file paths, local values) to "
    "every client"
)
_FLASK = (
    "the Werkzeug debugger lets whoever reaches an error page run Python code in the "
    "server, and tracebacks are shown to clients"
)
_DJANGO = (
    "error pages show tracebacks, settings and SQL to visitors, and every SQL query is "
    "kept in memory"
)


_FACTORY_NAMES = frozenset({"create_app", "make_app"})
# How many calls deep `_builds_app` follows the file's factory functions.
_FACTORY_DEPTH = 2
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _candidates(tree: TriageTree) -> list[ast.AST]:
    """Calls with a `debug=`/`DEBUG=` keyword; assignments to `.debug`, `config[...]` or
    `DEBUG`."""
    found: list[ast.AST] = [
        call
        for call in tree.of(ast.Call)
        if any(k.arg in ("debug", "DEBUG") for k in call.keywords)
    ]
    for node in tree.of(ast.Assign):
        for target in node.targets:
            config = target.value if isinstance(target, ast.Subscript) else None
            if (
                (isinstance(target, ast.Attribute) and target.attr == "debug")
                or (isinstance(config, ast.Attribute) and config.attr == "config")
                or (isinstance(target, ast.Name) and target.id == "DEBUG")
            ):
                found.append(node)
                break
    return found


class DebugModeEnabled(LintRule):
    code = "LG503"

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A `debug=`/`DEBUG=` keyword, or an assignment to `.debug`, `config[...]` or
        `DEBUG`."""
        return bool(_candidates(tree))

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Each candidate, and the app factories its value or receiver may come from:
        functions of the file called (by name, two levels down) from the function
        around a candidate or from module-level code (`app = create_app()`)."""
        candidates = _candidates(tree)
        if not candidates:
            return []
        # The always-kept code: module-level statements and class bodies' non-defs.
        callers: list[ast.AST] = []
        for statement in tree.tree.body:
            body = statement.body if isinstance(statement, ast.ClassDef) else [statement]
            callers.extend(s for s in body if not isinstance(s, _FUNCTIONS))
        lines = [first_line(node) for node in candidates]
        callers.extend(
            unit
            for unit in units_of(tree)
            if any(
                first_line(unit) <= line <= (getattr(unit, "end_lineno", 0) or 0) for line in lines
            )
        )
        return [*candidates, *callee_regions(tree, callers, _FACTORY_DEPTH)]

    def visit_Call(self, node: cst.Call) -> None:
        debug = keyword_arg(node, "debug")
        func = node.func
        if debug is not None:
            if not self._is_true(debug.value):
                return
            if isinstance(func, cst.Attribute) and func.attr.value == "run":
                if self._is_app(func.value, "flask_app_constructors"):
                    shown = f"{self.context.code_of(func.value)}.run({self._arg_text(debug)})"
                    fix_plan = remove_debug_fix(node, debug)
                    self.report(debug, what=f"`{shown}`", consequence=_FLASK, fix_plan=fix_plan)
                return
            qualified = self.context.imports.call_name(node)
            if matches_any(qualified, self.option("asgi_app_constructors")):
                name = (qualified or "").rsplit(".", 1)[-1]
                what = f"`{name}({self._arg_text(debug)})`"
                fix_plan = remove_debug_fix(node, debug)
                self.report(debug, what=what, consequence=_ASGI, fix_plan=fix_plan)
            return
        # app.config.update(DEBUG=True)
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "update"
            and isinstance(func.value, cst.Attribute)
            and func.value.attr.value == "config"
            and self._is_app(func.value.value, "flask_app_constructors")
        ):
            flag = keyword_arg(node, "DEBUG")
            if flag is not None and self._is_true(flag.value):
                self.report(flag, what="`config.update(DEBUG=True)`", consequence=_FLASK)

    def visit_Assign(self, node: cst.Assign) -> None:
        # Target shape first: value checks may look up assignments in the function.
        target = node.targets[0].target
        if isinstance(target, cst.Attribute) and target.attr.value == "debug":
            if self._is_true(node.value):
                self._attribute_debug(node, target)
        elif isinstance(target, cst.Subscript):
            config = target.value
            is_config = isinstance(config, cst.Attribute) and config.attr.value == "config"
            if is_config and self._is_true(node.value):
                self._config_debug(node, target)
        elif (
            isinstance(target, cst.Name) and target.value == "DEBUG" and is_literal_true(node.value)
        ):
            self._django_debug(node)

    def _attribute_debug(self, node: cst.Assign, target: cst.Attribute) -> None:
        receiver = target.value
        shown = self.context.code_of(receiver)
        if self._is_app(receiver, "asgi_app_constructors", by_name=False):
            self.report(node, what=f"`{shown}.debug = True`", consequence=_ASGI)
        elif self._is_app(receiver, "flask_app_constructors"):
            self.report(node, what=f"`{shown}.debug = True`", consequence=_FLASK)

    def _config_debug(self, node: cst.Assign, target: cst.Subscript) -> None:
        config = target.value
        if not (isinstance(config, cst.Attribute) and config.attr.value == "config"):
            return
        if len(target.slice) != 1 or not isinstance(target.slice[0].slice, cst.Index):
            return
        key = target.slice[0].slice.value
        if (
            isinstance(key, cst.SimpleString)
            and key.evaluated_value == "DEBUG"
            and self._is_app(config.value, "flask_app_constructors")
        ):
            self.report(node, what='`config["DEBUG"] = True`', consequence=_FLASK)

    def _django_debug(self, node: cst.Assign) -> None:
        # Only a top-level statement: `if ENV == "dev": DEBUG = True` is configuration.
        if len(self.context.stack) != 3 or not self._is_settings_module():
            return
        self.report(node, what="`DEBUG = True` in a Django settings module", consequence=_DJANGO)

    def _arg_text(self, arg: cst.Arg) -> str:
        keyword = arg.keyword.value if arg.keyword is not None else ""
        return f"{keyword}={self.context.code_of(arg.value)}"

    # -- facts ------------------------------------------------------------------------------

    def _is_true(self, value: cst.BaseExpression, depth: int = 2) -> bool:
        if is_literal_true(value):
            return True
        if isinstance(value, cst.Name) and depth > 0:
            function = self.context.enclosing_function()
            if function is not None:
                local = assigned_values(function, self.context).get(value.value)
                if local:
                    return all(self._is_true(v, depth - 1) for v in local)
            bound = module_assigned_once(value.value, self.context)
            return bound is not None and self._is_true(bound, depth - 1)
        return False

    def _is_app(
        self, receiver: cst.BaseExpression, constructors: str, by_name: bool = True
    ) -> bool:
        if isinstance(receiver, cst.Call):
            return self._builds_app(receiver, constructors)
        if not isinstance(receiver, cst.Name):
            return False
        values: list[cst.BaseExpression] = []
        function = self.context.enclosing_function()
        if function is not None:
            values = assigned_values(function, self.context).get(receiver.value, [])
        if not values:
            bound = module_assigned_once(receiver.value, self.context)
            values = [bound] if bound is not None else []
        if any(isinstance(v, cst.Call) and self._builds_app(v, constructors) for v in values):
            return True
        # `app = create_app()`: an app by convention when its origin is not visible.
        return by_name and receiver.value in self.option("app_names")

    def _builds_app(self, call: cst.Call, constructors: str, depth: int = _FACTORY_DEPTH) -> bool:
        """A constructor call, or a factory: `create_app()`/`make_app()` (the names
        Flask's CLI looks for) or a function of this file that returns a constructed
        app."""
        qualified = self.context.imports.call_name(call)
        if matches_any(qualified, self.option(constructors)):
            return True
        name = dotted_name(call.func) or ""
        if name.rsplit(".", 1)[-1] in _FACTORY_NAMES and constructors == "flask_app_constructors":
            return True
        if depth == 0 or not isinstance(call.func, cst.Name):
            return False
        for statement in self.context.module.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
                returned = [
                    n.value
                    for n in descendants(statement.body, stop_at=SCOPE_NODES)
                    if isinstance(n, cst.Return) and n.value is not None
                ]
                local = assigned_values(statement, self.context)
                for value in returned:
                    candidates = (
                        local.get(value.value, []) if isinstance(value, cst.Name) else [value]
                    )
                    if any(
                        isinstance(c, cst.Call) and self._builds_app(c, constructors, depth - 1)
                        for c in candidates
                    ):
                        return True
        return False

    def _is_settings_module(self) -> bool:
        path = PurePosixPath(self.context.path.replace("\\", "/"))
        if path.stem in self.option("ignore_settings_modules"):
            return False
        if path.name == "settings.py" or "settings" in path.parent.parts[-1:]:
            return True
        markers = self.option("django_settings_markers")
        return any(module_assigned_once(m, self.context) is not None for m in markers)


# -- fix ------------------------------------------------------------------------------------


def remove_debug_fix(call: cst.Call, debug: cst.Arg) -> FixPlan | None:
    """A literal `debug=True` keyword removed (the frameworks default to off). Unsafe:
    whoever relied on the debugger or tracebacks in development loses them; enable
    debug from the environment there instead. A value that is only known to be true
    through a variable is left alone: the variable is what to change."""
    if not is_literal_true(debug.value):
        return None
    return FixPlan(
        "Remove `debug=True`",
        Applicability.UNSAFE,
        lambda: replace(call, without_arg(call, debug)),
    )
