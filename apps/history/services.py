"""History queries: pick a resolution for a time range and a number of points, then read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from apps.history import rollups
from apps.plant.models import Sensor

RAW = "raw"
RESOLUTIONS = (RAW, *rollups.BY_NAME)  # raw, 1m, 1h, 1d
DEFAULT_POINTS = 1000
MAX_POINTS = 20_000
MAX_SENSORS = 50
MAX_RAW_ROWS = 200_000  # a raw answer larger than this asks for a coarser resolution instead


class BadQuery(ValueError):
    """A history query that cannot be answered; the message says why."""


@dataclass(frozen=True)
class Plan:
    resolution: str  # raw, 1m, 1h or 1d: where the figures come from
    width: timedelta | None  # bucket width (a multiple of the resolution's); None for raw rows


def plan(start: datetime, end: datetime, points: int, resolution: str = "auto") -> Plan:
    """`auto`: buckets of about (end - start) / points, read from the coarsest rollup that fits in
    one bucket (from the raw readings when a bucket would be shorter than a minute).
    `raw`: the readings themselves; `1m`/`1h`/`1d`: that rollup's own buckets."""
    if end <= start:
        raise BadQuery("end must be after start.")
    if not 1 <= points <= MAX_POINTS:
        raise BadQuery(f"points must be between 1 and {MAX_POINTS}.")
    if resolution == RAW:
        return Plan(RAW, None)
    if resolution in rollups.BY_NAME:
        return Plan(resolution, rollups.BY_NAME[resolution].width)
    if resolution != "auto":
        raise BadQuery(f"resolution must be auto or one of {', '.join(RESOLUTIONS)}.")
    wanted = (end - start) / points
    fitting = [level for level in rollups.LEVELS if level.width <= wanted]
    if not fitting:  # buckets shorter than a minute, made from the raw readings (whole seconds)
        return Plan(RAW, timedelta(seconds=max(1, int(wanted.total_seconds()))))
    level = fitting[-1]
    return Plan(level.name, level.width * max(1, int(wanted / level.width)))


def sensor_names(sensor_ids: list[int]) -> dict[int, str]:
    """Sensor id -> MACHINE/SENSOR, as analysts know them."""
    sensors = Sensor.objects.filter(pk__in=sensor_ids).select_related("machine")
    return {s.pk: f"{s.machine.code}/{s.code}" for s in sensors}


def raw(sensor_ids: list[int], start: datetime, end: datetime) -> list[tuple]:
    """(sensor_id, time, value, quality), at most MAX_RAW_ROWS."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sensor_id, time, value, quality FROM readings"
            " WHERE sensor_id = ANY(%s) AND time >= %s AND time < %s ORDER BY sensor_id, time LIMIT %s",
            [sensor_ids, start, end, MAX_RAW_ROWS + 1],
        )
        rows = cursor.fetchall()
    if len(rows) > MAX_RAW_ROWS:
        raise BadQuery(f"More than {MAX_RAW_ROWS:,} raw readings in this range; ask for a coarser resolution.")
    return rows


def raw_buckets(sensor_ids: list[int], start: datetime, end: datetime, width: timedelta) -> list[tuple]:
    """(sensor_id, bucket, avg, min, max, count) straight from the raw readings."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sensor_id, time_bucket(make_interval(secs => %s), time, origin => 'epoch'::timestamptz) AS b,"
            " avg(value), min(value), max(value), count(*) FROM readings"
            " WHERE sensor_id = ANY(%s) AND time >= %s AND time < %s GROUP BY 1, 2 ORDER BY 1, 2",
            [int(width.total_seconds()), sensor_ids, rollups.floor(start, width), end],
        )
        return cursor.fetchall()


def history(sensor_ids: list[int], start: datetime, end: datetime, points: int, resolution: str) -> tuple[Plan, list]:
    chosen = plan(start, end, points, resolution)
    if chosen.width is None:
        return chosen, raw(sensor_ids, start, end)
    if chosen.resolution == RAW:
        return chosen, raw_buckets(sensor_ids, start, end, chosen.width)
    return chosen, rollups.buckets(sensor_ids, start, end, chosen.resolution, chosen.width)


def aligned(plan_: Plan, sensor_ids: list[int], rows: list[tuple]) -> dict:
    """Rows of several sensors on one time axis (as charts want them): `time` and, per figure, one
    list per sensor with None where that sensor has nothing in that bucket."""
    figures = ("value", "quality") if plan_.width is None else ("avg", "min", "max", "count")
    times = sorted({row[1] for row in rows})
    index = {t: i for i, t in enumerate(times)}
    series = {f: {s: [None] * len(times) for s in sensor_ids} for f in figures}
    for sensor_id, t, *values in rows:
        for figure, value in zip(figures, values, strict=True):
            series[figure][sensor_id][index[t]] = value
    return {"time": times, **series}
