"""Options and per-finding severities of LG402/LG403/LG501-LG503 (fixtures cover the
default configuration; these cover the user-overridable parts)."""

from __future__ import annotations

from pathlib import Path

from leakguard.finding import Severity
from leakguard.testing import check_fixture, run


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


PLAIN_AND_MODEL_DUMPS = """\
import pickle
from sklearn.ensemble import IsolationForest


def save(rows, handle):
    detector = IsolationForest().fit(rows)
    pickle.dump(rows, handle)
    pickle.dump(detector, handle)
"""


def test_lg402_reports_plain_data_by_default(tmp_path: Path) -> None:
    path = _write(tmp_path, "save.py", PLAIN_AND_MODEL_DUMPS)
    result = run([path], tmp_path, select=["LG402"])
    assert [f.line for f in result.findings] == [7, 8]
    assert all(f.severity is Severity.NOTE for f in result.findings)
    assert "plain data" in result.findings[0].message
    assert "IsolationForest" in result.findings[1].message
    assert "skops.io" in result.findings[1].help


def test_lg402_report_plain_data_false_keeps_only_models(tmp_path: Path) -> None:
    path = _write(tmp_path, "save.py", PLAIN_AND_MODEL_DUMPS)
    result = run([path], tmp_path, select=["LG402"], rules={"LG402": {"report_plain_data": False}})
    assert [f.line for f in result.findings] == [8]


WILDCARD_CORS = """\
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)
app.add_middleware(CORSMiddleware, allow_origins=["*"])
"""


def test_lg501_credentials_raise_the_severity(tmp_path: Path) -> None:
    path = _write(tmp_path, "app.py", WILDCARD_CORS)
    result = run([path], tmp_path, select=["LG501"])
    severities = {f.line: f.severity for f in result.findings}
    assert severities == {5: Severity.ERROR, 6: Severity.WARNING}
    assert "with credentials" in result.findings[0].message
    assert "cookies" in result.findings[0].help


def test_lg501_user_severity_override_wins(tmp_path: Path) -> None:
    path = _write(tmp_path, "app.py", WILDCARD_CORS)
    result = run([path], tmp_path, select=["LG501"], severity={"LG501": "note"})
    assert [f.severity for f in result.findings] == [Severity.NOTE, Severity.NOTE]


def test_lg501_credentials_severity_option(tmp_path: Path) -> None:
    path = _write(tmp_path, "app.py", WILDCARD_CORS)
    result = run(
        [path], tmp_path, select=["LG501"], rules={"LG501": {"credentials_severity": "warning"}}
    )
    assert [f.severity for f in result.findings] == [Severity.WARNING, Severity.WARNING]


def test_lg403_configured_compare_call_counts_as_check(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "load.py",
        "import joblib\nfrom security import verify_signature\n\n\n"
        "def load(path, signature):\n"
        "    verify_signature(path, signature)\n"
        "    return joblib.load(path)\n",
    )
    assert [f.line for f in run([path], tmp_path, select=["LG403"]).findings] == [7]
    configured = run(
        [path],
        tmp_path,
        select=["LG403"],
        rules={"LG403": {"extend_compare_calls": ["security.verify_signature"]}},
    )
    assert configured.findings == []


def test_lg502_extended_response_sink(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "views.py",
        "from fastapi import FastAPI\nfrom myapp.responses import error_response\n\n"
        "app = FastAPI()\n\n\n"
        "def helper():\n"
        "    try:\n"
        "        return 1\n"
        "    except Exception as e:\n"
        "        return error_response(500, str(e))\n",
    )
    assert run([path], tmp_path, select=["LG502"]).findings == []
    configured = run(
        [path],
        tmp_path,
        select=["LG502"],
        rules={"LG502": {"extend_response_sinks": ["myapp.responses.error_response"]}},
    )
    assert [(f.line, f.column) for f in configured.findings] == [(11, 36)]


def test_lg502_text_calls_win_over_the_helpers_body(tmp_path: Path) -> None:
    # A configured text call is exception text whatever its body looks like to the
    # collector (`e.detail` is judged no text of `e`, as at a call site).
    helper = _write(tmp_path, "myapp/errors.py", "def describe(e):\n    return e.detail\n")
    _write(tmp_path, "myapp/__init__.py", "")
    path = _write(
        tmp_path,
        "myapp/views.py",
        "from fastapi import HTTPException\n\nfrom myapp.errors import describe\n\n\n"
        "def view():\n"
        "    try:\n"
        "        return 1\n"
        "    except Exception as e:\n"
        "        raise HTTPException(500, detail=describe(e))\n",
    )
    assert run([path, helper], tmp_path, select=["LG502"]).findings == []
    configured = run(
        [path, helper],
        tmp_path,
        select=["LG502"],
        rules={"LG502": {"extend_text_calls": ["myapp.errors.describe"]}},
    )
    assert [(Path(f.path).name, f.line) for f in configured.findings] == [("views.py", 10)]


def test_lg503_ignore_settings_modules(tmp_path: Path) -> None:
    path = _write(tmp_path, "project/settings/dev.py", "DEBUG = True\n")
    assert [f.rule for f in run([path], tmp_path, select=["LG503"]).findings] == ["LG503"]
    configured = run(
        [path], tmp_path, select=["LG503"], rules={"LG503": {"ignore_settings_modules": ["dev"]}}
    )
    assert configured.findings == []


def test_lg403_max_call_depth_bounds_the_helpers_followed() -> None:
    """The check four functions deep counts once `max_call_depth` allows four; with 1 only
    the called helper's own body counts, so the two-deep checks in the negative fixture
    (`require` -> `verify`, `Verifier.check` -> `verify_equal`) are no checks any more."""
    fixtures = Path(__file__).parent / "fixtures" / "rules" / "LG403"
    expected, reported = check_fixture(fixtures / "pos_crossfile_helper", "LG403")
    assert reported == expected
    _, deeper = check_fixture(fixtures / "pos_crossfile_helper", "LG403", {"max_call_depth": 4})
    assert sorted(line for _, line, _ in expected - deeper) == [16]
    _, shallow = check_fixture(fixtures / "neg_crossfile_helper", "LG403", {"max_call_depth": 1})
    assert sorted((path.rsplit("/", 1)[-1], line) for path, line, _ in shallow) == [
        ("loaders.py", 24),
        ("loaders.py", 29),
    ]


GATED_BY_A_SETTING = """\
import pickle

from myapp.settings import ALLOW_PICKLE, ENABLE_CACHE


def load(path):
    if not ALLOW_PICKLE.get():
        raise PermissionError("set ALLOW_PICKLE to load pickled files")
    with open(path, "rb") as handle:
        return pickle.load(handle)


def load_cached(path):
    if not ENABLE_CACHE:
        raise RuntimeError("cache disabled")
    with open(path, "rb") as handle:
        return pickle.load(handle)
"""


def test_lg401_opt_in_switches_declared_off_by_default(tmp_path: Path) -> None:
    """A setting of unknown default gates nothing until the user lists it as off by
    default; only the listed one does."""
    path = _write(tmp_path, "store.py", GATED_BY_A_SETTING)
    default = run([path], tmp_path, select=["LG401"])
    assert [f.line for f in default.findings] == [10, 17]
    listed = run(
        [path],
        tmp_path,
        select=["LG401"],
        rules={"LG401": {"opt_in_switches": ["myapp.settings.ALLOW_PICKLE"]}},
    )
    assert [f.line for f in listed.findings] == [17]
