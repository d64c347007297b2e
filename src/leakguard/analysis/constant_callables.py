"""The run's callables, and which arguments' text their result carries.

Whether `detail=format_error(e)` or `ERROR_MESSAGES.DEFAULT(e, "Error")` sends the
exception's text out depends on the callee's body, not on the call's shape: a helper
(`def format_error(e): return f"Error: {e}"`), a template kept as a constant
(`NOT_FOUND = lambda name='': f'{name} not found'`) or a sanitiser kept on an enum or
class of messages (`class ERROR_MESSAGES(Enum): DEFAULT = _error_message`, where
`_error_message(err, fallback)` answers `fallback` for any exception).

Collected per file (collector `constant_callables`) from CPython's `ast`: every
module-level undecorated `def` (not `async`, not rebound at module level), every
module-level name bound once to a lambda or to such a function (through aliases:
`GENERIC = DEFAULT = _error_message`), and every ALL_CAPS name bound so directly in a
module-level class (a class of messages; a lower-case one there is a method). Each is
recorded under its dotted name in the module (`format_error`, `NOT_FOUND`,
`ERROR_MESSAGES.DEFAULT`) with its parameters and:

- `text`: parameters whose text may reach the result: any use in the body (`f'{p}'`,
  `str(p)`, `p.args`, `detail = str(p)`, a call that takes `p`...), not only a returned
  expression, since a local or a container built from it may be returned;
- `exc`: the same when the argument is an exception: a use that follows
  `if isinstance(p, Exception): <... return/raise>` is reached only for a `p` that is no
  exception, so it does not count for `p`;
- `current`: the body reads the exception being handled (`traceback.format_exc()`,
  `sys.exc_info()`, also through `import traceback as tb` or a module-level alias), so
  its result carries that text whatever the arguments.

What a parameter is used for as a key read (`MESSAGES[p.errno]`), an `if`/`while` test,
a condition (`x if p else y`), an attribute other than `args` (`p.status_code`,
`getattr(p, "code", 500)`) or, for an exception, a method other than `__str__`/`__repr__`
(`p.json()`; as at the call site, where only `e.args` and `str(e)` are the exception's
text), or in `isinstance`/`len`/`type`/`bool`/comparisons is no text of it, nor is a
`raise` outside the function's own `try` blocks, a statement that only writes to a log
or a stream (`logger.error(f"{p}")`, `print(p)`, `traceback.print_exc()`), or an
assignment to a local read nowhere else
(`msg = f"failed: {p}"` then `logger.error(msg)`). Anything else that mentions a
parameter counts, so a body this module cannot read keeps its argument's text (a proof
of absence, never a guess). An argument that lands in `*args`/`**kwargs` keeps its text.
"""

from __future__ import annotations

import ast
import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import libcst as cst

from leakguard.analysis.calls import is_log_call_name
from leakguard.analysis.imports import dotted_name
from leakguard.analysis.project import FactCollector, ProjectIndex, register_collector
from leakguard.context import FileContext
from leakguard.triage import TriageTree, dotted, module_level_names, parse_triage, run_query

COLLECTOR = "constant_callables"
# Where a tree keeps its file's facts (`collect_tree`).
_MEMO_KEY = f"{COLLECTOR}:facts"
TOKENS = ("lambda", "def ")
_EXCEPTION_BASES = frozenset({"Exception", "BaseException"})
# Calls whose result tells nothing of their argument's text.
_OPAQUE_CALLS = frozenset(
    {"isinstance", "issubclass", "len", "type", "bool", "id", "hash", "hasattr", "callable"}
)
_CURRENT_EXCEPTION_CALLS = frozenset({"sys.exc_info", "sys.exception"})
# `from traceback import format_exc`: the functions by their own names.
_TRACEBACK_FUNCTIONS = frozenset(
    {"format_exc", "format_exception", "format_exception_only", "format_tb", "format_stack"}
)
# Calls that write their arguments to a stream, never into the caller's result.
_WRITERS = frozenset(
    {"print", "traceback.print_exc", "traceback.print_exception", "traceback.print_tb"}
)
# Methods of an exception that give its text (`err.__str__()`), as at the call site.
_TEXT_METHODS = frozenset({"__str__", "__repr__", "__format__"})
# Functions longer than this are not read by their own name (see `_Collector.run`).
_MAX_LINES = 40
# Statements whose handlers catch what their body raises (`try`, and `try`/`except*`).
_TRY_STATEMENTS: tuple[type[ast.stmt], ...] = tuple(
    getattr(ast, name) for name in ("Try", "TryStar") if hasattr(ast, name)
)
# Module-level aliases followed (`GENERIC = DEFAULT = _error_message`, `_tb = traceback`).
_MAX_ALIASES = 4


def collect_source(text: str, display: str) -> dict[str, Any]:
    tree = parse_triage(text, display=display)
    return {} if tree is None else collect_tree(tree, text, display)


def collect_tree(tree: TriageTree, text: str, display: str) -> dict[str, Any]:
    """`{dotted name: {"params", "positional", "text", "exc", "current"}}` of the file's
    callables: its module-level functions, module-level names bound to one of them or
    to a lambda, and ALL_CAPS names bound so directly in a module-level class.

    Worked out once per tree: the curated exceptions read the same facts of the file
    (`curated_exceptions._FileCollector`); callers must not change them."""
    found: dict[str, Any] | None = tree.memo.get(_MEMO_KEY)
    if found is None:
        found = tree.memo[_MEMO_KEY] = _Collector(tree).run()
    return found


def could_apply(tree: TriageTree) -> bool:
    return tree.has(ast.FunctionDef, ast.Lambda)


class _Collector:
    def __init__(self, tree: TriageTree) -> None:
        self.tree = tree
        body = tree.tree.body
        self.functions = {
            s.name: s for s in body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        # `_fmt = wrap(_fmt)`: not the `def` of that name.
        self.rebound = module_level_names(tree)
        # Module-level names bound once, by a plain assignment, to an expression.
        bound: dict[str, list[ast.expr]] = {}
        for statement in body:
            if isinstance(statement, ast.Assign):
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        bound.setdefault(target.id, []).append(statement.value)
        self.aliases = {
            name: values[0]
            for name, values in bound.items()
            if len(values) == 1 and name not in self.functions
        }
        self.facts: dict[str, dict[str, Any] | None] = {}
        # Names the function being read uses outside log statements (`names_read`),
        # computed when an assignment asks.
        self.body: list[ast.stmt] = []
        self.read: set[str] | None = None
        # Only a file importing `traceback` or `sys` (also under another name) can read
        # the handled exception; the bodies read are short, so each is walked when asked
        # (a scan of every call of the file cost more: most calls are in classes).
        self.may_read_current = any(
            t.split(".", 1)[0] in ("traceback", "sys") for t in tree.aliases.values()
        )

    def run(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        returns = sorted(r.lineno for r in self.tree.of(ast.Return) if r.value is not None)
        for name, function in self.functions.items():
            # A function that returns no value gives nothing to a response (a call of
            # it is judged as unknown, the same); a long one is no message helper and is
            # not read, for speed (a call of it stays unknown). One bound to a constant
            # or an alias is read below whatever its size.
            last = function.end_lineno or function.lineno
            if last - function.lineno >= _MAX_LINES or bisect.bisect_right(
                returns, last
            ) == bisect.bisect_left(returns, function.lineno):
                continue
            facts = self.function_facts(name)
            if facts is not None:
                found[name] = facts
        for name, value in self.aliases.items():
            facts = self.value_facts(value, {}, _MAX_ALIASES)
            if facts is not None:
                found[name] = facts
        for klass in self.tree.tree.body:
            if not isinstance(klass, ast.ClassDef):
                continue
            local = {
                s.targets[0].id: s.value
                for s in klass.body
                if isinstance(s, ast.Assign)
                and len(s.targets) == 1
                and isinstance(s.targets[0], ast.Name)
            }
            for name, value in local.items():
                # Only constants (a class of messages): a lower-case callable in a class
                # is a method, called through an instance with one more argument.
                if _constant_name(name):
                    facts = self.value_facts(value, local, _MAX_ALIASES)
                    if facts is not None:
                        found[f"{klass.name}.{name}"] = facts
        return found

    def value_facts(
        self, value: ast.expr, local: Mapping[str, ast.expr], depth: int
    ) -> dict[str, Any] | None:
        """Facts of a lambda, a function of the file, or a name bound to one of them
        (in the class body `local`, then at module level)."""
        if isinstance(value, ast.Lambda):
            return self.lambda_facts(value)
        if not isinstance(value, ast.Name) or depth <= 0:
            return None
        if value.id in local and local[value.id] is not value:
            return self.value_facts(local[value.id], local, depth - 1)
        if value.id in self.functions:
            return self.function_facts(value.id)
        if value.id in self.aliases:
            return self.value_facts(self.aliases[value.id], {}, depth - 1)
        return None

    def function_facts(self, name: str) -> dict[str, Any] | None:
        if name not in self.facts:
            function = self.functions[name]
            # Not an `async def` (calling it builds a coroutine), nor a decorated one
            # (the decorator's wrapper, not this body, makes the result), nor one rebound.
            if (
                isinstance(function, ast.FunctionDef)
                and not function.decorator_list
                and name not in self.rebound
            ):
                self.facts[name] = self._function_facts(function)
            else:
                self.facts[name] = None
        return self.facts[name]

    def lambda_facts(self, function: ast.Lambda) -> dict[str, Any]:
        params, positional = _parameters(function.args)
        carried = self.text_of(function.body, frozenset(params))
        return {
            "params": params,
            "positional": positional,
            "text": sorted({name.rstrip(".") for name in carried}),
            "exc": sorted(name for name in carried if not name.endswith(".")),
            "current": self.reads_current_exception([function.body]),
        }

    def _function_facts(self, function: ast.FunctionDef) -> dict[str, Any]:
        params, positional = _parameters(function.args)
        names = frozenset(params)
        text: set[str] = set()
        exc: set[str] = set()
        not_exception: set[str] = set()  # past a guard that leaves for every exception
        self.body, self.read = function.body, None
        for statement in function.body:
            # Every use counts, not only a `return`'s own expression: a local built from
            # a parameter (`detail = str(err)`), a list it is appended to... may be
            # returned.
            carried = self.mentioned(statement, names)
            text |= {name.rstrip(".") for name in carried}
            exc |= {name for name in carried if not name.endswith(".")} - not_exception
            guarded = _exception_guard(statement, names)
            if guarded is not None:
                not_exception.add(guarded)
        return {
            "params": params,
            "positional": positional,
            "text": sorted(text),
            "exc": sorted(exc),
            "current": self.reads_current_exception(function.body),
        }

    def mentioned(
        self, statement: ast.stmt, params: frozenset[str], caught: bool = False
    ) -> set[str]:
        """Parameters whose text `statement` may pass on to the result; an `if`/`while`
        test only picks a branch (unless it binds a name: `if (m := str(err)):`), and a
        `raise` that leaves the function (not one `caught` by a `try` of the function,
        whose handler may return the exception's text: `try: raise exc` / `except
        Exception as other: return str(other)`) or a call writing to a log or a stream
        passes nothing on."""
        if (isinstance(statement, ast.Raise) and not caught) or self.output_only(statement):
            return set()
        tried: list[ast.stmt] = (
            statement.body  # type: ignore[attr-defined]
            if isinstance(statement, _TRY_STATEMENTS) and statement.handlers  # type: ignore[attr-defined]
            else []
        )
        found: set[str] = set()
        for child in self.tree.children(statement):
            if isinstance(child, ast.stmt):
                inside = caught or any(child is s for s in tried)
                found |= self.mentioned(child, params, inside)
            elif not (
                isinstance(statement, (ast.If, ast.While))
                and child is statement.test
                and not any(isinstance(n, ast.NamedExpr) for n in self.tree.walk(child))
            ):
                found |= self.text_of(child, params)
        if found and isinstance(statement, ast.Assign) and self.unread(statement.targets):
            return set()  # `msg = f"failed: {err}"` only ever logged
        return found

    def text_of(self, node: ast.AST, params: frozenset[str]) -> set[str]:
        """Parameters whose text may be part of `node`'s value."""
        if isinstance(node, ast.Name):
            return {node.id} & params
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            return self.text_of(node.value, params)  # a key read selects, it is not shown
        if isinstance(node, ast.IfExp):
            return self.text_of(node.body, params) | self.text_of(node.orelse, params)
        if isinstance(node, ast.Compare):
            return set()
        if isinstance(node, ast.Call) and _own_attribute(node.func, params):
            # A method of the argument: of an exception, only `str`/`repr` give its text
            # as at the call site (`err.json()`, `err.status()` do not; marked "err.");
            # of a string, any (`msg.strip()`).
            receiver = node.func.value.id  # type: ignore[attr-defined]
            own = receiver if node.func.attr in _TEXT_METHODS else receiver + "."  # type: ignore[attr-defined]
            return {own}.union(*(self.text_of(a, params) for a in self.tree.children(node)[1:]))
        if _own_attribute(node, params):
            # `err.status_code`: an attribute of the argument, as at the call site (only
            # `err.args` is the exception's text there).
            return set()
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in _OPAQUE_CALLS:
                return set()
            if node.func.id == "getattr" and _own_attribute_read(node.args, params):
                # `getattr(err, "code", default)`: the attribute as above, or the default.
                return set().union(*(self.text_of(a, params) for a in node.args[2:]))
        found: set[str] = set()
        for child in self.tree.children(node):
            if not isinstance(child, ast.ClassDef):
                found |= self.text_of(child, params)
        return found

    def unread(self, targets: list[ast.expr]) -> bool:
        """Every target is a name the function reads nowhere but in log statements."""
        if not all(isinstance(t, ast.Name) for t in targets):
            return False
        if self.read is None:
            self.read = self.names_read(self.body)
        return not any(t.id in self.read for t in targets)  # type: ignore[attr-defined]

    def names_read(self, body: list[ast.stmt]) -> set[str]:
        """Names read in `body` outside statements that only write to a log or a
        stream: a local read nowhere else never reaches the result."""
        found: set[str] = set()
        pending: list[ast.AST] = list(body)
        while pending:
            node = pending.pop()
            if self.output_only(node):
                continue
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
                found.add(node.id)
            pending.extend(self.tree.children(node))
        return found

    def resolve(self, node: ast.expr) -> str:
        """A callee's qualified name through the file's module-level aliases
        (`_tb = traceback`, `fmt = tb.format_exc`) and imports (`import traceback as tb`)."""
        name = dotted(node) or ""
        for _ in range(_MAX_ALIASES):
            head, dot, rest = name.partition(".")
            target = dotted(self.aliases[head]) if head in self.aliases else None
            if target is None:
                break
            name = target + dot + rest
        head, dot, rest = name.partition(".")
        imported = self.tree.aliases.get(head)
        return imported + dot + rest if imported else name

    def output_only(self, statement: ast.AST) -> bool:
        """A call statement whose arguments go to a log or a stream, not to the result."""
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
            return False
        call = statement.value
        name = self.resolve(call.func)
        if name in _WRITERS:
            # `traceback.print_exc(file=buffer)`, `print(e, file=out)`: written into a
            # stream the function may read back; only the first positional argument
            # (`print_exc(limit)`, `print_exception(e)`, `print(x)`) is sure not to be one.
            return len(call.args) <= 1 and all(k.arg != "file" for k in call.keywords)
        return is_log_call_name(name) or is_log_call_name(dotted(call.func))

    def reads_current_exception(self, body: list[ast.stmt] | list[ast.expr]) -> bool:
        """A body that calls `traceback.format_exc()`, `sys.exc_info()`... (also through
        an alias): the text of the exception being handled reaches its result without
        any argument naming it (a call writing only to a log or a stream does not)."""
        if not self.may_read_current:
            return False
        pending: list[ast.AST] = list(body)
        while pending:
            node = pending.pop()
            if self.output_only(node):
                continue
            if isinstance(node, ast.Call) and self.reads_current(node):
                return True
            pending.extend(self.tree.children(node))
        return False

    def reads_current(self, call: ast.Call) -> bool:
        name = self.resolve(call.func)
        return (
            name.split(".", 1)[0] == "traceback"
            or name in _CURRENT_EXCEPTION_CALLS
            or name.rsplit(".", 1)[-1] in _TRACEBACK_FUNCTIONS
        )


def _own_attribute(node: ast.AST, params: frozenset[str]) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in params
        and node.attr != "args"
    )


def _own_attribute_read(args: list[ast.expr], params: frozenset[str]) -> bool:
    """`getattr(err, "code", ...)`'s arguments: an attribute other than `args` of a
    parameter."""
    return (
        len(args) >= 2
        and isinstance(args[0], ast.Name)
        and args[0].id in params
        and isinstance(args[1], ast.Constant)
        and isinstance(args[1].value, str)
        and args[1].value != "args"
    )


def _constant_name(name: str) -> bool:
    return name.isupper() and name[:1].isalpha()


def _parameters(arguments: ast.arguments) -> tuple[list[str], int]:
    """Named parameters, and how many of them a positional argument can fill (an
    argument past those lands in `*args`, a keyword of no such name in `**kwargs`)."""
    positional = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
    return [*positional, *(a.arg for a in arguments.kwonlyargs)], len(positional)


def _exception_guard(statement: ast.stmt, params: frozenset[str]) -> str | None:
    """`p` for `if isinstance(p, Exception): ... return` (or `raise`): every exception
    leaves there, so what follows sees no exception in `p`."""
    if not isinstance(statement, ast.If) or not statement.body:
        return None
    test = statement.test
    if not (
        isinstance(test, ast.Call)
        and isinstance(test.func, ast.Name)
        and test.func.id == "isinstance"
        and len(test.args) == 2
        and isinstance(test.args[0], ast.Name)
        and test.args[0].id in params
    ):
        return None
    kinds = test.args[1].elts if isinstance(test.args[1], ast.Tuple) else [test.args[1]]
    if not any((dotted(kind) or "").rsplit(".", 1)[-1] in _EXCEPTION_BASES for kind in kinds):
        return None
    if not isinstance(statement.body[-1], (ast.Return, ast.Raise)):
        return None
    return test.args[0].id


register_collector(
    FactCollector(
        COLLECTOR,
        TOKENS,
        from_source=collect_source,
        from_tree=collect_tree,
        triage=could_apply,
    )
)


@run_query("current_exception_readers")
def reads_current_exception(project: ProjectIndex | None, names: frozenset[str]) -> bool:
    """Triage, run level: whether a callable of the run named one of `names` (last
    parts) returns the text of the exception being handled; True when the run's facts
    are not known."""
    if project is None:
        return True
    return not names.isdisjoint(current_exception_readers(project))


def current_exception_readers(project: ProjectIndex) -> frozenset[str]:
    """The last names of the run's callables whose result carries the text of the
    exception being handled (`def trace_text(): return traceback.format_exc()`)."""
    found: frozenset[str] | None = project.derived.get("constant_callables:current")
    if found is None:
        found = frozenset(
            name.rsplit(".", 1)[-1]
            for module in project.of(COLLECTOR).values()
            if isinstance(module, Mapping)
            for name, facts in module.items()
            if isinstance(facts, Mapping) and facts.get("current")
        )
        project.derived["constant_callables:current"] = found
    return found


# -- queries (LibCST side) ----------------------------------------------------------------


@dataclass(frozen=True)
class Carried:
    """What a call into a callable of the run passes on to its result."""

    exception: tuple[cst.Arg, ...]  # arguments whose exception object's text is carried
    text: tuple[cst.Arg, ...]  # arguments whose text (a string built from one) is carried
    current: bool = False  # the text of the exception being handled, whatever the arguments


def carried_arguments(call: cst.Call, context: FileContext) -> Carried | None:
    """For a call of a callable of the run, the arguments whose text its result may
    carry; None when the callee is not one (unknown: judge by the call)."""
    facts = callee_facts(call, context)
    if facts is None:
        return None
    params: list[str] = list(facts.get("params", []))
    positional = int(facts.get("positional", 0))
    text = set(facts.get("text", []))
    exc = set(facts.get("exc", []))
    by_exception: list[cst.Arg] = []
    by_text: list[cst.Arg] = []
    position = 0
    for arg in call.args:
        if arg.star:
            # `*args`/`**kwargs`: where they land is unknown, so they keep their text.
            by_exception.append(arg)
            by_text.append(arg)
            continue
        if arg.keyword is not None:
            name: str | None = arg.keyword.value if arg.keyword.value in params else None
        else:
            name = params[position] if position < positional else None
            position += 1
        if name is None or name in exc:
            by_exception.append(arg)
        if name is None or name in text:
            by_text.append(arg)
    return Carried(tuple(by_exception), tuple(by_text), bool(facts.get("current")))


def callee_facts(call: cst.Call, context: FileContext) -> Mapping[str, Any] | None:
    """The facts of the callable of the run `call` calls (by a name of this file or
    an import), or None."""
    project: ProjectIndex | None = context.project
    if project is None:
        return None
    name = dotted_name(call.func)
    if name is None:
        return None
    qualified = context.imports.qualify_dotted(name)
    if qualified is None:
        qualified = f"{context.module_name}.{name}" if context.module_name else name
    facts = project.of(COLLECTOR)
    parts = qualified.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module = project.module_for(COLLECTOR, ".".join(parts[:split]))
        if module is None:
            continue
        found = facts.get(module, {}).get(".".join(parts[split:]))
        if isinstance(found, Mapping):
            return found
    return None


def is_constant_callable(call: cst.Call) -> bool:
    """`NOT_FOUND(...)`, `ERROR_MESSAGES.DEFAULT(...)`: a message kept as a constant,
    whose result is the message itself (a helper's may be a response or a dict)."""
    name = dotted_name(call.func)
    return name is not None and _constant_name(name.rsplit(".", 1)[-1])
