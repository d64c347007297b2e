"""Prometheus metrics on a per-app registry (several apps can live in one test process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
        self.shed = Counter(
            "ml_shed_total",
            "Requests refused by admission control",
            ["reason"],
            registry=self.registry,
        )
        self.operation_seconds = Histogram(
            "ml_op_seconds", "Worker time per request kind", ["kind"], registry=self.registry
        )
        self.timeouts = Counter(
            "ml_op_timeouts_total", "Operations killed at their deadline", registry=self.registry
        )
        self.worker_restarts = Counter(
            "ml_worker_restarts_total",
            "Worker processes replaced after a kill or crash",
            registry=self.registry,
        )
        self.ready = Gauge("ml_ready", "1 when the service accepts work", registry=self.registry)
