"""API keys for model writes, and per-client rate limiting (token buckets) on ``/v1/``."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from ml_service.errors import REQUEST_ID_SCOPE_KEY
from ml_service.metrics import Metrics
from ml_service.middleware import send_error

API_KEY_HEADER = "X-API-Key"
_API_KEY_HEADER_BYTES = API_KEY_HEADER.lower().encode()
RATE_LIMITED_PREFIX = "/v1/"


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


class ApiKeys:
    """Constant-time matching: presented and configured keys are compared as SHA-256
    digests (equal length, so the comparison leaks neither content nor length), and every
    configured key is compared, so timing does not reveal which one matched."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        self._digests = [_digest(key) for key in keys]

    @property
    def configured(self) -> bool:
        return bool(self._digests)

    def match(self, presented: bytes | None) -> int | None:
        """Index of the matching key, or None."""
        if presented is None:
            return None
        digest = _digest(presented)
        found: int | None = None
        for index, candidate in enumerate(self._digests):
            if hmac.compare_digest(digest, candidate) and found is None:
                found = index
        return found


def presented_key(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == _API_KEY_HEADER_BYTES:
            return bytes(value)
    return None


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One bucket per client; the least recently seen clients are dropped past ``max_clients``
    so the table cannot grow without bound (a dropped client simply starts full again)."""

    def __init__(self, rate: float, burst: int, max_clients: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, client: str, now: float) -> float:
        """0 if a token was taken; otherwise seconds until one is available."""
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[client] = bucket
            if len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(client)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


class RateLimitMiddleware:
    """429 + Retry-After for clients over their rate, before the body is read.

    The key is the API key when a valid one is presented, otherwise the client address
    (an invalid key does not get its own bucket, so rotating junk keys does not help).
    Health and metrics endpoints are not limited.
    """

    def __init__(
        self, app: ASGIApp, buckets: TokenBuckets, api_keys: ApiKeys, metrics: Metrics
    ) -> None:
        self.app = app
        self.buckets = buckets
        self.api_keys = api_keys
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(
            RATE_LIMITED_PREFIX
        ):
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(self._client_key(scope), time.monotonic())
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        self.metrics.rejections.labels("rate_limited").inc()
        await send_error(
            send,
            429,
            "rate_limited",
            "Too many requests from this client",
            str(scope.get(REQUEST_ID_SCOPE_KEY, "")),
            headers=((b"retry-after", str(max(1, math.ceil(wait))).encode()),),
        )

    def _client_key(self, scope: Scope) -> str:
        index = self.api_keys.match(presented_key(scope))
        if index is not None:
            return f"key:{index}"
        client = scope.get("client")
        return f"addr:{client[0]}" if client else "addr:unknown"
