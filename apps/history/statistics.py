"""Statistics of a set of sensors over a range, with pandas.

Up to MAX_RAW_READINGS readings, everything is computed from the readings themselves. Beyond
that, from the one-minute rollups: count, mean, min and max stay exact (sums, counts, extremes);
standard deviation, percentiles and time above/below a limit come from the minute averages and are
marked approximate. Time above/below a limit holds each reading until the next (sample and hold),
the last one until the end of the range. Correlation is computed on a common grid of about 2,000
time buckets (bucket means), over the buckets where both sensors have data.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from django.db import connection

from apps.history import rollups, services

MAX_RAW_READINGS = 500_000
GRID_BUCKETS = 2000
PERCENTILES = (5, 25, 50, 75, 95)


def _raw_count(sensor_ids: list[int], start: datetime, end: datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM readings WHERE sensor_id = ANY(%s) AND time >= %s AND time < %s LIMIT %s) x",
            [sensor_ids, start, end, MAX_RAW_READINGS + 1],
        )
        return cursor.fetchone()[0]


def _frame(sensor_ids: list[int], start: datetime, end: datetime) -> tuple[pd.DataFrame, str]:
    if _raw_count(sensor_ids, start, end) <= MAX_RAW_READINGS:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sensor_id, time, value, value, value, 1 FROM readings"
                " WHERE sensor_id = ANY(%s) AND time >= %s AND time < %s ORDER BY sensor_id, time",
                [sensor_ids, start, end],
            )
            rows = cursor.fetchall()
        source = "raw"
    else:
        rows = [r for r in rollups.buckets(sensor_ids, start, end, "1m") if r[1] >= start]
        source = "1m"
    frame = pd.DataFrame(rows, columns=["sensor", "time", "value", "min", "max", "count"])
    return frame, source


def statistics(
    sensor_ids: list[int], start: datetime, end: datetime, above: float | None = None, below: float | None = None
) -> dict:
    frame, source = _frame(sensor_ids, start, end)
    names = services.sensor_names(sensor_ids)
    per_sensor = {}
    for sensor_id in sensor_ids:
        data = frame[frame["sensor"] == sensor_id]
        if data.empty:
            per_sensor[names[sensor_id]] = {"count": 0}
            continue
        values = data["value"]
        held = (data["time"].shift(-1).fillna(pd.Timestamp(end)) - data["time"]).dt.total_seconds()
        figures = {
            "count": int(data["count"].sum()),
            "mean": float((values * data["count"]).sum() / data["count"].sum()),
            "std": float(values.std()) if len(values) > 1 else None,
            "min": float(data["min"].min()),
            "max": float(data["max"].max()),
            "percentiles": {str(p): float(values.quantile(p / 100)) for p in PERCENTILES},
        }
        if above is not None:
            figures["seconds_above"] = float(held[values > above].sum())
        if below is not None:
            figures["seconds_below"] = float(held[values < below].sum())
        per_sensor[names[sensor_id]] = figures
    grid = max((end - start) / GRID_BUCKETS, pd.Timedelta(seconds=1))
    wide = frame.assign(bucket=frame["time"].dt.floor(grid)).pivot_table(
        index="bucket", columns="sensor", values="value", aggfunc="mean"
    )
    correlation = wide.corr()
    labels = [names[s] for s in sensor_ids]
    matrix = [
        [
            None
            if a not in correlation or b not in correlation or pd.isna(correlation.at[a, b])
            else round(float(correlation.at[a, b]), 6)
            for b in sensor_ids
        ]
        for a in sensor_ids
    ]
    return {
        "source": source,
        "approximate": source != "raw",
        "sensors": per_sensor,
        "correlation": {"sensors": labels, "matrix": matrix},
    }
