"""Class ancestry, written once: whether a class derives from one of some named classes.

`derives_from(klass, context, roots)` follows the class's bases through the classes of
its own file (by name, at module level) and, when the run's summaries are known
(`summaries.summary_index`), through the classes of the run's other files (a base
imported from `app.base`), until a base whose qualified name is one of `roots`
(`enum.Enum`, `starlette.staticfiles.StaticFiles`). Memoised per file and class.

The run's classes are those the summaries record: classes of files with at least one
function or method (a module of bare classes has no summary, and a base defined there
is not followed: the answer is then False, the rule's cautious side for LG108/LG501).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import libcst as cst

from leakguard.analysis.imports import matches_any
from leakguard.context import FileContext

if TYPE_CHECKING:
    from leakguard.analysis.summaries import SummaryIndex

# Deep enough for real hierarchies (`Base -> Mixin -> Enum`), bounded against cycles.
_MAX_DEPTH = 8


def derives_from(klass: cst.ClassDef, context: FileContext, roots: Iterable[str]) -> bool:
    """`klass` has one of `roots` (qualified names; a `.*` entry matches a prefix) among
    its ancestors, through this file's classes, imports and the run's classes."""
    names = tuple(roots)
    key = ("class_bases.derives_from", id(klass), names)
    cached = context.memo.get(key)
    if isinstance(cached, bool):
        return cached
    result = _file_class_derives(klass, context, names, _MAX_DEPTH, frozenset())
    context.memo[key] = result
    return result


def _file_class_derives(
    klass: cst.ClassDef,
    context: FileContext,
    roots: tuple[str, ...],
    depth: int,
    seen: frozenset[str],
) -> bool:
    if depth <= 0 or klass.name.value in seen:
        return False
    seen = seen | {klass.name.value}
    index: SummaryIndex | None = None
    for base in klass.bases:
        if base.keyword is not None:
            continue  # `metaclass=...`
        value = base.value.value if isinstance(base.value, cst.Subscript) else base.value
        qualified = context.imports.qualify(value)
        if matches_any(qualified, roots):
            return True
        if isinstance(value, cst.Name) and qualified is None:
            # Imported lazily, as the summaries below: estimators reads caches, which
            # asks this module.
            from leakguard.analysis.estimators import module_classes

            defined = module_classes(context).get(value.value)
            if defined is not None and _file_class_derives(
                defined, context, roots, depth - 1, seen
            ):
                return True
        elif qualified is not None:
            # Imported lazily: the summaries themselves read caches, which asks this module.
            from leakguard.analysis.summaries import summary_index

            index = index or summary_index(context)
            if index is not None and _run_class_derives(
                index, context.module_name, ["q", qualified], roots, depth - 1, frozenset()
            ):
                return True
    return False


def _run_class_derives(
    index: SummaryIndex,
    module: str,
    reference: Sequence[Any],
    roots: tuple[str, ...],
    depth: int,
    seen: frozenset[tuple[str, str]],
) -> bool:
    """A class of the run that `reference` (recorded in `module`) names derives from
    one of `roots`, by the bases its summary records."""
    klass = index.class_named(module, reference)
    if depth <= 0 or klass is None or klass in seen:
        return False
    facts = index.classes.get(klass[0], {}).get(klass[1], {})
    for base in facts.get("bases", ()):
        kind, name = str(base[0]), str(base[1])
        if kind == "q" and matches_any(name, roots):
            return True
        if kind in ("q", "l") and _run_class_derives(
            index, klass[0], base, roots, depth - 1, seen | {klass}
        ):
            return True
    return False
