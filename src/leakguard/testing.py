"""Helpers for testing rules against annotated fixture files.

A fixture marks each line that must be reported with a trailing comment
`# expect: LG101` (several codes: `# expect: LG101, LG202`). Everything not marked must
stay silent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from leakguard.analysis.project import module_name_for
from leakguard.analysis.summaries import SummaryIndex, collect_source
from leakguard.config import Config, apply_user_table, bundled_rule_specs
from leakguard.engine import RunResult, check

_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>LG\d+(?:\s*,\s*LG\d+)*)")

Expectation = tuple[str, int, str]  # (relative path, line, rule)


def make_config(root: Path, **user: Any) -> Config:
    """A configuration as if `user` were the `[tool.leakguard]` table at `root`."""
    table = {key.replace("_", "-"): value for key, value in user.items()}
    return apply_user_table(dict(bundled_rule_specs()), table, "<test>", root.resolve())


def summary_index_of(files: Mapping[str, str]) -> SummaryIndex:
    """The run's function summaries for `files` (relative path -> source text)."""
    facts = {}
    for name, text in files.items():
        value = collect_source(text, name)
        if value:
            facts[module_name_for(name)] = value
    return SummaryIndex.build(facts)


def run(
    paths: Iterable[Path], root: Path, *, project_context: bool = True, **user: Any
) -> RunResult:
    """Check `paths` uncached in one process, configured as if `user` were the
    `[tool.leakguard]` table at `root`."""
    config = make_config(root, **user)
    return check(list(paths), config, jobs=1, use_cache=False, project_context=project_context)


def write_or_remove(path: Path, text: str | None) -> None:
    """Write `text` to `path`; None removes the file (if there is one)."""
    if text is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(text)


def write_package(root: Path, files: Mapping[str, str | None], name: str = "app") -> Path:
    """The package `name` under `root` (an empty `__init__.py`) holding `files` (file
    name -> text; None: no such file). Returns its folder."""
    package = root / name
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    for file, text in files.items():
        write_or_remove(package / file, text)
    return package


def finding_places(run_result: RunResult) -> list[tuple[str, int]]:
    """(file name, line) of each finding, in the run's order."""
    return [(Path(f.path).name, f.line) for f in run_result.findings]


def warm_and_cold(
    root: Path, config: Config, edit: Callable[[], None]
) -> tuple[RunResult, RunResult]:
    """Check `root` (filling the cache), `edit` the project, then check it warm and cold and
    assert both give the same findings. Returns (the first run, the cold run)."""
    first = check([root], config, jobs=1)
    edit()
    warm = check([root], config, jobs=1)
    cold = check([root], config, jobs=1, use_cache=False)
    assert not any(r.from_cache for r in cold.results)
    assert [f.to_json() for f in warm.findings] == [f.to_json() for f in cold.findings]
    return first, cold


def expectations(path: Path, root: Path, rules: Iterable[str] | None = None) -> set[Expectation]:
    wanted = set(rules) if rules is not None else None
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    found: set[Expectation] = set()
    for file in files:
        display = file.resolve().relative_to(root.resolve()).as_posix()
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            match = _EXPECT.search(line)
            if match is None:
                continue
            for code in re.split(r"\s*,\s*", match.group("codes")):
                if wanted is None or code in wanted:
                    found.add((display, number, code))
    return found


def reported(run_result: RunResult, rules: Iterable[str] | None = None) -> set[Expectation]:
    wanted = set(rules) if rules is not None else None
    return {
        (f.path, f.line, f.rule)
        for f in run_result.findings
        if not f.suppressed and (wanted is None or f.rule in wanted)
    }


def check_fixture(
    path: Path, rule: str, options: Mapping[str, Any] | None = None
) -> tuple[set[Expectation], set[Expectation]]:
    """(expected, reported) for one fixture file or directory, running only `rule`."""
    root = path.parent
    user: dict[str, Any] = {"select": [rule]}
    if options:
        user["rules"] = {rule: dict(options)}
    # Each fixture is a project of its own: its siblings are no context of it.
    result = run([path], root, project_context=False, **user)
    if result.errors:
        raise AssertionError(f"fixture did not analyse cleanly: {result.errors}")
    return expectations(path, root, [rule]), reported(result, [rule])
