"""Command line: `leakguard check|rules|explain`.

Exit status: 0 no unsuppressed findings at or above `--fail-on` and every file
checked, 1 findings or a file that could not be read, decoded, parsed or analysed,
2 usage or configuration error, 130/143 interrupted by SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from leakguard import __version__
from leakguard.config import CliOverrides, Config, ConfigError, bundled_doc, load_config
from leakguard.finding import Severity
from leakguard.registry import rule_codes

if TYPE_CHECKING:
    # The engine (discovery, pathspec, the cache) only for `check`: `--version`,
    # `rules` and `explain` never import it.
    from leakguard.engine import Progress, RunResult

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
EXIT_SIGINT, EXIT_SIGTERM = 128 + signal.SIGINT, 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt is for SIGINT, so the
    same unwinding (`finally` blocks stop worker processes) runs for both."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _codes(value: str) -> list[str]:
    return [part.strip().upper() for part in value.split(",") if part.strip()]


def _paths(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class _BuildFormatter(argparse.HelpFormatter):
    """The formatter while the parser is built: argparse makes one per `add_argument`
    (to check its metavar) and per subcommand (for its `prog`), and argparse's own looks
    the terminal size up each time, importing `shutil` (~2 ms of a ~50 ms warm run)
    for text nobody prints. Help and usage are formatted later, by argparse's own
    formatter at the terminal's width (`build_parser` puts it back)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        # Wide enough that no subcommand's `prog` wraps (it is one line either way).
        super().__init__(prog, indent_increment, max_help_position, width or 1000)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leakguard",
        description="Find memory-leak and unsafe-ML-service patterns in Python code.",
        formatter_class=_BuildFormatter,
    )
    parser.add_argument("--version", action="version", version=f"leakguard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, formatter_class=_BuildFormatter)

    run = command("check", "check files and directories (default: .)")
    run.add_argument("paths", nargs="*", type=Path, help="files or directories")
    formats = ["text", "concise", "json", "sarif", "github"]
    run.add_argument(
        "--format",
        "--output-format",
        dest="format",
        choices=formats,
        default="text",
        help="output format (concise: one line per finding)",
    )
    run.add_argument("--output", "-o", type=Path, help="write the report to FILE")
    run.add_argument("--select", type=_codes, help="only these rule codes or prefixes (LG1,LG201)")
    run.add_argument("--extend-select", type=_codes, help="add rule codes or prefixes")
    run.add_argument("--ignore", type=_codes, help="disable rule codes or prefixes")
    run.add_argument("--exclude", type=_paths, help="replace the exclude globs")
    run.add_argument("--extend-exclude", type=_paths, help="add exclude globs")
    run.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        help="lowest severity that fails the run (default: warning)",
    )
    run.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even with findings or files that could not be checked",
    )
    run.add_argument("--config", type=Path, help="configuration file (toml or yaml)")
    run.add_argument("--jobs", "-j", type=int, help="worker processes (default: CPU count)")
    run.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    run.add_argument(
        "--statistics", action="store_true", help="print only the count of findings per rule"
    )
    run.add_argument(
        "--force-exclude",
        action="store_true",
        default=None,
        help="apply excludes to files named explicitly too (as pre-commit names them)",
    )
    run.add_argument(
        "--report-unused-suppressions",
        action="store_true",
        help="report suppression comments that suppress nothing (rule LG001)",
    )
    run.add_argument(
        "--show-settings",
        action="store_true",
        help="print the configuration this run would use, and exit",
    )
    run.add_argument(
        "--show-files", action="store_true", help="print the files this run would check, and exit"
    )
    run.add_argument("--quiet", "-q", action="store_true", help="print findings only")
    run.add_argument("--no-show-source", action="store_true", help="omit source excerpts")
    run.add_argument("--sarif-category", help="SARIF automationDetails.id")
    run.add_argument(
        "--sarif-include-suppressed",
        action="store_true",
        help="include suppressed findings in SARIF (as suppressions)",
    )
    run.add_argument("--baseline", type=Path, help="hide findings recorded in this baseline")
    run.add_argument("--write-baseline", type=Path, help="record current findings and exit 0")
    fixing = run.add_argument_group("fixes")
    fixing.add_argument("--fix", action="store_true", help="apply safe fixes in place")
    fixing.add_argument(
        "--unsafe-fixes", action="store_true", help="also apply (or offer) unsafe fixes"
    )
    fixing.add_argument(
        "--diff",
        action="store_true",
        help="print the fixes as a unified diff, write nothing (exit 1 if any)",
    )
    fixing.add_argument("--show-fixes", action="store_true", help="list what was fixed")
    fixing.add_argument(
        "--add-noqa",
        action="store_true",
        help="add `# noqa: LGxxx` to every line with a finding (merging existing ones)",
    )
    run.add_argument(
        "--stdin-filename",
        type=Path,
        help="the path of the source read from stdin (`check -`), for configuration, "
        "per-file ignores and output",
    )

    rules = command("rules", "list all rules")
    rules.add_argument("--format", choices=["text", "json", "markdown"], default="text")

    command("server", "run the language server over stdio (needs `leakguard[server]`)")

    explain = command("explain", "show a rule's documentation")
    explain.add_argument("rule", help="rule code, e.g. LG101, or rule name")
    # Help and usage are formatted by argparse's own formatter, at the terminal's width.
    for each in (parser, *commands.choices.values()):
        each.formatter_class = argparse.HelpFormatter
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread (leakguard used as a library): leave it be
        previous = None
    try:
        return _main(parser, args)
    except KeyboardInterrupt:
        _interrupted()
        return EXIT_SIGINT
    except Terminated:
        _interrupted()
        return EXIT_SIGTERM
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupted() -> None:
    # Workers are already stopped (the engine's `finally`); one line, no traceback.
    with contextlib.suppress(OSError, ValueError):
        print("leakguard: interrupted", file=sys.stderr)


def _main(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "rules":
            return _rules(args.format)
        if args.command == "explain":
            return _explain(args.rule)
        if args.command == "server":
            return _server()
    except ConfigError as exc:
        print(f"leakguard: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `leakguard rules | head`
        _silence_stdout()
        return EXIT_OK
    parser.print_help()
    return EXIT_USAGE


def _check(args: argparse.Namespace) -> int:
    paths: list[Path] = args.paths or [Path(".")]
    if any(str(p) == "-" for p in paths):
        if len(paths) > 1:
            print("leakguard: `-` (stdin) cannot be combined with paths", file=sys.stderr)
            return EXIT_USAGE
        from leakguard.fixes.cli import check_stdin

        return check_stdin(args, _overrides(args))
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        print(f"leakguard: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    if args.jobs is not None and args.jobs < 1:
        print("leakguard: --jobs must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    # `--show-settings`/`--show-files` only look: they leave no cache behind.
    looking = args.show_settings or args.show_files
    config = load_config(paths, args.config, _overrides(args), cache=not (args.no_cache or looking))
    if looking:
        from leakguard.settings import show_files, show_settings

        if args.show_settings:
            show_settings(config, sys.stdout)
        if args.show_files:
            show_files(paths, config, Path.cwd(), sys.stdout)
        return EXIT_OK
    if args.add_noqa:
        from leakguard.fixes.cli import add_noqa

        return add_noqa(paths, config, args)
    from leakguard.engine import check

    # Fixes are computed only when something will use them.
    fixes = args.fix or args.diff or args.format in ("json", "sarif")
    with _progress_bar() as progress:
        run = check(
            paths,
            config,
            jobs=args.jobs,
            use_cache=not args.no_cache,
            progress=progress,
            fixes=fixes,
        )
    if args.fix or args.diff:
        from leakguard.fixes.cli import apply_fixes

        run, status = apply_fixes(run, config, args)
        if status is not None:
            return status
    return finish(run, config, args)


def _overrides(args: argparse.Namespace) -> CliOverrides:
    return CliOverrides(
        select=args.select,
        ignore=args.ignore,
        extend_select=_with_unused_suppressions(args),
        exclude=args.exclude,
        extend_exclude=args.extend_exclude,
        fail_on=args.fail_on,
        force_exclude=args.force_exclude,
    )


def finish(
    run: RunResult, config: Config, args: argparse.Namespace, stream: TextIO | None = None
) -> int:
    """Baseline, report (on `stream`, default stdout) and exit status of a run."""
    run = _apply_baseline(run, args)
    if args.write_baseline is not None:
        return EXIT_OK
    # A file that could not be checked fails the run as a finding does (Ruff: exit 1).
    failed = _fails(run, config.fail_on) or any(not e.warning for e in run.errors)
    status = EXIT_FINDINGS if failed and not args.exit_zero else EXIT_OK
    try:
        _report(run, config, args, stream)
    except BrokenPipeError:
        # `leakguard check | head`: the reader left, but the verdict stands.
        _silence_stdout()
    except SystemExit:
        # Rich answers a closed pipe with its own SystemExit(1) (Console.on_broken_pipe,
        # after pointing stdout at devnull), whatever the findings: the verdict stands.
        pass
    return status


def _silence_stdout() -> None:
    # Python flushes stdout at exit; a closed pipe would raise again there.
    with contextlib.suppress(OSError):
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115


def _with_unused_suppressions(args: argparse.Namespace) -> list[str] | None:
    if not args.report_unused_suppressions:
        return args.extend_select  # type: ignore[no-any-return]
    from leakguard.rules.meta.lg001_unused_suppression import CODE

    return [*(args.extend_select or []), CODE]


def _apply_baseline(run: RunResult, args: argparse.Namespace) -> RunResult:
    if args.write_baseline is None and args.baseline is None:
        return run
    from leakguard import baseline

    if args.write_baseline is not None:
        baseline.write(run, args.write_baseline)
        recorded = sum(1 for f in run.findings if not f.suppressed)
        # stderr: `--format json > out.json` must stay JSON.
        print(
            f"leakguard: wrote baseline with {recorded} findings to {args.write_baseline}",
            file=sys.stderr,
        )
        return run
    filtered = baseline.apply(run, baseline.read(args.baseline))
    hidden = sum(1 for f in run.findings if not f.suppressed) - sum(
        1 for f in filtered.findings if not f.suppressed
    )
    if hidden and args.format in ("text", "concise") and not args.quiet:
        print(f"leakguard: {hidden} findings hidden by baseline {args.baseline}", file=sys.stderr)
    return filtered


def _fails(run: RunResult, fail_on: Severity) -> bool:
    return any(not f.suppressed and f.severity.rank >= fail_on.rank for f in run.findings)


def _report(
    run: RunResult, config: Config, args: argparse.Namespace, stream: TextIO | None = None
) -> None:
    from leakguard.report import ReportOptions, reporter
    from leakguard.report.paths import relocate

    write = reporter(args.format)
    if write is None:
        raise ConfigError("command line", "--format", f"format {args.format!r} is not available")
    # Paths as people type them: relative to where leakguard runs, not to the config.
    cwd = Path.cwd()
    run = relocate(run, config.root, cwd)
    options = ReportOptions(
        config=config,
        base=cwd,
        color=False if args.output is not None else None,
        quiet=args.quiet,
        statistics=args.statistics,
        show_source=not args.no_show_source,
        sarif_category=args.sarif_category,
        sarif_include_suppressed=args.sarif_include_suppressed,
        unsafe_fixes=args.unsafe_fixes,
    )
    if args.output is None:
        write(run, stream or sys.stdout, options)
        return
    _prepare_output(args.output, config)
    with args.output.open("w", encoding="utf-8") as stream:
        write(run, stream, options)
    # The report went to a file: say on stderr what it holds, so a failing hook or CI
    # step shows why it failed (pre-commit prints a hook's output only when it fails).
    shown = [f for f in run.findings if not f.suppressed]
    files = len({f.path for f in shown})
    print(
        f"leakguard: {len(shown)} finding{'s' if len(shown) != 1 else ''} in {files} "
        f"file{'s' if files != 1 else ''}, {len(run.errors)} file error"
        f"{'s' if len(run.errors) != 1 else ''}; {args.format} report written to {args.output}",
        file=sys.stderr,
    )
    for finding in shown[:_MAX_LISTED]:
        print(f"  {finding.path}:{finding.line}:{finding.column}: {finding.rule}", file=sys.stderr)
    if len(shown) > _MAX_LISTED:
        print(f"  ... and {len(shown) - _MAX_LISTED} more", file=sys.stderr)


# Findings listed on stderr when the report goes to a file (the file has them all).
_MAX_LISTED = 20


def _prepare_output(output: Path, config: Config) -> None:
    from leakguard.cache import prepare_directory

    folder = output.resolve().parent
    caches = {
        (config.root / config.cache_dir).resolve(),
        (Path.cwd() / ".leakguard_cache").resolve(),
    }
    if folder in caches:
        prepare_directory(folder)  # git-ignored: a report there is never left untracked
    else:
        folder.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def _progress_bar() -> Iterator[Progress | None]:
    """A progress bar on stderr, only on a terminal and only once a run passes ~2 s."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    started = time.monotonic()
    state: dict[str, object] = {}

    def update(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            if time.monotonic() - started < 2.0 or done >= total:
                return
            bar = Progress(
                "checking",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            bar.start()
            state["bar"] = bar
            state["task"] = bar.add_task("check", total=total)
        bar.update(state["task"], completed=done)  # type: ignore[attr-defined]

    try:
        yield update
    finally:
        bar = state.get("bar")
        if bar is not None:
            bar.stop()  # type: ignore[attr-defined]


def _server() -> int:
    try:
        from leakguard.server import main as serve
    except ImportError as exc:
        print(
            f"leakguard: the language server needs pygls and lsprotocol ({exc}); "
            "install them with `pip install 'leakguard[server]'`",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return serve()


def _rules(output_format: str) -> int:
    from leakguard.config import bundled_rule_specs

    classes = rule_codes()
    specs = [s for rid, s in bundled_rule_specs().items() if rid in classes]
    if output_format == "json":
        rows = [
            {
                "id": s.id,
                "name": s.name,
                "severity": s.severity.value,
                "enabled": s.enabled,
                "summary": s.summary,
                "cwe": list(s.cwe),
            }
            for s in specs
        ]
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif output_format == "markdown":
        sys.stdout.write(rules_markdown_table())
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(show_lines=False)
        for column in ("id", "name", "severity", "default", "summary"):
            table.add_column(column)
        for s in specs:
            table.add_row(s.id, s.name, s.severity.value, "on" if s.enabled else "off", s.summary)
        # Piped, rich would wrap the table to 80 columns and split names across lines
        # (`leakguard rules | grep` must work): let it take the width it needs.
        width = None if sys.stdout.isatty() else 10_000
        if os.environ.get("NO_COLOR"):
            # Rich's NO_COLOR support drops colours but keeps bold: no styles at all.
            width = width or Console().width
            console = Console(highlight=False, width=width, no_color=True, force_terminal=False)
        else:
            console = Console(highlight=False, width=width)
        console.print(table)
    return EXIT_OK


def rules_markdown_table() -> str:
    """The rule table embedded in README.md (kept in sync by a test)."""
    from leakguard.docgen import rules_table

    return rules_table() + "\n"


def _explain(rule: str) -> int:
    from leakguard.config import bundled_rule_specs

    specs = bundled_rule_specs()
    wanted = rule.upper()
    match = next((s for s in specs.values() if s.id == wanted or s.name == rule), None)
    if match is None:
        print(f"leakguard: unknown rule {rule!r}; see `leakguard rules`", file=sys.stderr)
        return EXIT_USAGE
    page = bundled_doc(match.id) or f"# {match.id} {match.name}\n\n{match.summary}\n"
    _print_markdown(page, sys.stdout)
    return EXIT_OK


def _print_markdown(page: str, out: TextIO) -> None:
    if out.isatty() and not os.environ.get("NO_COLOR"):
        from rich.console import Console
        from rich.markdown import Markdown

        Console(file=out).print(Markdown(page))
    else:
        out.write(page if page.endswith("\n") else page + "\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
