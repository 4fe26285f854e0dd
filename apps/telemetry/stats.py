"""Ingest figures: kept by each worker, shared through Redis, read by health and system/status."""

from __future__ import annotations

import json
import time
from collections import Counter, deque
from typing import Any

import redis
from django.conf import settings

WINDOW = 10.0  # seconds the rates and latencies are computed over
TTL = 30  # seconds a worker's figures stay visible after its last report


def _key_prefix() -> str:
    # Per database, so a test run and a demo on one machine do not see each other's workers.
    return f"scadapro:{settings.DATABASES['default']['NAME']}:ingest:"


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class IngestStats:
    """Rolling figures of one ingest worker."""

    def __init__(self, client_id: str):
        self.client_id = client_id
        self.started = time.time()
        self.batches: deque[tuple[float, int, int, float, float]] = (
            deque()
        )  # at, readings, messages, commit ms, wait ms
        self.readings_total = 0
        self.messages_total = 0
        self.duplicates_total = 0
        self.rejected: Counter = Counter()

    def record(
        self, readings: int, inserted: int, messages: int, commit_ms: float, oldest_wait_ms: float, rejected: Counter
    ) -> None:
        now = time.time()
        self.batches.append((now, readings, messages, commit_ms, oldest_wait_ms))
        while self.batches and self.batches[0][0] < now - WINDOW:
            self.batches.popleft()
        self.readings_total += inserted
        self.duplicates_total += readings - inserted
        self.messages_total += messages
        self.rejected.update(rejected)

    def snapshot(self, buffered: int, database_ok: bool, mqtt_connected: bool) -> dict[str, Any]:
        now = time.time()
        recent = [b for b in self.batches if b[0] >= now - WINDOW]
        span = min(WINDOW, max(now - self.started, 1e-3))
        return {
            "client_id": self.client_id,
            "updated": now,
            "readings_per_s": round(sum(b[1] for b in recent) / span, 1),
            "messages_per_s": round(sum(b[2] for b in recent) / span, 1),
            "batches": len(recent),
            "batch_size_avg": round(sum(b[1] for b in recent) / len(recent), 1) if recent else 0,
            "batch_size_max": max((b[1] for b in recent), default=0),
            "commit_ms_p50": _percentile([b[3] for b in recent], 0.5),
            "commit_ms_p99": _percentile([b[3] for b in recent], 0.99),
            "receive_to_commit_ms_max": max((b[4] for b in recent), default=None),
            "readings_total": self.readings_total,
            "duplicates_total": self.duplicates_total,
            "messages_total": self.messages_total,
            "rejected": dict(self.rejected),
            "buffered": buffered,
            "database_ok": database_ok,
            "mqtt_connected": mqtt_connected,
        }


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def publish(snapshot: dict[str, Any]) -> None:
    client = _redis()
    try:
        client.set(_key_prefix() + snapshot["client_id"], json.dumps(snapshot), ex=TTL)
    finally:
        client.close()


def withdraw(client_id: str) -> None:
    """A worker that stops cleanly leaves the list at once (a crashed one after TTL seconds)."""
    client = _redis()
    try:
        client.delete(_key_prefix() + client_id)
    finally:
        client.close()


def read_all() -> list[dict[str, Any]]:
    """The figures of every ingest worker that reported in the last TTL seconds."""
    client = _redis()
    try:
        keys = sorted(client.scan_iter(match=_key_prefix() + "*", count=100))
        return [json.loads(raw) for raw in client.mget(keys) if raw] if keys else []
    finally:
        client.close()
