"""Run orchestration: discovery -> read -> (project facts) -> analyse in parallel -> results.

A partial run's project facts also come from the project's other files, read as context
and never analysed (`leakguard.project_context` gives them and says when).

Parallelism and caching live here and nowhere else: `analyzer` works on one file and
knows nothing about processes or caches.

Start-up: this module imports neither the analyzer nor the rules (LibCST, ~0.3 s). A
run whose files all come from the cache never imports them; a run that parses some file
imports them in this process just before its worker pool forks (`_load_analysis`), so
the workers share them instead of importing them each.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeGuard, TypeVar

from leakguard.cache import ResultCache, content_digest
from leakguard.config import Config
from leakguard.discovery import Discovery, SourceFile, discover, printable
from leakguard.discovery_cache import discover_cached
from leakguard.finding import FileError, FileResult, Finding
from leakguard.lifelong import made_for_life
from leakguard.project_context import context_files, project_folders
from leakguard.registry import project_facts, rule_classes
from leakguard.supervisor import Budget, over_memory, run_isolated

if TYPE_CHECKING:
    # The project facts only when some file's facts are collected or read: a warm run
    # never imports them.
    from leakguard.analysis.project import ProjectIndex
    from leakguard.slicing import Span
    from leakguard.triage import TriageTree, Verdict

Progress = Callable[[int, int], None]

# Plain classes, not dataclasses: a warm run imports this module (`leakguard.finding`
# says why).


class RunResult:
    """A run's results, in the order of its files, and what else it found."""

    __slots__ = ("load_project", "missing", "paths", "problems", "project", "results", "seconds")

    def __init__(
        self,
        results: list[FileResult] | None = None,
        missing: list[str] | None = None,
        seconds: float = 0.0,
        paths: dict[str, Path] | None = None,
        project: ProjectIndex | None = None,
        problems: list[FileError] | None = None,
        load_project: Callable[[], ProjectIndex | None] | None = None,
    ) -> None:
        self.results: list[FileResult] = [] if results is None else results
        self.missing: list[str] = [] if missing is None else missing
        self.seconds = seconds
        # For re-analysing files after fixing them: where each displayed path was read
        # from, and the project facts the run used.
        self.paths: dict[str, Path] = {} if paths is None else paths
        self.project = project
        # Discovery problems (unreadable directories, symlink loops, undecodable names).
        self.problems: list[FileError] = [] if problems is None else problems
        # Builds `project` for a run whose results all came from the cache without its
        # facts being read (`_served`); `project_index` calls it once.
        self.load_project = load_project

    def replace(self, results: list[FileResult]) -> RunResult:
        """The same run with other results (filtered, fixed, relocated)."""
        return RunResult(
            results,
            self.missing,
            self.seconds,
            self.paths,
            self.project,
            self.problems,
            self.load_project,
        )

    def project_index(self) -> ProjectIndex | None:
        """The project facts of the run (fixing a file re-analyses it with them)."""
        if self.load_project is not None:
            self.project, self.load_project = self.load_project(), None
        return self.project

    @property
    def findings(self) -> list[Finding]:
        return sorted((f for r in self.results for f in r.findings), key=Finding.sort_key)

    @property
    def errors(self) -> list[FileError]:
        return [e for r in self.results for e in r.errors] + self.problems

    @property
    def files(self) -> int:
        return len(self.results)

    @property
    def lines(self) -> int:
        return sum(r.lines for r in self.results)

    @property
    def parsed_files(self) -> int:
        return sum(r.parsed for r in self.results)

    @property
    def parsed_lines(self) -> int:
        return sum(r.parsed_lines for r in self.results if r.parsed)


class _Source:
    __slots__ = ("data", "digest", "error", "file", "warning")

    def __init__(
        self,
        file: SourceFile,
        data: bytes | None = None,
        error: str | None = None,
        digest: str = "",
        warning: bool = False,
    ) -> None:
        self.file = file
        # None until read: a file the cache knows unchanged from its stat is read only
        # when some phase misses its cached entries (`load`).
        self.data = data
        self.error = error
        self.digest = digest
        self.warning = warning  # `error` is a deliberate skip, not a failure

    def load(self, cache: ResultCache | None) -> bool:
        """Read the content if not read yet (an error goes to `error`); False when it is
        no longer the content `digest` named (the file changed during the run): `digest`
        is then the new content's, and the cache forgets the stamp that vouched for the
        old one."""
        if self.data is not None or self.error is not None:
            return True
        try:
            self.data = self.file.path.read_bytes()
        except OSError as exc:
            self.error = _read_error(exc)
            return True
        digest, self.digest = self.digest, content_digest(self.data)
        if digest == self.digest:
            return True
        if cache is not None:
            cache.forget_file(self.file.display)
        return False


def check(
    targets: Sequence[Path],
    config: Config,
    *,
    jobs: int | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
    triage: bool | None = None,
    fixes: bool = False,
    slicing: bool | None = None,
    project_context: bool = True,
) -> RunResult:
    """Check `targets`. `triage=None` follows the environment (`LEAKGUARD_TRIAGE=0`
    turns it off, for benchmarks and for comparing findings with and without it). With
    `fixes`, findings carry their computed fixes (cached apart from plain findings).
    Without `project_context`, a partial run's facts come from its own files alone (a
    rule fixture is a project of its own beside its siblings)."""
    started = time.perf_counter()
    if triage is None:
        triage = os.environ.get("LEAKGUARD_TRIAGE", "1") != "0"
    if slicing is None:
        # `LEAKGUARD_SLICING=0` parses admitted files whole (`leakguard.slicing`), to
        # compare findings and cost with and without it; no triage, no slicing.
        slicing = os.environ.get("LEAKGUARD_SLICING", "1") != "0"
    cache = ResultCache(config.root / config.cache_dir, config.digest()) if use_cache else None
    if cache is not None:
        # Before any file is looked at: the pack's time reference is this moment.
        checked = [f"triage={triage}", *sorted(str(t.absolute()) for t in targets)]
        cache.open_pack("\0".join([f"fixes={fixes}", *checked]), "\0".join(checked))
    try:
        found = discover_cached(targets, config, cache) if cache else discover(targets, config)
        sources = [_read(f, config.max_file_size, cache) for f in found.files]
        # A partial run's project facts come from the whole project (`project_context`).
        wanted = project_context and project_facts(config.enabled)
        folders = project_folders(targets, config) if wanted else ()
        around = context_files(folders, found, config, cache)
        if around and cache is not None:
            # The facts of a run of the whole projects (`project_context`'s folders).
            cache.share_facts("\0".join([f"triage={triage}", *map(str, folders)]))
        context = [_read(f, config.max_file_size, cache) for f in around]
        return _run(
            sources, config, cache, jobs, progress, triage, fixes, started, found, slicing, context
        )
    finally:
        if cache is not None:
            cache.close_pack()


def _run(
    sources: list[_Source],
    config: Config,
    cache: ResultCache | None,
    jobs: int | None,
    progress: Progress | None,
    triage: bool,
    fixes: bool,
    started: float,
    found: Discovery,
    slicing: bool = True,
    context: Sequence[_Source] = (),
) -> RunResult:
    """Analyse `sources`; the project facts also come from `context`, files of the
    project the run was not given, which are neither analysed nor reported."""
    workers = max(1, jobs if jobs is not None else (os.cpu_count() or 1))

    budget = Budget(config.file_timeout, config.file_memory_mb)
    kind = "findings+fixes" if fixes else "findings"
    served = _served(sources, config, cache, triage, kind, context) if cache else None
    if served is not None:
        if progress:
            progress(len(sources), len(sources))
        return RunResult(
            [served[s.file.display] for s in sources],
            found.missing,
            time.perf_counter() - started,
            {s.file.display: s.file.path for s in sources},
            problems=[*_config_warnings(config), *found.problems],
            load_project=lambda: (
                _project_index([*sources, *context], config, cache, workers, triage, budget).project
            ),
        )
    facts = _project_index([*sources, *context], config, cache, workers, triage, budget)
    # Results analysed ahead of the findings phase (a lone file, with its facts).
    early = _facts_and_findings(facts, config, cache, triage, fixes, budget, slicing)
    project, failed, verdicts = facts.project, facts.failed, facts.verdicts
    results: dict[str, FileResult] = dict(failed)
    readable = [s for s in sources if s.file.display not in failed and s.error is None]
    depends = _dependencies(facts, [s.file.display for s in readable], cache)
    pending: list[tuple[_Source, str]] = []
    for source in sources:
        display = source.file.display
        if display in failed:
            continue
        if source.error is not None:
            results[display] = _unreadable(source, source.error)
            continue
        key = cache.key(kind, display, source.digest, depends.get(display, "")) if cache else ""
        if display in early:
            results[display] = early[display]
            if cache is not None and not isinstance(early[display], Failed):
                cache.store_result(key, early[display])
            continue
        cached = cache.load_result(key, display) if cache else None
        if cached is not None:
            results[display] = cached
            continue
        # Its facts, if any, came from the content the key names: a file that changed
        # since is analysed as it is now but not cached under that key.
        unchanged = source.load(cache)
        if not unchanged and cache is not None and display not in facts.keys:
            # No facts of the old content went into the key: the new one's is valid.
            key, unchanged = cache.key(kind, display, source.digest, depends.get(display, "")), True
            cached = cache.load_result(key, display)
            if cached is not None:
                results[display] = cached
                continue
        if source.error is not None:
            results[display] = _unreadable(source, source.error)
        else:
            pending.append((source, key if unchanged else ""))

    total, done = len(sources), len(sources) - len(pending)
    if progress:
        progress(done, total)
    if pending:
        _load_analysis()  # the run queries of the verdicts are registered by the rules
    payloads = [
        (s.file.display, s.data, *_admitted(verdicts.get(s.file.display), project, slicing))
        for s, _ in pending
    ]
    initargs = (config, project, triage, fixes, None, slicing)
    analysed = _map(_analyse_payload, payloads, workers, _init_worker, initargs, budget)
    for index, result in analysed:
        source, key = pending[index]
        results[source.file.display] = result
        # A stopped or crashed analysis depends on the machine, not on the file alone.
        if cache is not None and key and not isinstance(result, Failed):
            cache.store_result(key, result)
        done += 1
        if progress:
            progress(done, total)
    ordered = [results[s.file.display] for s in sources]
    paths = {s.file.display: s.file.path for s in sources}
    return RunResult(
        ordered,
        found.missing,
        time.perf_counter() - started,
        paths,
        project,
        problems=[*_config_warnings(config), *found.problems],
    )


def _config_warnings(config: Config) -> list[FileError]:
    source = printable(config.source or "<defaults>")
    return [FileError(source, text, warning=True) for text in config.warnings]


def _unreadable(source: _Source, error: str) -> FileResult:
    """The result of a file not read: unreadable, or skipped on purpose (`warning`)."""
    display = source.file.display
    return FileResult(display, errors=[FileError(display, error, warning=source.warning)])


def _read(file: SourceFile, max_size: int, cache: ResultCache | None = None) -> _Source:
    """The file's content and digest, or its digest alone when `cache` knows the file
    unchanged from its stat."""
    try:
        info = os.stat(file.path)
        if not stat.S_ISREG(info.st_mode):
            # Reading a FIFO or a device could block forever or never end.
            return _Source(file, error="cannot read file: not a regular file")
        if max_size and info.st_size > max_size:
            return _Source(
                file,
                error=f"skipped: file is {info.st_size:,} bytes, over max-file-size "
                f"({max_size:,}); raise max-file-size in the configuration to analyse it",
                warning=True,
            )
        known = cache.unchanged_digest(file.display, info) if cache is not None else None
        if known is not None:
            return _Source(file, digest=known)
        data = file.path.read_bytes()
    except OSError as exc:
        return _Source(file, error=_read_error(exc))
    digest = content_digest(data)
    if cache is not None:
        cache.note_file(file.display, info, digest)
    return _Source(file, data, digest=digest)


def _read_error(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "cannot read file: permission denied"
    return f"cannot read file: {exc.strerror or exc}"


class Failed(FileResult):
    """A file whose worker crashed or ran over budget: reported, never cached."""


# (display path, content, the rules the facts pass's triage admitted or None, the line
# spans LibCST need not parse for them: `leakguard.slicing`)
Payload = tuple[str, bytes | None, list[str] | None, list[tuple[int, int]]]


class _FileFacts(NamedTuple):
    """What the facts pass gives for one file."""

    facts: dict[str, Any]
    verdict: Verdict | None
    # the gated collectors left out (`_left_out`)
    left_out: list[str]
    # whether some parser accepts it (`_parsed`)
    parsed: bool
    # the [rule, gated collector] pairs its verdict names whose analysis of it cannot
    # read those facts (`_muted`)
    muted: list[list[str]]


# `leakguard.slicing.PLAN_VERSION`, not imported so that a warm run need not load it
# (tests/test_slicing.py checks they agree).
_PLAN_VERSION = 2


def _admitted(
    verdict: Verdict | None, project: ProjectIndex | None, slicing: bool
) -> tuple[list[str] | None, list[Span]]:
    if verdict is None:
        return None, []
    from leakguard.slicing import PLAN_KEY, elided
    from leakguard.triage import admitted

    rules = admitted(verdict, project)
    return rules, elided(verdict.get(PLAN_KEY), rules) if slicing else []


def _failed_file(payload: Payload, message: str) -> FileResult:
    display = payload[0]
    return Failed(display, errors=[FileError(display, message)])


class _Facts:
    """The run's project facts (None when no enabled rule reads any), the collectors they
    come from, the files whose fact collection crashed or ran over budget (reported
    once, not analysed again at the same cost) and each file's triage verdict."""

    def __init__(self, needed: list[str]) -> None:
        self.project: ProjectIndex | None = None
        self.needed = needed
        self.failed: dict[str, FileResult] = {}
        self.verdicts: dict[str, Verdict | None] = {}
        # Each file's facts cache key, for the files with facts.
        self.keys: dict[str, str] = {}
        # The run's only file, when its facts are not cached: one task collects its
        # facts and analyses it (`_facts_and_findings`), one worker pool instead of two.
        self.deferred: tuple[_Source, str] | None = None
        # For a file without a triage verdict, the gated collectors whose readers its
        # content may wake (`_RuleGates.opened_by`), stored with its facts.
        self.opens: dict[str, list[str]] = {}
        # Per file, the gated collectors its facts were collected without.
        self.lacks: dict[str, list[str]] = {}
        # The files without a verdict that neither CPython nor LibCST parses: no rule
        # analyses them, so they open no gate (`_RuleGates.opened`).
        self.unparsed: set[str] = set()
        # Per file, the [rule, gated collector] pairs it opens no gate for (`_muted`).
        self.muted: dict[str, list[list[str]]] = {}

    def entry(self, display: str, facts: dict[str, Any], verdict: Verdict | None) -> Any:
        """What the cache keeps of one file's facts pass."""
        return {
            "facts": facts,
            "triage": verdict,
            "opens": self.opens.get(display, []),
            "lacks": self.lacks.get(display, []),
            "unparsed": display in self.unparsed,
            "muted": self.muted.get(display, []),
        }

    def add(self, display: str, facts: dict[str, Any], key: str) -> None:
        assert self.project is not None
        _add_facts(self.project, display, facts)
        self.keys[display] = key


def _add_facts(project: ProjectIndex, display: str, facts: Mapping[str, Any]) -> None:
    from leakguard.analysis.project import module_name_for

    for collector, value in facts.items():
        project.facts.setdefault(collector, {})[module_name_for(display)] = value


def _project_index(
    sources: list[_Source],
    config: Config,
    cache: ResultCache | None,
    workers: int,
    triage: bool,
    budget: Budget,
) -> _Facts:
    """The run's project facts: the facts pass parses each file with `ast` once for its
    facts and its triage, and caches both by content, so a file whose project-facts
    digest changed is analysed again without a new triage."""
    needed = project_facts(config.enabled)
    outcome = _Facts(needed=needed)
    if not needed:
        return outcome
    from leakguard.analysis.project import ProjectIndex

    outcome.project = ProjectIndex()
    gates = _RuleGates(needed, config)
    pending: list[tuple[_Source, str]] = []
    entries: dict[str, dict[str, Any]] = {}
    by_display: dict[str, _Source] = {}
    keys: dict[str, str] = {}
    kind = _facts_kind(needed, triage)
    for source in sources:
        if source.error is not None:
            continue
        display = source.file.display
        key = cache.key(kind, display, source.digest) if cache else ""
        cached = cache.load_facts(key) if cache else None
        if not _facts_entry(cached) and not source.load(cache) and cache is not None:
            key = cache.key(kind, display, source.digest)  # it changed
            cached = cache.load_facts(key)
        if _facts_entry(cached):
            entries[display] = cached
            outcome.opens[display] = list(cached.get("opens", gates.all))
        elif source.error is not None:
            continue  # unreadable after all: the findings phase reports it
        else:
            pending.append((source, key))
        by_display[display] = source
        keys[display] = key
    if len(pending) == 1 and len(keys) == 1:
        # the lone file (`_facts_and_findings`): all its collectors, no gate
        outcome.deferred, pending = pending[0], []
    for display, entry in entries.items():
        outcome.lacks[display] = list(entry.get("lacks", ()))
        outcome.verdicts[display] = entry.get("triage")
        if entry.get("unparsed") is True:
            outcome.unparsed.add(display)
        outcome.muted[display] = [list(pair) for pair in entry.get("muted", ())]
    facts_by_file = {display: dict(entry["facts"]) for display, entry in entries.items()}
    # One pool: each file is collected with every collector but the gates its own
    # verdict does not open (`_left_out`, which also keeps a gate a worker has seen open
    # for its later files); a file left without a gate that opens (another file's
    # verdict, or a run query answered below) is completed after (`_complete_facts`).
    # Waves of files deciding gates for the next cost a pool and a barrier each, more
    # than the completions they spared (stdlib sample: -0.2 s wall, -0.25 CPU s).
    _collect_facts(pending, gates, outcome, facts_by_file, cache, workers, triage, config, budget)
    # The run's queries answer the verdicts that asked them, with every other fact in.
    for display in sorted(facts_by_file):
        _add_facts(outcome.project, display, facts_by_file[display])
    opened = gates.opened(outcome, outcome.project)
    if outcome.deferred is not None:
        opened = frozenset(gates.all)  # the lone file is collected with everything
    # Files collected without a collector a gate then opened: collected again for it.
    missing = [
        (by_display[d], keys[d], sorted(opened.intersection(lacks)))
        for d, lacks in outcome.lacks.items()
        if opened.intersection(lacks) and d in facts_by_file
    ]
    if missing:
        _complete_facts(missing, outcome, facts_by_file, cache, workers, config, budget)
    skipped = frozenset(gates.all) - opened
    outcome.needed = [name for name in needed if name not in skipped]
    outcome.project = ProjectIndex()
    for display in sorted(facts_by_file):
        kept = {k: v for k, v in facts_by_file[display].items() if k not in skipped}
        outcome.add(display, kept, keys[display])
    return outcome


def _facts_of(
    group: list[tuple[_Source, str]],
    collectors: list[str],
    triage: bool,
    config: Config | None,
    workers: int,
    budget: Budget,
    gates: Mapping[str, frozenset[str]] | None = None,
) -> Iterator[tuple[_Source, str, _FileFacts | FileResult]]:
    """Each file of `group` with its cache key and what the facts pass with
    `collectors` gave for it (its facts, verdict, the gates its verdict left out...
    `_FileFacts`; or a `FileResult` on failure). `gates`: the run's gated collectors,
    each with the rules reading it (`_RuleGates.readers`)."""
    payloads: list[Payload] = [(s.file.display, s.data, None, []) for s, _ in group]
    initargs = (collectors, triage, config, dict(gates or {}))
    collected = _map(_facts_payload, payloads, workers, _init_fact_worker, initargs, budget)
    for index, result in collected:
        source, key = group[index]
        yield source, key, result


def _collect_facts(
    pending: list[tuple[_Source, str]],
    gates: _RuleGates,
    outcome: _Facts,
    facts_by_file: dict[str, dict[str, Any]],
    cache: ResultCache | None,
    workers: int,
    triage: bool,
    config: Config,
    budget: Budget,
) -> None:
    """The facts pass over `pending` with every collector but the gates a file's verdict
    leaves out (`_left_out`), into `facts_by_file` and the cache; those are recorded
    as lacking (`_Facts.lacks`). A file without a verdict opens the gates its tokens
    may wake (`_RuleGates.opened_by`); a verdict names the rules that may read them."""
    if not pending:
        return
    collected = _facts_of(pending, outcome.needed, triage, config, workers, budget, gates.readers)
    for source, key, result in collected:
        display = source.file.display
        if isinstance(result, FileResult):
            outcome.failed[display] = result
            continue
        facts_by_file[display] = result.facts
        outcome.verdicts[display] = result.verdict
        outcome.lacks[display] = result.left_out
        outcome.muted[display] = result.muted
        if result.verdict is None:
            outcome.opens[display] = gates.opened_by(display, source.data)
        if not result.parsed:
            outcome.unparsed.add(display)
        if cache is not None:
            cache.store_facts(key, outcome.entry(display, result.facts, result.verdict))


def _complete_facts(
    missing: list[tuple[_Source, str, list[str]]],
    outcome: _Facts,
    facts_by_file: dict[str, dict[str, Any]],
    cache: ResultCache | None,
    workers: int,
    config: Config,
    budget: Budget,
) -> None:
    """The gated collectors each file of `missing` lacks, collected now that the run
    needs them (its content read again if the cache served its other facts)."""
    items: list[tuple[_Source, str, list[str]]] = []
    for source, key, collectors in missing:
        source.load(cache)
        if source.error is None:
            items.append((source, key, collectors))
    for wanted in sorted({tuple(c) for _, _, c in items}):
        group = [(s, k) for s, k, c in items if tuple(c) == wanted]
        # no config: the triage verdict is the first pass's
        for source, key, result in _facts_of(group, list(wanted), False, None, workers, budget):
            display = source.file.display
            if isinstance(result, FileResult):
                outcome.failed[display] = result
                facts_by_file.pop(display, None)
                continue
            facts = result.facts
            facts_by_file[display].update(facts)
            outcome.lacks[display] = [n for n in outcome.lacks[display] if n not in wanted]
            if cache is not None:
                entry = outcome.entry(display, facts_by_file[display], outcome.verdicts[display])
                cache.store_facts(key, entry)


class _RuleGates:
    """The run's collectors that `rule_index.GATED_BY_READERS` lists, each with the
    enabled rules that read it. Such a collector's facts serve only a rule analysing
    some file, and the analysis runs a rule only on a file holding one of its prefilter
    tokens (`analyzer.active_specs`): a run where no file holds any of its readers'
    tokens skips the collector everywhere (the stdlib has no request model: no
    `collection_work`). Judged on the bytes, before the facts pass; the tokens are
    ASCII, found as such in any encoding that keeps ASCII (a file in another one, or
    with a token that is not ASCII, opens every gate)."""

    def __init__(self, needed: list[str], config: Config) -> None:
        from leakguard.registry import readers_of
        from leakguard.rule_index import GATED_BY_READERS

        self.config = config
        self.readers: dict[str, frozenset[str]] = {
            name: readers_of(name, config.enabled) for name in needed if name in GATED_BY_READERS
        }
        self.all = sorted(self.readers)

    def opened_by(self, display: str, data: bytes | None) -> list[str]:
        """The gated collectors a file of this content may need."""
        if not self.readers:
            return []
        if data is None or not _keeps_ascii(data):
            return self.all
        codes = self.config.rules_for_path(display)
        return [
            name
            for name, readers in self.readers.items()
            if any(
                self._active(self.config.rules[code].prefilter, data) for code in readers & codes
            )
        ]

    def opened(self, outcome: _Facts, project: ProjectIndex | None) -> frozenset[str]:
        """The gated collectors some file's analysis may read: one a rule its triage
        verdict admits reads (a rule the verdict names passed its prefilter tokens), or,
        without a verdict (every rule may run), one whose readers' tokens the file holds
        (`opened_by`). Without `project`, a verdict's run conditions count as
        unanswered; with it, as the analysis will answer them (`triage.admitted`)."""
        found: set[str] = set()
        # The run queries are registered by the rules: a run whose facts all came from
        # the cache (a partial run's context, shared) has not imported them yet. Once per
        # call, not per file (`rule_classes` walks the rule packages each time).
        loaded = project is None
        for display, verdict in outcome.verdicts.items():
            if display in outcome.unparsed:
                continue  # no rule analyses it
            if verdict is None:
                found.update(outcome.opens.get(display, self.all))
                continue
            if not loaded:
                _load_analysis()
                loaded = True
            admitted = _admitted_rules(verdict, project)
            muted = outcome.muted.get(display, ())
            for name in self.all:
                if not _unmuted(self.readers[name], muted, name).isdisjoint(admitted):
                    found.add(name)
        return frozenset(found)

    @staticmethod
    def _active(tokens: tuple[str, ...], data: bytes) -> bool:
        return not tokens or any(not t.isascii() or t.encode() in data for t in tokens)


def _admitted_rules(verdict: Verdict, project: ProjectIndex | None) -> set[str]:
    """The rules `verdict` admits for sure (`project` None: its run conditions not asked
    yet) or once the run's facts answer them."""
    if project is None:
        return {code for code, value in verdict.items() if value is True}
    from leakguard.triage import admitted  # the rules loaded (`_RuleGates.opened`)

    return set(admitted(verdict, project))


def _keeps_ascii(data: bytes) -> bool:
    """ASCII text is its own bytes in it: ASCII or UTF-8 without NULs (UTF-16 and -32
    text holds NULs beside its ASCII letters)."""
    if data.isascii():
        return b"\0" not in data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\0" not in data


def _facts_kind(needed: list[str], triage: bool) -> str:
    # The verdict holds the slicing plan: a plan of another shape is never read.
    return f"facts+triage:{','.join(needed)}:{int(triage)}:slices{_PLAN_VERSION}"


def _served(
    sources: list[_Source],
    config: Config,
    cache: ResultCache,
    triage: bool,
    kind: str,
    context: Sequence[_Source] = (),
) -> dict[str, FileResult] | None:
    """Every file's result, when the pack holds them all; else None and nothing used.
    The dependency digests are looked up under the facts keys, which the content
    digests give, so the facts themselves (most of the cache's bytes) are not read.
    (The same keys as `_project_index` and `_dependencies` make when every file has
    facts; a file whose facts failed has no key there, so such a run misses here.) The
    run's facts are those of `context` too."""
    readable = [s for s in sources if s.error is None]
    depends: dict[str, str] = {}
    needed = project_facts(config.enabled)
    if needed:
        facts_kind = _facts_kind(needed, triage)
        with_facts = [*readable, *(s for s in context if s.error is None)]
        facts = {
            s.file.display: cache.key(facts_kind, s.file.display, s.digest) for s in with_facts
        }
        memo = _depends_memo(cache, facts)
        known = cache.load(memo) if cache.packed(memo) else None
        if not _depends_entry(known, (s.file.display for s in readable)):
            return None
        depends = known
    keys: dict[str, str] = {}
    for source in readable:
        display = source.file.display
        keys[display] = cache.key(kind, display, source.digest, depends.get(display, ""))
        if not cache.packed(keys[display]):
            return None
    served: dict[str, FileResult] = {}
    for display, key in keys.items():
        result = cache.load_result(key, display)
        if result is None:
            return None
        served[display] = result
    for source in sources:
        if source.error is not None:
            served[source.file.display] = _unreadable(source, source.error)
    return served


def _facts_entry(cached: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(cached, dict) and isinstance(cached.get("facts"), dict)


def _facts_and_findings(
    facts: _Facts,
    config: Config,
    cache: ResultCache | None,
    triage: bool,
    fixes: bool,
    budget: Budget,
    slicing: bool = True,
) -> dict[str, FileResult]:
    """The deferred lone file's facts and findings, from one task in one worker (a
    one-file run, as pre-commit makes, then starts one pool, not two). Its facts go
    into `facts` as the facts pass would have put them; a crash or an exhausted budget
    makes it a failed file, as in the facts pass."""
    if facts.deferred is None:
        return {}
    source, key = facts.deferred
    display = source.file.display
    initargs = (config, None, triage, fixes, facts.needed, slicing)
    payload: Payload = (display, source.data, None, [])
    [(_, outcome)] = _map(_facts_and_findings_payload, [payload], 1, _init_worker, initargs, budget)
    if isinstance(outcome, FileResult):
        facts.failed[display] = outcome
        return {}
    file_facts, verdict, result = outcome
    facts.add(display, file_facts, key)
    facts.verdicts[display] = verdict
    if cache is not None:
        cache.store_facts(key, facts.entry(display, file_facts, verdict))
    return {display: result}


def _depends_memo(cache: ResultCache, facts_keys: Mapping[str, str]) -> str:
    """The key of the run's dependency digests: the run's facts are identified by every
    file's facts cache key (`_served` finds it from the content digests alone)."""
    return cache.key("depends", "", "\0".join(facts_keys[d] for d in sorted(facts_keys)))


def _depends_entry(known: Any, displays: Iterable[str]) -> TypeGuard[dict[str, str]]:
    return isinstance(known, dict) and all(isinstance(known.get(d), str) for d in displays)


def _dependencies(facts: _Facts, displays: list[str], cache: ResultCache | None) -> dict[str, str]:
    """Per file, the digest of the project facts its findings may depend on (part of its
    result's cache key). Computing it builds views of the whole run's facts (the call
    graph) with the collectors' code, which imports LibCST; it is a function of the run's
    facts alone, so it is cached under their identity and an unchanged tree reads it back."""
    project = facts.project
    if project is None or cache is None:
        return {}
    memo = _depends_memo(cache, facts.keys)
    # In the pack (a warm run reads nothing else) and beside the facts (a run of another
    # scope over the same files, a JSON report after a text one, finds it there).
    known = cache.load(memo)
    if _depends_entry(known, displays):
        return known
    known = cache.load_facts(memo)
    if _depends_entry(known, displays):
        cache.store(memo, known)  # into the pack: the next run of this scope is served
        return known
    _load_analysis()  # registers the collectors whose `dependencies` the digest follows
    from leakguard.analysis.project import module_name_for

    found = {d: project.digest_for(module_name_for(d), facts.needed) for d in displays}
    cache.store(memo, found)
    # Partial runs of one project share this entry (`ResultCache.share_facts`): each
    # adds its files' digests to those the others found.
    shared = known if isinstance(known, dict) else {}
    cache.store_facts(memo, {**shared, **found})
    return found


def _load_analysis() -> None:
    """Import the analyzer, LibCST and every rule module in this process: once a file
    really needs parsing, before a worker pool forks (the workers then share the modules
    instead of importing them each). The ~56,000 objects the first import makes that the
    cyclic garbage collector tracks live as long as the process (`made_for_life`: -0.06
    CPU s in the parent of a cold stdlib run, about as much in its workers)."""
    if "leakguard.analyzer" in sys.modules:
        rule_classes()
    else:
        made_for_life(_import_analysis)


def _import_analysis() -> None:
    import leakguard.analyzer  # noqa: F401

    rule_classes()


# -- worker side -----------------------------------------------------------------------


def analyze_text(
    text: str,
    display: str,
    config: Config,
    project: ProjectIndex | None = None,
    **options: Any,
) -> FileResult:
    """`analyzer.analyze_text`, imported on first use (tests replace this name to make a
    worker hang or crash)."""
    from leakguard.analyzer import analyze_text as analyze

    return analyze(text, display, config, project, **options)


def collect_file(
    text: str,
    display: str,
    collectors: list[str],
    config: Config | None,
    *,
    triage: bool,
    leave_out: Callable[[Verdict | None, TriageTree | None], list[str]] | None = None,
) -> tuple[dict[str, Any], Verdict | None]:
    """`analyzer.collect_file`, imported on first use."""
    from leakguard.analyzer import collect_file as collect

    return collect(text, display, collectors, config, triage=triage, leave_out=leave_out)


_worker_state: dict[str, Any] = {}


def _init_worker(
    config: Config,
    project: ProjectIndex | None,
    triage: bool,
    fixes: bool = False,
    collectors: list[str] | None = None,
    slicing: bool = True,
) -> None:
    _worker_state["config"] = config
    _worker_state["slicing"] = slicing
    _worker_state["project"] = project
    _worker_state["triage"] = triage
    _worker_state["fixes"] = fixes
    _worker_state["collectors"] = collectors or []
    _worker_state["gates"] = []  # the lone file: every collector
    _worker_state["undecided"] = {}
    rule_classes()  # import every rule module once per process, not per file


def _init_fact_worker(
    collectors: list[str],
    triage: bool,
    config: Config | None,
    gates: dict[str, frozenset[str]],
) -> None:
    _worker_state["collectors"] = collectors
    _worker_state["triage"] = triage
    _worker_state["config"] = config
    _worker_state["gates"] = sorted(gates)
    # the gates no file this worker collected has opened yet (`_left_out`)
    _worker_state["undecided"] = gates
    rule_classes()  # rule modules register the fact collectors they need


def _decode(display: str, data: bytes | None) -> str | FileResult:
    from leakguard.source import SourceError, decode_source

    try:
        return decode_source(data or b"")
    except SourceError as exc:
        return FileResult(display, errors=[FileError(display, str(exc))])


def _analyse_payload(payload: Payload) -> FileResult:
    display, data, rules, spans = payload
    text = _decode(display, data)
    if isinstance(text, FileResult):
        return text
    try:
        return analyze_text(
            text,
            display,
            _worker_state["config"],
            _worker_state["project"],
            triage=_worker_state["triage"],
            fixes=_worker_state.get("fixes", False),
            admitted=rules,
            elide_spans=spans,
            slicing=_worker_state.get("slicing", True),
        )
    except MemoryError:
        config: Config = _worker_state["config"]
        message = over_memory(Budget(config.file_timeout, config.file_memory_mb))
        return Failed(display, errors=[FileError(display, message)])
    except Exception as exc:  # never lose the run to one file
        message = f"internal error (please report): {type(exc).__name__}: {exc}"
        return FileResult(display, errors=[FileError(display, message)])


def _facts_and_findings_payload(
    payload: Payload,
) -> tuple[dict[str, Any], Verdict | None, FileResult]:
    """`_facts_payload`, then `_analyse_payload` with the run's facts being this file's."""
    display, data, _, _ = payload
    from leakguard.analysis.project import ProjectIndex

    collected = _facts_payload(payload)
    facts, verdict = collected.facts, collected.verdict
    project = ProjectIndex()
    _add_facts(project, display, facts)
    _worker_state["project"] = project
    rules, spans = _admitted(verdict, project, _worker_state.get("slicing", True))
    return facts, verdict, _analyse_payload((display, data, rules, spans))


def _facts_payload(payload: Payload) -> _FileFacts:
    display, data, _, _ = payload
    text = _decode(display, data)
    if isinstance(text, FileResult):
        return _FileFacts({}, None, [], False, [])  # the analysis phase reports the decoding error
    left_out: list[str] = []
    muted: list[list[str]] = []

    def leave_out(verdict: Verdict | None, tree: TriageTree | None) -> list[str]:
        muted.extend(_muted(verdict, tree))
        left_out.extend(_left_out(verdict, muted))
        return left_out

    judged = _worker_state["triage"] and _worker_state["config"] is not None
    facts, verdict = collect_file(
        text,
        display,
        _worker_state["collectors"],
        _worker_state["config"],
        triage=_worker_state["triage"],
        leave_out=leave_out if judged and _worker_state.get("gates") else None,
    )
    parsed = verdict is not None or _parsed(text, display)
    return _FileFacts(facts, verdict, left_out, parsed, muted)


def _parsed(text: str, display: str) -> bool:
    """Whether the analysis may parse a file the triage gave no verdict: a file CPython
    cannot parse (py2 code in the stdlib's test data) whose gates would otherwise open
    for it, as for a file any rule may analyse. Only when the triage is on (off, no
    file has a verdict), and then CPython has refused it; LibCST, which the analysis
    parses with, accepts some such files."""
    if not _worker_state["triage"] or _worker_state["config"] is None:
        return True
    from leakguard.analyzer import parse
    from leakguard.triage import parse_ast

    return parse_ast(text) is not None or not isinstance(parse(text, display), FileError)


def _left_out(verdict: Verdict | None, muted: list[list[str]]) -> list[str]:
    """The gates still undecided in this worker (`_worker_state["undecided"]`: gated
    collector -> the rules reading it) that a file with `verdict` leaves out: those no
    rule it admits for sure reads. A gate such a rule reads will open
    (`_RuleGates.opened`): the worker collects it on this file and on the files it
    collects next. A file left without a gate that opens later in the run is collected
    again for it (`_complete_facts`). No verdict: every rule may run, nothing is left
    out."""
    undecided: dict[str, frozenset[str]] = _worker_state["undecided"]
    if verdict is None:
        return []
    sure = {code for code, value in verdict.items() if value is True}
    opened = [
        name
        for name, readers in undecided.items()
        if not _unmuted(readers, muted, name).isdisjoint(sure)
    ]
    for name in opened:
        del undecided[name]
    return sorted(undecided)


def _muted(verdict: Verdict | None, tree: TriageTree | None) -> list[list[str]]:
    """The [rule, gated collector] pairs of the run's gates (`_worker_state["gates"]`)
    whose rule `verdict` names but whose condition for reading those facts
    (`LintRule.READS_WHERE`) is False in this file: its analysis may run, and never
    reads them."""
    if verdict is None or tree is None:
        return []
    classes = rule_classes()
    found: list[list[str]] = []
    for gate in _worker_state["gates"]:
        for code in sorted(verdict):
            condition = classes[code].READS_WHERE.get(gate) if code in classes else None
            if condition is not None and not _holds(condition, tree):
                found.append([code, gate])
    return found


def _unmuted(readers: frozenset[str], muted: Iterable[Sequence[str]], gate: str) -> frozenset[str]:
    """The rules of `readers` whose analysis of a file may read `gate`'s facts: those
    the file's muted pairs (`_muted`) leave."""
    return readers - {code for code, muted_gate in muted if muted_gate == gate}


def _holds(condition: Callable[[TriageTree], bool], tree: TriageTree) -> bool:
    try:
        return condition(tree)
    except Exception:  # a faulty condition must cost time, never a finding
        return True


R = TypeVar("R")


def _map(
    function: Callable[[Payload], R],
    items: list[Payload],
    workers: int,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
    budget: Budget,
) -> Iterator[tuple[int, R | FileResult]]:
    """`function` over `items` in worker processes (even for one job: a file that
    crashes the parser must cost only itself), each file under `budget`: each item's
    index with its result, the heaviest files (`_weight`) first; a file that crashed or
    ran over budget yields a `Failed` result."""
    task: Callable[[Payload], R | FileResult] = function
    failure: Callable[[Payload, str], R | FileResult] = _failed_file
    if items:
        _load_analysis()
    yield from run_isolated(
        task,
        items,
        workers=workers,
        initializer=initializer,
        initargs=initargs,
        budget=budget,
        on_failure=failure,
        weight=_weight,
    )


def _weight(payload: Payload) -> float:
    """A file's expected cost in a pool, to start the heaviest first: its bytes, in the
    share of its lines LibCST parses (`slicing.parsed_lines`); a file no admitted rule
    needs costs next to nothing."""
    _, data, rules, spans = payload
    if data is None or rules == []:
        return 0
    if not spans:
        return len(data)
    from leakguard.slicing import parsed_lines

    lines = data.count(b"\n") + 1
    return len(data) * parsed_lines(lines, spans) / lines


def iter_findings(results: Iterable[FileResult]) -> Iterator[Finding]:
    for result in results:
        yield from result.findings


def check_text(
    text: str, display: str, config: Config, *, fixes: bool = False, isolated: bool = False
) -> RunResult:
    """Analyse one in-memory text (stdin, an editor buffer) named `display`; project
    facts come from this text alone. `isolated` runs it in a worker under the per-file
    budget, as files are: a command-line run must not hang or crash on its input."""
    started = time.perf_counter()
    if isolated:
        budget = Budget(config.file_timeout, config.file_memory_mb)
        [(_, (result, project))] = run_isolated(
            _text_payload,
            [(text, display, fixes)],
            workers=1,
            initializer=_init_text_worker,
            initargs=(config,),
            budget=budget,
            on_failure=_failed_text,
        )
    else:
        result, project = _analyse_text(text, display, config, fixes)
    return RunResult([result], [], time.perf_counter() - started, {}, project)


def _analyse_text(
    text: str, display: str, config: Config, fixes: bool
) -> tuple[FileResult, ProjectIndex | None]:
    from leakguard.analysis.project import ProjectIndex
    from leakguard.analyzer import collect_facts

    needed = project_facts(config.enabled)
    project: ProjectIndex | None = None
    if needed:
        project = ProjectIndex()
        _add_facts(project, display, collect_facts(text, display, needed))
    try:
        result = analyze_text(text, display, config, project, fixes=fixes)
    except Exception as exc:  # never lose the run (or the editor session) to one file
        message = f"internal error (please report): {type(exc).__name__}: {exc}"
        result = FileResult(display, errors=[FileError(display, message)])
    return result, project


TextItem = tuple[str, str, bool]  # (text, display, fixes)


def _init_text_worker(config: Config) -> None:
    _worker_state["config"] = config


def _text_payload(item: TextItem) -> tuple[FileResult, ProjectIndex | None]:
    text, display, fixes = item
    return _analyse_text(text, display, _worker_state["config"], fixes)


def _failed_text(item: TextItem, message: str) -> tuple[FileResult, ProjectIndex | None]:
    display = item[1]
    return Failed(display, errors=[FileError(display, message)]), None
