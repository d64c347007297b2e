"""LG102 loop-accumulation: a large known-count loop grows a persistent container."""

from __future__ import annotations

import libcst as cst

from leakguard.analysis.loops import (
    Growth,
    GrowthRule,
    LoopFrame,
    LoopNest,
    LoopTrackingRule,
    Persistence,
    inner_fill_count,
    unreleased_persistence,
)
from leakguard.analysis.scopes import Storage
from leakguard.analysis.sizes import length_of
from leakguard.config import RuleSpec
from leakguard.context import FileContext

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
