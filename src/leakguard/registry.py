"""Finds every rule class under `leakguard.rules` (one module per rule), and answers what
a run needs to know about the rules without importing them (`leakguard.rule_index`).

Importing the rules means importing LibCST (~0.3 s): a run whose files all come from
the cache, `leakguard rules` and `leakguard explain` never do (tests/test_startup.py).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

from leakguard.rule_index import RULES

if TYPE_CHECKING:
    import libcst as cst

    from leakguard.rule import LintRule


@cache
def rule_classes() -> dict[str, type[LintRule]]:
    """Rule code -> class, for every rule module shipped in `leakguard.rules`."""
    import pkgutil  # with `importlib.util`, only once rules are imported

    import leakguard.rules
    from leakguard.rule import LintRule

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


def rule_codes() -> frozenset[str]:
    """The codes of every rule shipped, without importing any rule."""
    return frozenset(RULES)


# Collectors whose run-wide views ask which modules the run holds (`whole`) bring the
# shared fact along (`analysis/run_modules.py`), whichever rule reads them; those that
# ask which modules may meet (`analysis/run_parts.py`) bring its import facts too.
_BROUGHT = {
    "startup": ("modules",),
    # the uses of its class tables (`analysis/curated_exceptions`) come along too
    "exception_texts": ("modules", "run_parts", "class_table_uses"),
    # which stores may meet the reading module (`analysis/client_input`)
    "request_state": ("modules", "run_parts"),
}


def project_facts(enabled: Iterable[str]) -> list[str]:
    """The project-fact collectors the `enabled` rules read, without importing them."""
    found = {fact for code in enabled if code in RULES for fact in RULES[code][1]}
    return sorted(found.union(*(_BROUGHT.get(fact, ()) for fact in found)))


def readers_of(collector: str, enabled: Iterable[str]) -> frozenset[str]:
    """The `enabled` rules whose analysis may read `collector`'s facts: those listing
    it, or listing a collector that brings it along (`_BROUGHT`)."""
    return frozenset(
        code
        for code in enabled
        if code in RULES
        and any(fact == collector or collector in _BROUGHT.get(fact, ()) for fact in RULES[code][1])
    )


def build_index() -> dict[str, tuple[str, tuple[str, ...]]]:
    """What `leakguard.rule_index` must say, from the rule classes themselves."""
    return {code: (cls.__module__, cls.PROJECT_FACTS) for code, cls in rule_classes().items()}


def gated_collectors() -> frozenset[str]:
    """What `leakguard.rule_index.GATED_BY_READERS` must say: the collectors the facts
    pass skips in a run where no file may be analysed by a rule reading them."""
    from leakguard.analysis.project import COLLECTORS

    rule_classes()  # the rule modules register the collectors they read
    return frozenset(name for name, c in COLLECTORS.items() if c.gated_by_readers)


def index_source() -> str:
    """The text of `src/leakguard/rule_index.py` for the rules as they are."""
    rows = "".join(
        f"    {code!r}: ({module!r}, {facts!r}),\n"
        for code, (module, facts) in build_index().items()
    )
    gated = "".join(f"        {name!r},\n" for name in sorted(gated_collectors()))
    return (
        f"{_INDEX_HEADER}\nRULES: dict[str, tuple[str, tuple[str, ...]]] = {{\n{rows}}}\n"
        f"{_GATED_HEADER}GATED_BY_READERS: frozenset[str] = frozenset(\n    {{\n{gated}    }}\n)\n"
    )


_INDEX_HEADER = '''\
"""Rule code -> (module, project-fact collectors it reads), for every rule shipped.

What the run's parent process needs to know about the rules without importing them (and
with them LibCST). Generated after adding a rule or changing its `PROJECT_FACTS`:
`python -m leakguard.registry > src/leakguard/rule_index.py`, then `ruff format` it;
tests/test_startup.py fails while this file and the rule classes disagree.
"""

from __future__ import annotations
'''

_GATED_HEADER = """
# Collectors with `gated_by_readers` (`analysis/project.py`): the facts pass collects
# them only in a run where some file may be analysed by a rule that reads them.
"""


@cache
def visitor_methods(cls: type[LintRule]) -> tuple[tuple[str, type[cst.CSTNode], bool], ...]:
    """(method name, node type, is_leave) for each `visit_X`/`leave_X` the class defines."""
    import libcst as cst

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


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(index_source())
