"""Prometheus metrics of one server: requests, latency, errors, rows, the loaded model.

A registry per app (not prometheus_client's global one), so several apps in one process (tests)
do not collide. Label children are cached: ``labels()`` is a dict lookup under a lock, and a
request should pay for it once per distinct label set, not per call.
"""

from __future__ import annotations

from typing import Any

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            disable_created_metrics,
        )

        disable_created_metrics()  # no *_created series: noise for a scraper

        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "mlspec_requests",
            "Requests answered, by endpoint and HTTP status",
            ["endpoint", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "mlspec_request_duration_seconds",
            "Time from request to reply, by endpoint",
            ["endpoint"],
            buckets=BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "mlspec_request_errors",
            "Requests answered with an error, by endpoint and error code",
            ["endpoint", "code"],
            registry=r,
        )
        self.rows = Counter("mlspec_rows_scored", "Rows scored", registry=r)
        self.model_version = Gauge(
            "mlspec_model_version",
            "Version of the model being served (-1: a bundle directory)",
            ["model"],
            registry=r,
        )
        self.model_info = Gauge(
            "mlspec_model_info",
            "The model being served (value 1)",
            ["model", "version", "model_digest"],
            registry=r,
        )
        self.reloads = Counter(
            "mlspec_model_reloads",
            "Model reloads, by result (swapped, unchanged, failed)",
            ["result"],
            registry=r,
        )
        self.log_dropped = Counter(
            "mlspec_request_log_dropped",
            "Scored rows not logged because the log queue was full",
            registry=r,
        )
        self._req: dict[tuple[str, int], Any] = {}
        self._lat: dict[str, Any] = {}
        self._err: dict[tuple[str, str], Any] = {}

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        key = (endpoint, status)
        child = self._req.get(key)
        if child is None:
            child = self._req[key] = self.requests.labels(endpoint, str(status))
        child.inc()
        lat = self._lat.get(endpoint)
        if lat is None:
            lat = self._lat[endpoint] = self.latency.labels(endpoint)
        lat.observe(seconds)

    def error(self, endpoint: str, code: str) -> None:
        key = (endpoint, code)
        child = self._err.get(key)
        if child is None:
            child = self._err[key] = self.errors.labels(endpoint, code)
        child.inc()

    def set_model(self, name: str, version: int | None, digest: str) -> None:
        self.model_version.labels(name).set(-1 if version is None else version)
        self.model_info.clear()
        self.model_info.labels(name, "" if version is None else str(version), digest).set(1)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)
