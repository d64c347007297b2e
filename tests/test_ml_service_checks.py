"""leakguard on the two ml-services: the reconstruction of the original vulnerable
service is flagged for each of the seed's seven defects at exactly the marked lines,
and the reference-fixed service is clean with every rule enabled."""

from __future__ import annotations

from pathlib import Path

from leakguard.testing import expectations, reported, run

ROOT = Path(__file__).resolve().parents[1]
VULNERABLE = ROOT / "tests" / "fixtures" / "ml_service_vulnerable"
REFERENCE = ROOT / "services" / "ml-service"

# shared/seeds/ml-service-issue.md: defect -> rules that must flag it.
SEED_DEFECTS = {
    "1 shared StandardScaler re-fit per request": {"LG101"},
    "2 fitted models accumulate and are never released": {"LG108"},
    "3 no input validation (size, dimensions, clusters)": {"LG301", "LG302"},
    "4 unbounded batch processing": {"LG303"},
    "5 false async blocks the event loop": {"LG201", "LG202"},
    "6 exception text returned to clients": {"LG502"},
    "7 CORS open to any origin": {"LG501"},
}


def test_vulnerable_service_reports_exactly_the_marked_lines() -> None:
    result = run([VULNERABLE], VULNERABLE, select=["ALL"])
    assert not result.errors
    expected = expectations(VULNERABLE, VULNERABLE)
    found = reported(result)
    assert sorted(expected - found) == [], "defects not reported"
    assert sorted(found - expected) == [], "reported lines that are not marked defects"


def test_vulnerable_service_flags_every_seed_defect() -> None:
    result = run([VULNERABLE], VULNERABLE, select=["ALL"])
    rules_reported = {f.rule for f in result.findings if not f.suppressed}
    for defect, rules in SEED_DEFECTS.items():
        assert rules <= rules_reported, f"seed defect {defect}: {sorted(rules - rules_reported)}"


def test_reference_service_is_clean_with_every_rule_enabled() -> None:
    assert (REFERENCE / "pyproject.toml").is_file()
    result = run([REFERENCE], ROOT, select=["ALL"])
    assert result.files > 5
    assert not result.errors
    findings = [f"{f.path}:{f.line} {f.rule} {f.message}" for f in result.findings]
    assert findings == []
