"""The supervisor's pool (`leakguard.supervisor.run_isolated`): the heaviest tasks
start first, and each result comes with its item's index."""

from __future__ import annotations

from pathlib import Path

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
