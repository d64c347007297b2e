"""Fixes rendered from a sliced module (`leakguard.slicing`), the same as from the whole.

A sliced analysis parses only the units some admitted rule needs; the others are
elided, every kept line keeping its number and its columns. A fix is rendered from the
sliced module (`render_fix`) when that provably gives the edits the whole module gives:

- The rewrite replaces nodes of kept code, built from kept code and from facts about
  the whole file (`leakguard.fixes.names` reads the names the elided units bind from
  the whole file's `ast`), so its text is the same in both modules; LibCST regenerates
  everything else byte for byte. An added import goes where `AddImportsVisitor` puts it:
  after a leading docstring and the imports that follow, all kept statements, before
  the first other statement, with an empty line added before that one when it has none
  (in both modules the same blank and comment lines lead an elided unit and its
  placeholder). When the first statement is elided (a module docstring, a `def`), the
  sliced module's imports go before its placeholder, where the whole module's may not:
  the module's header holds every comment and blank line before it, so they go at the
  start of the elided span, which the next rule sends to the whole file.
- The edits of the sliced text must lie in kept lines, away from every elided span
  (touching its first line's start or its last line's end counts): applied to the
  original text they then make the whole module's fixed text, from which the edits are
  computed again (`diff_edits` of the original text), as a whole-file analysis does.

Otherwise the file is marked (`need_whole_file`) and the analyser analyses it again
whole (`whole_file_needed`). Files that are not sliced render as before (`render`).
"""

from __future__ import annotations

from leakguard.context import FileContext
from leakguard.fixes import Edit, Fix, FixPlan

_WHOLE = "fixes.whole_file_needed"


def need_whole_file(context: FileContext) -> None:
    """Some fix of this sliced file must be rendered from the whole module."""
    context.memo[_WHOLE] = True


def whole_file_needed(context: FileContext) -> bool:
    """Whether the file's findings must be computed again from the whole module (only
    ever true of a sliced file)."""
    return bool(context.memo.get(_WHOLE))


def render_fix(context: FileContext, plan: FixPlan) -> Fix | None:
    """The plan's fix, as the whole module renders it; None when it does not apply, or
    when only the whole module can tell (then `whole_file_needed`)."""
    # Imported here: rendering pulls in libcst.codemod and libcst.matchers (~0.25 s),
    # and this module is imported with the analyzer and the rules on every run; only
    # runs that render a fix need them.
    from leakguard.fixes.render import apply_edits, diff_edits, parses, render, rewritten_code

    if not context.sliced:
        return render(context.module, context.source, plan)
    if whole_file_needed(context):
        return None  # the findings are computed again whole: spare the work
    rewrite = plan.build()  # may find that only the whole module can tell (`fixes.names`)
    if rewrite is None or whole_file_needed(context):
        return None
    sliced = context.parsed_source
    fixed_slice = rewritten_code(context.module, rewrite)
    if fixed_slice == sliced:
        return None
    edits = diff_edits(sliced, fixed_slice)
    if any(_touches(edit, span) for edit in edits for span in context.elided):
        need_whole_file(context)
        return None
    # The edits are in kept lines, where the original text is the sliced text: applied
    # to it they give the whole module's fixed text.
    fixed = apply_edits(context.source, edits)
    # Whether the whole module's fixed text `fixed` parses: CPython judges `fixed`
    # itself; LibCST (whose parse of a whole file is what slicing saves) judges
    # `fixed_slice`, the same text but for the elided spans, untouched by the edits.
    # Equivalent because the two texts differ only in whole elided lines, each span's unit
    # (a `def` with its decorators, or a string statement, whole statements at the span's
    # first indentation) against a placeholder statement at that indentation: the edits
    # lie outside them, so every statement around keeps its tokens, its line and its
    # block, and a span is whole statements in the same block in both texts. What LibCST
    # would refuse in `fixed` and not in `fixed_slice` lies in an elided unit as the
    # original file has it (a LibCST limitation CPython does not share): a whole-file
    # analysis of that file stops at its parse error, with no fix to judge, where the
    # sliced one reports the file's findings, as it does when no fixes are asked for.
    if not parses(fixed, for_libcst=fixed_slice):
        return None
    # Diffed again against the original text: the edits are those of the whole-file
    # render (`difflib` may align an ambiguous change differently in the sliced text).
    return Fix(plan.message, plan.applicability, tuple(diff_edits(context.source, fixed)))


def _touches(edit: Edit, span: tuple[int, int]) -> bool:
    """Whether `edit` reaches into the elided lines `span` (first, last), its start or
    its end included: from the start of its first line to the start of the next line
    after it."""
    first, last = span
    return (edit.line, edit.column) <= (last + 1, 1) and (edit.end_line, edit.end_column) >= (
        first,
        1,
    )
