"""LG202 false-async: an `async def` that never awaits but does work on the event loop."""

from __future__ import annotations

from functools import cached_property

import libcst as cst

from leakguard.analysis.async_interfaces import COLLECTOR as INTERFACES
from leakguard.analysis.async_interfaces import interface_methods
from leakguard.analysis.asyncio_facts import is_test_file
from leakguard.analysis.imports import dotted_name
from leakguard.analysis.lifecycle import STARTUP_AND_SHUTDOWN, is_lifecycle_hook
from leakguard.analysis.pydantic_models import COLLECTOR, model_index, own_qualified
from leakguard.analysis.scopes import module_bindings
from leakguard.context import FileContext
from leakguard.rule import LintRule
from leakguard.walker import SCOPE_NODES, descendants

_OVERRIDE_DECORATORS = frozenset({"override", "overload", "abstractmethod"})
# Bases that make a class defined in the file a plain data holder: constructing one is cheap.
_DATA_BASES = frozenset(
    {
        "pydantic.BaseModel",
        "pydantic.main.BaseModel",
        "pydantic_settings.BaseSettings",
        "typing.NamedTuple",
        "typing.TypedDict",
        "typing_extensions.TypedDict",
        "enum.Enum",
        "enum.IntEnum",
        "enum.StrEnum",
        "Exception",
        "ValueError",
        "RuntimeError",
        "LookupError",
        "KeyError",
    }
)
_DATA_DECORATORS = frozenset({"dataclasses.dataclass", "attrs.define", "attr.s", "attrs.frozen"})
_LOGGER_FACTORIES = frozenset(
    {"logging.getLogger", "structlog.get_logger", "structlog.getLogger", "logging.LoggerAdapter"}
)
_MAX_EXAMPLE = 40


class FalseAsync(LintRule):
    code = "LG202"
    # Pydantic models defined anywhere in the run: constructing one is cheap.
    PROJECT_FACTS = (COLLECTOR, INTERFACES)

    @cached_property
    def _cheap(self) -> tuple[frozenset[str], tuple[str, ...]]:
        names = [str(n) for n in self.option("cheap_calls")]
        exact = frozenset(n for n in names if not n.endswith(".*"))
        return exact, tuple(n[:-1] for n in names if n.endswith(".*"))

    @cached_property
    def _cheap_methods(self) -> frozenset[str]:
        return frozenset(self.option("cheap_methods"))

    @cached_property
    def _logger_names(self) -> frozenset[str]:
        return frozenset(self.option("logger_names"))

    @cached_property
    def _skipped_file(self) -> bool:
        return bool(self.option("skip_tests")) and is_test_file(self.context.path)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is None or self._skipped_file:
            return
        name = node.name.value
        if name in self.option("async_interface_methods") or self._implements_interface(node):
            return
        owner = _direct_class(self.context)
        if name in _inherited_async_methods(self.context, owner):
            return
        if owner is not None and owner.bases and name in interface_methods(self.context):
            return  # implements an abstract/protocol async method declared in the run
        if self.option("skip_lifecycle_hooks") and is_lifecycle_hook(
            node, self.context, STARTUP_AND_SHUTDOWN
        ):
            return  # start-up/shutdown code: no request is waiting on the loop yet
        work = self._work_calls(node)
        if not work:
            return
        example = self.context.code_of(work[0].func)
        if len(example) > _MAX_EXAMPLE or "\n" in example:
            example = example.splitlines()[0][: _MAX_EXAMPLE - 1] + "…"
        self.report(
            node.name,
            function=node.name.value,
            count=len(work),
            calls="call" if len(work) == 1 else "calls",
            example=example,
        )

    def _implements_interface(self, node: cst.FunctionDef) -> bool:
        for decorator in node.decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call):
                target = target.func
            name = dotted_name(target) or ""
            if name.rsplit(".", 1)[-1] in _OVERRIDE_DECORATORS:
                return True
        return False

    def _work_calls(self, function: cst.FunctionDef) -> list[cst.Call]:
        """Calls of the own body that are not cheap, or [] if the body awaits anywhere."""
        calls: list[cst.Call] = []
        raised: set[int] = set()
        for child in descendants(function.body, stop_at=SCOPE_NODES):
            if isinstance(child, cst.Await):
                return []
            if (
                isinstance(child, (cst.For, cst.With, cst.CompFor))
                and child.asynchronous is not None
            ):
                return []
            if isinstance(child, cst.Raise) and child.exc is not None:
                raised.add(id(child.exc))
            elif (
                isinstance(child, cst.Call)
                and id(child) not in raised
                and not self._is_cheap(child)
            ):
                calls.append(child)
        return calls

    def _is_cheap(self, call: cst.Call) -> bool:
        func = call.func
        qualified = self.context.imports.qualify(func)
        if qualified is not None:
            exact, prefixes = self._cheap
            if qualified in exact or any(qualified.startswith(p) for p in prefixes):
                return True
        if isinstance(func, cst.Name):
            return func.value in _data_classes(self.context) or self._is_model(
                func.value, qualified
            )
        if not isinstance(func, cst.Attribute):
            return False
        if self._is_logger(func.value):
            return True
        if qualified is not None and _imported_module_root(func, self.context):
            return False  # `requests.get`: a module function, not a cheap method
        return func.attr.value in self._cheap_methods

    def _is_model(self, name: str, qualified: str | None) -> bool:
        """A pydantic model of the run (e.g. a response model imported from `schemas.py`)."""
        if not name[:1].isupper():
            return False
        index = model_index(self.context)
        return index.is_model(qualified or own_qualified(self.context, name))

    def _is_logger(self, receiver: cst.BaseExpression) -> bool:
        if isinstance(receiver, cst.Call):  # logging.getLogger(__name__).info(...)
            return self.context.imports.call_name(receiver) in _LOGGER_FACTORIES
        if isinstance(receiver, cst.Attribute):
            name = receiver.attr.value
        elif isinstance(receiver, cst.Name):
            name = receiver.value
            if name in _logger_globals(self.context):
                return True
        else:
            return False
        return name in self._logger_names or name.endswith(("_logger", "_log"))


def _direct_class(context: FileContext) -> cst.ClassDef | None:
    """The class whose body directly defines the function being visited."""
    for node in reversed(context.stack[:-1]):
        if isinstance(node, cst.ClassDef):
            return node
        if isinstance(node, (cst.FunctionDef, cst.Lambda)):
            return None
    return None


def _inherited_async_methods(context: FileContext, klass: cst.CSTNode | None) -> frozenset[str]:
    """Async method names that `klass` overrides from base classes defined in this file:
    the base fixes the interface, so the override must stay `async def`."""
    if not isinstance(klass, cst.ClassDef) or not klass.bases:
        return frozenset()
    key = ("LG202.inherited", id(klass))
    cached = context.memo.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    classes = {s.name.value: s for s in context.module.body if isinstance(s, cst.ClassDef)}
    found: set[str] = set()
    pending = [b.value.value for b in klass.bases if isinstance(b.value, cst.Name)]
    seen: set[str] = set()
    while pending:
        base = classes.get(pending.pop())
        if base is None or base.name.value in seen:
            continue
        seen.add(base.name.value)
        for statement in base.body.body:
            if isinstance(statement, cst.FunctionDef) and statement.asynchronous is not None:
                found.add(statement.name.value)
        pending.extend(b.value.value for b in base.bases if isinstance(b.value, cst.Name))
    result = frozenset(found)
    context.memo[key] = result
    return result


def _imported_module_root(func: cst.Attribute, context: FileContext) -> bool:
    root: cst.BaseExpression = func
    while isinstance(root, cst.Attribute):
        root = root.value
    return isinstance(root, cst.Name) and root.value in context.imports.aliases


def _data_classes(context: FileContext) -> frozenset[str]:
    """Classes of this file that only hold data (pydantic models, dataclasses, enums,
    exceptions), including subclasses of such classes defined in the file."""
    cached = context.memo.get("LG202.data_classes")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    found: set[str] = set()
    classes = [s for s in context.module.body if isinstance(s, cst.ClassDef)]
    changed = True
    while changed:
        changed = False
        for klass in classes:
            if klass.name.value not in found and _is_data_class(klass, found, context):
                found.add(klass.name.value)
                changed = True
    result = frozenset(found)
    context.memo["LG202.data_classes"] = result
    return result


def _is_data_class(klass: cst.ClassDef, known: set[str], context: FileContext) -> bool:
    for base in klass.bases:
        qualified = context.imports.qualify(base.value) or dotted_name(base.value) or ""
        if (
            qualified in _DATA_BASES
            or qualified in known
            or qualified.endswith(("Error", "Exception"))
        ):
            return True
    for decorator in klass.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Call):
            target = target.func
        if context.imports.qualify(target) in _DATA_DECORATORS:
            return True
    return False


def _logger_globals(context: FileContext) -> frozenset[str]:
    """Module globals assigned from `logging.getLogger(...)` and friends."""
    cached = context.memo.get("LG202.loggers")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    found: set[str] = set()
    for name, statement in module_bindings(context).items():
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign)) else None
            if (
                isinstance(value, cst.Call)
                and context.imports.call_name(value) in _LOGGER_FACTORIES
            ):
                found.add(name)
    result = frozenset(found)
    context.memo["LG202.loggers"] = result
    return result
