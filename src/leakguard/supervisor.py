"""Crash isolation and per-file budgets: run one function over many files in worker
processes so that no single file can take the run down or hold it up.

The engine calls `run_isolated` for every phase that parses files. Each file is one task
in a `pebble.ProcessPool`:

* a worker that dies (a segfault or abort in LibCST's native parser, the kernel's OOM
  killer) costs only the file it was running: pebble replaces the worker, the task's
  future fails with `ProcessExpired`, and the file is retried once, alone, in a fresh
  process (a long-lived worker's own heap could have been what hit the memory limit);
* when a worker dies before pebble has learnt which task it took, pebble gives up the
  whole pool ("All workers expired") and fails every pending task: those files get one
  fresh pool, then each a process of its own, so the crash is still blamed on its file
  and no other file is lost;
* a file that runs longer than the time budget is stopped (pebble kills the worker and
  starts a new one) and reported;
* the memory budget is an address-space limit (`RLIMIT_AS`) set in each worker, so an
  allocation over it fails inside that worker only;
* workers ignore SIGINT (the supervisor, not each worker, decides what Ctrl-C does) and
  die with their parent (`PR_SET_PDEATHSIG`), so an interrupted run leaves no orphans
  holding the output pipe open.

Why pebble rather than `concurrent.futures.ProcessPoolExecutor` or an own supervisor:
the executor has no per-task timeout and marks the whole pool broken when one worker
dies, losing every pending result; pebble is a small, maintained library that does
exactly per-task timeouts and per-task crash reporting over `multiprocessing`, which an
own supervisor would have to re-implement (worker replacement, result channels, timers).

One task per file (no chunking) keeps the failure unit a single file; the per-task cost
(one pickled message each way) is small next to parsing a file with LibCST.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Generator, Iterator
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_MIB = 1024 * 1024


def _configure_pebble() -> None:
    """pebble is imported when a run first needs workers (not at all when every file
    comes from the cache: it imports asyncio and threading machinery, ~30 ms)."""
    import pebble

    # pebble's pool threads poll every `sleep_unit` (0.1 s by default), and closing a
    # pool waits for the next poll: twice per run (facts, then findings) that was ~0.2 s
    # of a one-file run. Polling a pipe every 20 ms costs nothing measurable.
    pebble.CONSTS.sleep_unit = 0.02


class Budget(NamedTuple):
    """Limits for one file's analysis. `memory_mb` 0 means no memory limit. (Not a
    dataclass: a warm run imports this module, see `leakguard.finding`.)"""

    seconds: float
    memory_mb: int = 0


def run_isolated(
    function: Callable[[T], R],
    items: list[T],
    *,
    workers: int,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
    budget: Budget,
    on_failure: Callable[[T, str], R],
    weight: Callable[[T], float] | None = None,
) -> Iterator[tuple[int, R]]:
    """`function` over `items` in worker processes: each item's index in `items` with
    its result, every item once.

    With `weight` (an estimate of an item's cost), the heaviest items are started
    first: idle workers take the tasks in the order they were scheduled, and a heavy
    file taken last keeps one worker busy while the others wait. Results come in the
    order the tasks were scheduled (about the order they finish, so the caller handles
    each result while the workers go on), then those of crashed items.

    A task that crashes its worker, exceeds the budget or fails inside pebble yields
    `on_failure(item, message)` instead; the other items are unaffected. Exceptions
    raised by `function` itself are not caught here: `function` is expected to turn its
    own errors into results (an unexpected one still becomes `on_failure`).
    """
    if not items:
        return
    _configure_pebble()
    setup = (budget.memory_mb, initializer, initargs)
    order = list(range(len(items)))
    if weight is not None:
        # `sort` calls the key once per item; `reverse` keeps ties in their order.
        order.sort(key=lambda index: weight(items[index]), reverse=True)
    crashes, lost = yield from _one_pool(function, items, order, workers, setup, budget, on_failure)
    if lost:
        # pebble gives up the whole pool ("All workers expired") when a worker dies
        # before the pool has learnt which task it took: no verdict on those files, so
        # they get one more pool; lost again, each is retried alone.
        crashed, lost = yield from _one_pool(
            function, items, lost, workers, setup, budget, on_failure
        )
        crashes = [*crashes, *crashed, *lost]
    # Retries fork only now, from a process whose pool threads are gone: forking while
    # they hold a lock deadlocks the child now and then.
    for index in crashes:
        yield index, _retry_alone(function, items[index], setup, budget, on_failure)


def _one_pool(
    function: Callable[[T], R],
    items: list[T],
    order: list[int],
    workers: int,
    setup: tuple[int, Callable[..., None], tuple[Any, ...]],
    budget: Budget,
    on_failure: Callable[[T, str], R],
) -> Generator[tuple[int, R], None, tuple[list[int], list[int]]]:
    """One pebble pool over the items at `order`: yields what it settles and returns
    the indexes of items whose worker died and of those pebble gave up with the whole
    pool, for the caller to retry."""
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures.process import BrokenProcessPool

    from pebble import ProcessExpired, ProcessPool

    crashes: list[int] = []
    lost: list[int] = []
    pool = ProcessPool(
        max_workers=max(1, min(workers, len(order))), initializer=_setup_worker, initargs=setup
    )
    try:
        futures = [
            (index, pool.schedule(function, (items[index],), timeout=budget.seconds))
            for index in order
        ]
        for index, future in futures:
            item = items[index]
            try:
                result = future.result()
            except FutureTimeout:
                result = on_failure(item, over_time(budget))
            except ProcessExpired:
                crashes.append(index)
                continue
            except BrokenProcessPool:
                lost.append(index)
                continue
            except MemoryError:
                result = on_failure(item, over_memory(budget))
            except Exception as exc:  # e.g. a result that cannot be pickled back
                result = on_failure(item, _internal(exc))
            yield index, result
    finally:
        # Normal end, an exception, KeyboardInterrupt or SIGTERM in the consumer: no
        # worker outlives the run.
        pool.stop()  # type: ignore[no-untyped-call]
        with contextlib.suppress(Exception):
            pool.join(timeout=5)
    return crashes, lost


def _retry_alone(
    function: Callable[[T], R],
    item: T,
    setup: tuple[int, Callable[..., None], tuple[Any, ...]],
    budget: Budget,
    on_failure: Callable[[T, str], R],
) -> R:
    """Run `item` once more in a process of its own: only a crash that repeats there is
    blamed on the file."""
    from concurrent.futures import TimeoutError as FutureTimeout

    from pebble import ProcessExpired, concurrent

    _configure_pebble()
    isolated = concurrent.process(timeout=budget.seconds)(_run_alone)
    try:
        result: R = isolated(setup, function, item).result()
        return result
    except FutureTimeout:
        return on_failure(item, over_time(budget))
    except ProcessExpired as crash:
        return on_failure(item, crashed(crash.exitcode, budget))
    except MemoryError:
        return on_failure(item, over_memory(budget))
    except Exception as exc:
        return on_failure(item, _internal(exc))


def _run_alone(
    setup: tuple[int, Callable[..., None], tuple[Any, ...]], function: Callable[[T], R], item: T
) -> R:
    _setup_worker(*setup)
    return function(item)


def _internal(exc: BaseException) -> str:
    return f"internal error (please report): {type(exc).__name__}: {exc}"


def over_time(budget: Budget) -> str:
    return (
        f"analysis stopped: over the time budget of {budget.seconds:g} s per file "
        "(raise file-timeout in the configuration to allow more)"
    )


def over_memory(budget: Budget) -> str:
    return (
        f"analysis stopped: over the memory budget of {budget.memory_mb} MiB per file "
        "(raise file-memory-mb in the configuration to allow more)"
    )


def crashed(exitcode: int | None, budget: Budget) -> str:
    if exitcode is None or exitcode >= 0:
        return f"analysis process exited unexpectedly (status {exitcode}); file not checked"
    number = -exitcode
    try:
        name = f", {signal.Signals(number).name}"
    except ValueError:
        name = ""
    message = f"parser crashed (signal {number}{name}); file not checked"
    if budget.memory_mb and number in (signal.SIGABRT, signal.SIGKILL):
        # Native code aborts (Rust) or the kernel kills when an allocation fails.
        message += f"; it may need more than the memory budget of {budget.memory_mb} MiB"
    return message


def _setup_worker(
    memory_mb: int, initializer: Callable[..., None], initargs: tuple[Any, ...]
) -> None:
    # Ctrl-C reaches the whole process group; the parent stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    if memory_mb:
        _limit_memory(memory_mb * _MIB)
    # Deep but valid code (long operator chains) recurses through LibCST and the
    # analyses; in a worker a stack overflow costs one file, not the run.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 6000))
    initializer(*initargs)


def _limit_memory(limit: int) -> None:
    try:
        import resource
    except ImportError:  # not on this platform (Windows): no memory budget
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
