"""Fixtures for the ml-service suite (service-local; the repo root has its own tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from ml_service.app import build_api, wrap_edge
from ml_service.settings import Settings
from ml_service.testing import ServiceProcess, make_settings


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "server: starts a real uvicorn service process")


@pytest_asyncio.fixture
async def make_client(
    tmp_path: Path,
) -> AsyncIterator[Callable[..., object]]:
    """Returns ``open_client(settings, customize)``: an in-process app with real workers."""

    async def open_client(
        settings: Settings | None = None, customize: Callable[[FastAPI], None] | None = None
    ) -> httpx.AsyncClient:
        settings = settings or make_settings(tmp_path / "models")
        api = build_api(settings)
        if customize is not None:
            customize(api)
        manager = await stack.enter_async_context(
            LifespanManager(wrap_edge(api, settings), startup_timeout=60, shutdown_timeout=30)
        )
        return await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False),
                base_url="http://testserver",
                timeout=30,
            )
        )

    async with AsyncExitStack() as stack:
        yield open_client


@pytest_asyncio.fixture
async def client(make_client: Callable[..., object]) -> AsyncIterator[httpx.AsyncClient]:
    opened = await make_client()  # type: ignore[misc]
    yield opened


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """Starts real services (``python -m ml_service`` under uvicorn) and always reaps them."""

    def start(name: str = "svc", **env: str) -> ServiceProcess:
        service = ServiceProcess(tmp_path / name, env)
        stack.callback(service.stop)
        return service.start()

    with ExitStack() as stack:
        yield start
