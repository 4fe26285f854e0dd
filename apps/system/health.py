"""Health checks of the services ScadaPRO depends on."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.db import connection

from apps.telemetry.services import ingest_figures
from scadapro.mqtt import connect_blocking, make_client

CHECK_TIMEOUT = 2.0


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
        row = cursor.fetchone()
        detail: dict[str, Any] = {"timescaledb": row[0] if row else None}
        if row:
            cursor.execute("SHOW timescaledb.license")
            detail["timescaledb_license"] = cursor.fetchone()[0]
        cursor.execute("SHOW server_version")
        detail["postgresql"] = cursor.fetchone()[0]
    if not row:
        raise RuntimeError("the timescaledb extension is not installed in the database")
    return detail


def check_redis() -> dict[str, Any]:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
    )
    try:
        client.ping()
        return {"version": client.info("server").get("redis_version")}
    finally:
        client.close()


def check_mqtt() -> dict[str, Any]:
    client = make_client(f"scadapro-health-{time.monotonic_ns()}")
    try:
        connect_blocking(client, timeout=CHECK_TIMEOUT)
    finally:
        client.disconnect()
        client.loop_stop()
    return {}


def check_ingest() -> dict[str, Any]:
    """At least one ingest worker reported in the last 30 s, and each can reach the database."""
    figures = ingest_figures()
    if not figures["workers"]:
        raise RuntimeError("no ingest worker has reported in the last 30 s (is `manage.py ingest` running?)")
    stuck = [w["client_id"] for w in figures["workers"] if not w["database_ok"] or not w["mqtt_connected"]]
    if stuck:
        raise RuntimeError(f"ingest worker(s) without database or broker: {', '.join(stuck)}")
    return figures


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": check_database,
    "redis": check_redis,
    "mqtt": check_mqtt,
    "ingest": check_ingest,
}


def run_checks() -> dict[str, Any]:
    """{"status": "ok"|"degraded", "checks": {name: {"ok", "latency_ms", ...}}}."""
    results: dict[str, Any] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            result = {"ok": True, **check()}
        except Exception as exc:  # every failure is a finding to report, not a crash
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        results[name] = result
    status = "ok" if all(r["ok"] for r in results.values()) else "degraded"
    return {"status": status, "checks": results}
