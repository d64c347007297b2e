"""Instances that die with their call (`analysis/lifetimes.py`), as LG108 uses them: a memo
dict of a class whose every construction in the run (in *another* file) is a local, or
is returned by a factory whose callers only use it locally, is silent; one construction
kept in a module global brings the finding back, also through the result cache."""

from __future__ import annotations

from pathlib import Path

from leakguard.analysis.lifetimes import collect_source
from leakguard.engine import check
from leakguard.testing import make_config

GATE = """\
class Gate:
    def __init__(self, grants):
        self._grants = grants
        self._memo = {}

    def allows(self, resource):
        if resource not in self._memo:
            self._memo[resource] = resource in self._grants
        return self._memo[resource]
"""

VIEWS = """\
from .auth.gate import Gate


def make_gate(user):
    return Gate(user.grants)


def visible(user, rows):
    gate = make_gate(user)
    return [row for row in rows if gate.allows(row)]
"""

KEPT = """

DEFAULT = make_gate(None)
"""


def _project(root: Path, views: str) -> Path:
    package = root / "app"
    (package / "auth").mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "auth" / "__init__.py").write_text("")
    (package / "auth" / "gate.py").write_text(GATE)
    (package / "views.py").write_text(views)
    return package


def _lines(root: Path) -> list[tuple[str, int]]:
    result = check([root / "app"], make_config(root, select=["LG108"]), jobs=1)
    return [(Path(f.path).name, f.line) for f in result.findings]


def test_records_where_constructions_go() -> None:
    source = (
        "from pkg.gate import Gate\n"
        "def local(u):\n"
        "    g = Gate(u)\n"
        "    return g.allows(1)\n"
        "def factory(u):\n"
        "    return Gate(u)\n"
        "def caller(u):\n"
        "    return [factory(u).allows(1)]\n"
        "_kept = []\n"
        "def keep(u):\n"
        "    _kept.append(Gate(u))\n"
    )
    facts = collect_source(source, "app/views.py")
    assert facts is not None
    assert facts["made"] == {"pkg.gate.Gate": "!"}
    without_keep = source.rsplit("def keep", 1)[0]
    facts = collect_source(without_keep, "app/views.py")
    assert facts is not None
    assert facts["made"] == {"pkg.gate.Gate": ["app.views.factory"]}


def test_factory_of_another_file_records_where_its_results_go() -> None:
    source = (
        "from app.views import make_gate\n"
        "from app.rows import keep\n"
        "import json\n"
        "def f(u):\n"
        "    return make_gate(u)\n"
        "def g(u, rows):\n"
        "    return keep(rows, gate=make_gate(u), make=lambda: make_gate(u))\n"
        "def h(u):\n"
        "    return json.dumps(make_gate(u).allows(1))\n"
    )
    facts = collect_source(source, "app/other.py")
    assert facts is not None
    assert facts["used"] == ["app.rows.keep", "app.views.make_gate", "json.dumps"]
    assert facts["results"] == {
        "app.rows.keep": ["?app.other.g"],
        "app.views.make_gate": ["?app.other.f", "~()app.rows.keep#make", "~>app.rows.keep#gate"],
    }
    # `json` is no package of the run: its functions get no record.
    assert "json.dumps" not in facts["results"]
    assert facts["params"]["app.other.g"]["rows"] == ["~>app.rows.keep#0"]


def test_parameters_record_what_they_keep() -> None:
    source = (
        "_SEEN = []\n"
        "def keep(rows, gate, make):\n"
        "    made = make()\n"
        "    _SEEN.append(made)\n"
        "    return [r for r in rows if gate.allows(r)]\n"
    )
    facts = collect_source(source, "app/rows.py")
    assert facts is not None
    fates = facts["params"]["app.rows.keep"]
    assert fates["gate"] == fates["1"] == []
    assert fates["()make"] == fates["()2"] == "!"


def test_memo_of_instances_built_per_call_in_another_file_is_silent(tmp_path: Path) -> None:
    _project(tmp_path, VIEWS)
    assert _lines(tmp_path) == []


def test_instance_kept_in_a_global_elsewhere_reports_again_through_the_cache(
    tmp_path: Path,
) -> None:
    package = _project(tmp_path, VIEWS)
    assert _lines(tmp_path) == []
    (package / "views.py").write_text(VIEWS + KEPT)
    assert _lines(tmp_path) == [("gate.py", 8)]
    (package / "views.py").write_text(VIEWS)
    assert _lines(tmp_path) == []


HELPERS = """\
_SEEN = []


def check(gate, rows):
    return [row for row in rows if gate.allows(row)]
"""

CHECKED = """\
from .auth.gate import Gate
from .helpers import check


def visible(user, rows):
    return check(Gate(user.grants), rows)
"""


def test_argument_kept_by_another_files_function_reports_again_through_the_cache(
    tmp_path: Path,
) -> None:
    package = _project(tmp_path, CHECKED)
    (package / "helpers.py").write_text(HELPERS)
    assert _lines(tmp_path) == []
    (package / "helpers.py").write_text(HELPERS + "    _SEEN.append(gate)\n")
    assert _lines(tmp_path) == [("gate.py", 8)]
    (package / "helpers.py").write_text(HELPERS)
    assert _lines(tmp_path) == []


def test_chains_too_long_to_follow_keep_the_value_without_a_recursion_error() -> None:
    aliases = "\n".join(f"    a{i} = a{i - 1}" for i in range(1, 400))
    source = f"from pkg import Gate\ndef f():\n    a0 = Gate()\n{aliases}\n    a399.x()\n"
    factories = "\n".join(f"def f{i}():\n    return f{i - 1}()" for i in range(1, 300))
    chained = (
        f"from pkg import Gate\ndef f0():\n    return Gate()\n{factories}\n"
        "def use():\n    f299().x()\n"
    )
    for text in (source, chained):
        facts = collect_source(text, "app/generated.py")
        assert facts is not None
        assert facts["made"] == {"pkg.Gate": "!"}
