"""`--format sarif`: schema-valid, what GitHub code scanning reads, and read back by a
real SARIF consumer (sarif-tools)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from leakguard.config import load_config
from leakguard.engine import RunResult, check
from leakguard.registry import rule_classes
from leakguard.report import ReportOptions
from leakguard.report.sarif import to_document

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "integrations" / "project"
SCHEMA = Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKGUARD_")}
    return {**env, "NO_COLOR": "1", "CI": "1"}


def _leakguard(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leakguard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )


def _sarif(cwd: Path, *args: str) -> dict[str, Any]:
    completed = _leakguard(cwd, "check", "--no-cache", "--format", "sarif", *args)
    assert completed.returncode in (0, 1), completed.stderr
    document: dict[str, Any] = json.loads(completed.stdout)
    return document


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "project"))


class SharedProject:
    """The unchanged fixture project; one leakguard run per distinct command line."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._documents: dict[tuple[str, ...], dict[str, Any]] = {}

    def __call__(self, *args: str) -> dict[str, Any]:
        if args not in self._documents:
            self._documents[args] = _sarif(self.root, *args)
        return self._documents[args]


@pytest.fixture(scope="module")
def sarif_of(tmp_path_factory: pytest.TempPathFactory) -> SharedProject:
    return SharedProject(Path(shutil.copytree(FIXTURE, tmp_path_factory.mktemp("sarif") / "p")))


def _run(document: dict[str, Any]) -> dict[str, Any]:
    assert len(document["runs"]) == 1
    run: dict[str, Any] = document["runs"][0]
    return run


def _schema() -> dict[str, Any]:
    # Vendored (tests/schemas/README.md): the schema test must never skip for lack of it.
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize(
    ("case", "args", "targets"),
    [
        ("findings, suppressed and a parse error", [], ["."]),
        ("suppressed included", ["--sarif-include-suppressed"], ["."]),
        ("zero findings", [], ["clean.py"]),
        ("category", ["--sarif-category", "leakguard/backend"], ["."]),
    ],
)
def test_valid_against_the_official_schema(
    sarif_of: SharedProject, case: str, args: list[str], targets: list[str]
) -> None:
    schema = _schema()
    document = sarif_of(*args, *targets)
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert problems == [], case


def test_zero_findings_still_describe_the_tool(sarif_of: SharedProject) -> None:
    run = _run(sarif_of("clean.py"))
    assert run["results"] == []
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["LG401"]


def test_driver_describes_every_enabled_rule_for_github() -> None:
    config = load_config([FIXTURE.parent / "no-such-dir"], None)
    document = to_document(RunResult(), ReportOptions(config=config))
    driver = _run(document)["tool"]["driver"]
    assert driver["name"] == "leakguard"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", driver["semanticVersion"])
    assert driver["version"] and driver["informationUri"].startswith("https://")
    expected = sorted(r for r in config.enabled if r in rule_classes())
    assert [rule["id"] for rule in driver["rules"]] == expected

    lg401 = next(rule for rule in driver["rules"] if rule["id"] == "LG401")
    assert lg401["name"] == "unsafe-deserialization"
    assert lg401["shortDescription"]["text"]
    assert "pickle" in lg401["fullDescription"]["text"]
    assert lg401["help"]["markdown"].startswith("# LG401 unsafe-deserialization")
    assert "## Use instead" in lg401["help"]["markdown"]
    assert "Use instead" in lg401["help"]["text"] and "```" not in lg401["help"]["text"]
    assert lg401["helpUri"].endswith("/docs/rules/LG401.md")
    assert lg401["defaultConfiguration"]["level"] == "error"
    properties = lg401["properties"]
    assert "security" in properties["tags"]
    assert "external/cwe/cwe-502" in properties["tags"]
    assert properties["precision"] == "high"
    assert properties["problem.severity"] == "error"
    assert properties["problem"]["severity"] == "error"
    assert properties["security-severity"] == "9.8"


def test_results_carry_what_code_scanning_needs(sarif_of: SharedProject) -> None:
    run = _run(sarif_of("."))
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [
        (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results
    ] == [
        ("LG401", 9),
        ("LG401", 13),
        ("LG401", 17),
    ]
    first = results[0]
    assert rules[first["ruleIndex"]]["id"] == first["ruleId"]
    assert first["level"] == "error"
    assert "pickle.loads" in first["message"]["text"]
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "service.py", "uriBaseId": "%SRCROOT%"}
    # `return pickle.loads(blob)`: the call spans columns 12..30 (end exclusive, 1-based).
    assert location["region"] == {
        "startLine": 9,
        "startColumn": 12,
        "endLine": 9,
        "endColumn": 30,
        "snippet": {"text": "    return pickle.loads(blob)"},
    }
    assert re.fullmatch(r"[0-9a-f]+:\d+", first["partialFingerprints"]["primaryLocationLineHash"])
    root_uri = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert root_uri == sarif_of.root.resolve().as_uri() + "/"
    assert "automationDetails" not in run


def test_suppressed_findings_are_left_out_by_default(sarif_of: SharedProject) -> None:
    results = _run(sarif_of("."))["results"]
    lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results]
    assert 21 not in lines
    assert all("suppressions" not in r for r in results)


def test_suppressed_findings_included_on_request_as_in_source(sarif_of: SharedProject) -> None:
    results = _run(sarif_of("--sarif-include-suppressed", "."))["results"]
    by_line = {r["locations"][0]["physicalLocation"]["region"]["startLine"]: r for r in results}
    assert sorted(by_line) == [9, 13, 17, 21]
    suppression = by_line[21]["suppressions"]
    assert [s["kind"] for s in suppression] == ["inSource"]
    assert "noqa: LG401" in suppression[0]["justification"]
    assert "suppressions" not in by_line[9]


def test_parse_errors_become_tool_execution_notifications(sarif_of: SharedProject) -> None:
    run = _run(sarif_of("."))
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is True
    (notification,) = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error"
    assert "syntax error" in notification["message"]["text"]
    artifact = notification["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "broken.py", "uriBaseId": "%SRCROOT%"}
    assert all(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] != "broken.py"
        for r in run["results"]
    )


def test_category_sets_automation_details(sarif_of: SharedProject) -> None:
    run = _run(sarif_of("--sarif-category", "leakguard/backend", "."))
    assert run["automationDetails"] == {"id": "leakguard/backend"}


def _fingerprints(run: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (
            r["ruleId"],
            r["message"]["text"],
            r["partialFingerprints"]["primaryLocationLineHash"],
        )
        for r in run["results"]
    ]


def test_fingerprints_survive_unrelated_lines_added_above(
    project: Path, sarif_of: SharedProject
) -> None:
    before = _run(sarif_of("."))
    service = project / "service.py"
    text = service.read_text(encoding="utf-8")
    header = "import logging\n\nlog = logging.getLogger(__name__)\n# refactored below\n"
    service.write_text(header + text, encoding="utf-8")
    after = _run(_sarif(project, "service.py"))

    start = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after["results"]]
    assert start == [13, 17, 21]
    assert _fingerprints(after) == _fingerprints(before)
    # Two identical `return pickle.loads(blob)` lines: the occurrence counter tells them apart.
    hashes = [fp for _, _, fp in _fingerprints(after)]
    assert len(set(hashes)) == 3


def test_fingerprint_changes_when_the_flagged_line_changes(
    project: Path, sarif_of: SharedProject
) -> None:
    before = _run(sarif_of("."))
    service = project / "service.py"
    service.write_text(
        service.read_text(encoding="utf-8").replace("yaml.load(text)", "yaml.load(text + '')"),
        encoding="utf-8",
    )
    after = _run(_sarif(project, "service.py"))
    # Upstream hashes the 100 non-blank characters from the line on, so only lines within
    # that reach of the edit change; the first finding is further away.
    assert _fingerprints(after)[0] == _fingerprints(before)[0]
    assert _fingerprints(after)[2] != _fingerprints(before)[2]


def _sarif_tools_summary(sarif_file: Path) -> str:
    executable = Path(sys.executable).parent / "sarif"
    command = str(executable) if executable.exists() else shutil.which("sarif")
    assert command, "sarif-tools is not installed (pip install -e .[dev])"
    completed = subprocess.run(
        [command, "summary", str(sarif_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def _level_counts(summary: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r"^(error|warning|note): (\d+)$", summary, re.M)}


def _rule_counts(summary: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for match in re.finditer(r"^ - (LG\d+)\b.*: (\d+)$", summary, re.M):
        counts[match[1]] = counts.get(match[1], 0) + int(match[2])
    return counts


def test_sarif_tools_reads_back_the_counts(sarif_of: SharedProject, tmp_path: Path) -> None:
    output = tmp_path / "leakguard.sarif"
    output.write_text(json.dumps(sarif_of(".")), encoding="utf-8")
    summary = _sarif_tools_summary(output)
    assert _level_counts(summary) == {"error": 3, "warning": 0, "note": 0}
    assert _rule_counts(summary) == {"LG401": 3}


def test_sarif_tools_sees_configured_levels(project: Path, tmp_path: Path) -> None:
    config = project / ".leakguard.yaml"
    config.write_text("select: [LG401]\nseverity:\n  LG401: warning\n", encoding="utf-8")
    output = tmp_path / "leakguard.sarif"
    completed = _leakguard(
        project,
        "check",
        "--no-cache",
        "--format",
        "sarif",
        "--sarif-include-suppressed",
        "--output",
        str(output),
        ".",
    )
    assert completed.returncode == 1, completed.stderr
    summary = _sarif_tools_summary(output)
    # sarif-tools counts suppressed results too: 3 open + 1 accepted in source.
    assert _level_counts(summary) == {"error": 0, "warning": 4, "note": 0}
    assert _rule_counts(summary) == {"LG401": 4}
    document = json.loads(output.read_text(encoding="utf-8"))
    assert {r["level"] for r in _run(document)["results"]} == {"warning"}


def test_in_process_run_matches_cli(project: Path) -> None:
    config = load_config([project], None)
    run = check([project / "service.py"], config, jobs=1, use_cache=False)
    document = to_document(run, ReportOptions(config=config))
    assert len(_run(document)["results"]) == 3


def test_fixes_are_replacements_valid_against_the_schema(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.leakguard]\nselect = ["LG203"]\n', encoding="utf-8"
    )
    (tmp_path / "svc.py").write_text(
        "import asyncio\n\n\nasync def f():\n    return asyncio.get_event_loop()\n",
        encoding="utf-8",
    )
    document = _sarif(tmp_path, "svc.py")
    (result,) = _run(document)["results"]
    (fix,) = result["fixes"]
    assert fix["description"] == {"text": "Use `asyncio.get_running_loop()`"}
    assert fix["properties"] == {"applicability": "safe"}
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"] == {"uri": "svc.py", "uriBaseId": "%SRCROOT%"}
    assert change["replacements"] == [
        {
            "deletedRegion": {"startLine": 5, "startColumn": 24, "endLine": 5, "endColumn": 29},
            "insertedContent": {"text": "running"},
        }
    ]
    validator = jsonschema.Draft4Validator(
        _schema(), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    assert [e.message for e in validator.iter_errors(document)] == []
