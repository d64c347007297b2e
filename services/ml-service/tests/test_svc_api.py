"""API behaviour in-process (httpx ASGITransport + lifespan, real worker processes)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from ml_service.logging_setup import JsonFormatter
from ml_service.testing import ALLOWED_ORIGIN, TEST_API_KEY, make_settings

SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
MARKER = 987654.3219876
AUTH = {"X-API-Key": TEST_API_KEY}


def rows(seed: int, n: int = 40, d: int = 3, scale: float = 1.0) -> list[list[float]]:
    return (np.random.default_rng(seed).normal(size=(n, d)) * scale).tolist()


def assert_envelope(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "request_id", "details"}
    assert error["request_id"] == response.headers["x-request-id"]
    if code is not None:
        assert error["code"] == code
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    return error


@pytest.mark.asyncio
async def test_kmeans_and_dbscan_chosen_by_field(client: httpx.AsyncClient) -> None:
    data = [[1.0, 1.0], [1.1, 1.0], [9.0, 9.0], [9.1, 9.0]]
    kmeans = await client.post(
        "/v1/cluster", json={"algorithm": "kmeans", "data": data, "n_clusters": 2}
    )
    assert kmeans.status_code == 200
    body = kmeans.json()
    assert body["algorithm"] == "kmeans"
    assert body["labels"][0] == body["labels"][1] != body["labels"][2] == body["labels"][3]
    assert len(body["centers"]) == 2
    dbscan = await client.post(
        "/v1/cluster", json={"algorithm": "dbscan", "data": data, "eps": 0.5, "min_samples": 2}
    )
    assert dbscan.status_code == 200
    assert dbscan.json()["n_clusters"] == 2
    assert dbscan.json()["noise_points"] == 0
    for name, value in SECURITY_HEADERS.items():
        assert kmeans.headers[name] == value


@pytest.mark.asyncio
async def test_anomaly_flags_the_outlier(client: httpx.AsyncClient) -> None:
    data = [*rows(1, n=60), [50.0, 50.0, 50.0]]
    response = await client.post(
        "/v1/anomaly",
        json={
            "algorithm": "isolation_forest",
            "data": data,
            "n_estimators": 50,
            "contamination": 0.02,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["labels"][-1] == -1
    assert len(body["scores"]) == len(data)


@pytest.mark.asyncio
async def test_batch_returns_one_result_or_error_per_item(client: httpx.AsyncClient) -> None:
    operations = [
        {"algorithm": "kmeans", "data": rows(1), "n_clusters": 3},
        {"algorithm": "kmeans", "data": [[1.0]], "n_clusters": 2},
        {"algorithm": "dbscan", "data": rows(2)},
        {"algorithm": "isolation_forest", "data": rows(3), "n_estimators": 10},
    ]
    response = await client.post("/v1/batch", json={"operations": operations})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [item["index"] for item in results] == [0, 1, 2, 3]
    assert [item["status"] for item in results] == ["ok", "error", "ok", "ok"]
    assert results[1]["error"]["code"] == "too_few_rows"
    assert results[3]["result"]["algorithm"] == "isolation_forest"


@pytest.mark.asyncio
async def test_batch_over_100_operations_is_422(client: httpx.AsyncClient) -> None:
    operation = {"algorithm": "kmeans", "data": [[MARKER]], "n_clusters": 1}
    response = await client.post("/v1/batch", json={"operations": [operation] * 101})
    error = assert_envelope(response, 422, "validation_error")
    assert {"loc": ["operations"], "type": "too_long"} in error["details"]


@pytest.mark.parametrize(
    "payload",
    [
        {"algorithm": "kmeans", "data": [[MARKER] * 1001], "n_clusters": 1},
        {"algorithm": "kmeans", "data": [[MARKER]], "n_clusters": 101},
        {"algorithm": "kmeans", "data": [[MARKER], [MARKER, MARKER]]},
        {"algorithm": "kmeans", "data": [[MARKER, "NaN"]]},
        {"algorithm": "kmeans", "data": [[MARKER]], "leaked_key_name": str(MARKER)},
        {"algorithm": f"x{MARKER}", "data": [[MARKER]]},
    ],
)
@pytest.mark.asyncio
async def test_422_never_echoes_input(client: httpx.AsyncClient, payload: dict) -> None:
    response = await client.post("/v1/cluster", json=payload)
    assert_envelope(response, 422, "validation_error")
    assert len(response.content) < 4096
    assert str(MARKER) not in response.text
    assert "leaked_key_name" not in response.text


@pytest.mark.asyncio
async def test_nan_literal_in_raw_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/cluster",
        content=b'{"algorithm":"kmeans","data":[[1.0],[NaN]]}',
        headers={"content-type": "application/json"},
    )
    error = assert_envelope(response, 422)
    assert error["details"] == [{"loc": ["kmeans", "data", 1, 0], "type": "finite_number"}]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
@pytest.mark.asyncio
async def test_non_json_bodies_are_refused(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    body = json.dumps({"algorithm": "kmeans", "data": [[1.0]], "n_clusters": 1}).encode()
    headers = {} if content_type is None else {"content-type": content_type}
    response = await client.post("/v1/cluster", content=body, headers=headers)
    assert_envelope(response, 415, "unsupported_media_type")
    accepted = await client.post(
        "/v1/cluster", content=body, headers={"content-type": "application/json; charset=utf-8"}
    )
    assert accepted.status_code == 200


@pytest.mark.asyncio
async def test_dbscan_cost_budget_is_422(make_client: Callable, tmp_path: Path) -> None:
    client = await make_client(make_settings(tmp_path / "models", dbscan_max_cost=1000))
    response = await client.post(
        "/v1/cluster", json={"algorithm": "dbscan", "data": rows(1, n=100)}
    )
    assert_envelope(response, 422, "input_too_costly")


@pytest.mark.asyncio
async def test_unknown_route_and_method_use_the_envelope(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/nope"), 404, "not_found")
    assert_envelope(await client.get("/v1/cluster"), 405, "method_not_allowed")


@pytest.mark.asyncio
async def test_unhandled_error_is_generic_500_with_headers(
    make_client: Callable, caplog: pytest.LogCaptureFixture
) -> None:
    def add_failing_route(api: FastAPI) -> None:
        @api.get("/boom")
        def boom() -> None:
            raise RuntimeError("secret internal detail /etc/passwd")

    client = await make_client(customize=add_failing_route)
    response = await client.get("/boom")
    error = assert_envelope(response, 500, "internal_error")
    assert error["message"] == "Internal server error"
    assert "secret" not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text
    # The traceback goes to the server log, as one JSON record tied to the request id.
    logged = [record for record in caplog.records if record.exc_info]
    assert len(logged) == 1
    entry = json.loads(JsonFormatter().format(logged[0]))
    assert entry["request_id"] == response.headers["x-request-id"]
    assert "RuntimeError" in entry["exception"]


@pytest.mark.asyncio
async def test_request_id_is_kept_when_uuid_and_replaced_otherwise(
    client: httpx.AsyncClient,
) -> None:
    incoming = str(uuid.uuid4())
    kept = await client.get("/livez", headers={"X-Request-ID": incoming})
    assert kept.headers["x-request-id"] == incoming
    replaced = await client.get("/livez", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert uuid.UUID(replaced.headers["x-request-id"])


@pytest.mark.asyncio
async def test_cors_allows_only_the_configured_origin(client: httpx.AsyncClient) -> None:
    allowed = await client.get("/livez", headers={"Origin": ALLOWED_ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    foreign = await client.get("/livez", headers={"Origin": "https://evil.example.net"})
    assert "access-control-allow-origin" not in foreign.headers
    preflight = await client.options(
        "/v1/cluster",
        headers={"Origin": "https://evil.example.net", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert_envelope(preflight, 400, "cors_preflight_rejected")
    allowed_preflight = await client.options(
        "/v1/cluster",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert allowed_preflight.status_code == 200
    assert allowed_preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


@pytest.mark.asyncio
async def test_privacy_result_is_bit_identical_alone_after_and_interleaved(
    make_client: Callable, tmp_path: Path
) -> None:
    request_a = {"algorithm": "kmeans", "data": rows(7, n=80, d=5, scale=1e6), "n_clusters": 6}
    request_b = {"algorithm": "kmeans", "data": rows(8, n=80, d=5), "n_clusters": 4}
    fresh = await make_client()
    alone = (await fresh.post("/v1/cluster", json=request_b)).content
    # A deep queue so that every interleaved request is admitted rather than shed.
    deep_queue = make_settings(tmp_path / "models", queue_size=200, queue_wait_seconds=60)
    client = await make_client(deep_queue)
    assert (await client.post("/v1/cluster", json=request_a)).status_code == 200
    after_a = (await client.post("/v1/cluster", json=request_b)).content
    assert after_a == alone
    interleaved = await asyncio.gather(
        *(client.post("/v1/cluster", json=request) for request in [request_a, request_b] * 50)
    )
    b_results = {response.content for response in interleaved[1::2]}
    assert {response.status_code for response in interleaved} == {200}
    assert b_results == {alone}


@pytest.mark.asyncio
async def test_model_roundtrip_and_tamper_refusal(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    created = await client.post(
        "/v1/models", json={"data": rows(1, n=80), "n_estimators": 25}, headers=AUTH
    )
    assert created.status_code == 201
    model = created.json()
    model_id = model["model_id"]
    score_url = f"/v1/models/{model_id}/score"
    scored = await client.post(score_url, json={"data": [[0.0, 0.0, 0.0], [40.0, 40.0, 40.0]]})
    assert scored.status_code == 200
    assert scored.json()["labels"] == [1, -1]

    assert_envelope(
        await client.post(score_url, json={"data": [[0.0, 0.0]]}), 422, "feature_mismatch"
    )
    unknown = f"/v1/models/{uuid.uuid4().hex}/score"
    assert_envelope(await client.post(unknown, json={"data": [[0.0]]}), 404, "model_not_found")
    bad_id = await client.post("/v1/models/..%2F..%2Fetc/score", json={"data": [[0.0]]})
    assert bad_id.status_code in {404, 422}

    model_dir = tmp_path / "models"
    archive = model_dir / f"{model_id}.skops"
    original = await asyncio.to_thread(archive.read_bytes)
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0x01
    await asyncio.to_thread(archive.write_bytes, bytes(flipped))
    error = assert_envelope(await client.post(score_url, json={"data": [[0.0] * 3]}), 409)
    assert error["code"] == "model_integrity_error"
    await asyncio.to_thread(archive.write_bytes, original)

    signature = model_dir / f"{model_id}.sig"
    await asyncio.to_thread(signature.write_bytes, b"0" * 64)
    assert_envelope(
        await client.post(score_url, json={"data": [[0.0] * 3]}), 409, "model_integrity_error"
    )

    assert (await client.get("/readyz")).status_code == 200
    again = await client.post(
        "/v1/cluster", json={"algorithm": "kmeans", "data": rows(2), "n_clusters": 2}
    )
    assert again.status_code == 200


@pytest.mark.asyncio
async def test_model_signed_with_another_key_is_refused(
    make_client: Callable, tmp_path: Path
) -> None:
    first = await make_client()
    created = await first.post(
        "/v1/models", json={"data": rows(1), "n_estimators": 5}, headers=AUTH
    )
    model_id = created.json()["model_id"]
    other_key = make_settings(tmp_path / "models", model_signing_key="another-key-" + "o" * 40)
    second = await make_client(other_key)
    response = await second.post(f"/v1/models/{model_id}/score", json={"data": [[0.0] * 3]})
    assert_envelope(response, 409, "model_integrity_error")


@pytest.mark.asyncio
async def test_health_metrics_and_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/livez")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}
    await client.post("/v1/cluster", json={"algorithm": "kmeans", "data": [[1.0]], "n_clusters": 1})
    metrics = (await client.get("/metrics")).text
    for name in (
        "http_requests_total",
        "ml_op_seconds",
        "ml_admission_rejections_total",
        "ml_queue_depth",
        "ml_busy_workers",
        "ml_model_store_bytes",
        "ml_inflight",
        "ml_ready 1.0",
    ):
        assert name in metrics
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert {"ClusterRequest", "BatchRequest", "KMeansParams", "ErrorEnvelope"} <= set(schemas)
    batch = schemas["BatchRequest"]["properties"]["operations"]
    assert batch["maxItems"] == 100
    assert json.dumps(document).count("maxItems") >= 5
