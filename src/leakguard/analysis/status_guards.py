"""Status guards: the branches of an `except` clause reached only for a client error.

    except BentoMLException as exc:
        status = exc.error_code.value
        if status in (401, 403):
            detail = {"error": "Authorization error"}
        elif status >= 500:
            detail = {"error": "An unexpected error has occurred"}
        else:
            detail = {"error": str(exc)}

sends the exception's text only for a status under 500: the handler sorts the run's
own exceptions by the HTTP status each carries and answers server faults with a
generic message. A status under 500 says the request was at fault (or nothing failed),
so the text there was written for its sender: a curated branch, whatever the class.

`client_error_branches(handler, name, resolve)` gives the bodies of the `if`/`elif`/
`else` branches of the clause whose tests (the branch's own, and the negation of every
earlier test of its chain) bound the status below 500: `status < 500`, `status <= 499`,
`400 <= status < 500`, `status in (400, 404)`, `status == 409`, not `status >= 500`,
joined by `and` (or by `or` when each side bounds it). The status is the caught
exception's own attribute (`exc.status_code`, `exc.error_code.value`, `exc.status`), or
a local assigned from one exactly once in the clause (`resolve` answers a name's single
value). Not a status reached through another object (`exc.response.status_code`: an
upstream's status, whose text names the upstream's URL), nor a code of another scale
(`exc.code`: gRPC and errno codes are all under 500). The caller decides which clauses
count (`analysis.exceptions`: those catching only the run's own classes: a library's
client error carries text its upstream wrote).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import libcst as cst

from leakguard.walker import descendants

# Attributes of an exception holding the HTTP status it stands for.
STATUS_ATTRIBUTES = frozenset(
    {"status_code", "status", "http_status", "http_status_code", "status_int", "error_code"}
)
_SERVER_ERRORS = 500
_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
# A guard's name -> its one value in the clause (None: several, or none).
Resolver = Callable[[cst.Name], cst.BaseExpression | None]


def client_error_branches(
    handler: cst.ExceptHandler, name: str, resolve: Resolver
) -> list[cst.BaseSuite]:
    """The branch bodies of `handler` (binding `name`) reached only when the exception's
    status is under 500 (see the module docstring)."""
    found: list[cst.BaseSuite] = []
    chained: set[int] = set()
    for node in descendants(handler.body, stop_at=_SCOPES, only=(cst.If,)):
        if not isinstance(node, cst.If) or id(node) in chained:
            continue
        status = _Status(name, resolve)
        for body, tests, negated in _branches(node):
            if isinstance(body, cst.If):
                chained.add(id(body))
                continue
            if any(status.bounded(t, True) for t in tests) or any(
                status.bounded(t, False) for t in negated
            ):
                found.append(body)
    return found


def _branches(
    node: cst.If,
) -> Iterator[
    tuple[cst.BaseSuite | cst.If, Sequence[cst.BaseExpression], list[cst.BaseExpression]]
]:
    """(body, its tests, the earlier tests it is reached by failing) of each branch of an
    `if`/`elif`/`else` chain; each `elif` also once as itself (to be skipped)."""
    earlier: list[cst.BaseExpression] = []
    current: cst.If | None = node
    while current is not None:
        yield current.body, (current.test,), list(earlier)
        earlier.append(current.test)
        orelse = current.orelse
        if isinstance(orelse, cst.If):
            yield orelse, (), []
            current = orelse
        else:
            if isinstance(orelse, cst.Else):
                yield orelse.body, (), list(earlier)
            current = None


class _Status:
    def __init__(self, name: str, resolve: Resolver) -> None:
        self.name = name
        self.resolve = resolve

    def bounded(self, test: cst.BaseExpression, holds: bool) -> bool:
        """Whether `test` being `holds` bounds the exception's status below 500."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self.bounded(test.expression, not holds)
        if isinstance(test, cst.BooleanOperation):
            sides = (self.bounded(test.left, holds), self.bounded(test.right, holds))
            # `a and b` holding, or `a or b` failing: each side's outcome is known.
            either = isinstance(test.operator, cst.And) == holds
            return any(sides) if either else all(sides)
        if isinstance(test, cst.Comparison):
            pairs = list(_pairs(test))
            if holds:
                return any(self._pair_bounded(*pair, holds=True) for pair in pairs)
            return len(pairs) == 1 and self._pair_bounded(*pairs[0], holds=False)
        return False

    def _pair_bounded(
        self,
        left: cst.BaseExpression,
        operator: cst.BaseCompOp,
        right: cst.BaseExpression,
        holds: bool,
    ) -> bool:
        if self._is_status(left):
            return _below(operator, right, holds, mirrored=False)
        if self._is_status(right):
            return _below(operator, left, holds, mirrored=True)
        return False

    def _is_status(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name) and node.value != self.name:
            value = self.resolve(node)
            return value is not None and self._own_status(value)
        return self._own_status(node)

    def _own_status(self, node: cst.BaseExpression) -> bool:
        """`exc.status_code`, or `exc.error_code.value` (an `HTTPStatus` member)."""
        if isinstance(node, cst.Attribute) and node.attr.value == "value":
            node = node.value
        return (
            isinstance(node, cst.Attribute)
            and node.attr.value in STATUS_ATTRIBUTES
            and isinstance(node.value, cst.Name)
            and node.value.value == self.name
        )


def _pairs(
    test: cst.Comparison,
) -> Iterator[tuple[cst.BaseExpression, cst.BaseCompOp, cst.BaseExpression]]:
    left = test.left
    for target in test.comparisons:
        yield left, target.operator, target.comparator
        left = target.comparator


def _below(
    operator: cst.BaseCompOp, bound: cst.BaseExpression, holds: bool, mirrored: bool
) -> bool:
    """Whether `status <operator> bound` (`bound <operator> status` when `mirrored`)
    being `holds` puts the status under 500."""
    if isinstance(operator, (cst.In, cst.NotIn)):
        if mirrored or isinstance(operator, cst.In) != holds:
            return False
        numbers = _numbers(bound)
        return numbers is not None and bool(numbers) and max(numbers) < _SERVER_ERRORS
    number = _number(bound)
    if number is None:
        return False
    if isinstance(operator, (cst.Equal, cst.NotEqual)):
        return isinstance(operator, cst.Equal) == holds and number < _SERVER_ERRORS
    # Normalise to `status < n` / `status <= n` / `status > n` / `status >= n` holding.
    kinds = {
        cst.LessThan: "<",
        cst.LessThanEqual: "<=",
        cst.GreaterThan: ">",
        cst.GreaterThanEqual: ">=",
    }
    kind = kinds.get(type(operator))
    if kind is None:
        return False
    if mirrored:
        kind = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[kind]
    if not holds:
        kind = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}[kind]
    if kind == "<":
        return number <= _SERVER_ERRORS
    if kind == "<=":
        return number < _SERVER_ERRORS
    return False


def _number(node: cst.BaseExpression) -> int | None:
    if isinstance(node, cst.Integer):
        value = node.evaluated_value
        return value if isinstance(value, int) else None
    return None


def _numbers(node: cst.BaseExpression) -> list[int] | None:
    if not isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return None
    found: list[int] = []
    for element in node.elements:
        number = _number(element.value)
        if number is None or isinstance(element, cst.StarredElement):
            return None
        found.append(number)
    return found
