"""Run the real service (``python -m ml_service``) on a free loopback port, for tests.

Kept in the package, not in ``tests/``, so test modules can import it under any pytest
import mode. Every wait here polls with a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from ml_service.settings import Settings

POLL_SECONDS = 0.05
TEST_API_KEY = "test-api-key-" + "a" * 32
# Load tests send everything from 127.0.0.1; the rate-limit test lowers these itself.
UNLIMITED_RATE = "1000000"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServiceProcess:
    """The service in its own process group, so teardown can reap every descendant."""

    def __init__(self, workdir: Path, env: Mapping[str, str] | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "service.log"
        self.env = {
            **os.environ,
            "ML_SERVICE_HOST": "127.0.0.1",
            "ML_SERVICE_PORT": str(self.port),
            "ML_SERVICE_MODEL_DIR": str(workdir / "models"),
            "ML_SERVICE_MODEL_SIGNING_KEY": "test-signing-key-" + "k" * 32,
            "ML_SERVICE_DRAIN_DELAY_SECONDS": "0",
            "ML_SERVICE_SHUTDOWN_GRACE_SECONDS": "10",
            "ML_SERVICE_API_KEYS": TEST_API_KEY,
            "ML_SERVICE_RATE_LIMIT_PER_SECOND": UNLIMITED_RATE,
            "ML_SERVICE_RATE_LIMIT_BURST": UNLIMITED_RATE,
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("service not started")
        return self.process.pid

    def start(self, ready_timeout: float = 60.0) -> ServiceProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ml_service"],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready(ready_timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"service exited early:\n{self.log_tail()}")
                try:
                    if client.get("/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(POLL_SECONDS)
        raise TimeoutError(f"service not ready in {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_exit(self, timeout: float) -> int:
        if self.process is None:
            raise RuntimeError("service not started")
        return self.process.wait(timeout=timeout)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, wait, then SIGKILL whatever is left of the process group."""
        if self.process is None:
            return
        self.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


ALLOWED_ORIGIN = "https://app.example.com"
UNIT_SIGNING_KEY = "unit-test-signing-key-" + "s" * 32


def make_settings(model_dir: Path, **overrides: object) -> Settings:
    """Settings for in-process tests: explicit CORS origin, fixed key, no drain delay."""
    values: dict[str, object] = {
        "model_dir": model_dir,
        "model_signing_key": UNIT_SIGNING_KEY,
        "cors_origins": [ALLOWED_ORIGIN],
        "drain_delay_seconds": 0,
        "api_keys": [TEST_API_KEY],
        "rate_limit_per_second": int(UNLIMITED_RATE),
        "rate_limit_burst": int(UNLIMITED_RATE),
        **overrides,
    }
    return Settings.model_validate(values)


async def read_http_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """Reads one HTTP/1.1 response with a Content-Length body from a raw stream."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines if line)
    }
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers, body


class KeepAliveClient:
    """A minimal HTTP/1.1 keep-alive client for load tests.

    httpx costs a few milliseconds of CPU per request; on a 2-core machine that CPU is taken
    from the server under test, so high-volume tests use this instead.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> KeepAliveClient:
        await self._connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        status, _, content = await self.exchange(method, path, body)
        return status, content

    async def exchange(
        self, method: str, path: str, body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        if self._reader is None or self._writer is None:
            await self._connect()
        assert self._reader is not None
        assert self._writer is not None
        self._writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await self._writer.drain()
        status, headers, content = await read_http_response(self._reader)
        if headers.get("connection", "").lower() == "close":
            self._writer.close()
            self._reader = self._writer = None
        return status, headers, content


def worker_pids(service: ServiceProcess) -> set[int]:
    """Workers are the forkserver's children (the API process forks nothing itself)."""
    import psutil  # test extra; only these helpers need it

    pids: set[int] = set()
    for child in psutil.Process(service.pid).children(recursive=False):
        if any("forkserver" in part for part in child.cmdline()):
            pids.update(grandchild.pid for grandchild in child.children())
    return pids


def metric_value(exposition: str, name: str) -> float:
    """An unlabelled (or the first labelled) sample of ``name``; fails if not exported."""
    for line in exposition.splitlines():
        sample, _, value = line.rpartition(" ")
        if sample == name or sample.startswith(name + "{"):
            return float(value)
    raise AssertionError(f"{name} not exported")


async def probe(
    base_url: str, path: str, seconds: float, interval: float
) -> list[tuple[int, float]]:
    """(status, latency) of GET ``path`` every ``interval`` s for ``seconds`` s, own connection;
    the connection is opened before the first timed request."""
    results: list[tuple[int, float]] = []
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        await client.get(path)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = await client.get(path)
            results.append((response.status_code, time.perf_counter() - started))
            await asyncio.sleep(interval)
    return results


async def hammer(port: int, body: bytes, seconds: float) -> list[tuple[int, float, str | None]]:
    """One overloading client: (status, latency, Retry-After) per request until the deadline;
    status 0 means the connection was reset."""
    results: list[tuple[int, float, str | None]] = []
    deadline = time.monotonic() + seconds
    async with KeepAliveClient(port) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status, headers, _ = await client.exchange("POST", "/v1/cluster", body)
            except (ConnectionError, asyncio.IncompleteReadError):
                results.append((0, time.perf_counter() - started, None))
                continue
            results.append((status, time.perf_counter() - started, headers.get("retry-after")))
            if status == 503:
                await asyncio.sleep(0.02)  # a polite client backs off a little
    return results


async def overload_clients(
    port: int, body: bytes, seconds: float, clients: int
) -> list[tuple[int, float, str | None]]:
    outcomes = await asyncio.gather(*(hammer(port, body, seconds) for _ in range(clients)))
    return [result for client in outcomes for result in client]
