"""The supervisor's pool (`leakguard.supervisor.run_isolated`): the heaviest tasks
start first, each result comes with its item's index, and a pool pebble gives up
costs no file."""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pebble
import pytest

from leakguard.supervisor import Budget, run_isolated

_LOG: list[Path] = []


def _remember(log: str) -> None:
    _LOG[:] = [Path(log)]


def _task(item: tuple[str, int]) -> str:
    with _LOG[0].open("a", encoding="utf-8") as log:
        log.write(item[0] + "\n")
    return item[0].upper()


def _failed(item: tuple[str, int], message: str) -> str:
    return f"failed: {item[0]}: {message}"


def test_heaviest_items_start_first_and_results_name_their_item(tmp_path: Path) -> None:
    log = tmp_path / "started.txt"
    items = [("a", 1), ("b", 5), ("c", 3), ("d", 5), ("e", 0)]
    results = list(
        run_isolated(
            _task,
            items,
            workers=1,  # one worker takes the tasks in the order they were scheduled
            initializer=_remember,
            initargs=(str(log),),
            budget=Budget(60),
            on_failure=_failed,
            weight=lambda item: item[1],
        )
    )
    # Ties keep their order (b before d); results come as the tasks were scheduled.
    assert log.read_text(encoding="utf-8").split() == ["b", "d", "c", "a", "e"]
    assert results == [(1, "B"), (3, "D"), (2, "C"), (0, "A"), (4, "E")]


def test_without_weights_items_start_in_order(tmp_path: Path) -> None:
    log = tmp_path / "started.txt"
    items = [("a", 1), ("b", 5), ("c", 3)]
    results = list(
        run_isolated(
            _task,
            items,
            workers=1,
            initializer=_remember,
            initargs=(str(log),),
            budget=Budget(60),
            on_failure=_failed,
        )
    )
    assert results == [(0, "A"), (1, "B"), (2, "C")]
    assert log.read_text(encoding="utf-8").split() == ["a", "b", "c"]


class _PoolGivingUp:
    """Stands in for pebble's pool when it gives up every task at once ("All workers
    expired": a worker died before the pool learnt which task it took)."""

    made = 0

    def __init__(self, **_: object) -> None:
        type(self).made += 1

    def schedule(self, *_: object, **__: object) -> Future[str]:
        future: Future[str] = Future()
        future.set_exception(BrokenProcessPool("All workers expired"))
        return future

    def stop(self) -> None:
        return None

    def join(self, timeout: float) -> None:
        return None


def _pools_giving_up(times: int, monkeypatch: pytest.MonkeyPatch) -> None:
    real = pebble.ProcessPool
    _PoolGivingUp.made = 0

    def pool(**kwargs: object) -> object:
        return _PoolGivingUp() if _PoolGivingUp.made < times else real(**kwargs)

    monkeypatch.setattr(pebble, "ProcessPool", pool)


def _run_three(log: Path) -> list[tuple[int, str]]:
    return sorted(
        run_isolated(
            _task,
            [("a", 1), ("b", 2), ("c", 3)],
            workers=2,
            initializer=_remember,
            initargs=(str(log),),
            budget=Budget(60),
            on_failure=_failed,
        )
    )


def test_a_pool_pebble_gives_up_costs_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pools_giving_up(1, monkeypatch)
    assert _run_three(tmp_path / "started.txt") == [(0, "A"), (1, "B"), (2, "C")]
    assert _PoolGivingUp.made == 1


def test_files_lost_by_two_pools_are_each_retried_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pools_giving_up(2, monkeypatch)
    assert _run_three(tmp_path / "started.txt") == [(0, "A"), (1, "B"), (2, "C")]
    # Two pools gave up; the retries alone ran every task in a process of its own.
    assert _PoolGivingUp.made == 2
    assert sorted((tmp_path / "started.txt").read_text(encoding="utf-8").split()) == ["a", "b", "c"]
