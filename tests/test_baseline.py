"""Baselines: adopt leakguard on an existing codebase and fail only on new findings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leakguard.baseline import Baseline, Entry, apply, read
from leakguard.config import ConfigError
from leakguard.engine import RunResult
from leakguard.finding import FileResult, Finding, Severity

FIXTURE = Path(__file__).parent / "fixtures" / "integrations" / "project"
NEW_LOAD = "\n\ndef load_upload(blob: bytes) -> object:\n    return pickle.loads(blob[4:])\n"


def _leakguard(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKGUARD_")}
    return subprocess.run(
        [sys.executable, "-m", "leakguard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "NO_COLOR": "1", "CI": "1"},
        check=False,
    )


def _json_findings(cwd: Path, *args: str) -> tuple[int, list[dict[str, object]]]:
    completed = _leakguard(cwd, "check", "--no-cache", "--format", "json", *args, "service.py")
    assert completed.returncode in (0, 1), completed.stderr
    findings = json.loads(completed.stdout)["findings"]
    return completed.returncode, [f for f in findings if not f["suppressed"]]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = Path(shutil.copytree(FIXTURE, tmp_path / "project"))
    (root / "broken.py").unlink()
    return root


@pytest.fixture
def baselined(project: Path) -> Path:
    completed = _leakguard(
        project, "check", "--no-cache", "--write-baseline", "baseline.json", "service.py"
    )
    assert completed.returncode == 0, completed.stderr
    return project


def test_written_baseline_is_versioned_json_of_open_findings(baselined: Path) -> None:
    document = json.loads((baselined / "baseline.json").read_text(encoding="utf-8"))
    assert document["version"] == 1
    # Three open findings; the inline-suppressed one is not recorded.
    assert [(f["rule"], f["path"]) for f in document["findings"]] == [("LG401", "service.py")] * 3
    assert all(f["fingerprint"] for f in document["findings"])


def test_baselined_findings_are_not_reported(baselined: Path) -> None:
    code, findings = _json_findings(baselined)
    assert (code, len(findings)) == (1, 3)
    assert _json_findings(baselined, "--baseline", "baseline.json") == (0, [])


def test_code_inserted_above_keeps_findings_baselined(baselined: Path) -> None:
    service = baselined / "service.py"
    header = '"""Reworked."""\n\nimport logging\n\nlog = logging.getLogger(__name__)\n\n'
    service.write_text(header + service.read_text(encoding="utf-8"), encoding="utf-8")
    assert _json_findings(baselined, "--baseline", "baseline.json") == (0, [])


def test_only_new_findings_are_reported(baselined: Path) -> None:
    service = baselined / "service.py"
    service.write_text("# header\n" + service.read_text(encoding="utf-8") + NEW_LOAD, "utf-8")
    code, findings = _json_findings(baselined, "--baseline", "baseline.json")
    assert code == 1
    assert [(f["rule"], f["line"]) for f in findings] == [("LG401", 26)]


def test_edit_just_below_a_finding_keeps_it_baselined(baselined: Path) -> None:
    service = baselined / "service.py"
    text = service.read_text(encoding="utf-8")
    # Changes the line hash of the finding above (it covers the next 100 characters).
    service.write_text(text.replace("def load_cache(", "def load_cached_blob("), "utf-8")
    assert _json_findings(baselined, "--baseline", "baseline.json") == (0, [])


def test_identical_finding_added_is_still_reported_once(tmp_path: Path) -> None:
    (tmp_path / ".leakguard.yaml").write_text("select: [LG401]\n", encoding="utf-8")
    module = tmp_path / "service.py"
    module.write_text("import pickle\n\n\ndef f(b):\n    return pickle.loads(b)\n", "utf-8")
    written = _leakguard(tmp_path, "check", "--no-cache", "--write-baseline", "b.json", ".")
    assert written.returncode == 0, written.stderr
    module.write_text(
        module.read_text(encoding="utf-8") + "\n\ndef g(b):\n    return pickle.loads(b)\n", "utf-8"
    )
    code, findings = _json_findings(tmp_path, "--baseline", "b.json")
    assert code == 1
    assert len(findings) == 1


def _finding(line: int, fingerprint: str = "abc:1", source: str = "x = pickle.loads(b)") -> Finding:
    return Finding(
        rule="LG401",
        name="unsafe-deserialization",
        severity=Severity.ERROR,
        path="a.py",
        line=line,
        column=5,
        end_line=line,
        end_column=20,
        message="unsafe",
        fingerprint=fingerprint,
        source_line=source,
    )


def test_matching_counts_identical_findings() -> None:
    findings = [_finding(3, "abc:1"), _finding(9, "abc:2")]
    baseline = Baseline((Entry("LG401", "a.py", "abc:1", "x = pickle.loads(b)", "unsafe"),))
    remaining = apply(RunResult([FileResult("a.py", findings)]), baseline).findings
    assert len(remaining) == 1


def test_other_rules_and_paths_do_not_match() -> None:
    findings = [_finding(3)]
    for entry in (
        Entry("LG402", "a.py", "abc:1", "x = pickle.loads(b)", "unsafe"),
        Entry("LG401", "b.py", "abc:1", "x = pickle.loads(b)", "unsafe"),
    ):
        run = apply(RunResult([FileResult("a.py", findings)]), Baseline((entry,)))
        assert len(run.findings) == 1


def test_suppressed_findings_stay_in_the_run() -> None:
    suppressed = _finding(3)._replace(suppressed=True)
    baseline = Baseline((Entry("LG401", "a.py", "abc:1", "x = pickle.loads(b)", "unsafe"),))
    assert apply(RunResult([FileResult("a.py", [suppressed])]), baseline).findings == [suppressed]


def test_sarif_output_leaves_baselined_findings_out(baselined: Path) -> None:
    completed = _leakguard(
        baselined, "check", "--no-cache", "--format", "sarif", "--baseline", "baseline.json", "."
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["runs"][0]["results"] == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "not found"),
        ("{not json", "not valid JSON"),
        ('{"findings": []}', "no version field"),
        ('{"version": 99, "findings": []}', "unsupported baseline version"),
        ('{"version": 1, "findings": [{"rule": 3}]}', "expected a string"),
    ],
)
def test_bad_baseline_is_a_clear_error(project: Path, content: str | None, problem: str) -> None:
    path = project / "baseline.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem) as caught:
        read(path)
    assert caught.value.source == str(path)
    if content not in (None, "{not json"):
        return  # the command line handles every ConfigError alike; two runs show it
    completed = _leakguard(project, "check", "--no-cache", "--baseline", "baseline.json", ".")
    assert completed.returncode == 2
    assert "baseline.json" in completed.stderr and problem in completed.stderr
