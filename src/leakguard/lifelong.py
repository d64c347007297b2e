"""Objects made once for the life of the process (modules, classes, LibCST's parser).

Start-up and the analysis's lazy import make tens of thousands of objects that live as
long as the process. The cyclic garbage collector would traverse them again and again
while they are made, and at every later collection, in this process and in each worker
forked from it: it is off while they are made, and they are then frozen out of its
passes (`gc.freeze`). Nothing here imports anything: a warm run's start-up uses it.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    T = TypeVar("T")


def made_for_life(make: Callable[[], T]) -> T:
    """`make()`, with the collector off meanwhile and what it made frozen after (left as
    it is when the collector is already off: the caller manages it)."""
    if not gc.isenabled():
        return make()
    gc.disable()
    try:
        return make()
    finally:
        gc.freeze()
        gc.enable()
