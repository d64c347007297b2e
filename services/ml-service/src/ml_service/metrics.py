"""Prometheus metrics on a per-app registry (several apps can live in one test process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ml_service.model_store import StoreUsage


class ModelStoreCollector(Collector):
    """Reads the store's size at scrape time (``/metrics`` runs in a worker thread)."""

    def __init__(self, read_usage: Callable[[], StoreUsage]) -> None:
        self._read_usage = read_usage

    def collect(self) -> Iterator[GaugeMetricFamily]:
        usage = self._read_usage()
        yield GaugeMetricFamily(
            "ml_model_store_models", "Signed models in the model store", value=usage.models
        )
        yield GaugeMetricFamily(
            "ml_model_store_bytes", "Bytes of all files in the model store", value=usage.bytes
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "http_requests_total",
            "HTTP responses by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "http_request_duration_seconds",
            "Time from request start to response end",
            ["route"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "ml_inflight", "Operations admitted (running or queued)", registry=self.registry
        )
        self.queue_depth = Gauge(
            "ml_queue_depth", "Admitted operations waiting for a worker", registry=self.registry
        )
        self.busy_workers = Gauge(
            "ml_busy_workers", "Workers running an operation", registry=self.registry
        )
        self.uploads = Gauge(
            "ml_uploads_in_flight", "Request bodies being received", registry=self.registry
        )
        self.upload_bytes = Gauge(
            "ml_upload_bytes_held",
            "Request body bytes reserved or held by the API process",
            registry=self.registry,
        )
        self.rejections = Counter(
            "ml_admission_rejections_total",
            "Requests refused before running: overload, uploads, rate limit, draining",
            ["reason"],
            registry=self.registry,
        )
        self.operation_seconds = Histogram(
            "ml_op_seconds", "Worker time per request kind", ["kind"], registry=self.registry
        )
        self.timeouts = Counter(
            "ml_op_timeouts_total", "Operations killed at their deadline", registry=self.registry
        )
        self.abandoned = Counter(
            "ml_op_abandoned_total",
            "Operations stopped because the client disconnected or shutdown ran out of time",
            registry=self.registry,
        )
        self.worker_restarts = Counter(
            "ml_worker_restarts_total",
            "Worker processes replaced after a kill or crash",
            registry=self.registry,
        )
        self.ready = Gauge("ml_ready", "1 when the service accepts work", registry=self.registry)

    def track_store(self, read_usage: Callable[[], StoreUsage]) -> None:
        self.registry.register(ModelStoreCollector(read_usage))
