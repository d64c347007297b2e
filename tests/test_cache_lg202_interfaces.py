"""A warm run gives the cold run's LG202 findings when a class of another module starts
or stops fixing an async interface (`async_interfaces.fixed_async_methods`): a sibling
that awaits in the method, or a base that defines it `async def`. The classes that fix
a module's interfaces are part of what its findings depend on, though the module never
calls them."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.testing import (
    finding_places,
    make_config,
    warm_and_cold,
    write_or_remove,
    write_package,
)

BASE = """\
class Session:
    def __init__(self, name: str) -> None:
        self.name = name
"""
ASYNC_BASE = """\
class Session:
    async def close(self) -> None:
        return None
"""
HTTP = """\
import numpy as np

from app.base import Session


class HttpSession(Session):
    async def close(self) -> None:
        self.summary = np.zeros(4)
"""
AWAITING = """\
from app.base import Session


class SocketSession(Session):
    async def close(self) -> None:
        await self.flush()

    async def flush(self) -> None:
        return None
"""
NOT_AWAITING = """\
from app.base import Session


class SocketSession(Session):
    async def close(self) -> None:
        return None
"""
# (base, sibling module) before and after: None = the sibling does not exist
EDITS = {
    "sibling_added": ((BASE, None), (BASE, AWAITING)),
    "sibling_removed": ((BASE, AWAITING), (BASE, None)),
    "sibling_starts_awaiting": ((BASE, NOT_AWAITING), (BASE, AWAITING)),
    "sibling_stops_awaiting": ((BASE, AWAITING), (BASE, NOT_AWAITING)),
    "base_defines_it": ((BASE, None), (ASYNC_BASE, None)),
    "base_drops_it": ((ASYNC_BASE, None), (BASE, None)),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_warm_equals_cold(tmp_path: Path, edit: str) -> None:
    (base_before, sibling_before), (base_after, sibling_after) = EDITS[edit]
    pkg = write_package(
        tmp_path, {"base.py": base_before, "http.py": HTTP, "socket_session.py": sibling_before}
    )

    def edit_files() -> None:
        write_or_remove(pkg / "base.py", base_after)
        write_or_remove(pkg / "socket_session.py", sibling_after)

    config = make_config(tmp_path, select=["LG202"])
    first, cold = warm_and_cold(tmp_path, config, edit_files)
    for run, (base, sibling) in ((first, EDITS[edit][0]), (cold, EDITS[edit][1])):
        fixed = sibling is AWAITING or base is ASYNC_BASE
        assert finding_places(run) == ([] if fixed else [("http.py", 7)])
