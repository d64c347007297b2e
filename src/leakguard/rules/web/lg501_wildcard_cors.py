"""LG501 wildcard-cors: CORS configurations that allow every origin."""

from __future__ import annotations

import ast
import re

import libcst as cst

from leakguard.analysis.bindings import assigned_values, module_assigned_once
from leakguard.analysis.calls import is_literal_true, keyword_arg, positional_arg
from leakguard.analysis.frameworks import static_files_class
from leakguard.analysis.imports import matches_any
from leakguard.analysis.summaries import COLLECTOR as SUMMARIES
from leakguard.config import RuleSpec, bundled_rule_specs
from leakguard.finding import Severity
from leakguard.rule import LintRule
from leakguard.slicing import source_lines, units
from leakguard.triage import TriageTree, calls_resolving_to, enclosing_function, module_constants
from leakguard.walker import descendants, walk

_HEADER = "access-control-allow-origin"
_LIST_FIX = (
    "List the allowed origins explicitly, e.g. `allow_origins=settings.cors_origins` "
    "(read from configuration, never `*`)."
)
_FLASK_FIX = 'Pass the allowed origins explicitly: `origins=["https://app.example.com"]`.'
_HEADER_FIX = (
    "Echo the request's Origin only when it is in an allow-list, or use the framework's "
    "CORS middleware with explicit origins."
)
_DJANGO_FIX = 'Set `CORS_ALLOWED_ORIGINS = ["https://app.example.com"]` instead.'
_CREDENTIALS = (
    ", and with {flag} the browser also sends the visitor's cookies, so any site can act as "
    "the logged-in user"
)
_MAX_SHOWN = 60


class WildcardCors(LintRule):
    code = "LG501"
    # The run's classes, for a static-file base in another file (`static_files_class`).
    PROJECT_FACTS = (SUMMARIES,)

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """Every finding needs a CORS setting or header, which the prefilter tokens already
        require of the text; no structure narrows it further."""
        return True

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """The CORS calls and every place a `*` may be written under the header's name,
        each kept with its function; a header written inside a plain top-level function
        also keeps every function that mentions it, since its callers decide whether
        the `*` applies (`_callers_decide`). Module-level code, where the Django settings
        and the constants names fold from live, is always kept."""
        found: list[ast.AST] = list(
            calls_resolving_to(
                tree,
                [
                    *spec.option("cors_middleware"),
                    *spec.option("middleware_wrappers"),
                    *spec.option("flask_cors_calls"),
                ],
            )
        )
        found.extend(
            call
            for call in tree.of(ast.Call)
            if isinstance(call.func, ast.Attribute) and call.func.attr == "add_middleware"
        )
        writes = _header_writes(tree, module_constants(tree))
        found.extend(writes)
        for write in writes:
            function = enclosing_function(tree, write)
            if function is not None:
                found.extend(_units_mentioning(tree, function.name))
        return found

    # -- calls: CORSMiddleware, Middleware(...), flask-cors, header setters -----------------

    def visit_Call(self, node: cst.Call) -> None:
        if not node.args:
            if self._qualifies(node.func, "flask_cors_calls"):
                self._flask_cors(node)
            return
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "add_middleware":
            first = positional_arg(node, 0)
            if first is not None and self._qualifies(first.value, "cors_middleware"):
                self._middleware(node)
            return
        self._header_call(node)
        qualified = self.context.imports.call_name(node)
        if qualified is None:
            return
        if matches_any(qualified, self.option("cors_middleware")):
            self._middleware(node)
        elif matches_any(qualified, self.option("middleware_wrappers")):
            first = positional_arg(node, 0)
            if first is not None and self._qualifies(first.value, "cors_middleware"):
                self._middleware(node)
        elif matches_any(qualified, self.option("flask_cors_calls")):
            self._flask_cors(node)

    def _qualifies(self, expression: cst.BaseExpression, option: str) -> bool:
        return matches_any(self.context.imports.qualify(expression), self.option(option))

    def _middleware(self, call: cst.Call) -> None:
        credentials = self._credentials(call, "allow_credentials")
        origins = keyword_arg(call, "allow_origins")
        if origins is not None and self._is_wildcard(origins.value):
            what = f"`CORSMiddleware` with {self._shown_arg(origins)}"
            self._report(origins, what, credentials, "allow_credentials=True", _LIST_FIX)
        regex = keyword_arg(call, "allow_origin_regex")
        if regex is not None and self._regex_matches_everything(regex.value):
            what = f"`CORSMiddleware` with {self._shown_arg(regex)} (matches every origin)"
            self._report(regex, what, credentials, "allow_credentials=True", _LIST_FIX)

    def _flask_cors(self, call: cst.Call) -> None:
        credentials = self._credentials(call, "supports_credentials")
        flag = "supports_credentials=True"
        shown_call = self._shown(call.func)
        origins = keyword_arg(call, "origins")
        if origins is not None:
            if self._is_wildcard(origins.value):
                what = f"`{shown_call}` with {self._shown_arg(origins)}"
                self._report(origins, what, credentials, flag, _FLASK_FIX)
            return
        resources = keyword_arg(call, "resources")
        if resources is not None:
            wildcard = self._wildcard_resource(resources.value)
            if wildcard is not None:
                what = f"`{shown_call}` with a resource allowing `{self._shown(wildcard)}`"
                self._report(wildcard, what, credentials, flag, _FLASK_FIX)
            return
        what = f"`{shown_call}(...)` without `origins` or `resources` (flask-cors defaults to `*`)"
        self._report(call, what, credentials, flag, _FLASK_FIX)

    def _wildcard_resource(self, resources: cst.BaseExpression) -> cst.CSTNode | None:
        if not isinstance(resources, cst.Dict):
            return None
        for element in resources.elements:
            if not isinstance(element, cst.DictElement) or not isinstance(element.value, cst.Dict):
                continue
            for option in element.value.elements:
                if (
                    isinstance(option, cst.DictElement)
                    and self._string(option.key) == "origins"
                    and self._is_wildcard(option.value)
                ):
                    return option
        return None

    def _header_call(self, call: cst.Call) -> None:
        """`headers.add("Access-Control-Allow-Origin", "*")`, `set_header(...)`, ..."""
        if not isinstance(call.func, cst.Attribute) or len(call.args) < 2:
            return
        name, value = call.args[0], call.args[1]
        if (
            name.keyword is None
            and value.keyword is None
            and self._is_header(name.value)
            and self._string(value.value) == "*"
        ):
            self._report_header(call, call.func.value)

    # -- assignments, dict entries and tuples ---------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        target = node.targets[0].target
        if isinstance(target, cst.Subscript):
            if len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
                key = target.slice[0].slice.value
                if self._is_header(key) and self._string(node.value) == "*":
                    self._report_header(node, target.value)
            return
        if (
            isinstance(target, cst.Name)
            and target.value in self.option("allow_all_settings")
            and is_literal_true(node.value)
            and self.context.enclosing_function() is None
        ):
            what = f"`{target.value} = True`"
            flag = "CORS_ALLOW_CREDENTIALS = True"
            self._report(node, what, self._django_credentials(), flag, _DJANGO_FIX)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        if self._is_header(node.key) and self._string(node.value) == "*":
            self._report_header(node)

    def visit_Tuple(self, node: cst.Tuple) -> None:
        elements = node.elements
        if (
            len(elements) == 2
            and self._is_header(elements[0].value)
            and self._string(elements[1].value) == "*"
        ):
            self._report_header(node)

    def _report_header(self, node: cst.CSTNode, receiver: cst.BaseExpression | None = None) -> None:
        if self._decided_by_origin_condition() or self._callers_decide(receiver):
            return
        if static_files_class(self.context) is not None:
            return  # public files, the same bytes for every client and no credentials
        self._report(node, "`Access-Control-Allow-Origin: *`", False, "", _HEADER_FIX)

    def _decided_by_origin_condition(self) -> bool:
        """Inside `if allow_all_origins:` and the like: a CORS implementation applying a
        configured policy (e.g. Starlette's own middleware), not a hard-coded `*`."""
        for ancestor in self.context.ancestors():
            if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef)):
                return False
            if (
                isinstance(ancestor, (cst.If, cst.IfExp))
                and "origin" in self.context.code_of(ancestor.test).lower()
            ):
                return True
        return False

    def _callers_decide(self, receiver: cst.BaseExpression | None) -> bool:
        """A plain module-level helper writes the header into a mapping it is handed
        (datasette's `add_cors_headers(headers)`, behind its `--cors` flag): whether `*`
        applies is decided where it is called. Silent unless this file uses the helper
        otherwise than in calls under a CORS/origin condition (a callback registration,
        an unconditional call)."""
        if receiver is None:
            return False
        function = self.context.enclosing_function()
        if (
            function is None
            or function.decorators
            or not any(s is function for s in self.context.module.body)
        ):
            return False
        root = receiver
        while isinstance(root, (cst.Attribute, cst.Subscript)):
            root = root.value
        params = {p.name.value for p in function.params.params}
        if not isinstance(root, cst.Name) or root.value not in params:
            return False
        return self._only_called_under_cors_condition(function.name.value)

    def _only_called_under_cors_condition(self, helper: str) -> bool:
        key = ("LG501.helper", helper)
        cached = self.context.memo.get(key)
        if isinstance(cached, bool):
            return cached
        verdict = True
        path: list[cst.CSTNode] = []

        def visit(node: cst.CSTNode) -> None:
            nonlocal verdict
            if not verdict or not isinstance(node, cst.Name) or node.value != helper:
                return
            parent = path[-2] if len(path) >= 2 else None
            if isinstance(parent, cst.FunctionDef) and parent.name is node:
                return  # the definition itself
            if not (isinstance(parent, cst.Call) and parent.func is node):
                verdict = False  # registered as a callback or passed on: applied by others
                return
            verdict = any(
                isinstance(a, cst.If) and _mentions_cors(self.context.code_of(a.test))
                for a in path[:-2]
            )

        walk(self.context.module, visit, stack=path)
        self.context.memo[key] = verdict
        return verdict

    # -- values -----------------------------------------------------------------------------

    def _string(self, node: cst.BaseExpression | None) -> str | None:
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            if isinstance(node, cst.SimpleString) and node.prefix.lower().startswith("b"):
                value = node.evaluated_value
                return value.decode("latin-1") if isinstance(value, bytes) else None
            folded = self.context.constants.fold(node)
            return folded if isinstance(folded, str) else None
        if isinstance(node, cst.Name):
            folded = self.context.constants.fold(node)
            return folded if isinstance(folded, str) else None
        return None

    def _is_header(self, node: cst.BaseExpression | None) -> bool:
        if not isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            return False
        text = self._string(node)
        return text is not None and text.strip().lower() == _HEADER

    def _is_wildcard(self, value: cst.BaseExpression, depth: int = 2) -> bool:
        """`"*"`, or a literal list/tuple/set containing `"*"`, directly or via a name."""
        if self._string(value) == "*":
            return True
        if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            return any(
                isinstance(e, cst.Element) and self._string(e.value) == "*" for e in value.elements
            )
        if isinstance(value, cst.Name) and depth > 0:
            return any(self._is_wildcard(v, depth - 1) for v in self._values_of(value.value))
        return False

    def _values_of(self, name: str) -> list[cst.BaseExpression]:
        function = self.context.enclosing_function()
        if function is not None:
            local = assigned_values(function, self.context).get(name)
            if local:
                return local
        value = module_assigned_once(name, self.context)
        return [value] if value is not None else []

    def _regex_matches_everything(self, value: cst.BaseExpression) -> bool:
        pattern = self._string(value)
        if pattern is None and isinstance(value, cst.Name):
            pattern = next((self._string(v) for v in self._values_of(value.value)), None)
        if pattern is None:
            return False
        try:
            compiled = re.compile(pattern)
        except re.error:
            return False
        return all(compiled.fullmatch(origin) for origin in self.option("probe_origins"))

    def _credentials(self, call: cst.Call, keyword: str) -> bool:
        found = keyword_arg(call, keyword)
        if found is None:
            return False
        if is_literal_true(found.value):
            return True
        if isinstance(found.value, cst.Name):
            return any(is_literal_true(v) for v in self._values_of(found.value.value))
        return False

    def _django_credentials(self) -> bool:
        value = module_assigned_once("CORS_ALLOW_CREDENTIALS", self.context)
        return is_literal_true(value)

    # -- reporting --------------------------------------------------------------------------

    def _shown(self, node: cst.CSTNode) -> str:
        text = " ".join(self.context.code_of(node).split())
        return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."

    def _shown_arg(self, arg: cst.Arg) -> str:
        keyword = arg.keyword.value if arg.keyword is not None else ""
        text = f"`{keyword}={self._shown(arg.value)}`"
        if isinstance(arg.value, cst.Name):
            text += ' (which holds `"*"`)'
        return text

    def _report(self, node: cst.CSTNode, what: str, credentials: bool, flag: str, fix: str) -> None:
        if self._operator_opted_in():
            return
        severity: Severity | None = None
        if credentials and self.spec.severity == bundled_rule_specs()[self.code].severity:
            severity = Severity.parse(self.option("credentials_severity"))
        extra = _CREDENTIALS.format(flag=f"`{flag}`") if credentials else ""
        self.report(
            node,
            what=what,
            credentials=extra,
            with_credentials=" with credentials" if credentials else "",
            fix=fix,
            severity=severity,
        )

    def _operator_opted_in(self) -> bool:
        """The wildcard sits in a branch taken only when configuration asks for it
        (`if "*" in settings.cors_origins:`): the operator chose it, as with an origin
        list read from settings."""
        for ancestor in self.context.ancestors():
            if isinstance(ancestor, cst.If) and _tests_for_wildcard(ancestor.test):
                return True
        return False


def _mentions_cors(code: str) -> bool:
    lowered = code.lower()
    return "cors" in lowered or "origin" in lowered


def _tests_for_wildcard(test: cst.BaseExpression) -> bool:
    """`"*" in origins`, `origins == "*"`, `origins == ["*"]` with `origins` not a literal."""
    for node in (test, *descendants(test)):
        if not isinstance(node, cst.Comparison):
            continue
        operands = [node.left, *(t.comparator for t in node.comparisons)]
        operators = [t.operator for t in node.comparisons]
        if not any(isinstance(o, (cst.In, cst.Equal)) for o in operators):
            continue
        if any(_is_star(o) for o in operands) and any(
            isinstance(o, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) for o in operands
        ):
            return True
    return False


def _is_star(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value == "*"
    if isinstance(node, (cst.List, cst.Tuple)) and len(node.elements) == 1:
        return _is_star(node.elements[0].value)
    return False


def _header_writes(tree: TriageTree, constants: set[str]) -> list[ast.AST]:
    """Where `_string` may read the header's name with `*` beside it: a subscript
    assignment, a call's first two positional arguments, a dict entry, a pair. The name
    is a literal (`_is_header`); the `*` may also be a module constant, which
    `ConstantTable` folds."""

    def literal(node: ast.AST | None) -> str | None:
        if not isinstance(node, ast.Constant):
            return None
        value = node.value
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        return value.strip().lower() if isinstance(value, str) else None

    def header(node: ast.AST | None) -> bool:
        return literal(node) == _HEADER

    def star(node: ast.AST | None) -> bool:
        return literal(node) == "*" or (isinstance(node, ast.Name) and node.id in constants)

    found: list[ast.AST] = []
    for assign in tree.of(ast.Assign):
        target = assign.targets[0]
        if isinstance(target, ast.Subscript) and header(target.slice) and star(assign.value):
            found.append(assign)
    for call in tree.of(ast.Call):
        arguments = call.args
        pair_written = len(arguments) >= 2 and header(arguments[0]) and star(arguments[1])
        if pair_written and isinstance(call.func, ast.Attribute):
            found.append(call)
    for mapping in tree.of(ast.Dict):
        if any(header(k) and star(v) for k, v in zip(mapping.keys, mapping.values, strict=True)):
            found.append(mapping)
    for pair in tree.of(ast.Tuple):
        if len(pair.elts) == 2 and header(pair.elts[0]) and star(pair.elts[1]):
            found.append(pair)
    return found


def _units_mentioning(tree: TriageTree, word: str) -> list[ast.AST]:
    """The units whose text holds `word` as a word: every place LibCST may show it as a
    `Name` (a call, an attribute, a parameter, a keyword), as the helper check walks."""
    pattern = re.compile(rf"\b{re.escape(word)}\b")
    lines = source_lines(tree)
    return [
        unit.node
        for unit in units(tree)
        if any(pattern.search(line) for line in lines[unit.first - 1 : unit.last])
    ]
