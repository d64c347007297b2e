"""LG103 large-allocation-retained: big objects made per iteration and kept."""

from __future__ import annotations

import ast
import math

import libcst as cst

from leakguard.analysis.cleanup import class_methods, receiver_name
from leakguard.analysis.loops import (
    GROW_METHODS,
    Growth,
    GrowthRule,
    LoopFrame,
    LoopNest,
    LoopTrackingRule,
    loop_local_values,
    persistent_growths,
    unreleased_persistence,
)
from leakguard.analysis.sizes import (
    Estimate,
    estimate,
    format_bytes,
    large_source,
    sized_without_count,
)
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.slicing import container_regions, module_classes
from leakguard.triage import (
    SCOPES,
    TriageTree,
    exact_count,
    loops_with_known_count,
    nested_in_scope,
    per_tree,
)
from leakguard.walker import SCOPE_NODES, descendants

_FIX = (
    "Process each item and drop it (keep a summary, not the object), write it to disk, "
    "or bound the container (`collections.deque(maxlen=...)`) and clear it after use."
)
_RELEASE_METHODS = ("__del__", "__exit__", "__aexit__", "close")


class LargeAllocationRetained(GrowthRule, LoopTrackingRule):
    code = "LG103"

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A growth that may report (`_reporting_growths`)."""
        return bool(_reporting_growths(tree, spec))

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Every growth that may report, with what says where its container lives and
        what releases it (`slicing.container_regions`), and the module's classes it
        builds a value with (`_wrapper_releases` reads their release methods)."""
        growths = _reporting_growths(tree, spec)
        classes = module_classes(tree)
        built = {
            node.func.id
            for growth in growths
            for node in tree.walk(growth)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        return [
            *container_regions(tree, growths),
            *(klass for name in sorted(built & classes.keys()) for klass in classes[name]),
        ]

    def __init__(self, context: FileContext, spec: RuleSpec) -> None:
        super().__init__(context, spec)
        self._reported: set[tuple[str, int]] = set()

    def watching(self) -> bool:
        return self.in_loop

    def on_growth(self, growth: Growth) -> None:
        if growth.value is None:
            return
        loops = self.active_loops()
        if not loops:
            return
        found = estimate(growth.value, self.context, loop_local_values(loops, self.context))
        if found is None:
            return
        nest = LoopNest(tuple(loops))
        iterations = nest.product
        reason = self._reason(found, iterations)
        if reason is None:
            return
        dedupe = (growth.key, id(loops[0].node))
        if dedupe in self._reported:
            return
        persistence = unreleased_persistence(
            growth, self.context, include_parameters=bool(self.option("include_parameters"))
        )
        if persistence is None:
            return
        if self._wrapper_releases(growth.value):
            return
        self._reported.add(dedupe)
        self.report(
            growth.node,
            growth=growth.spelled,
            what=found.what,
            loop=self._loop_text(loops),
            container=growth.key,
            where=persistence.where(self.context),
            estimate=self._estimate_text(found, nest),
            reason=reason,
            why="nothing clears, deletes, reassigns or evicts the container",
            fix=_FIX,
        )

    def _reason(self, found: Estimate, iterations: int | None) -> str | None:
        count = iterations or 0
        if found.repeat >= self.option("min_repeat_count"):
            return f"A string repeated {found.repeat} times (>= {self.option('min_repeat_count')})"
        if found.array_dim >= self.option("min_array_dimension"):
            return (
                f"An array with a dimension of {found.array_dim} "
                f"(>= {self.option('min_array_dimension')})"
            )
        if found.rows >= self.option("min_dataframe_rows"):
            return f"A DataFrame of {found.rows} rows (>= {self.option('min_dataframe_rows')})"
        if found.string_chars >= self.option("min_string_length") and count >= self.option(
            "min_string_iterations"
        ):
            return (
                f"A {found.string_chars}-char string (>= {self.option('min_string_length')}) "
                f"in {count} iterations (>= {self.option('min_string_iterations')})"
            )
        if found.nested_string_chars >= self.option(
            "min_object_string_length"
        ) and count >= self.option("min_object_iterations"):
            return (
                f"An object holding a {found.nested_string_chars}-char string "
                f"(>= {self.option('min_object_string_length')}) in {count} iterations "
                f"(>= {self.option('min_object_iterations')})"
            )
        limit = self.option("max_retained_bytes")
        if iterations is not None and found.bytes * iterations > limit:
            return f"The estimated total exceeds max_retained_bytes ({format_bytes(limit)})"
        return None

    def _loop_text(self, loops: list[LoopFrame]) -> str:
        lines = ", ".join(str(self.context.line_of(f.node)) for f in loops)
        return f"loop on line {lines}" if len(loops) == 1 else f"nested loops on lines {lines}"

    def _estimate_text(self, found: Estimate, nest: LoopNest) -> str:
        per = format_bytes(found.bytes)
        product = nest.product
        if product is None:
            return f"{per} per iteration, iteration count unknown"
        counts = nest.known_counts
        times = " x ".join(str(c) for c in counts)
        if len(counts) > 1:
            times += f" = {product}"
        prefix = "" if nest.all_known else "at least "
        total = format_bytes(found.bytes * product)
        return f"{per} per iteration x {prefix}{times} iterations = {prefix}{total} retained"

    def _wrapper_releases(self, value: cst.BaseExpression) -> bool:
        """`Wrapper(data)` of a class in this file whose `__del__`/`__exit__`/`close`
        releases what it holds (criteria: wrapper classes with reference release)."""
        if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Name):
            return False
        name = value.func.value
        for node in descendants(self.context.module, stop_at=SCOPE_NODES):
            if isinstance(node, cst.ClassDef) and node.name.value == name:
                return _class_releases_itself(node)
        return False


def _class_releases_itself(classdef: cst.ClassDef) -> bool:
    for method in class_methods(classdef):
        if method.name.value not in _RELEASE_METHODS:
            continue
        receiver = receiver_name(method)
        if receiver is None:
            continue
        for node in descendants(method.body, stop_at=SCOPE_NODES):
            target: cst.BaseExpression | None = None
            if isinstance(node, cst.Del):
                target = node.target
            elif isinstance(node, cst.Assign):
                target = node.targets[0].target
            elif (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "clear"
            ):
                target = node.func.value
            if isinstance(target, cst.Attribute) and _is_receiver(target, receiver):
                return True
    return False


def _is_receiver(target: cst.Attribute, receiver: str) -> bool:
    root: cst.BaseExpression = target
    while isinstance(root, cst.Attribute):
        root = root.value
    return isinstance(root, cst.Name) and root.value == receiver


@per_tree
def _reporting_growths(tree: TriageTree, spec: RuleSpec) -> list[ast.AST]:
    """Triage: the growths of a container that may outlive the call
    (`loops.persistent_growths`) in the loops where they may report (a growth reports in
    the loops around it, so one of them is here). A growing loop with a count that may
    reach the string thresholds (its own, or with the known loops nested with it), or,
    when the file has something large to estimate (`sizes.large_source`: a repetition,
    numpy or pandas, a sized `bytes(n)`, a long string, a comprehension of known length),
    a growing loop with any count the analysis may fold around its growth, or with
    something large whatever the count (a repetition, an array, a frame) made in it."""
    parameters = bool(spec.option("include_parameters"))
    known = loops_with_known_count(tree)
    # Without something large only the loops with a count the analysis may fold can
    # report: the others' growths are not looked for.
    large = bool(known or tree.loops) and large_source(tree)
    growing = {
        id(loop): growths
        for loop in (tree.loops if large else known)
        if (
            growths := persistent_growths(tree, tree.within(loop, SCOPES), GROW_METHODS, parameters)
        )
    }
    if not growing:
        return []
    fewest = min(
        int(spec.option("min_string_iterations")), int(spec.option("min_object_iterations"))
    )
    chosen: list[ast.AST] = []
    for loop in known:
        if id(loop) not in growing:
            continue
        counts = [exact_count(loop.iter)] + [
            exact_count(other.iter)
            for other in known
            if other is not loop and nested_in_scope(tree, loop, other)
        ]
        if None in counts or math.prod(c or 0 for c in counts) >= fewest:
            chosen.append(loop)
    if large:
        picked = {id(loop) for loop in chosen}
        for candidate in tree.loops:
            if id(candidate) not in growing or id(candidate) in picked:
                continue
            if any(
                other is candidate or nested_in_scope(tree, candidate, other) for other in known
            ) or sized_without_count(tree, tree.within(candidate, SCOPES)):
                chosen.append(candidate)
    found: list[ast.AST] = []
    seen: set[int] = set()
    for reporting in chosen:
        for growth in growing[id(reporting)]:
            if id(growth) not in seen:
                seen.add(id(growth))
                found.append(growth)
    return found
