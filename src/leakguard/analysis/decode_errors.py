"""Decode errors: caught exceptions whose text only says where their input failed to decode.

    try:
        result = response.json()
    except ValueError as e:
        raise HTTPException(502, detail=f"Invalid JSON response: {e}")

A JSON decode error reads `Expecting value: line 1 column 1 (char 0)`: what was
expected and where, never the input, a path or the server's state. Such text tells a
client nothing of the server, whoever's data was decoded. `catches_only_decode_errors`
holds for an `except` clause when every exception it can catch there is one:

- Its types are all *decode error classes*: library classes raised by a decoder about
  its input (`json.JSONDecodeError` and the JSON libraries' own, `zipfile.BadZipFile`
  naming at most a member of the archive, `zstandard.ZstdError`, PyJWT's
  `InvalidTokenError` family about the token), whatever the `try` body calls, as long
  as the run never makes one (nor a library subclass the clause also catches) from
  another exception's text: no call so named is handed it (`jwt.InvalidTokenError(str(e))`,
  matched by last name), no function of the run making one from its parameter is
  (`reject(str(e))`), and every class of the run deriving from one is curated
  (`analysis.curated_exceptions.library_classes_carry_exception_text`).
- Or the `try` body only decodes: each statement is one decode step, alone, assigned to
  a plain name or returned, whose input is a plain value (a name, a constant, a
  subscript of a name by constants: a call or a property there may raise anything):
  - `json.loads(raw)` (also orjson/ujson/simplejson, one argument): it raises only its
    decode error, `UnicodeDecodeError` (the offending byte), `TypeError` (the input's
    type name) or `RecursionError`, so any clause catches only those;
  - reading the framework's request body (`await request.json()`, `.body()`, Flask's
    `get_json()`/`get_data()`): the body read and `json.loads`;
  - `response.json()` of a `requests`/`httpx` response (every value the name is
    assigned in the function is a call of those modules): only its `ValueError`s are
    decode errors, so only a clause catching nothing broader than `ValueError`
    counts (`except Exception` there also catches what names the URL).

Not decode errors: `int(text)`'s `ValueError` (`invalid literal for int() with base 10:
'<the text>'`), a `ValueError` of a driver or of `requests.get(url)` (`InvalidURL`
names the URL), pydantic's `ValidationError` (it echoes the input: see
`analysis.client_input`), `UnicodeDecodeError` caught by its own name.
"""

from __future__ import annotations

import libcst as cst

from leakguard.analysis.client_input import own_assignments
from leakguard.analysis.curated_exceptions import library_classes_carry_exception_text
from leakguard.analysis.pydantic_models import JSON_LOADERS, request_object_names
from leakguard.context import FileContext

# Library exception classes raised by decoders about their input (see the docstring).
_JSON_DECODE_ERRORS = frozenset(
    {
        "json.JSONDecodeError",
        "json.decoder.JSONDecodeError",
        "simplejson.JSONDecodeError",
        "simplejson.errors.JSONDecodeError",
        "orjson.JSONDecodeError",
        "ujson.JSONDecodeError",
        "requests.JSONDecodeError",
        "requests.exceptions.JSONDecodeError",
    }
)
DECODE_ERROR_CLASSES = _JSON_DECODE_ERRORS | frozenset(
    {
        "zipfile.BadZipFile",
        "zipfile.BadZipfile",
        "zstandard.ZstdError",
        "jwt.InvalidTokenError",
        "jwt.exceptions.InvalidTokenError",
        "jwt.DecodeError",
        "jwt.exceptions.DecodeError",
        "jwt.ExpiredSignatureError",
        "jwt.exceptions.ExpiredSignatureError",
        "jwt.InvalidSignatureError",
        "jwt.exceptions.InvalidSignatureError",
        "jwt.InvalidAudienceError",
        "jwt.exceptions.InvalidAudienceError",
        "jwt.InvalidIssuerError",
        "jwt.exceptions.InvalidIssuerError",
    }
)
# PyJWT's subclasses of a caught class (by last name): a clause catching
# `InvalidTokenError` also catches a `DecodeError` the run makes from another
# exception's text. (The JSON libraries' subclasses keep the name `JSONDecodeError`.)
_JWT_DECODE_SUBCLASSES = frozenset({"InvalidSignatureError"})
_JWT_TOKEN_SUBCLASSES = _JWT_DECODE_SUBCLASSES | frozenset(
    {
        "DecodeError",
        "ExpiredSignatureError",
        "InvalidAudienceError",
        "InvalidIssuerError",
        "InvalidIssuedAtError",
        "ImmatureSignatureError",
        "InvalidAlgorithmError",
        "MissingRequiredClaimError",
        "InvalidJTIError",
        "InvalidSubjectError",
    }
)
_LIBRARY_SUBCLASSES = {
    "InvalidTokenError": _JWT_TOKEN_SUBCLASSES,
    "DecodeError": _JWT_DECODE_SUBCLASSES,
}
# What a clause around `response.json()` may catch and get only its decode errors:
# the response's other failures (a closed stream, an unread body) are no ValueError.
_VALUE_ERRORS = _JSON_DECODE_ERRORS | frozenset({"ValueError"})
# Methods of the framework's request object that read (and decode) its body.
_BODY_READS = frozenset({"json", "body", "get_json", "get_data"})
# Modules whose responses' `.json()` is `json.loads` of the body.
_HTTP_CLIENTS = ("requests.", "httpx.")


def catches_only_decode_errors(
    try_: cst.Try,
    handler: cst.ExceptHandler,
    function: cst.FunctionDef | None,
    context: FileContext,
) -> bool:
    """Whether every exception `handler` (a clause of `try_`) can catch is a decode
    error whose text carries no internals (see the module docstring)."""
    caught = _caught_names(handler, context)
    if caught is not None and caught and all(_decode_class(n, context) for n in caught):
        return True
    if function is None or not try_.body.body:
        return False
    value_errors_only = caught is not None and bool(caught) and caught <= _VALUE_ERRORS
    steps = _Steps(function, context, value_errors_only)
    for line in try_.body.body:
        if not isinstance(line, cst.SimpleStatementLine):
            return False
        for statement in line.body:
            if not steps.decodes(_statement_value(statement)):
                return False
    return True


def _caught_names(handler: cst.ExceptHandler, context: FileContext) -> frozenset[str] | None:
    """The qualified names of the classes `handler` catches; None when one is unknown
    (or it catches everything)."""
    if handler.type is None:
        return None
    kinds = handler.type.elements if isinstance(handler.type, cst.Tuple) else [handler.type]
    names: set[str] = set()
    for kind in kinds:
        value = kind.value if isinstance(kind, cst.BaseElement) else kind
        qualified = context.imports.qualify(value)
        if qualified is None:
            return None
        names.add(qualified)
    return frozenset(names)


def _decode_class(name: str, context: FileContext) -> bool:
    """A decode error class whose instances (its library subclasses' and the run's
    subclasses' too) the run never makes from another exception's text."""
    if name not in DECODE_ERROR_CLASSES:
        return False
    last = name.rsplit(".", 1)[-1]
    caught = {last, *_LIBRARY_SUBCLASSES.get(last, ())}
    return library_classes_carry_exception_text(caught, context) is False


def _statement_value(statement: cst.BaseSmallStatement) -> cst.BaseExpression | None:
    """The value a statement only computes (and binds to plain names or returns)."""
    if isinstance(statement, cst.Assign):
        if all(isinstance(t.target, cst.Name) for t in statement.targets):
            return statement.value
        return None
    if isinstance(statement, cst.AnnAssign):
        return statement.value if isinstance(statement.target, cst.Name) else None
    if isinstance(statement, (cst.Expr, cst.Return)):
        return statement.value
    return None


class _Steps:
    def __init__(self, function: cst.FunctionDef, context: FileContext, value_errors_only: bool):
        self.function = function
        self.context = context
        self.value_errors_only = value_errors_only
        self._requests: frozenset[str] | None = None
        self._assignments: dict[str, list[cst.BaseExpression | None]] | None = None

    def decodes(self, value: cst.BaseExpression | None) -> bool:
        """One decode step of a plain input (see the module docstring)."""
        if isinstance(value, cst.Await):
            value = value.expression
        if not isinstance(value, cst.Call):
            return False
        if self.context.imports.call_name(value) in JSON_LOADERS:
            return (
                len(value.args) == 1
                and value.args[0].keyword is None
                and not value.args[0].star
                and _plain(value.args[0].value)
            )
        func = value.func
        if value.args or not isinstance(func, cst.Attribute):
            return False
        if not isinstance(func.value, cst.Name):
            return False
        receiver = func.value.value
        if func.attr.value in _BODY_READS and receiver in self.requests():
            # `request` rebound in the function may be anything's (an aiohttp reply).
            return receiver not in self.assignments()
        return func.attr.value == "json" and self.value_errors_only and self._response(receiver)

    def requests(self) -> frozenset[str]:
        if self._requests is None:
            self._requests = request_object_names(self.function, self.context)
        return self._requests

    def assignments(self) -> dict[str, list[cst.BaseExpression | None]]:
        if self._assignments is None:
            self._assignments = own_assignments(self.function)
        return self._assignments

    def _response(self, name: str) -> bool:
        """`name` is only ever bound to a `requests`/`httpx` call's result (a loop or
        `with` target may be anything)."""
        values = self.assignments().get(name, [])
        if not values:
            return False
        for value in values:
            if isinstance(value, cst.Await):
                value = value.expression
            if not isinstance(value, cst.Call):
                return False
            qualified = self.context.imports.call_name(value) or ""
            if not qualified.startswith(_HTTP_CLIENTS):
                return False
        return True


def _plain(value: cst.BaseExpression) -> bool:
    """A value whose evaluation raises nothing worth a message: a name, a constant, a
    subscript of a name by constants (not an attribute: a property may run anything)."""
    if isinstance(value, (cst.Name, cst.SimpleString, cst.Integer)):
        return True
    if isinstance(value, cst.Subscript):
        return isinstance(value.value, cst.Name) and all(
            isinstance(element.slice, cst.Index)
            and isinstance(element.slice.value, (cst.SimpleString, cst.Integer))
            for element in value.slice
        )
    return False
