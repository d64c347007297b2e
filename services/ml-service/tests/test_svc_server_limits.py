"""Body-size limits against a real uvicorn: 413 before parsing, also for chunked bodies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ml_service.limits import MIB
from ml_service.testing import ServiceProcess, read_http_response

pytestmark = pytest.mark.server

LIMIT = 10 * MIB


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with ServiceProcess(Path(tmp_path_factory.mktemp("limits"))) as running:
        yield running


async def send_chunks(writer: asyncio.StreamWriter, total: int, chunk_size: int) -> None:
    """Streams a chunked body; the server may hang up early, which is the point."""
    chunk = b"[" * chunk_size
    try:
        for _ in range(total // chunk_size):
            writer.write(b"%x\r\n%s\r\n" % (chunk_size, chunk))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    except ConnectionError:
        return


@pytest.mark.asyncio
async def test_declared_oversized_body_is_refused_without_reading_it(
    service: ServiceProcess,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    try:
        writer.write(
            b"POST /v1/cluster HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (LIMIT + MIB)
        )
        await writer.drain()
        async with asyncio.timeout(10):
            status, headers, body = await read_http_response(reader)
    finally:
        writer.close()
    assert status == 413
    assert json.loads(body)["error"]["code"] == "body_too_large"
    assert headers["x-request-id"]


@pytest.mark.asyncio
async def test_chunked_oversized_body_is_cut_off(service: ServiceProcess) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    try:
        writer.write(
            b"POST /v1/cluster HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sender = asyncio.create_task(send_chunks(writer, LIMIT + 2 * MIB, 64 * 1024))
        async with asyncio.timeout(30):
            status, headers, body = await read_http_response(reader)
            await sender
    finally:
        writer.close()
    assert status == 413
    assert json.loads(body)["error"]["request_id"] == headers["x-request-id"]


def padded_kmeans_body(size: int) -> bytes:
    payload = json.dumps(
        {
            "algorithm": "kmeans",
            "n_clusters": 2,
            "data": [[float(i), float(i % 7)] for i in range(200)],
        }
    ).encode()
    return payload + b" " * (size - len(payload))


@pytest.mark.asyncio
async def test_body_of_exactly_the_limit_is_accepted_and_one_more_byte_is_not(
    service: ServiceProcess,
) -> None:
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
        accepted = await client.post(
            "/v1/cluster", content=padded_kmeans_body(LIMIT), headers=headers
        )
        refused = await client.post(
            "/v1/cluster", content=padded_kmeans_body(LIMIT + 1), headers=headers
        )
    assert accepted.status_code == 200
    assert len(accepted.json()["labels"]) == 200
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "body_too_large"


@pytest.mark.asyncio
async def test_chunked_body_under_the_limit_is_accepted(service: ServiceProcess) -> None:
    body = padded_kmeans_body(64 * 1024)

    async def stream() -> object:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
        response = await client.post(
            "/v1/cluster", content=stream(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 200


@pytest.mark.asyncio
async def test_logs_are_json_and_never_contain_data_values(service: ServiceProcess) -> None:
    marker = 271828.1828459
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
        ok = await client.post(
            "/v1/cluster", json={"algorithm": "kmeans", "data": [[marker], [1.0]], "n_clusters": 1}
        )
        invalid = await client.post(
            "/v1/cluster", json={"algorithm": "kmeans", "data": [[marker], [1.0, marker]]}
        )
    assert (ok.status_code, invalid.status_code) == (200, 422)
    log_text = await asyncio.to_thread(service.log_path.read_text)
    records = [json.loads(line) for line in log_text.splitlines() if line.strip()]
    assert any(record.get("request_id") == invalid.headers["x-request-id"] for record in records)
    assert str(marker) not in log_text
    assert "271828" not in log_text
