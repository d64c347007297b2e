"""SIGTERM against a real uvicorn: not ready at once, in-flight work finishes, no orphans."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import httpx
import numpy as np
import psutil
import pytest

from ml_service.testing import ServiceProcess

pytestmark = pytest.mark.server

GRACE_SECONDS = 10.0


def slow_kmeans() -> bytes:
    data = np.random.default_rng(0).normal(size=(3000, 48)).round(4).tolist()
    return json.dumps(
        {"algorithm": "kmeans", "data": data, "n_clusters": 60, "n_init": 10}
    ).encode()


async def poll_metric(client: httpx.AsyncClient, line: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if line in (await client.get("/metrics")).text:
            return True
        await asyncio.sleep(0.02)
    return False


async def poll_status(client: httpx.AsyncClient, path: str, status: int, seconds: float) -> float:
    """Seconds until ``path`` answers ``status``; raises if that does not happen in time."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if (await client.get(path)).status_code == status:
            return time.monotonic() - started
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} never answered {status}")


@pytest.mark.asyncio
async def test_sigterm_drains_in_flight_work_and_leaves_no_orphans(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    service = service_factory(
        "shutdown",
        ML_SERVICE_DRAIN_DELAY_SECONDS="1.0",
        ML_SERVICE_SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS),
        ML_SERVICE_KMEANS_MAX_COST=str(10**13),
    )
    descendants = {child.pid for child in psutil.Process(service.pid).children(recursive=True)}
    assert len(descendants) >= 3  # forkserver, resource tracker, workers

    async with (
        httpx.AsyncClient(base_url=service.base_url, timeout=30) as worker_client,
        httpx.AsyncClient(base_url=service.base_url, timeout=5) as probe_client,
    ):
        in_flight = asyncio.create_task(
            worker_client.post(
                "/v1/cluster", content=slow_kmeans(), headers={"content-type": "application/json"}
            )
        )
        assert await poll_metric(probe_client, "ml_inflight 1.0", 10), "work never started"
        service.terminate()
        await poll_status(probe_client, "/readyz", 503, 5.0)
        assert "ml_inflight 1.0" in (await probe_client.get("/metrics")).text
        refused = await probe_client.post(
            "/v1/cluster", json={"algorithm": "kmeans", "data": [[1.0]], "n_clusters": 1}
        )
        assert refused.status_code == 503
        assert int(refused.headers["retry-after"]) >= 1
        assert (await probe_client.get("/livez")).status_code == 200
        finished = await in_flight

    assert finished.status_code == 200
    assert len(finished.json()["labels"]) == 3000
    returncode = await asyncio.to_thread(service.wait_exit, GRACE_SECONDS + 10)
    # A drained SIGTERM is a clean exit (uvicorn alone would re-raise it: status 143).
    assert returncode == 0
    deadline = time.monotonic() + 10
    alive = {pid for pid in descendants if psutil.pid_exists(pid)}
    while alive and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        alive = {pid for pid in alive if psutil.pid_exists(pid)}
    assert not alive, f"orphaned processes: {alive}"
    assert '"message": "stopped"' in service.log_tail(20)


@pytest.mark.asyncio
async def test_readyz_reports_a_broken_worker_pool(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    service = service_factory("broken-pool")
    forkserver = next(
        child
        for child in psutil.Process(service.pid).children()
        if any("forkserver" in part for part in child.cmdline())
    )
    workers = forkserver.children()
    # With the forkserver gone no replacement worker can be started.
    for process in (forkserver, *workers):
        process.kill()
    async with httpx.AsyncClient(base_url=service.base_url, timeout=5) as client:
        await poll_status(client, "/readyz", 503, 15.0)
        refused = await client.post(
            "/v1/cluster", json={"algorithm": "kmeans", "data": [[1.0]], "n_clusters": 1}
        )
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "unavailable"
        assert (await client.get("/livez")).status_code == 200
