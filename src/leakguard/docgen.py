"""Regenerate the generated parts of README.md and docs/configuration.md from the
bundled rule YAML: `python -m leakguard.docgen` (a test fails when they are stale)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from leakguard.config import bundled_rule_specs
from leakguard.registry import rule_codes

RULES_TABLE = ("<!-- rules-table:start -->", "<!-- rules-table:end -->")
OPTIONS = ("<!-- rule-options:start -->", "<!-- rule-options:end -->")


def rules_table() -> str:
    classes = rule_codes()
    lines = ["| Code | Name | Severity | CWE | What it finds |", "|---|---|---|---|---|"]
    for rid, spec in bundled_rule_specs().items():
        if rid not in classes:
            continue
        cwe = ", ".join(f"CWE-{c}" for c in spec.cwe) or "-"
        summary = spec.summary.replace("|", "\\|")
        severity = spec.severity.value
        raised = spec.options.get("credentials_severity")
        if raised and raised != severity:
            # Findings print the raised severity: say so where users compare them.
            severity += f" ({raised} with credentials)"
        lines.append(
            f"| [{rid}](docs/rules/{rid}.md) | {spec.name} | {severity} | {cwe} | {summary} |"
        )
    return "\n".join(lines)


def options_reference() -> str:
    classes = rule_codes()
    parts: list[str] = []
    for rid, spec in bundled_rule_specs().items():
        if rid not in classes:
            continue
        parts.append(f"### {rid} {spec.name}\n")
        parts.append(
            f"Default severity `{spec.severity.value}`, "
            f"{'enabled' if spec.enabled else 'disabled'} by default.\n"
        )
        if not spec.options:
            parts.append("No options.\n")
            continue
        parts.append("| option | default |\n|---|---|")
        for name, value in spec.options.items():
            shown = json.dumps(value)
            if len(shown) > 120:
                shown = shown[:117] + "..."
            parts.append(f"| `{name}` | `{shown}` |")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def replace_between(text: str, markers: tuple[str, str], body: str) -> str:
    start, end = markers
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"markers {start} ... {end} not found")
    return pattern.sub(lambda _: f"{start}\n{body}\n{end}", text)


def regenerate(root: Path) -> list[Path]:
    """Rewrite generated sections under `root`; returns the files that changed."""
    changed = []
    targets = [
        (root / "README.md", RULES_TABLE, rules_table()),
        (root / "docs" / "configuration.md", OPTIONS, options_reference()),
    ]
    for path, markers, body in targets:
        old = path.read_text(encoding="utf-8")
        new = replace_between(old, markers, body)
        if new != old:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


if __name__ == "__main__":  # pragma: no cover
    for changed_path in regenerate(Path(sys.argv[1] if len(sys.argv) > 1 else ".")):
        print(f"updated {changed_path}")
