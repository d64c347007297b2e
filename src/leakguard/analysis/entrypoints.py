"""Scripts and command-line entry points: code that runs once per process invocation,
not once per request or per call of a long-lived service.

- a function decorated as a CLI command (`@click.command()`, `@cli.group()`,
  `@app.command()` of Typer), or named `main`/`cli`;
- a function called from the `if __name__ == "__main__":` block;
- every function of a file that has a `__main__` block and no request handler (a script).

`command_line_program(context)`: the file is a program run from the command line, not
a service: it has a `__main__` block or imports a command-line framework (argparse,
click, Typer, ...), imports no web framework, and no request handler of the run reaches
one of its functions.

`command_line_code(context)`: the current node is such a program's code that runs only
when the program does (in a function or the `__main__` block); module-level code
elsewhere runs on import, in a service that imports the module too.

`process_startup(function, context)`: the function runs once per process as part of its
start-up (an entry point, a function handed over as one, or one only start-up code
calls; see its docstring).

`startup.startup_only(function, context)` asks the same question of the whole run:
callers and registrations in every file, methods and nested functions, and only when the
run holds the function's packages; unlike `process_startup`, it does not trust the file
alone.

`is_cli_command(function)` is the narrower fact: a command of a CLI framework (click,
Typer, ...), decorated by one of its decorators or by a command/group method of a group
built with it in the same module. An `async def` command runs under its own
`asyncio.run(...)` per invocation: no other work shares its event loop.
"""

from __future__ import annotations

import ast

import libcst as cst

from leakguard.analysis.caches import uses_web_framework
from leakguard.analysis.frameworks import is_request_handler, may_be_handlers, route_registrations
from leakguard.analysis.imports import dotted_name
from leakguard.analysis.request_paths import qualified_name
from leakguard.analysis.startup import PROCESS_HANDOFFS
from leakguard.analysis.summaries import summary_index
from leakguard.context import FileContext
from leakguard.triage import TriageTree, imports_any
from leakguard.walker import descendants, walk

_CLI_DECORATORS = frozenset({"command", "group", "callback"})
_MAIN_NAMES = frozenset({"main", "cli", "_main", "run_cli"})
# Command-line frameworks whose decorators make a function a command.
_CLI_MODULES = ("click", "asyncclick", "rich_click", "cloup", "typer")


def main_block(context: FileContext) -> cst.If | None:
    """The module-level `if __name__ == "__main__":` statement, if any."""
    cached = context.memo.get("entrypoints.main_block", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    found: cst.If | None = None
    if "__main__" in context.source:
        for statement in context.module.body:
            if isinstance(statement, cst.If) and _is_main_test(statement.test):
                found = statement
                break
    context.memo["entrypoints.main_block"] = found
    return found


def _is_main_test(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison):
        return False
    parts = [test.left, *(c.comparator for c in test.comparisons)]
    names = {p.value for p in parts if isinstance(p, cst.Name)}
    strings = {p.evaluated_value for p in parts if isinstance(p, cst.SimpleString)}
    return "__name__" in names and "__main__" in strings


def _main_block_calls(context: FileContext) -> frozenset[str]:
    block = main_block(context)
    if block is None:
        return frozenset()
    return frozenset(
        node.func.value
        for node in descendants(block.body)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
    )


def _is_script(context: FileContext) -> bool:
    cached = context.memo.get("entrypoints.script")
    if isinstance(cached, bool):
        return cached
    result = main_block(context) is not None and not any(
        isinstance(node, cst.FunctionDef) and is_request_handler(node, context)
        for node in descendants(context.module)
    )
    context.memo["entrypoints.script"] = result
    return result


# Modules that make a file a command-line program when it imports them.
COMMAND_LINE_MODULES = frozenset({*_CLI_MODULES, "argparse", "fire", "docopt"})


def may_be_command_line_program(tree: TriageTree) -> bool:
    """What a rule's regions can tell of `command_line_program` from the `ast`: never
    False when it is True."""
    return main_block_ast(tree) is not None or imports_any(tree, COMMAND_LINE_MODULES)


def command_line_program(context: FileContext) -> bool:
    """The file is a command-line program and not a service (see the module docstring):
    what it reads, its operator or its developer put there."""
    if uses_web_framework(context):
        return False
    roots = {target.split(".", 1)[0] for target in context.imports.aliases.values()}
    if main_block(context) is None and not roots & COMMAND_LINE_MODULES:
        return False
    return not _serves_requests(context)


def command_line_code(context: FileContext) -> bool:
    """The current node is a command-line program's code (`command_line_program`) that
    runs only when the program does: in a function (which no request handler reaches)
    or in the `__main__` block. Other module-level code runs whenever the module is
    imported, in whatever process imports it: a service that imports the module runs it
    too, and the run's facts do not tell who imports a module."""
    if not command_line_program(context):
        return False
    block = main_block(context)
    for node in context.ancestors():
        if isinstance(node, (cst.FunctionDef, cst.Lambda)) or node is block:
            return True
    return False


def _serves_requests(context: FileContext) -> bool:
    """A request handler of the run reaches a function of the file (a service imports
    it, whatever the file imports itself). A file checked alone (no run summaries) has
    only its own imports to tell."""
    index = summary_index(context)
    if index is None:
        return False
    return any(
        index.handler_chain(context.module_name, qualified_name(function, context)) is not None
        for function in descendants(context.module, only=(cst.FunctionDef,))
        if isinstance(function, cst.FunctionDef)
    )


_REPEATING = (
    cst.For,
    cst.While,
    cst.Lambda,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.GeneratorExp,
)


def process_startup(function: cst.FunctionDef, context: FileContext, depth: int = 3) -> bool:
    """`function` runs once per process, as part of its start-up: an entry point
    (`is_entry_point`), a function handed over as one (`parser.set_defaults(func=f)`,
    `multiprocessing.Process(target=f)`), or a module-level undecorated function that no
    request handler of the run reaches, that no other module of the run calls, whose
    name the file uses only to call it (never as a value: a callback, a decorator, a
    registration), each call made outside loops, comprehensions and lambdas by a function
    that is itself start-up code (`depth` callers up). Never one a request handler of
    the run reaches. Without the run's summaries (a file checked alone) only the first
    two hold."""
    index = summary_index(context)
    qualname = function.name.value
    # A function a request handler reaches runs per request, whatever else calls it: an
    # entry point's name or a `__main__` block's call does not make it start-up only.
    if index is not None and index.handler_chain(context.module_name, qualname) is not None:
        return False
    if is_entry_point(function, context) or qualname in _startup_handoffs(context):
        return True
    if index is None or depth <= 0 or function.decorators or function not in context.module.body:
        return False
    fid = f"{context.module_name}:{qualname}"
    if any(not c.startswith(context.module_name + ":") for c in index.all_callers(fid)):
        return False
    uses = _name_uses(context).get(qualname, [])
    calls = 0
    for path in uses:
        name, parent = path[-1], path[-2]
        if isinstance(parent, cst.FunctionDef) and parent.name is name:
            continue  # its own definition
        if not (isinstance(parent, cst.Call) and parent.func is name):
            return False  # a value: a callback or a registration runs it any time
        if any(isinstance(n, _REPEATING) for n in path):
            return False
        caller = next((n for n in reversed(path) if isinstance(n, cst.FunctionDef)), None)
        if caller is None or caller is function or not process_startup(caller, context, depth - 1):
            return False
        calls += 1
    return calls > 0


def _startup_handoffs(context: FileContext) -> frozenset[str]:
    """Names of the file's functions handed over as a process's entry (see
    `startup.PROCESS_HANDOFFS`)."""
    cached = context.memo.get("entrypoints.startup_handoffs")
    if isinstance(cached, frozenset):
        return cached
    found: set[str] = set()
    for node in descendants(context.module, only=(cst.Call,)):
        assert isinstance(node, cst.Call)
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
        for method, keyword in PROCESS_HANDOFFS:
            if last != method:
                continue
            for argument in node.args:
                if (
                    argument.keyword is not None
                    and argument.keyword.value == keyword
                    and isinstance(argument.value, cst.Name)
                ):
                    found.add(argument.value.value)
    result = frozenset(found)
    context.memo["entrypoints.startup_handoffs"] = result
    return result


def _name_uses(context: FileContext) -> dict[str, list[tuple[cst.CSTNode, ...]]]:
    """Name -> the paths (module first) to every `Name` node of the file spelling it."""
    cached = context.memo.get("entrypoints.name_uses")
    if isinstance(cached, dict):
        return cached
    found: dict[str, list[tuple[cst.CSTNode, ...]]] = {}
    stack: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        if isinstance(node, cst.Name):
            found.setdefault(node.value, []).append(tuple(stack))

    walk(context.module, visit, stack=stack)
    context.memo["entrypoints.name_uses"] = found
    return found


def is_entry_point(function: cst.FunctionDef, context: FileContext) -> bool:
    """`function` is a script or CLI entry point (or a function of a script)."""
    name = function.name.value
    if name in _MAIN_NAMES or name in _main_block_calls(context):
        return True
    for decorator in function.decorators:
        target = decorator.decorator
        callee = target.func if isinstance(target, cst.Call) else target
        last = (dotted_name(callee) or "").rsplit(".", 1)[-1]
        if last in _CLI_DECORATORS:
            return True
    return _is_script(context)


def entry_point_regions(tree: TriageTree) -> list[ast.AST]:
    """What `is_entry_point` reads beyond the function and the module's statements (a
    rule's regions): in a file with a `__main__` block (a script unless it has a request
    handler), every function that may be a request handler and the calls that may
    register one."""
    if "__main__" not in tree.text or not any(
        isinstance(statement, ast.If) and _is_main_test_ast(statement.test)
        for statement in tree.tree.body
    ):
        return []
    return [*may_be_handlers(tree), *route_registrations(tree)]


def main_block_ast(tree: TriageTree) -> ast.If | None:
    """`main_block` on CPython's `ast` (for a rule's regions)."""
    for statement in tree.tree.body:
        if isinstance(statement, ast.If) and _is_main_test_ast(statement.test):
            return statement
    return None


def _is_main_test_ast(test: ast.expr) -> bool:
    """`_is_main_test` on CPython's `ast`."""
    if not isinstance(test, ast.Compare):
        return False
    parts = [test.left, *test.comparators]
    names = {p.id for p in parts if isinstance(p, ast.Name)}
    strings = {p.value for p in parts if isinstance(p, ast.Constant)}
    return "__name__" in names and "__main__" in strings


def is_cli_command(function: cst.FunctionDef, context: FileContext) -> bool:
    """`function` is a command of a CLI framework (see the module docstring). A bot's
    `@bot.command()` (discord.py) is not: its receiver is not a CLI group."""
    groups = _cli_groups(context)
    for decorator in function.decorators:
        target = decorator.decorator
        callee = target.func if isinstance(target, cst.Call) else target
        if _is_cli_name(context.imports.qualify(callee)):
            return True
        if isinstance(callee, cst.Attribute) and callee.attr.value in _CLI_DECORATORS:
            receiver = dotted_name(callee.value)
            if receiver is not None and receiver in groups:
                return True
    return False


def _is_cli_name(qualified: str | None) -> bool:
    return qualified is not None and qualified.split(".")[0] in _CLI_MODULES


def _cli_groups(context: FileContext) -> frozenset[str]:
    """Module-level names of CLI groups: functions decorated by the framework
    (`@click.group() def root()`), and `app = typer.Typer()` / `cli = click.Group()`."""
    cached = context.memo.get("entrypoints.cli_groups")
    if isinstance(cached, frozenset):
        return cached
    found: set[str] = set()
    for statement in context.module.body:
        if isinstance(statement, cst.FunctionDef):
            for decorator in statement.decorators:
                target = decorator.decorator
                callee = target.func if isinstance(target, cst.Call) else target
                if _is_cli_name(context.imports.qualify(callee)):
                    found.add(statement.name.value)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if (
                    isinstance(small, cst.Assign)
                    and isinstance(small.value, cst.Call)
                    and _is_cli_name(context.imports.call_name(small.value))
                ):
                    for assigned in small.targets:
                        if isinstance(assigned.target, cst.Name):
                            found.add(assigned.target.value)
    result = frozenset(found)
    context.memo["entrypoints.cli_groups"] = result
    return result
