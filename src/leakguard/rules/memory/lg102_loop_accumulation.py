"""LG102 loop-accumulation: a large known-count loop grows a persistent container."""

from __future__ import annotations

import ast

import libcst as cst

from leakguard.analysis.loops import (
    GROW_METHODS,
    Growth,
    GrowthRule,
    LoopFrame,
    LoopNest,
    LoopTrackingRule,
    Persistence,
    inner_fill_count,
    persistent_growths,
    unreleased_persistence,
)
from leakguard.analysis.scopes import Storage
from leakguard.analysis.sizes import length_of
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.slicing import container_regions
from leakguard.triage import (
    SCOPES,
    TriageTree,
    exact_count,
    loops_with_known_count,
    module_constants,
    nested_in_scope,
    per_tree,
)

_FIX = {
    Storage.PARAMETER: (
        "The caller's container keeps every item: build a local collection and return it, "
        "or have the caller bound or clear it."
    ),
    Storage.MUTABLE_DEFAULT: (
        "The default is shared by every call: default to None and create the container "
        "inside the function."
    ),
    Storage.CLOSURE: (
        "Reset it per call (`try/finally: state.clear()`) or bound it "
        "(`collections.deque(maxlen=...)`)."
    ),
}
_DEFAULT_FIX = (
    "Bound it (`collections.deque(maxlen=...)`, a `cachetools` cache) or release it after "
    "use (`.clear()` / `del` after the loop or in a `finally`)."
)


class LoopAccumulation(GrowthRule, LoopTrackingRule):
    code = "LG102"

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A growth that may report (`_reporting_growths`)."""
        return bool(_reporting_growths(tree, spec))

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Every growth that may report, with what says where its container lives and
        what releases it (`slicing.container_regions`)."""
        return container_regions(tree, _reporting_growths(tree, spec))

    def __init__(self, context: FileContext, spec: RuleSpec) -> None:
        super().__init__(context, spec)
        self._reported: set[tuple[str, int]] = set()

    def watching(self) -> bool:
        return self.has_known_loop

    def on_growth(self, growth: Growth) -> None:
        loops = self.active_loops()
        if not loops:
            return
        inner, inner_label = self._inner_items(growth, loops)
        nest = LoopNest(tuple(loops), inner)
        if not nest.qualifies(self.option("min_iterations"), self.option("min_nested_iterations")):
            return
        dedupe = (growth.key, id(loops[0].node))
        if dedupe in self._reported:
            return
        persistence = unreleased_persistence(
            growth, self.context, include_parameters=bool(self.option("include_parameters"))
        )
        if persistence is None:
            return
        self._reported.add(dedupe)
        self.report(
            growth.node,
            container=growth.key,
            where=persistence.where(self.context),
            growth=growth.spelled,
            iterations=nest.describe(self.context, inner_label),
            why=self._why(persistence),
            fix=_FIX.get(persistence.storage, _DEFAULT_FIX),
        )

    def _inner_items(self, growth: Growth, loops: list[LoopFrame]) -> tuple[tuple[int, ...], str]:
        """Items added per growth: an inner collection filled by a nested loop, or an
        `extend` of a known length."""
        value = growth.value
        if value is None:
            return (), ""
        if isinstance(value, cst.Name) and growth.method in ("append", "appendleft", "[]="):
            count = inner_fill_count(value.value, loops[-1], self.context)
            if count is not None and count > 1:
                return (count,), f"{count} items collected in `{value.value}` per pass"
            return (), ""
        if growth.method in ("extend", "extendleft", "+=", "update"):
            count = length_of(value, self.context)
            if count is not None and count > 1:
                return (count,), f"{count} items added per pass"
        return (), ""

    def _why(self, persistence: Persistence) -> str:
        if persistence.storage is Storage.PARAMETER:
            return "this function never clears it (the caller's reference keeps it alive)"
        scope = "this module" if persistence.class_owner is None else "its class"
        if persistence.storage is Storage.MODULE_GLOBAL:
            scope = "this module"
        elif persistence.storage is Storage.CLOSURE:
            scope = "the enclosing function"
        return f"nothing in {scope} clears, deletes, reassigns or evicts it"


@per_tree
def _reporting_growths(tree: TriageTree, spec: RuleSpec) -> list[ast.AST]:
    """Triage: the growths of a container that may outlive the call
    (`loops.persistent_growths`) that may report, each inside a `for` loop whose count may fold
    to a constant: at least `min_iterations` (or not known exactly here), or any count
    when the nested forms may apply (another such loop nested with it, a comprehension
    filling an inner collection, an extend of a collection of known length)."""
    minimum = int(spec.option("min_iterations"))
    parameters = bool(spec.option("include_parameters"))
    known = loops_with_known_count(tree)
    found: list[ast.AST] = []
    seen: set[int] = set()
    for loop in known:
        inside = tree.within(loop, SCOPES)
        growths = persistent_growths(tree, inside, GROW_METHODS, parameters)
        if not growths:
            continue
        count = exact_count(loop.iter)
        if (
            count is None
            or count >= minimum
            or any(other is not loop and nested_in_scope(tree, loop, other) for other in known)
        ):
            reporting = growths
        else:
            fills = any(
                isinstance(node, ast.Assign)
                and isinstance(node.value, (ast.ListComp, ast.SetComp, ast.DictComp))
                for node in inside
            )
            reporting = [node for node in growths if _adds_known_items(tree, node, fills)]
        for node in reporting:
            if id(node) not in seen:
                seen.add(id(node))
                found.append(node)
    return found


def _adds_known_items(tree: TriageTree, growth: ast.AST, fills: bool) -> bool:
    """Whether `_inner_items` may count several items for this growth: an inner
    collection (`fills`: a comprehension assigned in the loop) or an extend of a value
    whose length may be known."""
    method = ""
    value: ast.expr | None = None
    if isinstance(growth, ast.Call) and isinstance(growth.func, ast.Attribute):
        method = growth.func.attr
        value = growth.args[0] if growth.args else None
    elif isinstance(growth, ast.Assign):
        method = "[]="
    elif isinstance(growth, ast.AugAssign):
        method, value = "+=", growth.value
    if method in ("append", "appendleft", "[]="):
        return fills
    if method in ("extend", "extendleft", "+=", "update") and value is not None:
        if isinstance(value, ast.Name):
            return value.id in module_constants(tree)
        return not isinstance(value, ast.Attribute)
    return False
