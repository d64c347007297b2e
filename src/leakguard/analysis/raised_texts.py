"""Raised texts: a `try` whose caught classes can only come, with curated text, from the run.

    try:
        return await create_target(user.id, form.model_dump())
    except ValueError as e:
        raise HTTPException(400, detail=str(e))

sends out only the run's own words when every `ValueError` that can reach the clause is
one the run raises itself with a message of its own (`raise ValueError("Webhook URL is
required")`, `raise ValueError(f"unsupported event: {event}")`,
`raise ValueError(ERROR_MESSAGES.INVALID_URL)`): the project's input validation, written
as the 400's detail.

`curated_raises(try_line, caught, context)` holds for a named `except` clause when, for
each class it catches, nothing in its `try` body may raise an instance of it with
another text. From the facts `analysis.curated_exceptions` collects per function
(`raising`) and per `try` body (`tries`), followed over the run's call graph (the
summaries resolve each call; a cycle is walked once):

- a `raise C(...)` of a class the clause may catch (the class or a subclass; a library
  class or an unknown name may be one) counts when an argument carries another
  exception's text (`raise ValueError(str(err))`, `raise ValueError(f"bad: {e}")`), or
  mentions a parameter of a function some call of the run hands such text
  (`def fail(msg): raise ValueError(msg)` with `fail(str(e))`);
- a call not resolved to a function of the run (a library's, a driver's, `open`,
  `json.loads`, `int(...)`, a dynamic one) may raise anything with any text, except a
  few quiet ones (`len`, `isinstance`, `str`, string and dict methods, `re.match`,
  logging): so does a bare `raise` or `raise err`;
- unless an enclosing `try` of the same function catches the class (or a builtin base
  of it) there: `try: uuid.UUID(x) except ValueError: raise ValueError("Invalid id")`
  raises only the curated text (its handler's own raises count as written);
- nor does a raise of a class an earlier clause of the same `try` catches, however deep
  below the `try` (`except HTTPException: raise` before `except Exception as e`): it
  never reaches the clause. Matched as the same class of the run or library (by where
  it resolves; a subclass of it is not matched), or a builtin subclass of a builtin the
  earlier clause names.

A clause catching `Exception` thus holds only when everything in the `try` is the run's
own quiet code. Classes of the run caught by name are `curated_exceptions`'s. A partial
run proves nothing: the run must hold the asking file's package (`whole_run_curation`).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import libcst as cst

from leakguard.analysis.client_input import client_input_names
from leakguard.analysis.curated_exceptions import COLLECTOR, _Curation, whole_run_curation
from leakguard.analysis.summaries import cst_reference
from leakguard.context import FileContext


def curated_raises(
    handler: cst.ExceptHandler,
    context: FileContext,
    function: cst.FunctionDef | None = None,
    earlier: Sequence[cst.ExceptHandler] = (),
) -> bool:
    """Whether every exception `handler` may catch from its `try` body carries text the
    run wrote (see the module docstring), `function` holding the `try` (None: the
    module's code) and `earlier` the clauses of the same `try` before `handler` (what
    they catch never reaches it). False when unknown."""
    if handler.type is None:
        return False
    curation = whole_run_curation(context)
    project = context.project
    if curation is None or project is None:
        return False
    facts = project.of(COLLECTOR).get(context.module_name)
    if not isinstance(facts, Mapping):
        return False
    body = facts.get("tries", {}).get(str(context.line_of(handler)))
    if not isinstance(body, list):
        return False
    kinds = handler.type.elements if isinstance(handler.type, cst.Tuple) else [handler.type]
    caught: list[str] = []
    for kind in kinds:
        value = kind.value if isinstance(kind, cst.BaseElement) else kind
        name = _builtin_class(value, context)
        if name is None:
            return False  # a class of the run or a library's: `curated_exceptions`
        caught.append(name)
    from_client = (
        _nothing_from_client if function is None else client_input_names(function, context)
    )
    walk = _Walk(curation, project.of(COLLECTOR), from_client)
    walk.shadowed = _caught_before(earlier, context, curation)
    return walk.only_curated(context.module_name, body, caught)


def _caught_before(
    earlier: Sequence[cst.ExceptHandler], context: FileContext, curation: _Curation
) -> frozenset[tuple[str, str]]:
    """The classes the clauses before one catch, as `_Walk.shadows` compares them: `("b",
    name)` a builtin, `("l", module:Class)` a class of the run, `("q", name)` a library's
    by its qualified name; a name none of these resolves stays out (it shadows nothing)."""
    found: set[tuple[str, str]] = set()
    for clause in earlier:
        if clause.type is None:
            continue
        kinds = clause.type.elements if isinstance(clause.type, cst.Tuple) else [clause.type]
        for kind in kinds:
            value = kind.value if isinstance(kind, cst.BaseElement) else kind
            builtin = _builtin_class(value, context)
            if builtin is not None:
                found.add(("b", builtin))
                continue
            reference = cst_reference(value, context)
            if reference is not None:
                key = _class_key(curation, context.module_name, reference)
                if key is not None:
                    found.add(key)
    return frozenset(found)


def _class_key(
    curation: _Curation, module: str, reference: Sequence[Any]
) -> tuple[str, str] | None:
    """A class as referenced in `module`, in a form that compares across modules."""
    klass = curation.index.class_named(module, reference)
    if klass is not None:
        return ("l", f"{klass[0]}:{klass[1]}")
    if str(reference[0]) == "q":
        return ("q", str(reference[1]))
    return None


def _builtin_class(value: cst.BaseExpression, context: FileContext) -> str | None:
    """The builtin exception class an `except` names (`ValueError`, `Exception`)."""
    if not isinstance(value, cst.Name) or cst_reference(value, context) is not None:
        return None  # rebound or imported under a builtin's name
    found = getattr(builtins, value.value, None)
    if isinstance(found, type) and issubclass(found, BaseException):
        return value.value
    return None


# Builtin classes the body's own operations raise naming types only (see `only_curated`).
_TYPE_NAMING = frozenset({"TypeError"})


class _Walk:
    """The functions that may raise one builtin class with internal text: a least fixed
    point over the calls reached from one `try` body."""

    def __init__(
        self, curation: _Curation, facts: Mapping[str, Any], from_client: Callable[[str], bool]
    ) -> None:
        self.curation = curation
        self.facts = facts
        # Whether a name of the `try`'s function holds only what the client sent.
        self.from_client = from_client
        self._raising: dict[str, Sequence[Any] | None] = {}
        # The classes earlier clauses of the same `try` catch (`_caught_before`): a raise
        # of one anywhere below the `try` is caught there (`except HTTPException: raise`
        # before `except Exception as e`) and never reaches the clause asked about.
        self.shadowed: frozenset[tuple[str, str]] = frozenset()
        # Whether a curated raise of the class was met (see `only_curated`).
        self.raises_curated = False

    def raising(self, fid: str) -> Sequence[Any] | None:
        """A function's entries; None when its file holds none (a function of a file
        without any `except`, `Error`, ...: unknown, so possibly anything)."""
        if fid not in self._raising:
            module = fid.split(":", 1)[0]
            facts = self.facts.get(module)
            entries = facts.get("raising", {}).get(fid) if isinstance(facts, Mapping) else None
            known = isinstance(facts, Mapping) and fid in self.curation.index.functions
            self._raising[fid] = entries if isinstance(entries, list) else ([] if known else None)
        return self._raising[fid]

    def only_curated(self, module: str, body: Sequence[Any], caught: Sequence[str]) -> bool:
        """Whether the `try` body raises none of the `caught` classes with another text
        than the run's, and each somewhere with the run's: a clause no raise of the run
        reaches guards a stand-in (`def run(payload): return payload`), not the run's
        own validation. Except a `TypeError` beside a class raised so: the body's own
        operations may raise one the walk does not see, whose text names types only
        (`unsupported operand type(s) for +`), unlike a subscript's `KeyError` (the key)."""
        curated = 0
        for name in caught:
            self.raises_curated = False
            if self._carries(module, body, name):
                return False
            if self.raises_curated:
                curated += 1
            elif name not in _TYPE_NAMING:
                return False
        return curated > 0

    def _carries(self, module: str, body: Sequence[Any], caught: str) -> bool:
        # Reached functions, breadth first from the try body (each walked once).
        callees: dict[str, list[str]] = {}
        carrying: set[str] = set()
        pending = self._callees(module, body, caught, None)
        if pending is None:
            return True
        direct = list(pending)
        seen: set[str] = set()
        while pending:
            fid = pending.pop()
            if fid in seen:
                continue
            seen.add(fid)
            entries = self.raising(fid)
            found = (
                None
                if entries is None
                else self._callees(fid.split(":", 1)[0], entries, caught, fid)
            )
            if found is None:
                carrying.add(fid)
                callees[fid] = []
                continue
            callees[fid] = found
            pending.extend(found)
        # Least fixed point: a function carries when one of its callees does (cycles
        # settle as the loop reaches no new function; the order does not matter).
        changed = True
        while changed:
            changed = False
            for fid in sorted(callees):
                if fid not in carrying and any(c in carrying for c in callees[fid]):
                    carrying.add(fid)
                    changed = True
        return any(fid in carrying for fid in direct)

    def _callees(
        self, module: str, entries: Iterable[Any], caught: str, fid: str | None
    ) -> list[str] | None:
        """The functions of the run `entries` call outside an absorbing `try`; None when
        an entry itself may raise the class with internal text."""
        found: list[str] = []
        last = "" if fid is None else fid.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        for entry in entries:
            if not isinstance(entry, list) or not entry:
                return None
            if _absorbed(caught, entry[-1]):
                continue
            kind = entry[0]
            if kind == "o":
                return None
            if kind == "j":
                # A JSON document the route's client sent: its decode errors quote at
                # most a few of its characters. Elsewhere (a helper's parameter, a
                # stored value) it may be the server's.
                if fid is None and entry[1] and self.from_client(str(entry[1])):
                    continue
                return None
            if kind == "c":
                target = self.curation.index.resolve(module, [entry[1], entry[2]])
                if target is not None:
                    found.append(target)
                elif not entry[3]:
                    return None
            elif kind == "r":
                if not _may_be(str(entry[1]), str(entry[2]), caught):
                    continue
                klass = self.curation.index.class_named(module, [entry[1], entry[2]])
                if (
                    entry[3]
                    or (entry[4] and self.curation.made_from_text(last, module))
                    or (klass is not None and not self.curation.curated(klass))
                ):
                    if self.shadows(module, entry):
                        continue  # caught by an earlier clause, whatever its text
                    return None
                self.raises_curated = True
        return found

    def shadows(self, module: str, raised: Sequence[Any]) -> bool:
        """Whether an earlier clause catches every instance of the class a `raise` entry
        of `module` names: the same class of the run or library (a subclass of it is
        not matched: it stays reaching), or a builtin base of a builtin."""
        if not self.shadowed:
            return False
        kind, name = str(raised[1]), str(raised[2])
        if kind == "b":
            own = getattr(builtins, name, None)
            return isinstance(own, type) and any(
                key == "b"
                and isinstance(base := getattr(builtins, caught, None), type)
                and issubclass(own, base)
                for key, caught in self.shadowed
            )
        return _class_key(self.curation, module, [kind, name]) in self.shadowed


def _nothing_from_client(name: str) -> bool:
    """The module's own code reads no client's request."""
    return False


def _may_be(kind: str, name: str, caught: str) -> bool:
    """Whether a raised class (as referenced) may be an instance of the builtin `caught`:
    a builtin subclass, or any class of the run or a library (its bases are not
    followed: it may derive from anything)."""
    if kind != "b":
        return True
    raised = getattr(builtins, name, None)
    base = getattr(builtins, caught, None)
    return not (isinstance(raised, type) and isinstance(base, type)) or issubclass(raised, base)


def _absorbed(caught: str, handled: Any) -> bool:
    """Whether an enclosing `try` catching `handled` (last names) catches every `caught`
    instance: the same class or a builtin base of it."""
    if not isinstance(handled, list):
        return False
    raised = getattr(builtins, caught, None)
    for name in handled:
        base = getattr(builtins, str(name), None)
        if name == caught or (
            isinstance(raised, type) and isinstance(base, type) and issubclass(raised, base)
        ):
            return True
    return False
