"""Slicing (leakguard.slicing): LibCST parses only the units some admitted rule needs;
kept code keeps its lines and columns, and findings are those of the whole file."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from leakguard.analysis.project import COLLECTORS
from leakguard.analyzer import analyze_text, collect_file
from leakguard.engine import RunResult, check
from leakguard.fixes import Edit
from leakguard.registry import rule_classes
from leakguard.rule import declares_regions
from leakguard.slicing import (
    PLAN_KEY,
    Span,
    class_regions,
    container_regions,
    elide,
    elided,
    needed_units,
    split_lines,
    units,
)
from leakguard.testing import make_config
from leakguard.triage import TriageTree, admitted, parse_triage

TESTS = Path(__file__).parent
RULE_FIXTURES = TESTS / "fixtures" / "rules"
_BREAKS = re.compile(r"\r\n|\r|\n")


def _tree(text: str) -> TriageTree:
    tree = parse_triage(text)
    assert tree is not None
    return tree


def _all_units(text: str) -> list[Span]:
    return [(unit.first, unit.last) for unit in units(_tree(text))]


def _elide_all_but(text: str, keep: str) -> str:
    """`text` with every unit elided except the function named `keep`."""
    tree = _tree(text)
    found = units(tree)
    target = next(
        node
        for node in ast.walk(tree.tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == keep
    )
    kept = set(needed_units(tree, [target]))
    return elide(text, [(u.first, u.last) for i, u in enumerate(found) if i not in kept])


def _assert_sliced_well(text: str, sliced: str) -> None:
    """Same lines, each kept or elided (`pass`, or `pass` opening a string that closes
    at the start of the span's last line); both parsers accept the result, LibCST
    gives it back unchanged and no body gains a docstring."""
    before, after = _BREAKS.split(text), _BREAKS.split(sliced)
    assert _BREAKS.findall(sliced) == _BREAKS.findall(text)
    for old, new in zip(before, after, strict=True):
        assert new == old or new.strip(" \t\x0c") in ("", "pass", 'pass; """', '"""')
    assert _docstrings(ast.parse(sliced)) <= _docstrings(ast.parse(text))
    ast.parse(sliced)
    module = cst.parse_module(sliced)
    if cst.parse_module(text).code == text:  # LibCST drops a final lone "\r"
        assert module.code == sliced
    # Kept definitions sit where they were, for LibCST too.
    assert _def_positions(module) <= _def_positions(cst.parse_module(text))


def _docstrings(tree: ast.Module) -> set[tuple[str, str]]:
    """(kind and name of the body's owner, docstring) of every docstring in `tree`."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc is not None:
                found.add((type(node).__name__ + getattr(node, "name", ""), doc))
    return found


def _def_positions(module: cst.Module) -> set[tuple[str, int, int]]:
    positions = MetadataWrapper(module).resolve(PositionProvider)
    return {
        (node.name.value, where.start.line, where.start.column)
        for node, where in positions.items()
        if isinstance(node, cst.FunctionDef)
    }


# -- the tricky shapes -------------------------------------------------------------------


def test_line_endings_are_kept_crlf() -> None:
    text = "import os\r\ndef f():\r\n    return 1\r\n\r\ndef g():\r\n    return 2\r\n"
    sliced = _elide_all_but(text, "g")
    assert sliced == 'import os\r\npass; """\r\n\r\n"""\r\ndef g():\r\n    return 2\r\n'
    _assert_sliced_well(text, sliced)


def test_old_mac_line_endings_count_as_lines() -> None:
    text = "x = 1\rdef f():\r    return 1\rdef g():\r    return 2\r"
    assert _all_units(text) == [(2, 3), (4, 5)]
    sliced = _elide_all_but(text, "g")
    assert sliced == 'x = 1\rpass; """\r"""\rdef g():\r    return 2\r'
    _assert_sliced_well(text, sliced)


def test_a_form_feed_is_no_line_break() -> None:
    # `str.splitlines` breaks at a form feed; Python's tokenizer does not.
    text = "x = 1  # \x0c page\ndef f():\n    return 1\ndef g():\n    return 2\n"
    assert _all_units(text) == [(2, 3), (4, 5)]
    sliced = _elide_all_but(text, "g")
    assert sliced == 'x = 1  # \x0c page\npass; """\n"""\ndef g():\n    return 2\n'
    _assert_sliced_well(text, sliced)


def test_a_form_feed_in_the_indentation_is_kept() -> None:
    # Old modules put a page break before top-level definitions.
    text = "x = 1\n\x0cdef f():\n    return 1\n\x0cdef g():\n    return 2\n"
    sliced = _elide_all_but(text, "g")
    assert sliced == 'x = 1\n\x0cpass; """\n"""\n\x0cdef g():\n    return 2\n'
    _assert_sliced_well(text, sliced)


def test_tab_indented_methods_keep_their_tabs() -> None:
    text = "class A:\n\tdef f(self):\n\t\treturn 1\n\tx = 2\n\tdef g(self):\n\t\treturn 3\n"
    sliced = _elide_all_but(text, "g")
    assert split_lines(sliced)[1:3] == ['\tpass; """\n', '"""\n']
    _assert_sliced_well(text, sliced)


def test_a_file_without_a_final_newline() -> None:
    text = "def g():\n    return 2\ndef f():\n    return 1"
    sliced = _elide_all_but(text, "g")
    assert sliced == 'def g():\n    return 2\npass; """\n"""'  # no line ending added
    _assert_sliced_well(text, sliced)
    one_line = "def f(): return 1"
    assert elide(one_line, _all_units(one_line)) == "pass"


def test_one_line_defs_and_a_class_with_its_body_on_the_header_line() -> None:
    text = "class A: x = 1\ndef f(): return 1; y = 2\ndef g(): return 2\n"
    assert _all_units(text) == [(2, 2), (3, 3)]  # `class A: x = 1` holds no unit
    sliced = _elide_all_but(text, "g")
    assert sliced == "class A: x = 1\npass\ndef g(): return 2\n"
    _assert_sliced_well(text, sliced)


def test_continuation_lines_and_multiline_strings_belong_to_their_unit() -> None:
    text = (
        "def f():\n"
        "    x = 1 + \\\n"
        "        2\n"
        '    return """\n'
        "def not_a_unit():\n"
        '"""\n'
        "def g():\n"
        "    return 2\n"
    )
    assert _all_units(text) == [(1, 6), (7, 8)]
    sliced = _elide_all_but(text, "g")
    assert sliced == 'pass; """\n\n\n\n\n"""\ndef g():\n    return 2\n'
    _assert_sliced_well(text, sliced)


def test_a_unit_starts_at_its_first_decorator() -> None:
    text = "import functools\n@functools.cache\n@staticmethod\ndef f():\n    return 1\n"
    assert _all_units(text) == [(2, 5)]
    _assert_sliced_well(text, elide(text, _all_units(text)))


def test_a_decorator_continued_from_an_earlier_line_makes_no_unit() -> None:
    text = "@ \\\nfunctools.cache\ndef f():\n    return 1\ndef g():\n    return 2\n"
    assert _all_units(text) == [(5, 6)]


def test_defs_outside_functions_are_units_but_classes_stay() -> None:
    text = (
        "class A:\n"
        "    '''Doc.'''\n"
        "    limit = 3\n"
        "    def f(self):\n"
        "        return 1\n"
        "    class Inner:\n"
        "        def h(self):\n"
        "            return 3\n"
        "    async def g(self):\n"
        "        return 2\n"
        "if True:\n"
        "    def k():\n"
        "        def nested():\n"
        "            return 5\n"
        "        return 4\n"
    )
    # A one-line docstring saves no line; `nested` goes with `k`.
    assert _all_units(text) == [(4, 5), (7, 8), (9, 10), (12, 15)]
    sliced = elide(text, _all_units(text))
    assert "limit = 3" in sliced and "class Inner:" in sliced and "if True:" in sliced
    assert "def" not in sliced
    _assert_sliced_well(text, sliced)


def test_a_def_alone_in_each_block_of_compound_statements() -> None:
    # `elide` leaves `pass` in each block: `else`, `except`, `finally` and `case`
    # blocks keep a body.
    text = (
        "import sys\n"
        "try:\n"
        "    from fast import f\n"
        "except ImportError:\n"
        "    def f():\n"
        "        return 1\n"
        "if sys.platform == 'win32':\n"
        "    @staticmethod\n"
        "    def g():\n"
        "        return 2\n"
        "elif sys.platform == 'darwin':\n"
        "    def g():\n"
        "        return 3\n"
        "else:\n"
        "    def g():\n"
        "        return 4\n"
        "try:\n"
        "    pass\n"
        "finally:\n"
        "    def h():\n"
        "        return 5\n"
        "with open(__file__) as handle:\n"
        "    def w():\n"
        "        return 6\n"
        "for item in ():\n"
        "    pass\n"
        "else:\n"
        "    def v():\n"
        "        return 7\n"
        "match sys.argv:\n"
        "    case []:\n"
        "        def m():\n"
        "            return 8\n"
    )
    assert _all_units(text) == [
        (5, 6), (8, 10), (12, 13), (15, 16), (20, 21), (23, 24), (28, 29), (32, 33)
    ]  # fmt: skip
    sliced = elide(text, _all_units(text))
    assert split_lines(sliced)[4:6] == ['    pass; """\n', '"""\n']
    assert split_lines(sliced)[31] == '        pass; """\n'
    _assert_sliced_well(text, sliced)


def test_blank_and_comment_lines_after_a_unit_go_with_it() -> None:
    text = (
        "class A:\n"
        "    def f(self):\n"
        "        return 1\n"
        "        # the end of f\n"
        "\n"
        "    # about g\n"
        "\x0c\n"
        "    def g(self):\n"
        "        return 2 \\\n"
        "\n"
        '    x = """\n'
        "# not a comment\n"
        '"""\n'
        "if A:\n"
        "    def h():\n"
        "        return 3\n"
        "# before else\n"
        "else:\n"
        "    def h(): return 4  # one line\n"
        "\n"
        "# the end"
    )
    # g's backslash joins its next line: nothing after it is taken.
    assert _all_units(text) == [(2, 7), (8, 9), (15, 17), (19, 21)]
    sliced = elide(text, _all_units(text))
    assert sliced.endswith(
        '# not a comment\n"""\nif A:\n    pass; """\n\n"""\nelse:\n    pass; """\n\n"""'
    )
    _assert_sliced_well(text, sliced)


def test_adjacent_units_are_blanked_as_one() -> None:
    text = (
        "if True:\n"
        "    class A:\n"
        '        """Doc,\n'
        '        more."""\n'
        "        def f(self):\n"
        "            return 1\n"
        "\n"
        "    def g():\n"
        "        return 2\n"
        "def h():\n"
        "    return 3\n"
        "x = 1\n"
        "def k():\n"
        "    return 4\n"
    )
    plan = {"units": [list(span) for span in _all_units(text)], "needs": {"LG401": []}}
    assert plan["units"] == [[3, 4], [5, 7], [8, 9], [10, 11], [13, 14]]
    spans = elided(plan, ["LG401"])
    assert spans == [(3, 11), (13, 14)]
    sliced = elide(text, spans)
    head = 'if True:\n    class A:\n        pass; """\n'
    assert sliced == head + "\n" * 7 + '"""\nx = 1\npass; """\n"""\n'
    _assert_sliced_well(text, sliced)


def test_one_line_bodies_hold_no_unit() -> None:
    text = "import sys\nif sys.argv: x = 1; y = 2\nelse: z = 3\nclass A: '''a\nb'''\n"
    assert _all_units(text) == []


def test_docstrings_are_units_unless_a_future_import_follows() -> None:
    text = (
        '"""Module.\n'
        "\n"
        'More."""\n'
        "import os\n"
        "class A:\n"
        '    """Class.\n'
        "\n"
        '    More."""\n'
        "    x = 1\n"
        '    """A bare string\n'
        '    used as a comment."""; y = 2\n'
        "z = 3; '''not\n"
        "alone'''\n"
    )
    assert _all_units(text) == [(1, 3), (6, 8)]
    sliced = elide(text, _all_units(text))
    assert sliced.startswith(
        'pass; """\n\n"""\nimport os\nclass A:\n    pass; """\n\n"""\n    x = 1\n'
    )
    _assert_sliced_well(text, sliced)
    future = text.replace("import os\n", "from __future__ import annotations\n")
    assert _all_units(future) == [(6, 8)]
    _assert_sliced_well(future, elide(future, _all_units(future)))


def test_an_elided_span_first_in_a_body_makes_no_docstring() -> None:
    # A string first in a module or class body would be its docstring (`__doc__`,
    # `get_docstring`): the `pass` before it keeps that place.
    text = (
        "def f():\n"
        "    return 1\n"
        "class A:\n"
        "    def g(self):\n"
        "        return 2\n"
        "    x = 1\n"
        "if True:\n"
        "    def h():\n"
        "        return 3\n"
    )
    sliced = elide(text, _all_units(text))
    assert sliced.startswith('pass; """\n"""\nclass A:\n    pass; """\n"""\n    x = 1\n')
    module = cst.parse_module(sliced)
    klass = module.body[1]
    assert isinstance(klass, cst.ClassDef)
    assert module.get_docstring() is None and klass.get_docstring() is None
    _assert_sliced_well(text, sliced)


def test_quotes_and_backslashes_in_an_elided_span_cannot_close_its_string() -> None:
    # Only the first line's indentation and the line endings of a span are kept.
    text = (
        "class A:\n"
        "    def f(self):\n"
        '        return """a\n'
        "''' \\\n"
        '"""\n'
        "    def g(self):\n"
        "        return '''b\n"
        '""" \\\n'
        "'''  # \"\"\" \\\n"
        "    x = 1\n"
    )
    assert _all_units(text) == [(2, 5), (6, 9)]
    sliced = elide(text, _all_units(text))
    assert sliced == "class A:\n" + '    pass; """\n\n\n"""\n' * 2 + "    x = 1\n"
    _assert_sliced_well(text, sliced)


def test_a_span_continuing_its_header_line_stays_valid() -> None:
    # `class A: \` joins the next line: the docstring is the class's one-line body,
    # and `pass` and the string stay on that logical line.
    text = "class A: \\\n    '''Doc,\n    more.'''\nx = 1\n"
    assert _all_units(text) == [(2, 3)]
    sliced = elide(text, _all_units(text))
    assert sliced == 'class A: \\\n    pass; """\n"""\nx = 1\n'
    _assert_sliced_well(text, sliced)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_kept_code_after_a_string_span_keeps_its_lines(newline: str) -> None:
    lines = ["x = 1", "def f():", "    '''", "    '''", "", "def g():", "    return 2", ""]
    text = newline.join(lines)
    sliced = _elide_all_but(text, "g")
    assert sliced == newline.join(["x = 1", 'pass; """', "", "", '"""', *lines[5:]])
    _assert_sliced_well(text, sliced)


def test_nested_units_with_crlf_and_no_final_newline() -> None:
    text = (
        "if True:\r\n    def f():\r\n        return 1\r\nelse:\r\n    def f():\r\n        return 2"
    )
    assert _all_units(text) == [(2, 3), (5, 6)]
    sliced = elide(text, _all_units(text))
    assert sliced == 'if True:\r\n    pass; """\r\n"""\r\nelse:\r\n    pass; """\r\n"""'
    _assert_sliced_well(text, sliced)


def test_a_class_region_keeps_all_its_methods() -> None:
    text = "class A:\n    def f(self):\n        return 1\n    def g(self):\n        return 2\n"
    tree = _tree(text)
    call_site = tree.tree.body[0].body[0]  # type: ignore[attr-defined]
    assert needed_units(tree, [call_site]) == [0]
    outer = tree.outermost(call_site)
    assert outer is not None and needed_units(tree, [outer]) == [0, 1]


def test_a_function_level_import_serves_the_whole_file() -> None:
    # analysis.imports resolves `p.loads` in g through the import in f.
    text = (
        "def f():\n"
        "    import pickle as p\n"
        "def g(blob):\n"
        "    return p.loads(blob)\n"
        "def h():\n"
        "    import json\n"
    )
    sliced = _elide_all_but(text, "g")
    assert "import pickle as p" in sliced and "import json" not in sliced


def test_elided_spans_need_every_admitted_rule_to_have_regions() -> None:
    plan = {"units": [[1, 2], [3, 4], [5, 6]], "needs": {"LG401": [1], "LG402": [2]}}
    assert elided(plan, ["LG401"]) == [(1, 2), (5, 6)]
    assert elided(plan, ["LG401", "LG402"]) == [(1, 2)]
    assert elided(plan, ["LG401", "LG103"]) == []  # LG103 needs the whole file
    assert elided(None, ["LG401"]) == []


# -- findings are those of the whole file ------------------------------------------------

_TEST_MODULE = """\
import pickle
import unittest


class PickleTests(unittest.TestCase):
    def setUp(self):
        self.items = [1, 2, 3]

    def test_round_trip(self):
        blob = pickle.dumps(self.items)
        self.assertEqual(pickle.loads(blob), self.items)

    def test_other(self):
        self.assertTrue(self.items)


def helper(path):
    with open(path, "rb") as handle:
        return pickle.load(handle)  # a finding, line 19


def unrelated():
    return sum(range(10))
"""


def test_an_admitted_file_is_parsed_in_part_with_the_same_findings() -> None:
    config = make_config(Path("."), select=["LG401", "LG402"])
    _, verdict = collect_file(_TEST_MODULE, "t.py", sorted(COLLECTORS), config)
    assert verdict is not None and PLAN_KEY in verdict
    rules = admitted(verdict, None)
    spans = elided(verdict[PLAN_KEY], rules)
    assert spans == [(6, 8), (13, 16), (22, 23)]  # with the blank lines after them
    sliced = analyze_text(_TEST_MODULE, "t.py", config, admitted=rules, elide_spans=spans)
    whole = analyze_text(_TEST_MODULE, "t.py", config, admitted=rules)
    assert [(f.rule, f.line, f.column, f.fingerprint) for f in sliced.findings] == [
        (f.rule, f.line, f.column, f.fingerprint) for f in whole.findings
    ]
    assert [(f.rule, f.line) for f in sliced.findings if f.rule == "LG401"] == [("LG401", 19)]
    assert whole.parsed_lines == 23
    assert sliced.parsed_lines == 23 - 6  # each elided span costs its first line
    # Nothing here is fixable: with fixes asked for (a JSON report), the file stays sliced.
    reported = analyze_text(
        _TEST_MODULE, "t.py", config, admitted=rules, elide_spans=spans, fixes=True
    )
    assert reported.parsed_lines == sliced.parsed_lines
    assert reported.findings == sliced.findings


_FIXABLE = """\
import yaml


def unrelated():
    return 1


def load(path):
    with open(path) as handle:
        return yaml.load(handle)  # fixable: yaml.safe_load
"""


def test_a_fixable_finding_is_fixed_from_the_slice() -> None:
    config = make_config(Path("."), select=["LG401"])
    sliced = analyze_text(_FIXABLE, "t.py", config)
    assert sliced.parsed_lines < 10 and sliced.findings[0].fixable is not None
    fixed = analyze_text(_FIXABLE, "t.py", config, fixes=True)
    fix = fixed.findings[0].fix
    assert fix is not None and "def unrelated" not in str(fix)
    whole = analyze_text(_FIXABLE, "t.py", config, fixes=True, slicing=False)
    assert whole.parsed_lines == 10
    assert fixed.findings == whole.findings
    assert fixed.parsed_lines == sliced.parsed_lines  # the sliced parse only


def _fixed_sliced_and_whole(text: str, rule: str) -> tuple[list[object], list[object], int, int]:
    """The findings (fixes included) of `text` analysed with fixes sliced and whole, the
    lines LibCST parsed for the first, and those of a sliced analysis without fixes."""
    config = make_config(Path("."), select=[rule])
    plain = analyze_text(text, "t.py", config)
    fixed = analyze_text(text, "t.py", config, fixes=True)
    whole = analyze_text(text, "t.py", config, fixes=True, slicing=False)
    assert plain.parsed_lines < whole.parsed_lines == whole.lines  # the file is sliced
    return list(fixed.findings), list(whole.findings), fixed.parsed_lines, plain.parsed_lines


def test_a_fix_adding_an_import_to_a_sliced_file_edits_as_the_whole_file() -> None:
    text = (
        "import time\n\n\ndef unrelated():\n    return 1\n\n\n"
        "async def handler():\n    time.sleep(1)\n"
    )
    fixed, whole, parsed, plain = _fixed_sliced_and_whole(text, "LG201")
    assert fixed == whole
    assert [f.fix and f.fix.edits for f in fixed] == [
        (Edit(2, 1, 2, 1, "import asyncio\n"), Edit(9, 5, 9, 9, "await asyncio"))
    ]
    assert parsed == plain  # rendered from the slice


@pytest.mark.parametrize(
    "text",
    [
        # `AddImportsVisitor` adds an empty line before the elided `def` right after the
        # imports: an edit at the start of an elided span.
        "import time\ndef unrelated():\n    return 1\n\n\nasync def handler():\n"
        "    time.sleep(1)\n",
        # The elided module docstring: the import goes after it, which only the whole
        # module tells.
        '"""A module docstring,\non two lines."""\nimport time\n\n\ndef unrelated():\n'
        "    return 1\n\n\nasync def handler():\n    time.sleep(1)\n",
    ],
    ids=["edit-at-a-span", "elided-first-statement"],
)
def test_a_fix_reaching_an_elided_span_is_rendered_from_the_whole_file(text: str) -> None:
    fixed, whole, parsed, plain = _fixed_sliced_and_whole(text, "LG201")
    assert fixed == whole and all(f.fix is not None for f in fixed)
    assert parsed == plain + text.count("\n")  # parsed sliced, then whole


def test_an_elided_definition_takes_the_name_a_fix_would_import() -> None:
    """`def get_running_loop` elided: the fix must not add `from asyncio import
    get_running_loop` over it; the whole-file analysis offers no fix either."""
    text = (
        "from asyncio import get_event_loop\n\n\ndef get_running_loop():\n"
        "    return None\n\n\nasync def handler():\n    return get_event_loop()\n"
    )
    fixed, whole, parsed, plain = _fixed_sliced_and_whole(text, "LG203")
    assert fixed == whole and [(f.fixable, f.fix) for f in fixed] == [(None, None)]
    assert parsed == plain  # a top-level `def`: the slice can tell


def test_an_elided_definition_in_a_block_leaves_the_name_to_the_whole_file() -> None:
    """Whether `module_bindings` sees a function defined in a module-level block only
    the whole module tells: the file is analysed again whole."""
    text = (
        "from asyncio import get_event_loop\n\nif False:\n    def get_running_loop():\n"
        "        return None\n\n\nasync def handler():\n    return get_event_loop()\n"
    )
    fixed, whole, parsed, plain = _fixed_sliced_and_whole(text, "LG203")
    assert fixed == whole
    assert parsed == plain + text.count("\n")


def test_an_import_in_an_elided_function_is_seen_as_the_whole_file_sees_it() -> None:
    """The fixes' import table holds imports inside functions (`ImportTable.from_module`):
    one in an elided function must spell the fix as the whole-file analysis does."""
    text = (
        "import time\n\n\ndef helper():\n    import asyncio as aio\n    return aio\n\n\n"
        "async def handler():\n    time.sleep(1)\n"
    )
    fixed, whole, parsed, plain = _fixed_sliced_and_whole(text, "LG201")
    assert fixed == whole and all(f.fix is not None for f in fixed)
    assert parsed == plain


def _outcome(run: RunResult) -> list[tuple[object, ...]]:
    findings = [
        (f.path, f.line, f.column, f.end_line, f.end_column, f.rule, f.message, f.suppressed)
        for f in run.findings
    ]
    return [*findings, *((e.path, e.message) for e in run.errors)]


@pytest.mark.parametrize(
    "target", sorted(p for p in RULE_FIXTURES.iterdir() if p.is_dir()), ids=lambda p: p.name
)
def test_findings_are_identical_sliced_and_whole(target: Path) -> None:
    config = make_config(target, select=["ALL"])
    sliced = check([target], config, jobs=1, use_cache=False, slicing=True)
    whole = check([target], config, jobs=1, use_cache=False, slicing=False)
    assert _outcome(sliced) == _outcome(whole)
    assert sliced.parsed_lines <= whole.parsed_lines


# The rules whose findings may carry a fix (`FixPlan`).
_FIXING = ["LG101", "LG108", "LG201", "LG202", "LG203", "LG401", "LG502", "LG503"]


@pytest.mark.parametrize("code", _FIXING)
def test_fixes_are_identical_sliced_and_whole(code: str) -> None:
    """Fixes rendered from the slice (`fixes.sliced`) are the whole file's, every field.
    (Most fixtures start with a module docstring, which is elided: a fix adding an import
    there is rendered from the whole file, so the lines parsed are not compared.)"""
    target = RULE_FIXTURES / code
    config = make_config(target, select=["ALL"])
    sliced = check([target], config, jobs=1, use_cache=False, fixes=True, slicing=True)
    whole = check([target], config, jobs=1, use_cache=False, fixes=True, slicing=False)
    assert sliced.findings == whole.findings
    assert any(f.fix is not None for f in sliced.findings)


_WITH_REGIONS = sorted(
    code
    for code, rule in rule_classes().items()
    if declares_regions(rule) and (RULE_FIXTURES / code).is_dir()
)


@pytest.mark.parametrize("code", _WITH_REGIONS)
def test_each_rule_alone_finds_the_same_sliced_and_whole(code: str) -> None:
    """With every rule selected, one rule without regions keeps a fixture whole; alone,
    each rule's own fixtures are sliced by its regions only."""
    target = RULE_FIXTURES / code
    config = make_config(target, select=[code])
    sliced = check([target], config, jobs=1, use_cache=False, slicing=True)
    whole = check([target], config, jobs=1, use_cache=False, slicing=False)
    assert _outcome(sliced) == _outcome(whole)
    assert sliced.findings
    assert sliced.parsed_lines <= whole.parsed_lines


def test_slicing_happens_on_the_fixtures() -> None:
    """The comparison above proves something: fixtures of rules with regions are sliced."""
    config = make_config(RULE_FIXTURES / "LG401", select=["LG401", "LG402"])
    sliced = check([RULE_FIXTURES / "LG401"], config, jobs=1, use_cache=False, slicing=True)
    whole = check([RULE_FIXTURES / "LG401"], config, jobs=1, use_cache=False, slicing=False)
    assert sliced.findings and sliced.parsed_lines < whole.parsed_lines


def test_regions_count_only_next_to_the_rules_own_condition() -> None:
    """An inherited `regions` (or one without the rule's own `could_fire`) was written
    for another rule's analysis: such a rule needs the whole file."""
    classes = rule_classes()
    assert declares_regions(classes["LG401"]) and declares_regions(classes["LG402"])

    class Derived(classes["LG401"]):  # type: ignore[misc, valid-type]
        code = "LG999"

    class RegionsOnly(classes["LG401"]):  # type: ignore[misc, valid-type]
        code = "LG998"
        regions = classes["LG401"].regions

    assert not declares_regions(Derived)
    assert not declares_regions(RegionsOnly)


def _names(tree: TriageTree, nodes: list[ast.AST]) -> list[str]:
    """Names of the units `nodes` keep."""
    kept = needed_units(tree, nodes)
    found = units(tree)
    return [getattr(found[index].node, "name", "") for index in kept]


def test_a_global_container_keeps_every_function_naming_it() -> None:
    # analysis.loops.release_of looks for a release of a module global in every function.
    text = (
        "CACHE = []\n"
        "def fill(items):\n"
        "    for item in items:\n"
        "        CACHE.append(item)\n"
        "def reset():\n"
        "    CACHE.clear()\n"
        "def other():\n"
        "    local = []\n"
        "    local.append(1)\n"
    )
    tree = _tree(text)
    calls = {ast.unparse(n): n for n in ast.walk(tree.tree) if isinstance(n, ast.Call)}
    growth = calls["CACHE.append(item)"]
    assert _names(tree, container_regions(tree, [growth])) == ["fill", "reset"]
    assert _names(tree, container_regions(tree, [calls["local.append(1)"]])) == ["other"]


def test_an_attribute_container_keeps_its_class() -> None:
    text = (
        "class Store:\n"
        "    def add(self, x):\n"
        "        self.items.append(x)\n"
        "    def reset(self):\n"
        "        self.items = []\n"
        "def unrelated():\n"
        "    pass\n"
    )
    tree = _tree(text)
    growth = next(n for n in ast.walk(tree.tree) if isinstance(n, ast.Call))
    assert _names(tree, container_regions(tree, [growth])) == ["add", "reset"]


def test_a_method_keeps_its_class_its_bases_and_the_definitions_it_names() -> None:
    text = (
        "class Base:\n"
        "    async def handle(self):\n"
        "        pass\n"
        "class Handler(Base):\n"
        "    async def handle(self):\n"
        "        return helper()\n"
        "    def other(self):\n"
        "        pass\n"
        "def helper():\n"
        "    pass\n"
        "def unrelated():\n"
        "    pass\n"
    )
    tree = _tree(text)
    method = [n for n in ast.walk(tree.tree) if isinstance(n, ast.AsyncFunctionDef)][-1]
    kept = _names(tree, class_regions(tree, [method]))
    assert kept == ["handle", "handle", "other", "helper"]


def test_the_engine_keys_cached_plans_by_their_version() -> None:
    from leakguard import engine, slicing

    assert engine._PLAN_VERSION == slicing.PLAN_VERSION


def test_a_failing_region_parses_the_whole_file(monkeypatch: pytest.MonkeyPatch) -> None:
    classes = rule_classes()

    def broken(tree: TriageTree, spec: object) -> list[ast.AST]:
        raise RuntimeError("bug in a region")

    config = make_config(Path("."), select=["LG401", "LG402"])
    sliced = analyze_text(_TEST_MODULE, "t.py", config)
    assert sliced.parsed_lines < 23
    monkeypatch.setattr(classes["LG401"], "regions", staticmethod(broken))
    whole = analyze_text(_TEST_MODULE, "t.py", config)
    assert whole.parsed_lines == 23
    assert [(f.rule, f.line) for f in whole.findings] == [(f.rule, f.line) for f in sliced.findings]


_MEMO_MODULE = """\
_cache = {}


def unrelated(values):
    return sorted(values)


def lookup(key):
    if key not in _cache:
        _cache[key] = expensive(key)
    return _cache[key]


def expensive(key):
    return key * 2


def forget(key):
    _cache.pop(key, None)


def _resolve(model):
    _MODEL_CACHE[model.__name__] = model
    return model


_MODEL_CACHE = {}


class Handler:
    def __init__(self, model):
        self.model = _resolve(model)

    def other(self):
        return 1
"""


def test_lg108_keeps_evictions_and_callers_and_elides_the_rest() -> None:
    """LG108's regions: a module-level cache keeps every function naming it (`forget`
    evicts it, which silences `lookup`), and a cache store's function keeps the units
    that call it (`_resolve` is reached only from a constructor: no cache)."""
    config = make_config(Path("."), select=["LG108"])
    _, verdict = collect_file(_MEMO_MODULE, "t.py", sorted(COLLECTORS), config)
    assert verdict is not None and PLAN_KEY in verdict
    rules = admitted(verdict, None)
    spans = elided(verdict[PLAN_KEY], rules)
    assert spans == [(4, 7), (34, 35)]  # `unrelated` and `Handler.other`
    sliced = analyze_text(_MEMO_MODULE, "t.py", config, admitted=rules, elide_spans=spans)
    whole = analyze_text(_MEMO_MODULE, "t.py", config, admitted=rules)
    assert sliced.findings == whole.findings == []
    assert sliced.parsed_lines < whole.parsed_lines
    # Without the eviction the memo idiom is reported, sliced as whole.
    kept = _MEMO_MODULE.replace("_cache.pop(key, None)", "return key")
    _, verdict = collect_file(kept, "t.py", sorted(COLLECTORS), config)
    assert verdict is not None
    rules = admitted(verdict, None)
    spans = elided(verdict[PLAN_KEY], rules)
    sliced = analyze_text(kept, "t.py", config, admitted=rules, elide_spans=spans)
    whole = analyze_text(kept, "t.py", config, admitted=rules)
    assert [(f.rule, f.line) for f in sliced.findings] == [("LG108", 10)]
    assert sliced.findings == whole.findings


# -- request paths: a helper is judged by the handlers that reach it --------------------

_REQUEST_PATH_MODULE = """\
import asyncio, subprocess  # one line: the spans below count lines
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

app = Flask(__name__)


def unrelated():
    return sum(range(10))


def _resize_all(images):
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(len, images))


def middle(images):
    return _resize_all(images)


def thumbnails():
    return middle([b"x"])


async def fetch_all(urls):
    return await asyncio.gather(*(asyncio.to_thread(len, url) for url in urls))


async def fan_out(urls):
    return await middle_async(urls)


async def middle_async(urls):
    await asyncio.to_thread(subprocess.run, urls)  # a child process with no deadline
    return await fetch_all(urls)


def create_app():
    app.add_url_rule("/thumbnails", view_func=thumbnails)
    app.add_url_rule("/fetch", view_func=fan_out)
    return app
"""

# `Items.get` is a handler because `create_app` registers its class, which names no
# method.
_VIEW_MODULE = """\
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from flask.views import View

app = Flask(__name__)


class Items(View):
    def get(self):
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(len, ["a"]))


def unrelated():
    return sum(range(10))


def create_app():
    app.add_url_rule("/items", view_func=Items.as_view("items"))
    return app
"""

# A file with a `__main__` block is a script (`batch` runs once) unless it has a handler.
_SCRIPT_MODULE = """\
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

app = Flask(__name__)


def batch():
    pool = ThreadPoolExecutor(2)
    return list(pool.map(len, ["a"]))


def unrelated():
    return sum(range(10))


@app.route("/ping")
def ping():
    return "pong"


if __name__ == "__main__":
    app.run()
"""


@pytest.mark.parametrize(
    ("code", "text", "elided_units"),
    [
        # Units with the blank lines after them; adjacent ones are one span.
        ("LG204", _REQUEST_PATH_MODULE, [(9, 25)]),
        ("LG205", _REQUEST_PATH_MODULE, [(9, 12)]),
        ("LG206", _REQUEST_PATH_MODULE, [(9, 12), (26, 38)]),
        ("LG206", _VIEW_MODULE, [(15, 18)]),
        ("LG206", _SCRIPT_MODULE, [(13, 16)]),
    ],
)
def test_a_request_path_keeps_its_callers_and_registrations(
    code: str, text: str, elided_units: list[Span]
) -> None:
    """`_resize_all` runs per request only through `middle` and `thumbnails` (two calls
    back), a handler because `create_app` registers it (`middle_async` likewise through
    `fan_out`); `Items.get` is a handler through a registration that names its class
    only; `ping` makes the file with a `__main__` block no script."""
    config = make_config(Path("."), select=[code])
    _, verdict = collect_file(text, "t.py", sorted(COLLECTORS), config)
    assert verdict is not None and PLAN_KEY in verdict
    rules = admitted(verdict, None)
    assert rules == [code]
    spans = elided(verdict[PLAN_KEY], rules)
    assert spans == elided_units
    sliced = analyze_text(text, "t.py", config, admitted=rules, elide_spans=spans)
    whole = analyze_text(text, "t.py", config, admitted=rules)
    assert sliced.findings and sliced.findings == whole.findings


_VALIDATED_MODULE = """\
import asyncio

from fastapi import FastAPI
from pydantic import BaseModel, field_validator

app = FastAPI()


class Batch(BaseModel):
    ids: list[int]

    @field_validator("ids")
    @classmethod
    def at_most_100(cls, value):
        if len(value) > 100:
            raise ValueError("too many ids")
        return value


async def load(item):
    return item


@app.post("/load")
async def load_many(batch: Batch):
    return await asyncio.gather(*(load(i) for i in batch.ids))


@app.post("/loose")
async def load_loose(ids: list[int]):
    return await asyncio.gather(*(load(i) for i in ids))
"""


def test_model_facts_of_a_sliced_file_are_those_of_the_whole_file(tmp_path: Path) -> None:
    """LG205 does not keep `Batch.at_most_100` (a unit it never names), yet its bound on
    `Batch.ids` still counts: a sliced file's model facts are the run's, collected from
    the whole file."""
    (tmp_path / "app.py").write_text(_VALIDATED_MODULE)
    config = make_config(tmp_path, select=["LG205"])
    sliced = check([tmp_path], config, jobs=1, use_cache=False, slicing=True)
    whole = check([tmp_path], config, jobs=1, use_cache=False, slicing=False)
    assert [(f.rule, f.line) for f in sliced.findings] == [("LG205", 31)]
    assert _outcome(sliced) == _outcome(whole)
    assert sliced.parsed_lines < whole.parsed_lines


_COROUTINES = """\
import time

CLIENT = object()


async def only_awaits(items):
    await other(len(items))


async def local_calls(items):
    items.append(1)
    return [str(item) for item in items]


async def sleeps():
    time.sleep(1)


async def other(n):
    return helper(n)


def helper(n):
    time.sleep(n)
"""


def test_lg201_keeps_the_coroutines_with_a_call_it_may_report() -> None:
    """`only_awaits` awaits its one call (`len` is no blocking name and no function of
    the run) and `local_calls` calls methods of its own values: LG201 cannot report in
    them. `other` calls a module-level function (a chain through the summaries)."""
    config = make_config(Path("."), select=["LG201"])
    _, verdict = collect_file(_COROUTINES, "t.py", sorted(COLLECTORS), config)
    assert verdict is not None and PLAN_KEY in verdict
    rules = admitted(verdict, None)
    spans = elided(verdict[PLAN_KEY], rules)
    assert spans == [(6, 14)]  # with the blank lines after each unit
    sliced = analyze_text(_COROUTINES, "t.py", config, admitted=rules, elide_spans=spans)
    whole = analyze_text(_COROUTINES, "t.py", config, admitted=rules)
    assert [(f.rule, f.line) for f in sliced.findings] == [("LG201", 16)]
    assert sliced.findings == whole.findings
    quiet = _COROUTINES.split("async def sleeps")[0]
    _, verdict = collect_file(quiet, "t.py", sorted(COLLECTORS), config)
    assert verdict is not None and admitted(verdict, None) == []


_ESTIMATOR_CLASS = """\
import time

from sklearn.linear_model import LogisticRegression


class Service:
    def __init__(self):
        self.model = LogisticRegression()

    def unrelated(self):
        return 1

    async def predict(self, x):
        return self.model.predict(x)


class Sleeper:
    def __init__(self):
        self.n = 1

    async def nap(self):
        time.sleep(self.n)
"""


def test_lg201_keeps_a_class_only_for_a_model_method_call() -> None:
    """`self.model.predict` is model code because `__init__` binds `self.model`: that
    class stays whole; `time.sleep` needs nothing of `Sleeper`'s other methods."""
    config = make_config(Path("."), select=["LG201"])
    _, verdict = collect_file(_ESTIMATOR_CLASS, "t.py", sorted(COLLECTORS), config)
    assert verdict is not None and PLAN_KEY in verdict
    rules = admitted(verdict, None)
    spans = elided(verdict[PLAN_KEY], rules)
    assert spans == [(18, 20)]
    sliced = analyze_text(_ESTIMATOR_CLASS, "t.py", config, admitted=rules, elide_spans=spans)
    whole = analyze_text(_ESTIMATOR_CLASS, "t.py", config, admitted=rules)
    assert [(f.rule, f.line) for f in sliced.findings] == [("LG201", 14), ("LG201", 22)]
    assert sliced.findings == whole.findings


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a",
        "a\n",
        "a\r\nb\rc\n\nd",
        "\n\n",
        "é\r",
        "x\x0cy\nz",
        "a\x0bb",
        "a\u2028b\n",
        "a\x85\r\n",
    ],
)
def test_split_lines_ends_lines_where_python_does(text: str) -> None:
    # `str.splitlines` serves texts without a form feed or another of its separators;
    # with one, the lines still end only at "\r\n", "\r" and "\n".
    assert split_lines(text) == re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z", text)


_CORS_HELPER = """\
from flask import Flask

app = Flask(__name__)


def add_cors_headers(headers):
    headers["Access-Control-Allow-Origin"] = "*"


def unrelated(rows):
    return [row.strip() for row in rows]


def view(response, settings):
    if settings.cors:
        add_cors_headers(response.headers)
    return response


def hooks(registry):
    registry.register(callback=add_cors_headers)
"""


def test_lg501_keeps_every_function_that_mentions_a_header_helper() -> None:
    """LG501 stays silent on a helper only called under a CORS condition, so it keeps
    every function that names the helper (here one handing it on as a callback, which
    makes the `*` apply) and elides the rest."""
    config = make_config(Path("."), select=["LG501"])
    sliced = analyze_text(_CORS_HELPER, "t.py", config)
    whole = analyze_text(_CORS_HELPER, "t.py", config, slicing=False)
    assert [(f.rule, f.line) for f in sliced.findings] == [("LG501", 7)]
    assert sliced.findings == whole.findings
    assert sliced.parsed_lines < whole.parsed_lines


_ASYNC_INTERFACE = """\
import abc
import time

from typing_extensions import override


class Store(abc.ABC):
    @abc.abstractmethod
    async def get(self, key):
        \"\"\"Fetch one value; implementations await their backend.\"\"\"

    @abc.abstractmethod
    async def put(self, key, value):
        \"\"\"Store one value.\"\"\"


class Memory(Store):
    @override
    async def get(self, key):
        return self.data[key]

    async def __aenter__(self):
        return self


async def slow(path):
    time.sleep(1)
    return path
"""


def test_lg202_elides_the_async_methods_it_never_reports() -> None:
    """Abstract, `@override` and configured interface methods leave LG202's visitor first:
    they are no candidates, so only `slow` is parsed of the file's coroutines."""
    config = make_config(Path("."), select=["LG202"])
    sliced = analyze_text(_ASYNC_INTERFACE, "t.py", config)
    whole = analyze_text(_ASYNC_INTERFACE, "t.py", config, slicing=False)
    assert [(f.rule, f.line) for f in sliced.findings] == [("LG202", 26)]
    assert sliced.findings == whole.findings
    assert sliced.parsed_lines <= whole.parsed_lines - 12
