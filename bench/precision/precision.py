"""Precision of leakguard on the real-world corpus, from a hand-triaged ledger.

    python bench/precision/precision.py                 # figures + untriaged findings
    python bench/precision/precision.py --add 12        # append up to 12 untriaged
                                                        # findings per rule to triage
    python bench/precision/precision.py --add 3 --per-package --rule LG301 --severity error
                                                        # up to 3 per rule and package

The ledger (`ledger.tsv`) has one row per triaged finding: package, location
(path:line), rule, the hash of the reported line's text, verdict (`right`, `wrong`,
`arguable`, or `?` while untriaged) and a one-line reason. A finding is identified by
path, line, rule and line hash, so re-runs carry verdicts over; when a rule change
moves a finding to another line of the same text it is still matched by path, rule and
hash. Precision = right / (right + wrong), over the ledger rows that match a current
finding; rows that no longer match (a fixed false positive, say) stay as history.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
LEDGER = HERE / "ledger.tsv"
CORPUS = HERE.parent / "corpus" / ".cache"
FINDINGS = CORPUS / "findings.json"
COLUMNS = ("package", "location", "rule", "hash", "verdict", "reason")
VERDICTS = ("right", "wrong", "arguable", "?")


@dataclass(frozen=True)
class Row:
    package: str
    location: str  # path:line
    rule: str
    hash: str
    verdict: str = "?"
    reason: str = ""
    # From the report, not the ledger: one rule can report at two severities (LG301's
    # collections at `error`, its strings at `note`), and a sample may target one.
    severity: str = field(default="", compare=False)

    @property
    def path(self) -> str:
        return self.location.rsplit(":", 1)[0]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.location, self.rule, self.hash)


def line_hash(text: str) -> str:
    return hashlib.sha1(text.strip().encode()).hexdigest()[:10]


def package_of(path: str) -> str:
    parts = Path(path).parts
    return parts[1] if len(parts) > 1 and parts[0] == "src" else parts[0]


def findings_rows(report: dict[str, object], root: Path) -> list[Row]:
    """Ledger rows (untriaged) for the unsuppressed findings of a JSON report whose
    paths are relative to `root`."""
    rows = []
    lines: dict[str, list[str]] = {}
    for finding in report["findings"]:  # type: ignore[attr-defined]
        if finding.get("suppressed"):
            continue
        path, line = finding["path"], int(finding["line"])
        if not (root / path).is_file() and (root / "src" / path).is_file():
            # Reports name paths relative to the working directory, which is
            # `.cache/src` for bench/corpus/run.py; ledger rows are relative to `.cache`.
            path = f"src/{path}"
        if path not in lines:
            source = root / path
            text = source.read_text(encoding="utf-8", errors="replace") if source.is_file() else ""
            lines[path] = text.splitlines()
        text = lines[path][line - 1] if 0 < line <= len(lines[path]) else ""
        rows.append(
            Row(
                package_of(path),
                f"{path}:{line}",
                finding["rule"],
                line_hash(text),
                severity=str(finding.get("severity", "")),
            )
        )
    return rows


def read_ledger(path: Path) -> list[Row]:
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        rows = [Row(**{c: (record.get(c) or "").strip() for c in COLUMNS}) for record in reader]
    for row in rows:
        if row.verdict not in VERDICTS:
            raise SystemExit(
                f"{path}: {row.location} {row.rule}: verdict {row.verdict!r} not in {VERDICTS}"
            )
    return rows


def write_ledger(path: Path, rows: Iterable[Row]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([getattr(row, c) for c in COLUMNS])


def pair(current: Sequence[Row], ledger: Sequence[Row]) -> list[Row | None]:
    """The ledger row of each current finding, or None: the row with the finding's exact
    key first (the latest such row), then, for findings left over, the one unused row of
    the same path, rule and line hash (a finding that moved). Exact keys are paired before
    any move, so a finding that moved onto the text of another never takes that one's row."""
    exact: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    moved: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for index, row in enumerate(ledger):
        exact[row.key].append(index)
        moved[(row.path, row.rule, row.hash)].append(index)
    used: set[int] = set()
    paired: list[Row | None] = [None] * len(current)
    for position, finding in enumerate(current):
        for index in reversed(exact.get(finding.key, [])):
            if index not in used:
                used.add(index)
                paired[position] = ledger[index]
                break
    for position, finding in enumerate(current):
        if paired[position] is None:
            candidates = [
                i
                for i in moved.get((finding.path, finding.rule, finding.hash), [])
                if i not in used
            ]
            if len(candidates) == 1:
                used.add(candidates[0])
                paired[position] = ledger[candidates[0]]
    return paired


def match(current: Sequence[Row], ledger: Sequence[Row]) -> tuple[list[Row], list[Row]]:
    """Current findings with the ledger's verdicts carried over (see `pair`), and the
    untriaged ones."""
    judged, untriaged = [], []
    for finding, found in zip(current, pair(current, ledger), strict=True):
        if found is None or found.verdict == "?":
            untriaged.append(finding)
        else:
            judged.append(replace(finding, verdict=found.verdict, reason=found.reason))
    return judged, untriaged


@dataclass
class Tally:
    right: int = 0
    wrong: int = 0
    arguable: int = 0
    untriaged: int = 0

    @property
    def precision(self) -> float | None:
        decided = self.right + self.wrong
        return self.right / decided if decided else None


def names(row: Row, split: Collection[str]) -> tuple[str, ...]:
    """What a finding counts under: its rule, "all", and `rule/severity` for the rules in
    `split` (those reporting at several severities, whose `error` part must be judged alone)."""
    if row.rule in split:
        return (row.rule, f"{row.rule}/{row.severity}", "all")
    return (row.rule, "all")


def tally(
    judged: Iterable[Row], untriaged: Iterable[Row], split: Collection[str] = ()
) -> dict[str, Tally]:
    """Per-rule tallies plus an "all" entry."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for row in judged:
        for name in names(row, split):
            setattr(tallies[name], row.verdict, getattr(tallies[name], row.verdict) + 1)
    for row in untriaged:
        for name in names(row, split):
            tallies[name].untriaged += 1
    return dict(tallies)


def sample(
    untriaged: Sequence[Row], per_rule: int, judged: Sequence[Row], per_package: bool = False
) -> list[Row]:
    """Up to `per_rule` untriaged findings per rule (per rule and package with
    `per_package`, so a large package cannot take a small one's share), counting those
    already judged, chosen by hash order so the choice is stable and spread over packages."""

    def group(row: Row) -> tuple[str, str]:
        return (row.rule, row.package if per_package else "")

    have: dict[tuple[str, str], int] = defaultdict(int)
    for row in judged:
        have[group(row)] += 1
    chosen = []
    order = sorted(untriaged, key=lambda r: hashlib.sha1(repr(r.key).encode()).hexdigest())
    for row in order:
        if have[group(row)] < per_rule:
            have[group(row)] += 1
            chosen.append(row)
    return chosen


def selected(rows: Iterable[Row], rules: Sequence[str], severities: Sequence[str]) -> list[Row]:
    return [
        r
        for r in rows
        if (not rules or r.rule in rules) and (not severities or r.severity in severities)
    ]


def render(tallies: dict[str, Tally], total: dict[str, int]) -> str:
    out = [
        "| rule | findings | triaged | right | wrong | arguable | precision |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in sorted(tallies, key=lambda n: (n == "all", n)):
        t = tallies[name]
        p = "n/a" if t.precision is None else f"{t.precision:.3f}"
        triaged = t.right + t.wrong + t.arguable
        out.append(
            f"| {name} | {total.get(name, 0)} | {triaged} | {t.right} | {t.wrong} "
            f"| {t.arguable} | {p} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", type=Path, default=FINDINGS, help="leakguard JSON report")
    parser.add_argument(
        "--root", type=Path, default=CORPUS, help="what the report's paths are relative to"
    )
    parser.add_argument("--ledger", type=Path, default=LEDGER)
    parser.add_argument(
        "--add", type=int, metavar="N", help="append untriaged findings, up to N per rule"
    )
    parser.add_argument(
        "--per-package",
        action="store_true",
        help="with --add: up to N per rule and package instead of per rule",
    )
    parser.add_argument(
        "--rule", action="append", default=[], help="with --add: only this rule (repeatable)"
    )
    parser.add_argument(
        "--severity",
        action="append",
        default=[],
        help="with --add: only findings reported at this severity (repeatable)",
    )
    parser.add_argument(
        "--list", type=int, default=20, metavar="N", help="untriaged findings to list"
    )
    args = parser.parse_args(argv)

    current = findings_rows(json.loads(args.findings.read_text()), args.root)
    ledger = read_ledger(args.ledger)
    judged, untriaged = match(current, ledger)
    if args.add:
        # Rows added earlier and not yet judged hold their place in the sample.
        waiting = [f for f, r in zip(current, pair(current, ledger), strict=True) if r is not None]
        pending = {id(f) for f in waiting}
        fresh = [row for row in untriaged if id(row) not in pending]
        held = [*judged, *(row for row in untriaged if id(row) in pending)]
        added = sample(
            selected(fresh, args.rule, args.severity),
            args.add,
            selected(held, args.rule, args.severity),
            per_package=args.per_package,
        )
        write_ledger(args.ledger, [*ledger, *added])
        print(f"added {len(added)} untriaged rows to {args.ledger}")
        return 0
    severities: dict[str, set[str]] = defaultdict(set)
    for row in current:
        severities[row.rule].add(row.severity)
    split = {rule for rule, seen in severities.items() if len(seen) > 1}
    total: dict[str, int] = defaultdict(int)
    for row in current:
        for name in names(row, split):
            total[name] += 1
    print(render(tally(judged, untriaged, split), total))
    stale = len(ledger) - len(judged) - sum(1 for r in ledger if r.verdict == "?")
    print(
        f"\n{len(current)} findings, {len(judged)} triaged, {len(untriaged)} untriaged, "
        f"{max(stale, 0)} ledger rows no longer found"
    )
    for row in untriaged[: args.list]:
        print(f"  untriaged: {row.rule} {row.location}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
