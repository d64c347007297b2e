"""Process-wide service state: the worker pool, admission control and shutdown draining."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from ml_service import model_store
from ml_service.access import ApiKeys, TokenBuckets
from ml_service.limits import Limits
from ml_service.metrics import Metrics
from ml_service.model_store import ModelStoreConfig
from ml_service.pool import Admission, UploadBudget, WorkerPool
from ml_service.settings import Settings, ephemeral_signing_key
from ml_service.worker import TaskSpec

logger = logging.getLogger("ml_service.runtime")

WORKER_STOP_SECONDS = 5.0
# Below this, discarding an unread body is cheaper than making the client reconnect, so a
# refusal keeps the connection open; above it (or when chunked), the connection is closed.
SMALL_BODY_BYTES = 1024 * 1024
ABORT_ANSWER_SECONDS = 2.0
SignalHandler = Callable[[int, FrameType | None], object]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why new work is refused at once (503), before its body is read."""

    reason: str
    code: str
    message: str
    retry_after: int

    def headers(self, declared_length: int | None) -> dict[str, str]:
        headers = {"Retry-After": str(self.retry_after)}
        if declared_length is None or declared_length > SMALL_BODY_BYTES:
            # The body is left unread; closing spares the server receiving and discarding it.
            headers["Connection"] = "close"
        return headers


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.limits: Limits = settings.limits()
        signing_key = settings.signing_key_bytes()
        if signing_key is None:
            logger.warning("no model signing key configured; stored models verify until restart")
            signing_key = ephemeral_signing_key()
        self.store = ModelStoreConfig(
            directory=settings.model_dir,
            signing_key=signing_key,
            max_model_bytes=settings.max_model_bytes,
            max_models=settings.model_store_max_models,
            max_store_bytes=settings.model_store_max_bytes,
            ttl_seconds=settings.model_ttl_seconds,
        )
        self.metrics.track_store(lambda: model_store.usage(self.store))
        self.api_keys = ApiKeys([key.get_secret_value().encode() for key in settings.api_keys])
        self.rate_limits = TokenBuckets(
            settings.rate_limit_per_second,
            settings.rate_limit_burst,
            settings.rate_limit_max_clients,
        )
        self.admission = Admission(
            settings.workers, settings.queue_size, settings.queue_wait_seconds
        )
        self.uploads = UploadBudget(
            settings.max_concurrent_uploads, settings.max_upload_bytes_in_flight
        )
        self.pool: WorkerPool | None = None
        self.ready = False
        self.draining = False
        # Set when the shutdown grace period is over: in-flight work is stopped and its
        # requests answered 503, before the server would cancel them.
        self.aborting = asyncio.Event()
        self._grace_ends = 0.0
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.pool = WorkerPool(self.settings)
        warm_up = TaskSpec(kind="warm_up", body=b"", limits=self.limits)
        timeout = self.settings.startup_timeout_seconds
        async with asyncio.timeout(timeout):
            # Fail start-up, not the first POST /v1/models, if the model directory is unusable.
            await asyncio.to_thread(self.store.directory.mkdir, parents=True, exist_ok=True)
            # The first schedule starts the forkserver and forks the workers: blocking.
            futures = await asyncio.to_thread(
                lambda: [
                    self._pool().submit(warm_up, timeout) for _ in range(self.settings.workers)
                ]
            )
            await asyncio.gather(*(asyncio.wrap_future(future) for future in futures))
        self._sweeper = asyncio.create_task(self._sweep_expired_models())
        self.ready = True
        self.metrics.ready.set(1)
        logger.info("ready", extra={"workers": self.settings.workers})

    async def _sweep_expired_models(self) -> None:
        interval = self.settings.model_sweep_interval_seconds
        while True:
            try:
                removed = await asyncio.to_thread(model_store.sweep, self.store)
            except OSError:
                logger.exception("model store sweep failed")
            else:
                if removed:
                    logger.info("expired models deleted", extra={"models": removed})
            await asyncio.sleep(interval)

    def refusal(self) -> Refusal | None:
        """The 503 a new compute request gets now, if any (shared by the edge and routes)."""
        if not self.accepting_work:
            return Refusal("not_ready", "unavailable", "Service is not accepting work", 1)
        if self.admission.is_full():
            return self.overloaded("queue_full")
        return None

    def overloaded(self, reason: str) -> Refusal:
        return Refusal(
            reason,
            "overloaded",
            "Too many requests in progress",
            self.admission.retry_after_seconds(),
        )

    @property
    def accepting_work(self) -> bool:
        return self.ready and not self.draining and self.pool is not None and self.pool.active

    def _pool(self) -> WorkerPool:
        if self.pool is None:
            raise RuntimeError("worker pool not started")
        return self.pool

    def begin_drain(self) -> None:
        if not self.draining:
            logger.info("draining: refusing new work, finishing in-flight work")
            # One grace period per shutdown, however many steps wait on it.
            self._grace_ends = time.monotonic() + self.settings.shutdown_grace_seconds
        self.draining = True
        self.ready = False
        self.metrics.ready.set(0)

    def report_in_flight(self) -> None:
        self.metrics.in_flight.set(self.admission.in_flight)
        self.metrics.queue_depth.set(self.admission.queued)
        self.metrics.busy_workers.set(self.admission.busy)
        self.metrics.uploads.set(self.uploads.uploading)
        self.metrics.upload_bytes.set(self.uploads.bytes_held)

    async def wait_idle_within_grace(self) -> bool:
        """Waits for in-flight work to finish, until the drain's grace period ends."""
        remaining = max(0.0, self._grace_ends - time.monotonic())
        return await self.admission.wait_idle(remaining)

    async def drain(self) -> None:
        """Waits for in-flight work until the grace period ends, then stops what is left."""
        if await self.wait_idle_within_grace():
            return
        logger.warning("grace period over; stopping in-flight work")
        self.aborting.set()
        # Aborted requests answer at once; give them a moment to send their 503s.
        await self.admission.wait_idle(ABORT_ANSWER_SECONDS)

    async def stop(self) -> None:
        self.begin_drain()
        await self.drain()
        if self._sweeper is not None:
            self._sweeper.cancel()
        pool, self.pool = self.pool, None
        if pool is not None:
            # stop() terminates the workers; the join only waits for pebble's threads.
            async with asyncio.timeout(WORKER_STOP_SECONDS + 5):
                await asyncio.to_thread(pool.stop, WORKER_STOP_SECONDS)
        logger.info("stopped")


class SigtermDrain:
    """Turns the server's SIGTERM into: /readyz 503, drain, then the server's own exit.

    Installed only when a server (uvicorn) already handles SIGTERM in this thread; its
    handler is kept and called once draining is done, so uvicorn's graceful shutdown
    (close listeners, finish connections, lifespan shutdown) then runs as usual.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._previous: SignalHandler | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):
            return
        self._previous = previous
        self._loop = asyncio.get_running_loop()
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
        if self._task is not None:
            self._task.cancel()

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._begin)

    def _begin(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain_then_exit())
        elif self._previous is not None:
            # A second SIGTERM: the operator insists, hand over to the server at once.
            self._previous(signal.SIGTERM, None)

    async def _drain_then_exit(self) -> None:
        settings = self.runtime.settings
        self.runtime.begin_drain()
        # Keep answering (readiness 503) long enough for load balancers to notice.
        await asyncio.sleep(settings.drain_delay_seconds)
        await self.runtime.drain()
        if self._previous is not None:
            self._previous(signal.SIGTERM, None)
