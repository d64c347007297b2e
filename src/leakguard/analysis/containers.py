"""The container vocabulary shared by the facts that follow values into containers.

No dependencies (triage-side modules such as `leakguard.slicing` import it without
loading LibCST).
"""

from __future__ import annotations

# Builtins that build a container from what they are handed (`list(xs)`, `dict(a=1)`).
CONTAINER_BUILTINS = frozenset({"list", "dict", "set", "tuple", "frozenset", "bytearray"})

# Constructors of mutable containers, qualified (a builtin by its own name).
MUTABLE_FACTORIES = frozenset(
    {
        "list",
        "dict",
        "set",
        "bytearray",
        "collections.defaultdict",
        "collections.OrderedDict",
        "collections.deque",
        "collections.Counter",
    }
)

# Methods that put their arguments into the receiver: `items.append(x)`,
# `groups.setdefault(key, values)`, `queue.extendleft(batch)`.
FILLING_METHODS = frozenset(
    {"append", "extend", "add", "insert", "update", "setdefault", "appendleft", "extendleft"}
)
