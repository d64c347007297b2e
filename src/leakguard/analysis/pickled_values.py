"""What a pickle dump serializes, and where the bytes of an in-memory dump go.

LG402 reports a pickle dump "of a model object": the file it writes can only be read
back unsafely. Three kinds of dump persist no model:

`pickled_by_reference(value)`: the value is a class object (`obj.__class__`,
`type(obj)`): pickle writes the class's module and qualified name, no state; no model
instance is stored (an instance, `pipeline_` itself, is judged as before).

`exception_object(value, scope, context)`: the value is an exception: the name an
enclosing `except E as name` bound (`exceptions.ExceptionTracker`), a parameter
annotated with an exception class (`error: Exception`, `exc: ValueError`) that the
function has not rebound before the dump, or a call of such a class
(`RuntimeError("...")`). Pickled almost only to cross a process boundary (a worker's
error sent back to its server); never a model.

`bytes_only_sent(dumps, function, context)`: every use of the bytes of
`pickle.dumps(x)` (the call itself, or a local of the function every read of which is;
framed by `+` with a header, `f"{consumer_id}|".encode() + blob`, they are followed as
the message they become) hands them to a point-to-point channel as the message
(`_SENDS`: `sock.send(b)`, `conn.send_bytes(b)`, `client.post(url, data=b)`): an
in-flight message, not a file.
A queue's `put` or a broker's `publish` is no such channel (the queue may be durable).
Returned bytes, bytes written (`f.write(b)`) or passed to any other call keep the dump
reported.

`bytes_written(dumps, function, context)`: some use of the bytes (directly or through
a local) is written to a file (`f.write(b)`, `path.write_bytes(b)`).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from leakguard.analysis.bindings import local_reads
from leakguard.analysis.exceptions import ExceptionTracker
from leakguard.context import FileContext


@dataclass(frozen=True)
class _Send:
    """How a channel method takes its message: the positional indexes and the keywords
    that hold it."""

    positions: tuple[int, ...]
    keywords: frozenset[str] = frozenset()


# Point-to-point channel methods and where their message goes: the first positional
# argument of a socket's or a pipe's send (`sock.send(b)`, `conn.send_bytes(b)`), the
# body of an HTTP request (`post(url, data=b)`).
# Not a queue's `put` nor a broker's `publish`/`send(topic, value)`: such queues may be
# durable (Redis, Kafka), read back later like a file.
_SENDS = {
    "send": _Send((0,)),
    "sendall": _Send((0,)),
    "sendto": _Send((0,)),
    "send_bytes": _Send((0,)),
    "post": _Send((), frozenset({"data", "content"})),
}
_FILE_WRITES = frozenset({"write", "writelines", "write_bytes"})
_BASE_EXCEPTIONS = frozenset({"Exception", "BaseException"})
_EXCEPTION_SUFFIXES = ("Error", "Exception")


def pickled_by_reference(value: cst.BaseExpression, context: FileContext) -> bool:
    """`obj.__class__` or `type(obj)`: a class object, pickled as its import path."""
    if isinstance(value, cst.Attribute):
        return value.attr.value == "__class__"
    return (
        isinstance(value, cst.Call)
        and context.imports.call_name(value) == "type"
        and len(value.args) == 1
        and value.args[0].keyword is None
        and not value.args[0].star
    )


def exception_object(
    value: cst.BaseExpression, scope: cst.FunctionDef | None, context: FileContext
) -> bool:
    """The value is an exception object (see the module docstring)."""
    if isinstance(value, cst.Call):
        name = context.imports.call_name(value)
        return name is not None and _exception_class_name(name)
    if not isinstance(value, cst.Name) or scope is None:
        return False
    tracker = ExceptionTracker(context)
    if tracker.caught(value, scope):
        return True  # bound by `except E as name` (or a registered handler's parameter)
    return _exception_parameter(value, scope, tracker)


def _exception_class_name(qualified: str) -> bool:
    last = qualified.rsplit(".", 1)[-1]
    return last in _BASE_EXCEPTIONS or (last[:1].isupper() and last.endswith(_EXCEPTION_SUFFIXES))


def _exception_parameter(name: cst.Name, scope: cst.FunctionDef, tracker: ExceptionTracker) -> bool:
    """`name` is a parameter annotated with an exception class, not rebound before."""
    params = scope.params
    found = next(
        (
            p
            for p in (*params.posonly_params, *params.params, *params.kwonly_params)
            if p.name.value == name.value
        ),
        None,
    )
    if found is None or found.annotation is None:
        return False
    annotation = found.annotation.annotation
    if isinstance(annotation, cst.Name):
        text = annotation.value
    elif isinstance(annotation, cst.Attribute):
        text = annotation.attr.value
    else:
        return False
    if not _exception_class_name(text):
        return False
    facts = tracker.facts(scope)
    position = facts.index.get(id(name))
    if position is None:
        return False
    return all(at >= position for at, _ in facts.assignments.get(name.value, ()))


def bytes_only_sent(
    dumps: cst.Call, function: cst.FunctionDef | None, context: FileContext
) -> bool:
    """Every use of the dump's bytes hands them to a channel as its message."""
    uses = _byte_uses(dumps, function, context)
    return uses is not None and bool(uses) and all(_sent(arg, call) for arg, call in uses)


def bytes_written(dumps: cst.Call, function: cst.FunctionDef | None, context: FileContext) -> bool:
    """Some use of the dump's bytes writes them to a file (or cannot be followed)."""
    uses = _byte_uses(dumps, function, context)
    if uses is None:
        return True
    return any(
        isinstance(call.func, cst.Attribute) and call.func.attr.value in _FILE_WRITES
        for _, call in uses
    )


def _byte_uses(
    dumps: cst.Call, function: cst.FunctionDef | None, context: FileContext
) -> list[tuple[cst.Arg, cst.Call]] | None:
    """(argument, call) for each place the bytes are handed on: the dump itself as an
    argument, or each read of the one local it is assigned to; bytes framed by `+` with
    other bytes (`header + blob`, a length or routing prefix) are followed as the
    message they become (an argument, or a local every read of which is followed
    likewise). None when some use is anything else (returned, stored, read in a nested
    function)."""
    if function is None:
        return None
    ancestors = list(context.ancestors())  # innermost first
    return _uses_of([*reversed(ancestors), dumps], function, _FRAMING_HOPS, follow_local=True)


# How many `message = header + blob` locals a dump's bytes are followed through.
_FRAMING_HOPS = 2


def _uses_of(
    path: list[cst.CSTNode], function: cst.FunctionDef, hops: int, follow_local: bool
) -> list[tuple[cst.Arg, cst.Call]] | None:
    """The uses of the bytes last in `path` (which runs from an ancestor down to them):
    see `_byte_uses`. The local they are bound to is followed for the dump itself
    (`follow_local`) and for framed bytes, at most `hops` framings deep."""
    value = path[-1]
    position = len(path) - 1
    while position > 0 and _concatenation(path[position - 1], path[position]):
        position -= 1  # framed: `prefix + blob + suffix`
    framed = path[position]
    above = path[position - 1] if position > 0 else None
    holder = path[position - 2] if position > 1 else None
    if isinstance(above, cst.Arg) and isinstance(holder, cst.Call):
        return [(above, holder)]
    if framed is not value:
        if hops <= 0:
            return None
        hops -= 1
    elif not follow_local:
        return None  # `alias = blob`, `return blob`, `store[k] = blob`: not followed
    reads = local_reads(above, framed, function.body)
    if reads is None:
        return None
    uses: list[tuple[cst.Arg, cst.Call]] = []
    for read in reads:
        if any(isinstance(a, (cst.FunctionDef, cst.Lambda)) for a in read[1:-1]):
            return None  # read in a nested function: when and with what is not followed
        found = _uses_of(read, function, hops, follow_local=False)
        if found is None:
            return None
        uses.extend(found)
    return uses


def _concatenation(parent: cst.CSTNode, child: cst.CSTNode) -> bool:
    """`child` is an operand of the `+` `parent`."""
    return (
        isinstance(parent, cst.BinaryOperation)
        and isinstance(parent.operator, cst.Add)
        and (parent.left is child or parent.right is child)
    )


def _sent(arg: cst.Arg, call: cst.Call) -> bool:
    if not isinstance(call.func, cst.Attribute) or arg.star:
        return False
    send = _SENDS.get(call.func.attr.value)
    if send is None:
        return False
    if arg.keyword is not None:
        return arg.keyword.value in send.keywords
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return any(a is arg and i in send.positions for i, a in enumerate(positional))
