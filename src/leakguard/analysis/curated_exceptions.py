"""Curated exception classes: the run's own exceptions whose text is written for clients.

`except GroupHierarchyError as e: raise HTTPException(400, detail=str(e))` sends out
nothing internal when every place that can make a `GroupHierarchyError` gives it a
message of its own (`GroupHierarchyError("Parent group not found.", 404)`,
`ExecutionPayloadSizeError(f"{label} exceeds its configured byte limit")`), never the
text of another exception (`MyError(str(e))`, `MyError(f"db failed: {e}")`).

A class is *curated* when it is a class of the run (no library nor builtin raises it,
as none knows it: `except ValueError` stays uncurated, whatever the run raises) and no
class of the run deriving from it (catching it catches them) is

- made with an argument carrying another exception's text: the exception bound by an
  `except ... as e` of the function (`e`, `str(e)`, `f"...{e}"`, `e.args`; an
  attribute other than `args`, such as `e.status_code` or `getattr(e, "status_code",
  502)`, is no text of it, as for `analysis.exceptions`, unless a `getattr` default
  is), a local assigned from one (in any order: flow-insensitive),
  or a traceback call (`traceback.format_exc()`, `sys.exc_info()`); also through a
  class method (`MyError.wrap(e)`) or its own `super().__init__(str(e))`;
- made in a function from one of its parameters (`def fail(msg): raise MyError(msg)`)
  while a call somewhere in the run hands that function such text (`fail(str(e))`);
- used as a value (`errors = {"x": MyError}`, `factory(MyError)`): whoever receives
  the class may build it from anything (not the class an exception handler is
  registered for, `@app.exception_handler(MyError)`: the framework only matches it).
  A class that is an element of a *class table* (a module-level dict value, list or
  tuple literal bound once to a name: `error_types = {"InvalidDimension":
  InvalidDimensionException}`) is made where the table is called: when every use of
  the table's name in the modules that may meet it is a subscript or `.get(...)`
  called at once (`errors.error_types[body["error"]](body["message"])`) or a
  membership test (`name in error_types`), those calls are judged as constructions
  (`table[k](str(e))` makes its classes uncurated; `table[k](message)` in a function
  some call hands exception text, too). Any other use, matched by the table's last
  name whatever it resolves to (handed to a function, iterated, `.values()`,
  returned, rebound, `table[k] = Other`, used from a lambda), keeps every class in it
  uncurated; so does a table no module that may meet it calls (`HOOK_ERRORS =
  {"hook": HookError}` used nowhere in the run is there for code outside it to build
  its classes from anything). The uses are collected from every file that imports or
  defines anything (collector `class_table_uses`: a file without the tokens of this one
  may use the table); without those facts every table's classes stay uncurated.

Collected per file from CPython's `ast` (collector `exception_texts`): the calls handing
exception text on (`handed`: the callee's reference, and the receiver's for a method),
the constructions from parameters (`forwarded`), the class-like names used as values
(`values`), the classes of the file's class tables (`tabled`) and the tables called
with exception text (`table_texts`), and what each function and `try` body raises and
calls (`raising`, `tries`: see `_RaiseWalker`, read by `analysis.raised_texts`); class
hierarchy and resolution come from the run's summaries (`analysis.summaries`). Names
are class-like by their last part (CapWords), as exception classes are named.
"""

from __future__ import annotations

import ast
import builtins
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import libcst as cst

from leakguard.analysis.calls import is_log_call_name
from leakguard.analysis.constant_callables import collect_tree as collect_callables
from leakguard.analysis.imports import class_like
from leakguard.analysis.project import (
    FactCollector,
    ProjectIndex,
    module_identity,
    register_collector,
)
from leakguard.analysis.run_modules import holds_package, run_modules
from leakguard.analysis.run_parts import run_parts
from leakguard.analysis.summaries import (
    FileSummaryCollector,
    SummaryIndex,
    cst_reference,
    summaries_of,
)
from leakguard.context import FileContext
from leakguard.triage import TriageTree, dotted

COLLECTOR = "exception_texts"
# The uses of every module-level name that may be a class table (see the docstring).
TABLE_USES = "class_table_uses"
# Calls whose result is the handled exception's text, whatever their arguments.
_TRACEBACK_ROOTS = ("traceback.", "sys.exc_info", "sys.exception")
# Calls whose result tells nothing of their argument's text.
_OPAQUE_CALLS = frozenset({"isinstance", "issubclass", "type", "id", "len", "bool", "hash"})
_BUILTINS = frozenset(dir(builtins))
# A file with none of these has no facts (whether the run holds it is `run_modules`').
# (`error: Exception`, `isinstance(x, SomeError)`, `task.exception()` seed it too.)
_TOKENS = (
    "except",
    "Except",
    "Error",
    "class ",
    "traceback",
    "exc_info",
    "exception",
    "error_handler",
)
# Attributes of an exception that hold another exception (its cause, its context).
_CHAIN_ATTRIBUTES = ("__cause__", "__context__", "__traceback__")
# Methods whose code makes an exception's text (`str(e)`, `repr(e)`), inherited by
# subclasses.
_TEXT_METHODS = frozenset({"__init__", "__new__", "__str__", "__repr__", "__format__"})
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# Methods registering an exception handler for the class in their first argument
# (FastAPI/Starlette, Flask; `analysis.exceptions` finds the handlers they register).
HANDLER_REGISTRARS = frozenset(
    {
        "exception_handler",
        "errorhandler",
        "app_errorhandler",
        "add_exception_handler",
        "register_error_handler",
    }
)
# Methods registering the function in their second argument as an exception handler.
_REGISTRATION_CALLS = frozenset({"add_exception_handler", "register_error_handler"})
# What each of those names and `exception_handlers=` holds (`_may_register_handlers`).
_REGISTRATION_TOKENS = ("exception_handler", "errorhandler", "error_handler")
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
# The scopes a function's own code reads as its own (they see its `except` names).
_CLOSURES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda})
_NO_NAMES: frozenset[str] = frozenset()
_NOTHING: tuple[bool, frozenset[str]] = (False, _NO_NAMES)


# -- collection (per file, `ast`) ---------------------------------------------------------


def collect_source(text: str, display: str) -> dict[str, Any] | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return collect_tree(TriageTree(tree, text, display=display), text, display)


def collect_tree(tree: TriageTree, text: str, display: str) -> dict[str, Any] | None:
    """`{"handed": [[kind, name, line]], "forwarded": [[kind, name, function id]],
    "values": [[kind, name]], "texts": [[kind, name]], "bases": {...}}` of one file, None
    when it has none."""
    module, package = module_identity(display)
    names = FileSummaryCollector(module, tree, package)
    for node in tree.of(ast.Import, ast.ImportFrom):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.record_import(node)
    for statement in tree.tree.body:
        if isinstance(statement, (*_FUNCTIONS, ast.ClassDef)):
            names.globals.add(statement.name)
        elif isinstance(statement, ast.Assign):
            names.globals.update(t.id for t in statement.targets if isinstance(t, ast.Name))
    collector = _FileCollector(tree, module, names)
    collector.tables = _class_tables(tree)
    # Every function (nested ones, those under a module-level `if`/`try`), each as its
    # own scope, with the class it is a method of; and the module's own code.
    owners = {
        id(item): klass.name
        for klass in tree.of(ast.ClassDef)
        for item in klass.body
        if isinstance(item, _FUNCTIONS)
    }
    for function in tree.functions:
        collector.function(function, owners.get(id(function)))
    collector.scope(tree.tree.body, frozenset(), f"{module}:", None, closures=False)
    collector.values_of(tree)
    # One walker per function (its parameters and `except` names), for its own raises
    # and calls and for those of each `try` body in it; and one for the module's code.
    top_level = {id(function): fid for function, fid in _top_level_functions(tree, module)}
    raising: dict[str, list[list[Any]]] = {}
    walkers: list[_RaiseWalker] = []
    scopes: list[ast.FunctionDef | ast.AsyncFunctionDef | None] = [*tree.functions, None]
    for scope in scopes:
        walker = _RaiseWalker(collector, scope, owners.get(id(scope)))
        fid = top_level.get(id(scope))
        if fid is None:
            # no caller names it (a nested function, the module's code): only its
            # `try` statements are asked about
            walker.own_tries()
        elif entries := walker.entries():
            raising[fid] = entries
        walkers.append(walker)
    # The bodies of the file's `try` statements, by the line of each named `except`.
    tries = {
        str(handler.lineno): body_entries
        for walker in walkers
        for statement in walker.tries
        if any(h.name is not None for h in statement.handlers)
        and (body_entries := walker.block(statement))
        for handler in statement.handlers
        if handler.name is not None
    }
    facts: dict[str, Any] = {
        key: _unique(value)
        for key, value in (
            ("handed", collector.handed),
            ("forwarded", collector.forwarded),
            ("values", collector.values),
            ("tabled", collector.tabled),
            ("table_texts", [[name] for name in collector.table_texts]),
            ("texts", collector.texts),
        )
        if value
    }
    # The bases as written: the hierarchy comes from the summaries, whose cache key for a
    # module leaves out other modules' classes; a class of another file becoming a
    # subclass of the caught one must re-check its handlers (warm = cold).
    bases = {
        klass.name: [dotted(base) or "" for base in klass.bases]
        for klass in tree.of(ast.ClassDef)
        if isinstance(klass, ast.ClassDef) and klass.bases
    }
    if bases:
        facts["bases"] = bases
    if raising:
        facts["raising"] = raising
    if tries:
        facts["tries"] = tries
    calls = tree.of(ast.Call) if _may_register_handlers(text) else []
    registered = sorted({name for call in calls for name in _registered_handlers(call)})
    if registered:
        facts["registered"] = registered
    return facts or None


class _FileCollector:
    def __init__(self, tree: TriageTree, module: str, names: FileSummaryCollector) -> None:
        self.tree = tree
        self.module = module
        self.names = names
        self.handed: list[list[Any]] = []
        self.forwarded: list[list[Any]] = []
        self.values: list[list[Any]] = []
        self.texts: list[list[Any]] = []
        # The file's class tables (`_class_tables`), their classes (`[table, *reference]`)
        # and the last names of the tables called with exception text.
        self.tables: dict[str, list[ast.expr]] = {}
        self.tabled: list[list[Any]] = []
        self.table_texts: list[str] = []
        # Per node id: `carried` and `callee_name`, worked out once.
        self._carried: dict[int, tuple[bool, frozenset[str]]] = {}
        self._callees: dict[int, str | None] = {}
        # The file's own callables and which arguments' text their result carries
        # (`analysis.constant_callables`), read when a call of one is asked about.
        self._callables: Mapping[str, Any] | None = None
        # The lines where a scope's taint can start (`_taint_lines`) and where a class-like
        # callee is called (`forwarded`): a function holding neither is not read.
        self.taint_lines = self._taint_lines()
        self.maker_lines = sorted(
            {c.lineno for c in tree.of(ast.Call) if class_like(self.callee_name(c))}
        )

    def _taint_lines(self) -> list[int]:
        """The lines of the nodes without which no value of a scope carries exception text
        (`carried`, `_ScopeStatements.tainted`): `except ... as` names, `isinstance`
        tests, chained-exception and `.exception` attributes, traceback calls."""
        lines = {h.lineno for h in self.tree.of(ast.ExceptHandler) if h.name is not None}
        for attribute in self.tree.of(ast.Attribute):
            if attribute.attr in _CHAIN_ATTRIBUTES or attribute.attr == "exception":
                lines.add(attribute.lineno)
        for call in self.tree.of(ast.Call):
            name = self.callee_name(call) or ""
            qualified = self.names.qualify(name) or name
            if (
                name == "isinstance"
                or qualified.startswith(_TRACEBACK_ROOTS)
                or name.rsplit(".", 1)[-1] == "format_exc"
            ):
                lines.add(call.lineno)
        return sorted(lines)

    def reference(self, func: ast.expr, owner: str | None = None) -> list[str] | None:
        """How `func` names a function or class of the run (`self.fail` in a method of
        `owner`: ["s", "Owner.fail"]), as the summaries record calls."""
        receiver = "self" if owner is not None else ""
        return self.names.reference(func, owner, frozenset(), receiver)

    def function(self, function: ast.FunctionDef | ast.AsyncFunctionDef, owner: str | None) -> None:
        args = function.args
        params = {
            a.arg
            for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            if a is not None
        }
        if owner is not None and args.args:
            params.discard(args.args[0].arg)  # `self`/`cls`
        fid = (
            f"{self.module}:{owner}.{function.name}" if owner else f"{self.module}:{function.name}"
        )
        # A parameter typed as an exception (`def on_error(self, error: Exception)`) is
        # one, whoever calls it: a framework's callback is handed no `except` name.
        exception_params = {
            a.arg
            for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            if a is not None and a.annotation is not None and _names_exception(a.annotation)
        }
        text_method = owner if function.name in _TEXT_METHODS else None
        # Its code lies within its lines (its nested functions' too).
        first, last = function.lineno, function.end_lineno or function.lineno
        taint = bool(exception_params) or _any_within(self.taint_lines, first, last)
        if not taint and not _any_within(self.maker_lines, first, last):
            return  # no value carries exception text, no class is made from a parameter
        self.scope(
            function.body,
            frozenset(params),
            fid,
            owner,
            frozenset(exception_params),
            text_method,
            taint=taint,
        )

    def scope(
        self,
        body: list[ast.stmt],
        params: frozenset[str],
        fid: str,
        owner: str | None,
        exception_params: frozenset[str] = frozenset(),
        text_method: str | None = None,
        *,
        closures: bool = True,
        taint: bool = True,
    ) -> None:
        """The calls of one scope's own code (`body`): a function's nested functions are
        walked with it, since they see its `except` names too (and are also read on
        their own). In a method making its class's text (`text_method`: `__str__`,
        `__init__`...), any expression carrying another exception's text (`self.__cause__`,
        `self.detail = traceback.format_exc()`) makes the class's text uncurated.
        Without `taint` (no node it starts from in the scope), only the classes made from
        parameters are looked for."""
        nodes = self.tree.scope_nodes(body, _SCOPES, in_order=True)
        nested = [n for n in nodes if type(n) in _CLOSURES]
        for inner in nested if closures else ():
            nodes.extend(self.tree.walk(inner))
        # One pass sorts the scope's nodes for the taint and the calls.
        statements, calls = _ScopeStatements.sort(nodes, exception_params)
        tainted = statements.tainted(self, calls) if taint else set()
        if (
            taint
            and text_method is not None
            and any(isinstance(n, ast.expr) and self.carries(n, tainted) for n in nodes)
        ):
            self.texts.append(["l", text_method])
        for call in calls:
            name = self.callee_name(call)
            if name is not None and (is_log_call_name(name) or name in _OPAQUE_CALLS):
                continue
            arguments = [*call.args, *(k.value for k in call.keywords)]
            if taint and any(self.carries(a, tainted) for a in arguments):
                self.hand(call, owner)
                table = _called_table(call)
                if table is not None:
                    self.table_texts.append(table)
            elif class_like(name) and any(_mentions(a, params) for a in arguments):
                reference = self.reference(call.func)
                if reference is not None:
                    self.forwarded.append([*reference, fid])

    def callee_name(self, call: ast.Call) -> str | None:
        """`dotted(call.func)`, once per call (a nested function's calls are read again
        with each function around it)."""
        key = id(call)
        if key in self._callees:
            return self._callees[key]
        name = self._callees[key] = dotted(call.func)
        return name

    def hand(self, call: ast.Call, owner: str | None) -> None:
        """A call handing exception text on: its callee, the class a method belongs to
        (`MyError.wrap(e)`) and, for `super().__init__(...)`, the class being defined."""
        func = call.func
        line = call.lineno
        reference = self.reference(func, owner)
        # Unresolved (`helper.fail(str(e))`): its last name, matched by name alone (a
        # builtin such as `str(e)` makes no class of the run).
        name = dotted(func)
        if reference is not None:
            self.handed.append([*reference, line])
        elif name is None or name not in _BUILTINS:
            self.handed.append(["?", (name or "").rsplit(".", 1)[-1], line])
        if isinstance(func, ast.Attribute):
            receiver = func.value
            if isinstance(receiver, ast.Call) and dotted(receiver.func) == "super":
                if owner is not None:
                    self.handed.append(["l", owner, line])
            elif class_like(dotted(receiver)):
                found = self.reference(receiver)
                if found is not None:
                    self.handed.append([*found, line])

    def carries(self, node: ast.AST, tainted: set[str]) -> bool:
        """Whether `node`'s value may hold the handled exception's text."""
        always, names = self.carried(node)
        return always or not names.isdisjoint(tainted)

    def carried(self, node: ast.AST) -> tuple[bool, frozenset[str]]:
        """What `carries` asks of `node`, whatever the tainted names: whether its value
        holds an exception's text in any case (`self.__cause__`, `traceback.format_exc()`,
        `task.exception()`), and the names whose taint it would carry (`e`, `str(e)`,
        `e.args`; not `e.status_code`). Worked out once per node: the taint of a scope
        grows to a fixpoint, and a nested function's code is read with each function
        around it."""
        key = id(node)
        found = self._carried.get(key)
        if found is None:
            found = self._carried[key] = self._carried_uncached(node)
        return found

    def _carried_uncached(self, node: ast.AST) -> tuple[bool, frozenset[str]]:
        kind = type(node)
        if kind is ast.Name:
            return False, frozenset((node.id,))  # type: ignore[attr-defined]
        if kind is ast.Attribute:
            assert isinstance(node, ast.Attribute)
            if node.attr in _CHAIN_ATTRIBUTES:
                return True, _NO_NAMES  # the exception chained to any exception
            if type(node.value) is ast.Name:
                # `e.args` is its text; `e.status_code` is no text of it
                return (False, self.carried(node.value)[1]) if node.attr == "args" else _NOTHING
            return self.carried(node.value)
        if kind is ast.Call:
            assert isinstance(node, ast.Call)
            name = self.callee_name(node) or ""
            if name in _OPAQUE_CALLS:
                return _NOTHING
            if name == "getattr":
                attribute = self._getattr_attribute(node)
                if attribute is not None:
                    return attribute
            if (
                isinstance(node.func, ast.Attribute)
                and node.func.attr == "exception"
                and not node.args
                and not is_log_call_name(name)
            ):
                return True, _NO_NAMES  # `future.exception()`, `task.exception()`
            qualified = self.names.qualify(name) or name
            if qualified.startswith(_TRACEBACK_ROOTS) or name.rsplit(".", 1)[-1] == "format_exc":
                return True, _NO_NAMES
            if type(node.func) is ast.Name:
                through = self._through_own_callable(node, node.func.id)
                if through is not None:
                    return through
        if kind is ast.Compare or kind is ast.Lambda:
            return _NOTHING
        names = _NO_NAMES
        for child in self.tree.children(node):
            always, more = self.carried(child)
            if always:
                return True, _NO_NAMES
            if more:
                names = names | more if names else more
        return False, names

    def _through_own_callable(
        self, call: ast.Call, name: str
    ) -> tuple[bool, frozenset[str]] | None:
        """What a call of a callable of this file (`_message(e, video_id)`) carries: only
        the arguments its body may pass on (`analysis.constant_callables`: a message
        built from `type(error).__name__` and the video id carries neither the
        exception's text nor its name's taint), or everything when the body reads the
        exception being handled. None when `name` is no such callable (an import, a
        local, a method: judged by its arguments)."""
        if name in self.names.aliases:
            return None
        if self._callables is None:
            self._callables = collect_callables(self.tree, "", "")
        facts = self._callables.get(name)
        if not isinstance(facts, Mapping):
            return None
        if facts.get("current"):
            return True, _NO_NAMES
        params: list[str] = list(facts.get("params", []))
        positional = int(facts.get("positional", 0))
        passed = set(facts.get("text", [])) | set(facts.get("exc", []))
        carried: list[ast.expr] = []
        for index, argument in enumerate(call.args):
            if isinstance(argument, ast.Starred) or index >= positional:
                carried.append(argument)  # where it lands is unknown: it keeps its text
            elif params[index] in passed:
                carried.append(argument)
        for keyword in call.keywords:
            if keyword.arg is None or keyword.arg not in params or keyword.arg in passed:
                carried.append(keyword.value)
        names = _NO_NAMES
        for argument in carried:
            always, more = self.carried(argument)
            if always:
                return True, _NO_NAMES
            names = names | more
        return False, names

    def _getattr_attribute(self, call: ast.Call) -> tuple[bool, frozenset[str]] | None:
        """`getattr(e, "status_code", None)` read as `e.status_code` (no text of `e`),
        with its default's taint (`getattr(e, "detail", str(e))` carries `e`'s text).
        None when the attribute is not a literal (`getattr(e, field)` may be `args`)."""
        if call.keywords or len(call.args) not in (2, 3):
            return None
        target, attribute = call.args[0], call.args[1]
        if not isinstance(attribute, ast.Constant) or not isinstance(attribute.value, str):
            return None
        if any(type(argument) is ast.Starred for argument in call.args):
            return None
        if attribute.value in _CHAIN_ATTRIBUTES:
            return True, _NO_NAMES
        if type(target) is ast.Name:
            read = (False, self.carried(target)[1]) if attribute.value == "args" else _NOTHING
        else:
            read = self.carried(target)
        if len(call.args) == 2 or read[0]:
            return read
        always, names = self.carried(call.args[2])
        return (True, _NO_NAMES) if always else (False, read[1] | names)

    def values_of(self, tree: TriageTree) -> None:
        """Class-like names used as values: anything but a call's callee, a method's
        receiver, an `except`/`isinstance` type, a base, an annotation, a decorator or
        what `raise` raises."""
        # From the tree's per-type lists, not a walk of every node (a set: order is moot).
        exempt: set[int] = set()
        for call in tree.of(ast.Call):
            func = call.func
            exempt.add(id(func))
            if (
                type(func) is ast.Name
                and func.id in ("isinstance", "issubclass")
                and len(call.args) == 2
            ):
                exempt.update(id(n) for n in _elements(call.args[1]))
            exempt.update(id(n) for n in _handled_classes(call))
        exempt.update(id(attribute.value) for attribute in tree.of(ast.Attribute))
        for handler in tree.of(ast.ExceptHandler):
            if handler.type is not None:
                exempt.update(id(n) for n in _elements(handler.type))
        for klass in tree.of(ast.ClassDef):
            exempt.update(id(n) for n in (*klass.bases, *klass.decorator_list))
        for function in tree.functions:
            exempt.update(id(d) for d in function.decorator_list)
            if function.returns is not None:
                exempt.update(id(n) for n in tree.walk(function.returns))
        annotated: list[ast.arg | ast.AnnAssign] = tree.of(ast.arg, ast.AnnAssign)
        for holder in annotated:
            if holder.annotation is not None:
                exempt.update(id(n) for n in tree.walk(holder.annotation))
        for statement in tree.of(ast.Raise):
            if statement.exc is not None:
                exempt.add(id(statement.exc))
        # A class table's classes are made where the table is called (`_Curation`).
        for table, elements in self.tables.items():
            for element in elements:
                if not class_like(dotted(element)):
                    continue
                exempt.add(id(element))
                reference = self.reference(element)
                if reference is not None:
                    self.tabled.append([table, *reference])
        seen: set[tuple[str, ...]] = set()
        references: list[ast.Name | ast.Attribute] = tree.of(ast.Name, ast.Attribute)
        for node in references:
            # Its dotted name, when it has one, ends with this last part: tested first.
            last = node.id if isinstance(node, ast.Name) else node.attr
            if not class_like(last):
                continue
            if id(node) in exempt or not isinstance(getattr(node, "ctx", None), ast.Load):
                continue
            name = dotted(node)
            if not class_like(name):
                continue
            reference = self.reference(node)
            if reference is not None and tuple(reference) not in seen:
                seen.add(tuple(reference))
                self.values.append(reference)


# -- what functions raise, and with which text (`analysis.raised_texts`) ------------------

# Builtins raising nothing with the server's text: at most their argument's type or
# value, which the caller handed them.
_QUIET_BUILTINS = frozenset(
    {
        "len", "isinstance", "issubclass", "str", "repr", "bool", "dict", "list", "tuple",
        "set", "frozenset", "sorted", "reversed", "enumerate", "zip", "range", "any", "all",
        "getattr", "hasattr", "min", "max", "sum", "abs", "id", "type", "hash", "print",
        "super", "callable",
    }
)  # fmt: skip
# Methods of strings, lists, dicts and patterns (whatever the receiver: no module has
# functions of these names that do the server's work): they raise nothing naming the
# server's state. (`get` apart: `session.get(User, id)` runs a query.)
_QUIET_METHODS = frozenset(
    {
        "strip", "lstrip", "rstrip", "lower", "upper", "title", "casefold", "startswith",
        "endswith", "split", "rsplit", "splitlines", "join", "replace", "encode",
        "isdigit", "isalnum", "isalpha", "items", "keys", "values", "append", "extend",
        "add", "discard", "copy", "setdefault", "model_dump", "match", "fullmatch",
    }
)  # fmt: skip
# Functions of modules raising nothing with the server's text (a copy's error names a
# type at most).
_QUIET_FUNCTIONS = frozenset(
    {
        "time.time", "time.monotonic", "time.perf_counter", "uuid.uuid4", "uuid.UUID",
        "re.match", "re.fullmatch", "re.search", "re.sub", "re.compile",
        "urllib.parse.urlparse", "urllib.parse.quote", "logging.getLogger",
        "fnmatch.fnmatch", "fnmatch.fnmatchcase", "os.path.basename", "os.path.splitext",
        "datetime.datetime.now", "datetime.datetime.utcnow", "mimetypes.guess_type",
        "copy.copy", "copy.deepcopy",
        # Path arithmetic and existence tests: a `TypeError` naming a type, a fixed
        # `ValueError` (`embedded null byte`, `Can't mix absolute and relative paths`);
        # `exists`/`isfile`/`isdir`/`islink` answer False for any OSError, `abspath`'s
        # `getcwd` fails naming no path. (`getsize`, `open`, `listdir` name the path.)
        "os.path.join", "os.path.dirname", "os.path.split", "os.path.normpath",
        "os.path.normcase", "os.path.isabs", "os.path.commonpath", "os.path.abspath",
        "os.path.exists", "os.path.lexists", "os.path.isfile", "os.path.isdir",
        "os.path.islink",
    }
)  # fmt: skip
# `os.path.realpath` without `strict`: it follows symlinks ignoring the OSErrors of missing
# parts (with `strict=True` they name the resolved path, which may be the server's). Before
# Python 3.13 a link removed between its `lstat` and `readlink` still fails, naming it: a
# race only someone changing the server's files can win.
_PATH_RESOLVERS = frozenset({"os.path.realpath"})


def _one_plain_argument(call: ast.Call) -> bool:
    """`call` hands one argument as it is: no keyword, nor a starred one that may also
    carry `strict=True` (`realpath(*options)`)."""
    return len(call.args) == 1 and not isinstance(call.args[0], ast.Starred) and not call.keywords


# JSON encoders: `dumps` raises a `TypeError` naming a type (`Object of type datetime is
# not JSON serializable`) or a fixed `ValueError` (`Circular reference detected`): never
# the data nor the server's state, whoever's data it is.
_JSON_MODULES = ("json", "orjson", "ujson", "simplejson")
_JSON_ENCODERS = frozenset(f"{module}.dumps" for module in _JSON_MODULES)
# JSON decoders: `loads` raises its decode error (`Expecting value: line 1 column 1`),
# `UnicodeDecodeError` (the offending byte), `TypeError` (the input's type name) or
# `RecursionError`, as `analysis.decode_errors` reads them; a few errors quote up to four
# characters of the document (`Invalid \\uXXXX escape: 12zz`), so only a document the
# client sent is harmless (`raised_texts` asks the route: an entry `["j", name, ...]`).
_JSON_DECODERS = frozenset(f"{module}.loads" for module in _JSON_MODULES)
# Keywords of a codec call that only format (a hook, `object_hook=`, `default=`, `cls=`,
# runs code of the caller's choosing, which may raise anything).
_CODEC_FORMATTING = frozenset(
    {"indent", "sort_keys", "ensure_ascii", "separators", "allow_nan", "option"}
)
# What a bare `except:` catches.
_EVERYTHING = "BaseException"


def _top_level_functions(
    tree: TriageTree, module: str
) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]]:
    """Module-level functions and the methods of module-level classes, by the function ids
    of the summaries (`module:name`, `module:Class.name`); a nested function's name may
    repeat a module-level one, and calls to it stay unresolved (possibly anything)."""
    for statement in tree.tree.body:
        if isinstance(statement, _FUNCTIONS):
            yield statement, f"{module}:{statement.name}"
        elif isinstance(statement, ast.ClassDef):
            for item in statement.body:
                if isinstance(item, _FUNCTIONS):
                    yield item, f"{module}:{statement.name}.{item.name}"


class _RaiseWalker:
    """The raises and calls of a function's own code (or of a `try` body), each with the
    last names of the classes enclosing `try` clauses of the function catch around it:

    - `["r", kind, name, internal, from_parameter, absorbed]`: `raise Name(...)` (kind/name
      as the summaries reference a class; `"b"` a builtin, `"?"` an unknown name);
      `internal` when an argument carries another exception's text, `from_parameter`
      when one mentions a parameter (a caller may hand it such text);
    - `["c", kind, name, quiet, absorbed]`: a call that may reach a function of the run
      (`quiet`: else it is a string, list or dict method, which raises nothing of note);
    - `["j", name, absorbed]`: a JSON decoder's call (`json.loads(raw)`, no hook) of the
      local or parameter `name` ("" for another expression): its errors may quote a few
      characters of that document, harmless when the client sent it (`raised_texts`);
    - `["o", absorbed]`: what may raise anything with any text: a call of a library (not a
      quiet builtin, string/dict method or module function, JSON encoder), a bare `raise`
      or `raise <name>` (the caught exception, or any).
    """

    def __init__(
        self,
        collector: _FileCollector,
        function: ast.FunctionDef | ast.AsyncFunctionDef | None,
        owner: str | None,
    ) -> None:
        self.collector = collector
        self.params: frozenset[str] = frozenset()
        self.owner = owner
        self.found: list[list[Any]] = []
        self.tries: list[ast.Try] = []
        self._tainted: set[str] | None = None
        # Its own code: the function's body, or the module's without a function.
        self.body = function.body if function is not None else collector.tree.tree.body
        if function is not None:
            args = function.args
            self.params = frozenset(
                a.arg
                for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
                if a is not None
            )

    def tainted(self) -> set[str]:
        """The names carrying an exception's text in the function (or the module's own
        code): computed for the first raise with arguments only, as most raise none."""
        if self._tainted is None:
            nodes = self.collector.tree.scope_nodes(self.body, _SCOPES, in_order=True)
            statements, calls = _ScopeStatements.sort(nodes, frozenset())
            self._tainted = statements.tainted(self.collector, calls)
        return self._tainted

    def entries(self) -> list[list[Any]]:
        """The entries of the function's own code (the module's, without a function);
        its `try` statements are kept in `tries`."""
        return self._collect(self.body, keep_tries=True)

    def own_tries(self) -> None:
        """`entries` for its `tries` alone (the same statements, in the same order)."""
        nodes = self.collector.tree.scope_nodes(self.body, _SCOPES, in_order=True)
        self.tries.extend(node for node in nodes if isinstance(node, ast.Try))

    def block(self, statement: ast.Try) -> list[list[Any]]:
        """The entries of a `try` statement's body (its own clauses do not absorb them)."""
        return self._collect(statement.body)

    def _collect(self, roots: list[ast.stmt], *, keep_tries: bool = False) -> list[list[Any]]:
        """The raises and calls of `roots`' own code (not of nested functions and
        classes, which run when called), each with what enclosing `try`s absorb. A
        message table's template (`ERROR_MESSAGES.X(...)`) building a raised
        exception's message only formats text."""
        tree = self.collector.tree
        self.found = []
        nodes = tree.scope_nodes(roots, _SCOPES, in_order=True)
        absorbed: dict[int, tuple[str, ...]] = {}
        in_message: set[int] = set()
        raised: set[int] = set()
        # Exact-type tests: the parser makes no subclass of these node types.
        for node in nodes:
            if type(node) is ast.Try:
                if keep_tries:
                    self.tries.append(node)
                caught = tuple(name for h in node.handlers for name in _caught_last_names(h))
                for inner in tree.scope_nodes(node.body, _SCOPES):
                    absorbed[id(inner)] = absorbed.get(id(inner), ()) + caught
            elif (
                type(node) is ast.Raise
                and isinstance(node.exc, ast.Call)
                and _raised_class(node) is not None
            ):
                raised.add(id(node.exc))
                arguments = [*node.exc.args, *(k.value for k in node.exc.keywords)]
                in_message.update(id(n) for n in tree.scope_nodes(arguments, _SCOPES))
        for node in nodes:
            if type(node) is ast.Raise:
                self.raise_(node, absorbed.get(id(node), ()))
            elif (
                type(node) is ast.Call
                and id(node) not in raised
                and not (id(node) in in_message and _message_template(node))
            ):
                self.call(node, absorbed.get(id(node), ()))
        return _unique(self.found)

    def raise_(self, node: ast.Raise, absorbed: tuple[str, ...]) -> None:
        klass = _raised_class(node)
        if klass is None:
            self.found.append(["o", list(absorbed)])
            return
        name = dotted(klass) or ""
        reference = self.collector.reference(klass)
        if reference is None:
            reference = ["b" if name in _BUILTINS else "?", name]
        arguments: list[ast.expr] = []
        if isinstance(node.exc, ast.Call):
            arguments = [*node.exc.args, *(k.value for k in node.exc.keywords)]
        internal = bool(arguments) and any(
            self.collector.carries(a, self.tainted()) for a in arguments
        )
        from_parameter = any(_mentions(a, self.params) for a in arguments)
        self.found.append(["r", *reference, int(internal), int(from_parameter), list(absorbed)])

    def call(self, node: ast.Call, absorbed: tuple[str, ...]) -> None:
        name = self.collector.callee_name(node)
        if name is not None and (is_log_call_name(name) or name in _QUIET_BUILTINS):
            return
        qualified = self.collector.names.qualify(name) if name is not None else None
        if (
            qualified in _QUIET_FUNCTIONS
            or (qualified in _JSON_ENCODERS and _plain_codec(node))
            or (qualified in _PATH_RESOLVERS and _one_plain_argument(node))
        ):
            return
        if qualified in _JSON_DECODERS and _plain_codec(node):
            document = node.args[0]
            if not isinstance(document, ast.Constant):
                name = document.id if isinstance(document, ast.Name) else ""
                self.found.append(["j", name, list(absorbed)])
            return
        func = node.func
        # A method of a value, not of an imported module (`shutil.copy`): a local, an
        # attribute, or an imported ALL_CAPS constant (`NAME_PATTERN.match(name)`).
        quiet = False
        if isinstance(func, ast.Attribute):
            receiver = dotted(func.value) or ""
            of_value = qualified is None or receiver.rsplit(".", 1)[-1].isupper()
            quiet = of_value and (
                func.attr in _QUIET_METHODS or (func.attr == "get" and _dict_get(node))
            )
        reference = self.collector.reference(func, self.owner)
        if reference is not None:
            # Quiet unless it names a function of the run (`BOOK.add(...)`, a method).
            self.found.append(["c", *reference, int(quiet), list(absorbed)])
        elif not quiet:
            self.found.append(["o", list(absorbed)])


def _plain_codec(call: ast.Call) -> bool:
    """A JSON codec call with one plain argument and formatting keywords only (no hook
    running other code, no `*args`/`**kwargs` that may hold one)."""
    return (
        len(call.args) == 1
        and not isinstance(call.args[0], ast.Starred)
        and all(k.arg in _CODEC_FORMATTING for k in call.keywords)
    )


def _raised_class(node: ast.Raise) -> ast.expr | None:
    """The class a `raise` names (`raise ValueError(...)`, `raise NotFound`), or None
    (`raise`, `raise error`, `raise self.failure(...)`: any exception, any text)."""
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    if exc is None or not class_like(dotted(exc)):
        return None
    return exc


def _message_template(call: ast.Call) -> bool:
    """A message table's template (`ERROR_MESSAGES.INVALID_URL(url)`: an ALL_CAPS name),
    whose result only formats its arguments (whether they carry exception text is
    checked on the raise)."""
    last = (dotted(call.func) or "").rsplit(".", 1)[-1]
    return last.isupper()


def _caught_last_names(handler: ast.ExceptHandler) -> list[str]:
    if handler.type is None:
        return [_EVERYTHING]
    return [(dotted(kind) or "").rsplit(".", 1)[-1] for kind in _elements(handler.type)]


def _dict_get(call: ast.Call) -> bool:
    """`mapping.get(key)`, `mapping.get(key, <constant>)`: not a query's `.get(Model, id)`."""
    if call.keywords or not 1 <= len(call.args) <= 2:
        return False
    return len(call.args) == 1 or isinstance(call.args[1], (ast.Constant, ast.Dict, ast.List))


def _handled_classes(call: ast.Call) -> list[ast.expr]:
    """The classes a call registers an exception handler for (`exception_handler(E)`,
    `add_exception_handler(E, fn)`, `exception_handlers={E: fn}`): the framework only
    tests raised exceptions against them, as an `except` does; it makes none."""
    found: list[ast.expr] = []
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in HANDLER_REGISTRARS and call.args:
        found.extend(_elements(call.args[0]))
    for keyword in call.keywords:
        if keyword.arg == "exception_handlers" and isinstance(keyword.value, ast.Dict):
            found.extend(key for key in keyword.value.keys if key is not None)
    return found


def _may_register_handlers(text: str) -> bool:
    """Whether the file may register an exception handler (`_registered_handlers`): it
    names a registrar or `exception_handlers=`, spelled as such unless some identifier
    of it is not ASCII (Python reads identifiers in their NFKC form)."""
    return not text.isascii() or any(token in text for token in _REGISTRATION_TOKENS)


def _registered_handlers(call: ast.AST) -> list[str]:
    """Last names of the functions a call registers as exception handlers, for any
    class or status (`add_exception_handler(E, errors.on_error)`,
    `register_error_handler(E, on_error)`, `exception_handlers={E: on_error}`,
    `app.exception_handler(E)(on_error)`)."""
    if not isinstance(call, ast.Call):
        return []
    handlers: list[ast.expr] = []
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in _REGISTRATION_CALLS and len(call.args) > 1:
        handlers.append(call.args[1])
    elif (
        isinstance(func, ast.Call)
        and isinstance(func.func, ast.Attribute)
        and func.func.attr in HANDLER_REGISTRARS
        and call.args
    ):
        handlers.append(call.args[0])
    for keyword in call.keywords:
        if keyword.arg == "exception_handlers" and isinstance(keyword.value, ast.Dict):
            handlers.extend(keyword.value.values)
    names = (dotted(handler) for handler in handlers)
    return [name.rsplit(".", 1)[-1] for name in names if name is not None]


def _unique(entries: list[list[Any]]) -> list[list[Any]]:
    """Entries in first-seen order, each once (a nested function is read twice)."""
    seen: set[str] = set()
    found: list[list[Any]] = []
    for entry in entries:
        key = repr(entry)
        if key not in seen:
            seen.add(key)
            found.append(entry)
    return found


def _elements(node: ast.expr) -> Iterator[ast.expr]:
    if isinstance(node, ast.Tuple):
        yield from node.elts
    else:
        yield node


def _names_exception(node: ast.AST) -> bool:
    """Whether a type expression names an exception class by its name (`Exception`,
    `BaseException | None`, `httpx.HTTPError`, `(OSError, ValueError)`, `"MyError"`)."""
    for inner in ast.walk(node):
        name = dotted(inner) if isinstance(inner, (ast.Name, ast.Attribute)) else None
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
            name = inner.value
        if name is not None and name.rsplit(".", 1)[-1].endswith(("Exception", "Error")):
            return True
    return False


def _any_within(lines: list[int], first: int, last: int) -> bool:
    """Whether the sorted `lines` hold one from `first` to `last`."""
    at = bisect_left(lines, first)
    return at < len(lines) and lines[at] <= last


def _mentions(node: ast.AST, names: frozenset[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


_ASSIGNMENTS = frozenset({ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr})
_LOOPS = frozenset({ast.For, ast.AsyncFor, ast.comprehension})


class _ScopeStatements:
    """What a scope's taint starts from and flows through, sorted from its nodes in one
    pass: names bound by `except ... as`, parameters typed as exceptions, the
    assignments and the loops."""

    def __init__(self, exception_params: frozenset[str]) -> None:
        self.seeds: set[str] = set(exception_params)
        self.assignments: list[ast.Assign | ast.AnnAssign | ast.AugAssign | ast.NamedExpr] = []
        self.loops: list[ast.For | ast.AsyncFor | ast.comprehension] = []

    @classmethod
    def sort(
        cls, nodes: Iterable[ast.AST], exception_params: frozenset[str]
    ) -> tuple[_ScopeStatements, list[ast.Call]]:
        """A scope's statements and its calls, from its nodes in one pass."""
        calls: list[ast.Call] = []
        statements = cls(exception_params)
        for node in nodes:
            if type(node) is ast.Call:
                calls.append(node)
            else:
                statements.add(node)
        return statements, calls

    def add(self, node: ast.AST) -> None:
        kind = type(node)
        if kind is ast.ExceptHandler:
            assert isinstance(node, ast.ExceptHandler)
            if node.name is not None:
                self.seeds.add(node.name)
        elif kind in _ASSIGNMENTS:
            self.assignments.append(node)  # type: ignore[arg-type]
        elif kind in _LOOPS:
            self.loops.append(node)  # type: ignore[arg-type]

    def tainted(self, collector: _FileCollector, calls: list[ast.Call]) -> set[str]:
        """Names bound by `except ... as`, parameters typed as exceptions, names an
        `isinstance(x, SomeError)` tests (`asyncio.gather(..., return_exceptions=True)`
        hands exceptions back as values), and locals assigned (in any order) from a
        value carrying their text, or from a traceback call."""
        tainted = set(self.seeds)
        for call in calls:
            if (
                collector.callee_name(call) == "isinstance"
                and len(call.args) == 2
                and isinstance(call.args[0], ast.Name)
                and _names_exception(call.args[1])
            ):
                tainted.add(call.args[0].id)
        changed = True
        while changed:
            changed = False
            for node in self.assignments:
                value = node.value
                if value is None or not collector.carries(value, tainted):
                    continue
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name) and name.id not in tainted:
                            tainted.add(name.id)
                            changed = True
            for loop in self.loops:
                if collector.carries(loop.iter, tainted):
                    for name in ast.walk(loop.target):
                        if isinstance(name, ast.Name) and name.id not in tainted:
                            tainted.add(name.id)
                            changed = True
        return tainted


register_collector(
    FactCollector(
        COLLECTOR,
        _TOKENS,
        from_source=collect_source,
        from_tree=collect_tree,
        # only LG502 asks, of the exceptions a handler it looks at catches
        gated_by_readers=True,
    )
)


# -- class tables ------------------------------------------------------------------------


def _class_tables(tree: TriageTree) -> dict[str, list[ast.expr]]:
    """The file's class tables: module-level names bound once in the file (no other
    assignment, `del`, `global` rebinding nor loop target) to a dict, list or tuple
    literal, with the elements a call of the table may make (a dict's values, not its
    keys, which iterating it hands out)."""
    candidates: dict[str, list[ast.expr]] = {}
    for statement in tree.tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign):
            target, value = statement.target, statement.value
        if not isinstance(target, ast.Name) or value is None:
            continue
        if isinstance(value, ast.Dict):
            elements = [v for k, v in zip(value.keys, value.values, strict=True) if k is not None]
        elif isinstance(value, (ast.List, ast.Tuple)):
            elements = [e for e in value.elts if not isinstance(e, ast.Starred)]
        else:
            continue
        if any(class_like(dotted(e)) for e in elements):
            candidates[target.id] = elements
    if not candidates:
        return candidates
    bindings: dict[str, int] = {}
    for name in tree.of(ast.Name):
        if name.id in candidates and not isinstance(name.ctx, ast.Load):
            bindings[name.id] = bindings.get(name.id, 0) + 1
    scopes: list[ast.Global | ast.Nonlocal] = tree.of(ast.Global, ast.Nonlocal)
    rebound = {name for statement in scopes for name in statement.names}
    return {
        name: elements
        for name, elements in candidates.items()
        if bindings.get(name) == 1 and name not in rebound
    }


def _called_table(call: ast.Call) -> str | None:
    """The last name of the table a call makes a class of at once (`table[key](...)`,
    `errors.table.get(key)(...)`), None for another call."""
    func = call.func
    if isinstance(func, ast.Subscript) and isinstance(func.ctx, ast.Load):
        table: ast.expr = func.value
    elif (
        isinstance(func, ast.Call)
        and isinstance(func.func, ast.Attribute)
        and func.func.attr == "get"
    ):
        table = func.func.value
    else:
        return None
    name = dotted(table)
    return None if name is None else name.rsplit(".", 1)[-1]


def _table_positions(tree: TriageTree) -> dict[int, ast.Call | None]:
    """The nodes standing where a class table may be used without escaping: the table
    of a call making one of its classes at once (id -> that call), or the container of
    a membership test (id -> None). Not within a lambda, which may be handed anything."""
    in_lambda = {id(n) for lam in tree.of(ast.Lambda) for n in tree.walk(lam)}
    found: dict[int, ast.Call | None] = {}
    for call in tree.of(ast.Call):
        if id(call) in in_lambda or _called_table(call) is None:
            continue
        func = call.func
        if isinstance(func, ast.Subscript):
            found[id(func.value)] = call
        elif isinstance(func, ast.Call) and isinstance(func.func, ast.Attribute):
            found[id(func.func.value)] = call
    for compare in tree.of(ast.Compare):
        if (
            id(compare) not in in_lambda
            and len(compare.ops) == 1
            and isinstance(compare.ops[0], (ast.In, ast.NotIn))
        ):
            found[id(compare.comparators[0])] = None
    return found


def collect_table_uses(tree: TriageTree, text: str, display: str) -> dict[str, Any] | None:
    """`{"other": [last name], "called": [last name], "made": [[table, function id]]}`
    of one file: the last names of the attributes, module-level and imported names (any
    name, with a `*` import) used otherwise than as a class table is called or tested
    (`_table_positions`) and of those `__all__` exports, those of the tables called,
    and the tables called with an argument naming a parameter of an enclosing function
    (a caller may hand it exception text). None when it has none."""
    module, package = module_identity(display)
    names = FileSummaryCollector(module, tree, package)
    star = False
    for statement in tree.of(ast.Import, ast.ImportFrom):
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            names.record_import(statement)
            star = star or any(alias.name == "*" for alias in statement.names)
    for statement in tree.tree.body:
        if isinstance(statement, (*_FUNCTIONS, ast.ClassDef)):
            names.globals.add(statement.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names.globals.update(t.id for t in targets if isinstance(t, ast.Name))
    # The definition of each of the file's tables is no use of it.
    tables = _class_tables(tree)
    definitions: set[int] = set()
    for statement in tree.tree.body:
        target: ast.expr | None = None
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
        elif isinstance(statement, ast.AnnAssign):
            target = statement.target
        if isinstance(target, ast.Name) and target.id in tables:
            definitions.add(id(target))
    positions = _table_positions(tree)
    other: set[str] = set()
    # What a reference adds depends on its last name alone (a bare name's, on whether
    # the module binds or imports it): each last name is judged once per kind, not at
    # each of the file's many uses of it.
    judged_names: set[str] = set()
    judged_attributes: set[str] = set()
    references: list[ast.Name | ast.Attribute] = tree.of(ast.Name, ast.Attribute)
    for reference in references:
        if id(reference) in positions or id(reference) in definitions:
            continue
        if isinstance(reference, ast.Name):
            last, judged = reference.id, judged_names
        else:
            last, judged = reference.attr, judged_attributes
        if last in judged:
            continue
        judged.add(last)
        if class_like(last):
            continue
        # An attribute of that name on anything (a module bound to a local, `self.x`)
        # may be the table; a bare name only when it is the module's or imported.
        if (
            isinstance(reference, ast.Attribute)
            or star
            or names.reference(reference, None, frozenset())
        ):
            other.add(last)
    # A name the module exports (`__all__ = ["error_types"]`) is there for code outside
    # the run, which may build its classes from anything.
    for statement in tree.tree.body:
        if isinstance(statement, (ast.Assign, ast.AugAssign)) and any(
            isinstance(t, ast.Name) and t.id == "__all__"
            for t in (
                statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            )
        ):
            other.update(
                n.value
                for n in tree.walk(statement.value)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            )
    called = sorted(
        {table for call in positions.values() if call and (table := _called_table(call))}
    )
    made: list[list[Any]] = []
    # Only a called table can be made from a parameter: most files call none.
    for function in tree.functions if any(positions.values()) else ():
        args = function.args
        params = frozenset(
            a.arg
            for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            if a is not None
        )
        for inner in tree.walk(function):
            call = positions.get(id(inner))
            if call is None:
                continue
            arguments = [*call.args, *(k.value for k in call.keywords)]
            table = _called_table(call)
            if table is not None and any(_mentions(a, params) for a in arguments):
                made.append([table, f"{module}:{function.name}"])
    facts: dict[str, Any] = {}
    if other:
        facts["other"] = sorted(other)
    if called:
        facts["called"] = called
    if made:
        facts["made"] = _unique(made)
    return facts or None


def _collect_table_uses_source(text: str, display: str) -> dict[str, Any] | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return collect_table_uses(TriageTree(tree, text, display=display), text, display)


# A class table's module defines or imports its classes; a module using it imports it.
def _tabled(facts_of: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(module, [table name, classes...]) of every class table of the run."""
    return [
        (module, entry)
        for module, facts in facts_of.items()
        if isinstance(facts, Mapping)
        for entry in facts.get("tabled", ())
    ]


def _table_use_dependencies(project: ProjectIndex, module: str) -> Any:
    """What of the run's table uses the findings can depend on (for the cache key): the
    uses of the names of the run's class tables only. Every file lists the last names it
    uses, so with all of them in the key an edit of any file would touch every module's
    key; the same for every module, computed once per run."""
    key = "class_table_uses:dependencies"
    found = project.derived.get(key)
    if found is None:
        tables = {str(entry[0]) for _, entry in _tabled(project.of(COLLECTOR))}
        found = {}
        for user, uses in sorted(project.of(TABLE_USES).items()):
            if not isinstance(uses, Mapping):
                continue
            kept = {
                "other": sorted(tables.intersection(uses.get("other", ()))),
                "called": sorted(tables.intersection(uses.get("called", ()))),
                "made": [entry for entry in uses.get("made", ()) if str(entry[0]) in tables],
            }
            if any(kept.values()):
                found[user] = kept
        project.derived[key] = found
    return found


register_collector(
    FactCollector(
        TABLE_USES,
        ("import", "class "),
        from_source=_collect_table_uses_source,
        from_tree=collect_table_uses,
        dependencies=_table_use_dependencies,
        # brought along by `exception_texts` alone (`registry._BROUGHT`), for LG502
        gated_by_readers=True,
    )
)


# -- queries ------------------------------------------------------------------------------


class _Curation:
    """Run-wide: the classes of the run made with another exception's text, those whose
    own methods put such text in their instances' text (`texts`, inherited: a subclass
    runs its base's `__str__`), and the subclasses and bases of each class."""

    def __init__(self, project: ProjectIndex, index: SummaryIndex) -> None:
        self.index = index
        self.tainted: set[tuple[str, str]] = set()
        self.texts: set[tuple[str, str]] = set()
        self.children: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.parents: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for module, classes in index.classes.items():
            for name, facts in classes.items():
                for base in facts.get("bases", ()) if isinstance(facts, Mapping) else ():
                    parent = index.class_named(module, base) if base[0] in ("l", "q") else None
                    if parent is not None:
                        self.children.setdefault(parent, []).append((module, name))
                        self.parents.setdefault((module, name), []).append(parent)
        # Which modules may meet (`analysis.run_parts`): a fact matched by a short name
        # holds only between modules that may call one another, never from another
        # project sharing the run.
        self.parts = run_parts(project)
        # Last name of each callee handed exception text (resolved or not) -> the roots
        # of the modules whose calls hand it: a function of that name making a class
        # from its parameters may make it from that text.
        self._handed_to: dict[str, set[str]] = {}
        # Per module: last names of the functions its calls register as exception
        # handlers (for any class: see `handler_handed_other_exceptions`).
        self.registered: dict[str, frozenset[str]] = {}
        # Last names of the library classes (`jwt.InvalidTokenError`) a call of the run
        # may make from exception text: handed it (`_handed_to`), or made by a function
        # handed it (`def reject(reason): raise jwt.InvalidTokenError(reason)`,
        # `reject(str(e))`): the class's last name -> the roots of the modules doing so.
        self._made_by: dict[str, set[str]] = {}
        # The run's classes deriving from a library class, by the library class's last
        # name (`class KeyLookupError(jwt.InvalidTokenError)`): catching the library
        # class catches them.
        self.library_children: dict[str, list[tuple[str, str]]] = {}
        for module, classes in index.classes.items():
            for name, facts in classes.items():
                for base in facts.get("bases", ()) if isinstance(facts, Mapping) else ():
                    if base[0] == "q" and index.class_named(module, base) is None:
                        last = str(base[1]).rsplit(".", 1)[-1]
                        self.library_children.setdefault(last, []).append((module, name))
        facts_of = project.of(COLLECTOR)
        self.modules = run_modules(project)
        for module, facts in facts_of.items():
            if not isinstance(facts, Mapping):
                continue
            if facts.get("registered"):
                self.registered[module] = frozenset(map(str, facts["registered"]))
            for entry in facts.get("handed", ()):
                self._taint(module, entry)
                last = str(entry[1]).rsplit(".", 1)[-1]
                self._handed_to.setdefault(last, set()).add(self.parts.root(module))
            for entry in facts.get("values", ()):
                self._taint(module, entry)
            for entry in facts.get("texts", ()):
                self._taint(module, entry, self.texts)
        for module, facts in facts_of.items():
            if not isinstance(facts, Mapping):
                continue
            for entry in facts.get("forwarded", ()):
                function = str(entry[2]).rsplit(".", 1)[-1].rsplit(":", 1)[-1]
                if self._met(self._handed_to.get(function), module):
                    self._taint(module, entry)
                    last = str(entry[1]).rsplit(".", 1)[-1]
                    self._made_by.setdefault(last, set()).add(self.parts.root(module))
        self._taint_tables(project, facts_of)

    def _taint_tables(self, project: ProjectIndex, facts_of: Mapping[str, Any]) -> None:
        """Taints the classes of each class table (see the module docstring) used, in a
        module that may meet it, otherwise than called or tested, or called with
        exception text, or from a parameter of a function handed such text; all of them
        when the run's uses are not known."""
        tabled = _tabled(facts_of)
        if not tabled:
            return
        # Only the uses of these names are looked at (every file lists its attributes).
        tables = {str(entry[0]) for _, entry in tabled}
        uses = project.of(TABLE_USES) if TABLE_USES in project.facts else None
        # Table last name -> the modules whose code may make its classes from anything.
        escapes: dict[str, list[str]] = {}
        # Table last name -> the modules calling such a table.
        callers: dict[str, list[str]] = {}
        for module, facts in facts_of.items():
            if isinstance(facts, Mapping):
                for entry in facts.get("table_texts", ()):
                    escapes.setdefault(str(entry[0]), []).append(module)
        for module, found in (uses or {}).items():
            if not isinstance(found, Mapping):
                continue
            for name in tables.intersection(found.get("other", ())):
                escapes.setdefault(name, []).append(module)
            for name in tables.intersection(found.get("called", ())):
                callers.setdefault(name, []).append(module)
            for table, function in found.get("made", ()):
                last = str(function).rsplit(":", 1)[-1]
                if self._met(self._handed_to.get(last), module):
                    escapes.setdefault(str(table), []).append(module)
        for module, entry in tabled:
            table = str(entry[0])
            if (
                uses is None
                or any(self.parts.linked(user, module) for user in escapes.get(table, ()))
                or not any(self.parts.linked(user, module) for user in callers.get(table, ()))
            ):
                self._taint(module, list(entry[1:]))

    def _met(self, roots: set[str] | None, module: str) -> bool:
        """Whether a module of one of `roots` may call code of `module` or be called by
        it (`run_parts.RunParts.linked`)."""
        if not roots:
            return False
        own = self.parts.root(module)
        return any(self.parts.roots_linked(own, root) for root in roots)

    def made_from_text(self, name: str, module: str) -> bool:
        """Whether code that `module` may meet hands exception text to a callee whose
        last name is `name` (`MyError(str(e))`, `fail(str(e))`), or makes a class so
        named in a function some call hands such text."""
        return self._met(self._handed_to.get(name), module) or self._met(
            self._made_by.get(name), module
        )

    def library_children_of(self, name: str, module: str) -> list[tuple[str, str]]:
        """The run's classes deriving from a library class of last name `name` that
        `module` may meet (catching the library class there catches them)."""
        own = self.parts.root(module)
        return [
            klass
            for klass in self.library_children.get(name, ())
            if self.parts.roots_linked(own, self.parts.root(klass[0]))
        ]

    def whole(self, module: str) -> bool:
        return holds_package(self.modules, module)

    def _taint(
        self, module: str, reference: list[Any], into: set[tuple[str, str]] | None = None
    ) -> None:
        if reference[0] not in ("l", "q"):
            return
        found = self.index.class_named(module, reference)
        if found is not None:
            (self.tainted if into is None else into).add(found)

    def curated(self, klass: tuple[str, str]) -> bool:
        # Its bases' text-making methods run for it too (`BaseError.__str__` showing
        # `self.__cause__`); a subclass's are checked with the subclass below.
        if any(current in self.texts for current in _reach(klass, self.parents)):
            return False
        return not any(
            current in self.tainted or current in self.texts
            for current in _reach(klass, self.children)
        )


def _reach(
    start: tuple[str, str], edges: Mapping[tuple[str, str], list[tuple[str, str]]]
) -> Iterator[tuple[str, str]]:
    """`start` and each class reached from it along `edges`, once each."""
    pending = [start]
    seen: set[tuple[str, str]] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        yield current
        pending.extend(edges.get(current, ()))


def _curation(project: ProjectIndex) -> _Curation | None:
    index = summaries_of(project)
    if index is None or COLLECTOR not in project.facts:
        return None
    found = project.derived.get("curated_exceptions")
    if not isinstance(found, _Curation):
        found = _Curation(project, index)
        project.derived["curated_exceptions"] = found
    return found


def whole_run_curation(context: FileContext) -> _Curation | None:
    """The run's curation, None when the run is not known or does not hold the asking
    file's package (a partial run proves nothing)."""
    project = context.project
    if project is None:
        return None
    curation = _curation(project)
    if curation is None or not curation.whole(context.module_name):
        return None
    return curation


def curated_exception_type(caught: cst.BaseExpression, context: FileContext) -> bool:
    """Whether every exception an `except <caught>` clause catches carries text the run
    wrote for it (see the module docstring): `caught` names classes of the run (one, or
    a tuple of them), each curated. False when unknown."""
    project = context.project
    if project is None:
        return False
    curation = _curation(project)
    if curation is None:
        return False
    kinds = list(caught.elements) if isinstance(caught, cst.Tuple) else [caught]
    if not kinds:
        return False
    for kind in kinds:
        value = kind.value if isinstance(kind, cst.BaseElement) else kind
        reference = cst_reference(value, context)
        klass = (
            None
            if reference is None
            else curation.index.class_named(context.module_name, reference)
        )
        if klass is None or not curation.whole(klass[0]) or not curation.curated(klass):
            return False
    return True


def run_classes_only(caught: cst.BaseExpression, context: FileContext) -> bool:
    """Whether an `except <caught>` clause names only classes of the run (one, or a tuple
    of them), whatever their texts: no library's exception (with text its upstream or
    its driver wrote) is caught there, as none derives from them. False when unknown."""
    project = context.project
    curation = None if project is None else _curation(project)
    if curation is None:
        return False
    kinds = list(caught.elements) if isinstance(caught, cst.Tuple) else [caught]
    for kind in kinds:
        value = kind.value if isinstance(kind, cst.BaseElement) else kind
        reference = cst_reference(value, context)
        if reference is None or curation.index.class_named(context.module_name, reference) is None:
            return False
    return bool(kinds)


def library_classes_carry_exception_text(names: Iterable[str], context: FileContext) -> bool | None:
    """Whether the run may put another exception's text in an instance of a library
    class a clause catches, given the last names of the classes it catches (the class
    and the library's subclasses of it: `InvalidTokenError`, `DecodeError`, ...): a call
    of the run so named is handed such text (`jwt.InvalidTokenError(str(e))`, matched by
    name), a function of the run making one from its parameter is
    (`reject(str(e))`), or a class of the run deriving from one is not curated
    (`class KeyLookupError(jwt.InvalidTokenError)` made from a connection error's text).
    None when the run is not known, or does not hold the asking file's package (a
    partial run proves nothing, as for the run's own classes)."""
    curation = whole_run_curation(context)
    if curation is None:
        return None
    for name in names:
        if curation.made_from_text(name, context.module_name):
            return True
        children = curation.library_children_of(name, context.module_name)
        if not all(curation.curated(k) for k in children):
            return True
    return False


def handler_handed_other_exceptions(name: str, context: FileContext) -> bool:
    """Whether a function named `name` of the file, registered as an exception handler
    for curated classes, may also be handed other exceptions: a call of another module
    of the run registers a function of that last name (`app.register_error_handler(
    Exception, errors.handle_error)` in the app factory), or a call of the run hands one
    another exception's text (a middleware's `await error_handler(request, exc)` in its
    catch-all). True when the run is not known or does not hold the file's package (a
    partial run proves nothing)."""
    curation = whole_run_curation(context)
    if curation is None:
        return True
    if curation.made_from_text(name, context.module_name):
        return True
    return any(
        name in names
        for module, names in curation.registered.items()
        if module != context.module_name and curation.parts.linked(module, context.module_name)
    )
