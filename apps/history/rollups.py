"""Per-sensor rollups at 1 minute, 1 hour and 1 day, and reads that always include the newest data.

This module decides the back end by `SHOW timescaledb.license`; everything above it reads the
relations readings_1m/1h/1d, which have the same columns on both editions:

- `timescale` (Community edition, production's Docker image): hierarchical continuous aggregates
  with refresh, compression and retention policies, see apps/history/continuous.py.
- `apache` (the edition these machines build): the back end below.

Apache-edition back end (what `SHOW timescaledb.license` says on these machines): plain
hypertables readings_1m/1h/1d refreshed incrementally by `refresh()` (Celery beat):

1. Raise `threshold` to the new watermark W (a minute boundary REFRESH_LAG behind now) in a short
   transaction of its own. The ingest reads the threshold FOR SHARE in each batch and logs any
   reading older than it in rollup_invalidation; the UPDATE waits for batches in flight, so every
   reading is either visible to step 2 or logged for the next refresh.
2. In one transaction: re-aggregate the minutes [materialized, W) from raw, plus the minutes of the
   logged (backfilled) ranges only; then the hours and days those minutes touch, each from the
   level below; set materialized = W.

Reads (`buckets`) take each level's complete buckets from its table and the rest from the next
finer level, down to the raw readings after W, so the newest reading is always visible.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.history import continuous
from apps.telemetry import hooks
from apps.telemetry.hooks import StoredBatch

REFRESH_LAG = timedelta(minutes=1)
REFRESH_LOCK = 0x5CADA_0001  # pg_advisory_xact_lock key of the rollup refresh


@dataclass(frozen=True)
class Level:
    name: str
    table: str
    width: timedelta
    interval: str  # for SQL


MINUTE = Level("1m", "readings_1m", timedelta(minutes=1), "1 minute")
HOUR = Level("1h", "readings_1h", timedelta(hours=1), "1 hour")
DAY = Level("1d", "readings_1d", timedelta(days=1), "1 day")
LEVELS = (MINUTE, HOUR, DAY)
BY_NAME = {level.name: level for level in LEVELS}


def license() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW timescaledb.license")
        return cursor.fetchone()[0]


@functools.cache
def uses_continuous_aggregates() -> bool:
    """True on the Community edition: TimescaleDB's policies refresh, compress and drop; the
    Celery tasks and the backfill log of this module stand aside. (Cached: a server's edition
    does not change under a running process.)"""
    return license() == "timescale"


def floor(t: datetime, width: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=t.tzinfo)
    return t - (t - epoch) % width


# -- ingest: log backfills into rolled-up time ---------------------------------------------------------


@hooks.in_transaction
def log_backfill(batch: StoredBatch) -> None:
    if not batch.readings or uses_continuous_aggregates():  # TimescaleDB logs invalidations itself
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT extract(epoch FROM threshold)::float8 FROM rollup_state WHERE id = 1 FOR SHARE")
        threshold = cursor.fetchone()[0]
        if threshold is None:
            return
        ranges: dict[int, list[float]] = {}
        for sensor_id, t, _, _ in batch.readings:
            if t < threshold:
                span = ranges.get(sensor_id)
                if span is None:
                    ranges[sensor_id] = [t, t]
                elif t < span[0]:
                    span[0] = t
                elif t > span[1]:
                    span[1] = t
        if ranges:
            cursor.execute(
                "INSERT INTO rollup_invalidation (sensor_id, low, high)"
                " SELECT s, to_timestamp(l), to_timestamp(h) FROM unnest(%s::bigint[], %s::float8[], %s::float8[]) AS u(s, l, h)",
                [list(ranges), [r[0] for r in ranges.values()], [r[1] for r in ranges.values()]],
            )


# -- refresh ------------------------------------------------------------------------------------------

_FROM_RAW = """
INSERT INTO readings_1m AS r (sensor_id, bucket, sum, count, min, max, first, first_time, last, last_time)
SELECT sensor_id, time_bucket('1 minute', time), sum(value), count(*), min(value), max(value),
       first(value, time), min(time), last(value, time), max(time)
  FROM readings WHERE {where}
 GROUP BY 1, 2
ON CONFLICT (sensor_id, bucket) DO UPDATE SET sum = EXCLUDED.sum, count = EXCLUDED.count, min = EXCLUDED.min,
    max = EXCLUDED.max, first = EXCLUDED.first, first_time = EXCLUDED.first_time, last = EXCLUDED.last,
    last_time = EXCLUDED.last_time
"""

_FROM_LEVEL = """
INSERT INTO {target} AS r (sensor_id, bucket, sum, count, min, max, first, first_time, last, last_time)
SELECT sensor_id, time_bucket('{interval}', bucket), sum(sum), sum(count), min(min), max(max),
       first(first, first_time), min(first_time), last(last, last_time), max(last_time)
  FROM {source} WHERE {where}
 GROUP BY 1, 2
ON CONFLICT (sensor_id, bucket) DO UPDATE SET sum = EXCLUDED.sum, count = EXCLUDED.count, min = EXCLUDED.min,
    max = EXCLUDED.max, first = EXCLUDED.first, first_time = EXCLUDED.first_time, last = EXCLUDED.last,
    last_time = EXCLUDED.last_time
"""


def refresh(now: datetime | None = None) -> datetime | None:
    """Bring the rollups up to a minute boundary REFRESH_LAG behind `now`; returns the new watermark."""
    watermark = floor((now or timezone.now()) - REFRESH_LAG, MINUTE.width)
    if uses_continuous_aggregates():
        continuous.refresh({level.table: floor(watermark, level.width) for level in LEVELS})
        return watermark
    with transaction.atomic(), connection.cursor() as cursor:  # step 1: short, waits for batches in flight
        cursor.execute("SELECT materialized FROM rollup_state WHERE id = 1 FOR UPDATE")
        materialized = cursor.fetchone()[0]
        if materialized is not None and watermark <= materialized:
            watermark = materialized
        # Never lowered: a slower concurrent refresh must not let backfills below a newer threshold go unlogged.
        cursor.execute(
            "UPDATE rollup_state SET threshold = greatest(coalesce(threshold, %s), %s) WHERE id = 1",
            [watermark, watermark],
        )
    with transaction.atomic(), connection.cursor() as cursor:  # step 2
        # One refresh at a time, without locking rollup_state (the ingest reads it in every batch).
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK])
        cursor.execute("SELECT materialized FROM rollup_state WHERE id = 1")
        materialized = cursor.fetchone()[0]
        if materialized is None:
            cursor.execute("SELECT min(time) FROM readings")
            oldest = cursor.fetchone()[0]
            materialized = floor(oldest, DAY.width) if oldest else watermark
        watermark = max(watermark, materialized)  # a refresh that got further meanwhile is never undone
        cursor.execute("DELETE FROM rollup_invalidation RETURNING sensor_id, low, high")
        backfills = cursor.fetchall()
        # (sensor or None for all, start, end) ranges of raw time to re-aggregate, per level aligned
        spans = [(None, materialized, watermark)] if watermark > materialized else []
        spans += [(sensor_id, low, high + timedelta(microseconds=1)) for sensor_id, low, high in backfills]
        for level, below in ((MINUTE, None), (HOUR, MINUTE), (DAY, HOUR)):
            for sensor_id, start, end in spans:
                start = floor(start, level.width)
                end = floor(end - timedelta(microseconds=1), level.width) + level.width
                if level is not MINUTE:
                    end = min(end, floor(watermark, level.width))  # only complete buckets of this level
                    if end <= start:
                        continue
                else:
                    end = min(end, watermark)
                column = "time" if below is None else "bucket"
                where = f"{column} >= %s AND {column} < %s" + (" AND sensor_id = %s" if sensor_id else "")
                params = [start, end] + ([sensor_id] if sensor_id else [])
                if below is None:
                    cursor.execute(_FROM_RAW.format(where=where), params)
                else:
                    cursor.execute(
                        _FROM_LEVEL.format(
                            target=level.table, source=below.table, interval=level.interval, where=where
                        ),
                        params,
                    )
        cursor.execute("UPDATE rollup_state SET materialized = %s WHERE id = 1", [watermark])
    return watermark


# -- reads --------------------------------------------------------------------------------------------


def materialized() -> datetime | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT materialized FROM rollup_state WHERE id = 1")
        return cursor.fetchone()[0]


def buckets(
    sensor_ids: list[int], start: datetime, end: datetime, resolution: str, width: timedelta | None = None
) -> list[tuple]:
    """(sensor_id, bucket, avg, min, max, count) for [start, end), buckets of `resolution` (1m/1h/1d).

    Complete buckets come from the resolution's table; the rest from the finer tables and, after
    the watermark, from the raw readings, all re-aggregated exactly (sum/count, min, max)."""
    level = BY_NAME[resolution]
    width = width or level.width  # a multiple of the level's width: buckets made of whole level buckets
    start = floor(start, width)  # whole buckets: the first one may begin before `start`
    # Only table names and intervals of LEVELS are formatted into the SQL; values are parameters.
    parts, params = [], []
    seconds = int(width.total_seconds())
    bucket = f"time_bucket(make_interval(secs => {seconds}), {{column}}, origin => 'epoch'::timestamptz)"
    if uses_continuous_aggregates():
        # Real-time aggregation already unions materialized buckets with the levels below.
        boundaries = [(level, end)]
    else:
        watermark = materialized()
        boundaries = (
            []
            if watermark is None
            else [(lv, floor(watermark, lv.width)) for lv in reversed(LEVELS) if lv.width <= level.width]
        )
    low = start
    for lv, boundary in boundaries:  # coarsest first: each level up to its own complete buckets
        high = min(boundary, end)
        if high > low:
            parts.append(
                f"SELECT sensor_id, {bucket.format(column='bucket')} AS b, sum, count, min, max FROM {lv.table}"  # noqa: S608
                " WHERE sensor_id = ANY(%s) AND bucket >= %s AND bucket < %s"
            )
            params += [sensor_ids, low, high]
            low = high
    if end > low:
        parts.append(
            f"SELECT sensor_id, {bucket.format(column='time')} AS b, value, 1, value, value FROM readings"  # noqa: S608
            " WHERE sensor_id = ANY(%s) AND time >= %s AND time < %s"
        )
        params += [sensor_ids, low, end]
    if not parts:
        return []
    sql = (
        "SELECT sensor_id, b, sum(sum) / sum(count), min(min), max(max), sum(count)::bigint FROM ("  # noqa: S608
        + " UNION ALL ".join(parts)
        + ") AS p (sensor_id, b, sum, count, min, max) GROUP BY sensor_id, b ORDER BY sensor_id, b"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# -- retention ----------------------------------------------------------------------------------------


def apply_retention(now: datetime | None = None) -> dict[str, int]:
    """Drop whole chunks older than the retention of raw readings and of the rollups; returns how
    many chunks each relation lost. (Community edition: retention policies do it; nothing here.)"""
    if uses_continuous_aggregates():
        return {}
    now = now or timezone.now()
    keep = {"readings": settings.HISTORY_RAW_RETENTION_DAYS}
    keep.update({level.table: settings.HISTORY_ROLLUP_RETENTION_DAYS for level in LEVELS})
    dropped = {}
    with connection.cursor() as cursor:
        for table, days in keep.items():
            cursor.execute(
                "SELECT count(*) FROM drop_chunks(%s, older_than => %s)", [table, now - timedelta(days=days)]
            )
            dropped[table] = cursor.fetchone()[0]
    return dropped
