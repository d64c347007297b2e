"""The fixing parts of `leakguard check`: `--fix`/`--diff`, `--add-noqa`, and stdin."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from leakguard.config import CliOverrides, Config, load_config
from leakguard.engine import Failed, RunResult, check, check_text
from leakguard.finding import FileError, FileResult
from leakguard.fixes.apply import fix_text
from leakguard.fixes.noqa import add_noqa_text
from leakguard.fixes.run import encode_like, fix_run, fixed_counts, write_diff, write_fixed_summary
from leakguard.source import SourceError, decode_source

EXIT_OK, EXIT_FINDINGS = 0, 1


def apply_fixes(
    run: RunResult, config: Config, args: argparse.Namespace
) -> tuple[RunResult, int | None]:
    """Fix the run's files (`--fix`) or print what would change (`--diff`). Returns the
    run after fixing and, for `--diff`, the exit status."""
    run, outcomes = fix_run(run, config, unsafe=args.unsafe_fixes, write=not args.diff)
    if args.diff:
        changed = write_diff(outcomes, sys.stdout)
        fixed = sum(fixed_counts(outcomes).values())
        if fixed and not args.quiet:
            noun = "finding" if fixed == 1 else "findings"
            files = "file" if changed == 1 else "files"
            print(f"Would fix {fixed} {noun} in {changed} {files}.", file=sys.stderr)
        return run, EXIT_FINDINGS if changed else EXIT_OK
    # Keep machine-readable output on stdout clean.
    plain = args.format == "text" and args.output is None
    write_fixed_summary(outcomes, sys.stdout if plain else sys.stderr, show=args.show_fixes)
    return run, None


def add_noqa(paths: list[Path], config: Config, args: argparse.Namespace) -> int:
    run = check(paths, config, jobs=args.jobs, use_cache=not args.no_cache)
    added = 0
    for result in run.results:
        path = run.paths.get(result.path)
        if path is None or not any(not f.suppressed for f in result.findings):
            continue
        try:
            data = path.read_bytes()
            text, count = add_noqa_text(decode_source(data), result.findings)
            if count:
                path.write_bytes(encode_like(text, data))
        except (OSError, SourceError, UnicodeEncodeError) as exc:
            print(f"leakguard: {result.path}: cannot add noqa: {exc}", file=sys.stderr)
            continue
        added += count
    noun = "directive" if added == 1 else "directives"
    print(f"Added {added} noqa {noun}.")
    return EXIT_OK


def stdin_display(filename: Path | None, config: Config) -> str:
    if filename is None:
        return "-"
    absolute = Path(os.path.abspath(filename))
    try:
        return absolute.relative_to(config.root).as_posix()
    except ValueError:
        return filename.as_posix()


def check_stdin(args: argparse.Namespace, overrides: CliOverrides) -> int:
    """`leakguard check - [--stdin-filename PATH]`: the source comes from stdin; with
    `--fix` (or `--add-noqa`) the edited source goes to stdout and the report to stderr."""
    from leakguard.cli import finish

    filename: Path | None = args.stdin_filename
    config = load_config(
        [filename] if filename is not None else [Path.cwd()], args.config, overrides
    )
    display = stdin_display(filename, config)
    try:
        text = decode_source(sys.stdin.buffer.read())
    except SourceError as exc:
        run = RunResult([FileResult(display, errors=[FileError(display, str(exc))])])
        return finish(run, config, args)
    editing = args.fix or args.diff or args.add_noqa
    run = check_text(
        text, display, config, fixes=editing or args.format in ("json", "sarif"), isolated=True
    )
    if not editing:
        return finish(run, config, args)
    if isinstance(run.results[0], Failed):
        # The analysis crashed or ran over its budget: hand the source back untouched
        # (an editor pipes stdout into the buffer) and report why on stderr.
        sys.stdout.write(text)
        sys.stdout.flush()
        return finish(run, config, args, stream=sys.stderr)
    if args.add_noqa:
        fixed, _ = add_noqa_text(text, run.results[0].findings)
        sys.stdout.write(fixed)
        return EXIT_OK
    outcome = fix_text(text, display, config, run.project_index(), unsafe=args.unsafe_fixes)
    if args.diff:
        changed = write_diff([outcome], sys.stdout)
        return EXIT_FINDINGS if changed else EXIT_OK
    sys.stdout.write(outcome.fixed)
    sys.stdout.flush()
    fixed_run = RunResult([outcome.result], [], run.seconds, {}, run.project_index())
    write_fixed_summary([outcome], sys.stderr, show=args.show_fixes)
    return finish(fixed_run, config, args, stream=sys.stderr)
