"""Killable worker processes behind an admission limit.

* pebble's ``ProcessPool`` gives each task its own deadline and, on expiry, kills and
  replaces only the worker running it (``concurrent.futures.ProcessPoolExecutor`` can
  only break the whole pool, and its ``max_tasks_per_child`` hangs on Python 3.11).
* Workers fork from a forkserver that preloaded numpy/scikit-learn, so a replacement is
  ready in milliseconds, not seconds.
* ``Admission`` lets ``workers`` operations run and ``queue_size`` wait (for at most
  ``queue_wait_seconds``); anything beyond that is refused at once so the caller can
  answer 503 with ``Retry-After`` instead of piling up work.
* ``UploadBudget`` is claimed before a body is read: it caps how many bodies are being
  received at once and how many body bytes the API process holds, whatever clients send.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager

import pebble

from ml_service.limits import MIB
from ml_service.settings import Settings
from ml_service.worker import TaskOutcome, TaskSpec, initialize_worker, run_task

PRELOAD_MODULES = ["ml_service.worker_preload"]
EWMA_WEIGHT = 0.2


class Overloaded(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WorkerPool:
    def __init__(self, settings: Settings) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD_MODULES)
        self._pool = pebble.ProcessPool(
            max_workers=settings.workers,
            max_tasks=settings.worker_max_tasks,
            initializer=initialize_worker,
            initargs=(settings.worker_memory_limit_mib * MIB, settings.worker_nice),
            context=context,
        )

    @property
    def active(self) -> bool:
        """False once pebble's manager threads have died (e.g. workers cannot be forked)."""
        return bool(self._pool.active)

    def submit(self, spec: TaskSpec, timeout_seconds: float) -> Future[TaskOutcome]:
        """Schedule a task; pebble kills its worker if it runs past ``timeout_seconds``."""
        return self._pool.schedule(run_task, args=(spec,), timeout=timeout_seconds)

    def stop(self, timeout_seconds: float) -> None:
        """Blocking: terminate workers and wait for them. Call off the event loop."""
        self._pool.stop()  # type: ignore[no-untyped-call]
        self._pool.join(timeout=timeout_seconds)


class UploadClaim:
    """Bytes held for one request's body, from before it is read until the response."""

    def __init__(self, budget: UploadBudget, reserved: int) -> None:
        self._budget = budget
        self.reserved = reserved
        self._receiving = True
        self._released = False

    def received(self, actual: int) -> None:
        """The body is in memory: keep only its real size, and free the upload slot."""
        if self._receiving:
            self._receiving = False
            self._budget.uploading -= 1
        self._budget.bytes_held += actual - self.reserved
        self.reserved = actual

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        if self._receiving:
            self._budget.uploading -= 1
        self._budget.bytes_held -= self.reserved


class UploadBudget:
    """At most ``max_uploads`` bodies being received and ``max_bytes`` of bodies held."""

    def __init__(self, max_uploads: int, max_bytes: int) -> None:
        self.max_uploads = max_uploads
        self.max_bytes = max_bytes
        self.uploading = 0
        self.bytes_held = 0

    def claim(self, expected_bytes: int) -> UploadClaim:
        if self.uploading >= self.max_uploads:
            raise Overloaded("uploads_full")
        if self.bytes_held + expected_bytes > self.max_bytes:
            raise Overloaded("upload_bytes_full")
        self.uploading += 1
        self.bytes_held += expected_bytes
        return UploadClaim(self, expected_bytes)


class Admission:
    """At most ``workers`` running and ``queue_size`` waiting; the rest is shed."""

    def __init__(self, workers: int, queue_size: int, max_wait_seconds: float) -> None:
        self._workers = workers
        self._capacity = workers + queue_size
        self._max_wait = max_wait_seconds
        self._running = asyncio.Semaphore(workers)
        self._admitted = 0
        self.busy = 0
        self._average_seconds = 1.0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._admitted

    @property
    def queued(self) -> int:
        return self._admitted - self.busy

    async def wait_idle(self, timeout_seconds: float) -> bool:
        """True once nothing is admitted; False if that did not happen in time."""
        try:
            async with asyncio.timeout(timeout_seconds):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    def is_full(self) -> bool:
        return self._admitted >= self._capacity

    def retry_after_seconds(self) -> int:
        waves = (self._admitted + 1) / self._workers
        return max(1, math.ceil(self._average_seconds * waves))

    def record_duration(self, seconds: float) -> None:
        self._average_seconds += EWMA_WEIGHT * (seconds - self._average_seconds)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.is_full():
            raise Overloaded("queue_full")
        self._admitted += 1
        self._idle.clear()
        try:
            try:
                async with asyncio.timeout(self._max_wait):
                    await self._running.acquire()
            except TimeoutError:
                raise Overloaded("queue_timeout") from None
            self.busy += 1
            try:
                yield
            finally:
                self.busy -= 1
                self._running.release()
        finally:
            self._admitted -= 1
            if self._admitted == 0:
                self._idle.set()
