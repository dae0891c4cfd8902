"""Prometheus metrics, one registry per app (several apps can share a process in tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "depemu_requests",
            "Requests served, by surface (dep, abm, control, ops), endpoint, status and MDM server.",
            ["surface", "endpoint", "status", "server"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "depemu_request_duration_seconds",
            "Time to answer a request, by surface and endpoint.",
            ["surface", "endpoint"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.faults = Counter(
            "depemu_faults_fired",
            "Scripted faults that answered a request, by endpoint and kind (see /emulator/v1/faults).",
            ["endpoint", "kind"],
            registry=self.registry,
        )
        self.throttles = Counter(
            "depemu_throttled",
            "Requests refused by a traffic rule (429/503 with Retry-After), by endpoint and rule.",
            ["endpoint", "rule"],
            registry=self.registry,
        )
        self.feed_lag = Gauge(
            "depemu_feed_lag_events",
            "Events on an MDM server's feed that its client had not synced, as of its last sync here.",
            ["server"],
            registry=self.registry,
        )
        self.errors = Counter(
            "depemu_dep_errors",
            "Apple-surface error answers by code (the bare body, e.g. EXPIRED_CURSOR).",
            ["endpoint", "code"],
            registry=self.registry,
        )

        # labels() takes a lock and validates its values on every call (~6 us each, two per
        # request); the children it returns are kept here too, so a repeat is one dict lookup.
        # Bounded as prometheus' own children are: one per label combination seen.
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def child(self, metric: MetricWrapperBase, *values: str) -> Any:
        """`metric.labels(*values)`, looked up once per combination."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found

    def watch_pool(self, engine: Any) -> None:
        self.registry.register(_PoolCollector(engine))

    def watch_hot_pool(self, pool: Any) -> None:
        self.registry.register(_HotPoolCollector(pool))


class _PoolCollector(Collector):
    """The database connection pool, read at scrape time."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self.engine.pool
        gauge = GaugeMetricFamily(
            "depemu_db_pool_connections", "Database pool connections by state.", labels=["state"]
        )
        for state, reader in (("checked_out", "checkedout"), ("idle", "checkedin"), ("overflow", "overflow")):
            value = getattr(pool, reader, None)
            if callable(value):
                gauge.add_metric([state], float(value()))
        yield gauge


class _HotPoolCollector(Collector):
    """The feed and traffic middleware's asyncpg pool (dep_emulator.core.driver), read at scrape time."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "depemu_hot_pool_connections",
            "Connections of the feed and traffic-bookkeeping pool by state.",
            labels=["state"],
        )
        size, idle = self.pool.get_size(), self.pool.get_idle_size()
        gauge.add_metric(["in_use"], float(size - idle))
        gauge.add_metric(["idle"], float(idle))
        yield gauge
