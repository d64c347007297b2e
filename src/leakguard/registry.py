"""Finds every rule class under `leakguard.rules` (one module per rule)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import libcst as cst

import leakguard.rules
from leakguard.rule import LintRule


@cache
def rule_classes() -> dict[str, type[LintRule]]:
    """Rule code -> class, for every rule module shipped in `leakguard.rules`."""
    for info in pkgutil.walk_packages(leakguard.rules.__path__, leakguard.rules.__name__ + "."):
        importlib.import_module(info.name)
    found: dict[str, type[LintRule]] = {}
    pending = list(LintRule.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.code:
            if cls.code in found and found[cls.code] is not cls:
                raise RuntimeError(f"two rule classes claim {cls.code}")
            found[cls.code] = cls
    return dict(sorted(found.items()))


@cache
def visitor_methods(cls: type[LintRule]) -> tuple[tuple[str, type[cst.CSTNode], bool], ...]:
    """(method name, node type, is_leave) for each `visit_X`/`leave_X` the class defines."""
    methods: list[tuple[str, type[cst.CSTNode], bool]] = []
    for name in dir(cls):
        for prefix, is_leave in (("visit_", False), ("leave_", True)):
            if not name.startswith(prefix):
                continue
            node_type = getattr(cst, name[len(prefix) :], None)
            function = getattr(cls, name)
            if (
                isinstance(node_type, type)
                and issubclass(node_type, cst.CSTNode)
                and not getattr(function, "_is_no_op", False)
            ):
                methods.append((name, node_type, is_leave))
    return tuple(methods)
