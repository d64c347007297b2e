"""Small helpers for reading call arguments."""

from __future__ import annotations

import libcst as cst


def keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional_arg(call: cst.Call, index: int) -> cst.Arg | None:
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[index] if index < len(positional) else None


# First parameters that receive the object a method is called on.
_RECEIVERS = frozenset({"self", "cls"})


def parameter_for(
    callee: cst.FunctionDef, call: cst.Call, arg: cst.Arg, bound: bool = False
) -> str | None:
    """The parameter of `callee` that `arg` of `call` binds; None for a starred argument
    or one no parameter takes. `bound`: a method called on an object (`obj.method(x)`),
    whose `self`/`cls` the receiver takes."""
    params = [*callee.params.posonly_params, *callee.params.params]
    if bound and params and params[0].name.value in _RECEIVERS:
        params = params[1:]
    if arg.star:
        return None
    if arg.keyword is not None:
        every = [*params, *callee.params.kwonly_params]
        names = {p.name.value for p in every}
        return arg.keyword.value if arg.keyword.value in names else None
    positional = [a for a in call.args if a.keyword is None]
    index = next(i for i, a in enumerate(positional) if a is arg)
    return params[index].name.value if index < len(params) else None


def method_name(call: cst.Call) -> str | None:
    """`fit` for `anything.fit(...)`."""
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else None


def is_literal_true(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def is_literal_false(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def value_discarded(parent: cst.CSTNode | None) -> bool:
    """An expression whose `parent` (innermost ancestor) is an expression statement: its
    value goes nowhere (`pickle.dumps(state)` alone, a picklability probe in a `try`)."""
    return isinstance(parent, cst.Expr)


_LOG_RECEIVERS = frozenset({"logger", "logging", "log", "_logger", "LOGGER", "_log"})
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical"})


def is_log_call_name(name: str | None) -> bool:
    """`logger.error`, `self.log.warning`, `logging.exception`: a dotted callee that
    writes to a log, whose arguments go to the server's log, not to a caller."""
    if name is None:
        return False
    receiver, _, method = name.rpartition(".")
    return method in _LOG_METHODS and receiver.rsplit(".", 1)[-1] in _LOG_RECEIVERS
