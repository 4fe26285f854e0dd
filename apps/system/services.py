"""Figures about ScadaPRO itself, for the status topics and the health endpoint."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone

from apps.system.health import run_checks


def system_status() -> dict[str, Any]:
    report = run_checks()
    ingest = report["checks"]["ingest"]
    return {
        "time": timezone.now().isoformat(),
        "status": report["status"],
        "services": {name: check["ok"] for name, check in report["checks"].items()},
        "ingest": {
            "workers": len(ingest.get("workers", [])),
            "readings_per_s": ingest.get("readings_per_s"),
            "newest_reading_age_s": ingest.get("newest_reading_age_s"),
            "rejected": ingest.get("rejected"),
            "commit_ms_p99": max((w["commit_ms_p99"] or 0 for w in ingest.get("workers", [])), default=None),
            "batch_size_avg": [w["batch_size_avg"] for w in ingest.get("workers", [])],
        },
    }


def postgresql_status() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pg_database_size(current_database()),
                   (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()),
                   current_setting('max_connections')::int,
                   approximate_row_count('readings'),
                   hypertable_size('readings'),
                   (SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'readings'),
                   (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'),
                   current_setting('timescaledb.license')
            """
        )
        row = cursor.fetchone()
    keys = (
        "database_bytes", "connections", "max_connections", "readings_approx", "readings_bytes",
        "readings_chunks", "timescaledb", "timescaledb_license",
    )  # fmt: skip
    return dict(zip(keys, row, strict=True))
