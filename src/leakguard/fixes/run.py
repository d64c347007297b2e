"""Fixing a whole run's files: `--fix` (write), `--diff` (print), `--show-fixes`."""

from __future__ import annotations

import difflib
import io
import tokenize
from collections import Counter
from typing import TextIO

from leakguard.config import Config
from leakguard.engine import RunResult
from leakguard.finding import FileError, FileResult
from leakguard.fixes.apply import FixOutcome, fix_text, has_fixes
from leakguard.source import SourceError, decode_source


def fix_run(
    run: RunResult, config: Config, *, unsafe: bool, write: bool
) -> tuple[RunResult, list[FixOutcome]]:
    """Fix every file of `run` (analysed with fixes) that has applicable fixes; with
    `write`, save the changed files. Returns the run as it stands after fixing."""
    outcomes: list[FixOutcome] = []
    results: list[FileResult] = []
    for result in run.results:
        path = run.paths.get(result.path)
        if path is None or not has_fixes(result, unsafe):
            results.append(_without_fixes(result))
            continue
        try:
            data = path.read_bytes()
            text = decode_source(data)
        except (OSError, SourceError) as exc:
            results.append(FileResult(result.path, errors=[FileError(result.path, str(exc))]))
            continue
        outcome = fix_text(text, result.path, config, run.project_index(), unsafe=unsafe)
        if write and outcome.changed:
            try:
                path.write_bytes(encode_like(outcome.fixed, data))
            except (OSError, UnicodeEncodeError) as exc:
                message = f"cannot write fixes: {exc}"
                outcome.result.errors.append(FileError(result.path, message))
                outcome.fixed = outcome.original
        outcome.result.lines = result.lines
        outcomes.append(outcome)
        results.append(outcome.result)
    return run.replace(results), outcomes


def _without_fixes(result: FileResult) -> FileResult:
    """Findings as a plain run reports them (fix texts are only for fixing)."""
    return result.replace(findings=[f._replace(fix=None) for f in result.findings])


def encode_like(text: str, original: bytes) -> bytes:
    """`text` in the encoding `original` was in (its coding cookie, or UTF-8 with its
    BOM if it had one)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    except SyntaxError:
        encoding = "utf-8"
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    return text.encode(encoding)


def write_diff(outcomes: list[FixOutcome], out: TextIO) -> int:
    """Unified diffs of the changed files; returns how many files would change."""
    changed = 0
    for outcome in outcomes:
        if not outcome.changed:
            continue
        changed += 1
        # git's a/ b/ prefixes (`git apply` takes the diff) for paths under the root.
        relative = not outcome.display.startswith("/") and outcome.display != "-"
        old, new = ("a/", "b/") if relative else ("", "")
        out.writelines(
            difflib.unified_diff(
                outcome.original.splitlines(keepends=True),
                outcome.fixed.splitlines(keepends=True),
                fromfile=old + outcome.display,
                tofile=new + outcome.display,
            )
        )
        if not outcome.fixed.endswith(("\n", "\r")):
            out.write("\n\\ No newline at end of file\n")
    return changed


def fixed_counts(outcomes: list[FixOutcome]) -> Counter[str]:
    total: Counter[str] = Counter()
    for outcome in outcomes:
        if outcome.changed:
            total.update(outcome.applied)
    return total


def write_fixed_summary(outcomes: list[FixOutcome], out: TextIO, *, show: bool) -> None:
    """`Fixed N findings.` and, with `show`, what was fixed per file and rule."""
    fixed = sum(fixed_counts(outcomes).values())
    if show:
        for outcome in outcomes:
            if outcome.changed:
                for rule, count in sorted(outcome.applied.items()):
                    out.write(f"Fixed {count} {rule} in {outcome.display}\n")
    if fixed:
        noun = "finding" if fixed == 1 else "findings"
        out.write(f"Fixed {fixed} {noun}.\n")
