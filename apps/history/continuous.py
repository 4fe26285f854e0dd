"""Community-edition back end of the rollups (`SHOW timescaledb.license` = timescale).

readings_1m/1h/1d become hierarchical continuous aggregates (1m <- readings, 1h <- 1m, 1d <- 1h)
with the same columns as the Apache edition's tables, so every read above apps.history.rollups
is the same SQL on both editions. Real-time aggregation (materialized_only = false) answers the
buckets after each aggregate's watermark from the level below, so the newest reading is visible.
TimescaleDB's own invalidation log re-materializes only the buckets a backfill touches.

Policies follow the settings and are (re)applied after every `migrate` (apps.py):
- refresh every ROLLUP_REFRESH_INTERVAL seconds, over the source's retention period (a refresh
  window reaching past it would delete rollups whose raw chunks retention already dropped);
- compression of raw chunks older than HISTORY_COMPRESS_AFTER_DAYS (segmented by sensor);
- retention: raw HISTORY_RAW_RETENTION_DAYS, each aggregate HISTORY_ROLLUP_RETENTION_DAYS.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)

# (view, source relation, bucket interval). The 1m level aggregates raw values; coarser levels
# re-aggregate the level below exactly (sum/count, min/max, first/last).
VIEWS = (
    ("readings_1m", "readings", "1 minute"),
    ("readings_1h", "readings_1m", "1 hour"),
    ("readings_1d", "readings_1h", "1 day"),
)

_FROM_RAW = """
SELECT sensor_id, time_bucket('{interval}', time) AS bucket, sum(value) AS sum, count(*) AS count,
       min(value) AS min, max(value) AS max, first(value, time) AS first, min(time) AS first_time,
       last(value, time) AS last, max(time) AS last_time
  FROM readings GROUP BY sensor_id, time_bucket('{interval}', time)
"""

_FROM_LEVEL = """
SELECT sensor_id, time_bucket('{interval}', bucket) AS bucket, sum(sum) AS sum, sum(count)::bigint AS count,
       min(min) AS min, max(max) AS max, first(first, first_time) AS first, min(first_time) AS first_time,
       last(last, last_time) AS last, max(last_time) AS last_time
  FROM {source} GROUP BY sensor_id, time_bucket('{interval}', bucket)
"""


def create_sql() -> list[str]:
    """The three aggregates, created empty (the first refresh policy run fills them)."""
    statements = []
    for view, source, interval in VIEWS:
        query = (_FROM_RAW if source == "readings" else _FROM_LEVEL).format(interval=interval, source=source)
        statements.append(
            f"CREATE MATERIALIZED VIEW {view}"
            " WITH (timescaledb.continuous, timescaledb.materialized_only = false)"
            f" AS {query} WITH NO DATA"
        )
        # Reads filter by sensor and time range; the default index is (bucket) only.
        statements.append(f"CREATE INDEX {view}_sensor_bucket ON {view} (sensor_id, bucket)")
    return statements


def ensure(cursor) -> None:
    """After every `migrate` on the Community edition: the rollups are continuous aggregates and
    their policies follow the settings.

    Migration history.0001 creates rollup tables (the Apache shape, which runs on either edition);
    here they are replaced by the aggregates, on a new database as on one that moves from an
    Apache build to the Community edition. Nothing is lost: the tables hold only what the
    aggregates compute again from the raw readings at their first policy run."""
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass('readings_1m')")
    row = cursor.fetchone()
    if row is None:  # the history migrations are not applied (yet, or any more)
        return
    if row[0] == "r":
        log.warning("history: replacing the rollup tables by continuous aggregates (Community edition)")
        for view, *_ in VIEWS:
            cursor.execute(f"DROP TABLE {view}")
        for statement in create_sql():
            cursor.execute(statement)
    apply_policies(cursor)


def apply_policies(cursor) -> None:
    """Compression, refresh and retention policies from the settings; idempotent."""
    raw_days = settings.HISTORY_RAW_RETENTION_DAYS
    rollup_days = settings.HISTORY_ROLLUP_RETENTION_DAYS
    every = f"{settings.ROLLUP_REFRESH_INTERVAL} seconds"
    cursor.execute(
        "ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'sensor_id',"
        " timescaledb.compress_orderby = 'time DESC')"
    )
    cursor.execute("SELECT remove_compression_policy('readings', if_exists => true)")
    cursor.execute(
        "SELECT add_compression_policy('readings', compress_after => make_interval(days => %s))",
        [settings.HISTORY_COMPRESS_AFTER_DAYS],
    )
    source_days = {"readings": raw_days, "readings_1m": rollup_days, "readings_1h": rollup_days}
    for view, source, interval in VIEWS:
        cursor.execute("SELECT remove_continuous_aggregate_policy(%s, if_exists => true)", [view])
        # end_offset: one bucket, so only complete buckets are materialized (real-time does the rest).
        cursor.execute(
            "SELECT add_continuous_aggregate_policy(%s, start_offset => make_interval(days => %s),"
            " end_offset => %s::interval, schedule_interval => %s::interval)",
            [view, source_days[source], interval, every],
        )
    for relation, days in (("readings", raw_days), *((view, rollup_days) for view, *_ in VIEWS)):
        cursor.execute("SELECT remove_retention_policy(%s, if_exists => true)", [relation])
        cursor.execute("SELECT add_retention_policy(%s, drop_after => make_interval(days => %s))", [relation, days])


def refresh(ends: dict[str, datetime]) -> None:
    """Materialize each aggregate up to its end (view -> a bucket boundary), lowest level first
    (the policies do this on their schedule; tests and the benchmark call it). Outside a
    transaction: TimescaleDB refuses otherwise.

    Each window reaches at least to what the aggregate already holds: a level whose policy ran
    before the level below it was materialized has the difference in its invalidation log, and
    only a window that covers it re-aggregates it."""
    if not connection.get_autocommit() or connection.in_atomic_block:
        raise RuntimeError("refresh_continuous_aggregate cannot run inside a transaction block")
    with connection.cursor() as cursor:
        for view, *_ in VIEWS:
            cursor.execute(
                "SELECT greatest(%s, _timescaledb_functions.to_timestamp("
                "_timescaledb_functions.cagg_watermark(mat_hypertable_id)))"
                " FROM _timescaledb_catalog.continuous_agg WHERE user_view_name = %s",
                [ends[view], view],
            )
            end = cursor.fetchone()[0]
            cursor.execute("CALL refresh_continuous_aggregate(%s, NULL, %s)", [view, end])
