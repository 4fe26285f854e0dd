"""Rollups (Apache-edition back end): exact against pandas on random data, backfills
re-aggregate only the buckets they touch, and the newest readings are visible before any refresh."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from django.db import connection

from apps.history import rollups
from apps.telemetry.ingest import Decoded, store_batch

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("apache_backend")]

START = datetime(2026, 11, 1, tzinfo=UTC)
SPAN = timedelta(days=3)
END = START + SPAN


def store(rows: list[tuple[int, datetime, float]]) -> None:
    store_batch(Decoded(rows=[(s, t.timestamp(), v, 0) for s, t, v in rows], rejected=Counter(), kept=[]))


def random_readings(sensor_ids: list[int], count: int, seed: int, start=START, span=SPAN) -> list[tuple]:
    rng = random.Random(seed)
    seconds = rng.sample(range(int(span.total_seconds())), count)
    return [
        (rng.choice(sensor_ids), start + timedelta(seconds=s, microseconds=rng.randrange(10**6)), rng.uniform(-50, 150))
        for s in seconds
    ]


def expected(readings: list[tuple], width: timedelta) -> dict:
    """The same buckets computed by pandas from the readings."""
    frame = pd.DataFrame(readings, columns=["sensor", "time", "value"])
    frame["bucket"] = frame["time"].dt.floor(width)
    grouped = frame.groupby(["sensor", "bucket"])["value"].agg(["mean", "min", "max", "count"])
    return {(s, b.to_pydatetime()): (m, lo, hi, int(n)) for (s, b), (m, lo, hi, n) in grouped.iterrows()}


def actual(sensor_ids: list[int], resolution: str, start=START, end=END) -> dict:
    return {
        (s, b): (avg, low, high, n) for s, b, avg, low, high, n in rollups.buckets(sensor_ids, start, end, resolution)
    }


def assert_same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for key, (avg, low, high, n) in want.items():
        assert got[key][0] == pytest.approx(avg, rel=1e-9, abs=1e-9), key
        assert got[key][1:] == (low, high, n), key


@pytest.fixture
def sensors(plant) -> list[int]:
    return [plant["pressure"].pk, plant["flow"].pk]


@pytest.mark.parametrize("resolution", ["1m", "1h", "1d"])
def test_rollups_equal_pandas_on_random_data(sensors, resolution):
    readings = random_readings(sensors, 4000, seed=1)
    store(readings)
    rollups.refresh(now=END + timedelta(hours=2))
    width = rollups.BY_NAME[resolution].width
    assert_same(actual(sensors, resolution), expected(readings, width))
    with connection.cursor() as cursor:  # and it really came from the rollup table, not raw
        cursor.execute(f"SELECT count(*) FROM readings_{resolution}")  # noqa: S608  (a parametrize value)
        assert cursor.fetchone()[0] == len(expected(readings, width))


def test_a_backfill_reaggregates_only_the_buckets_it_touches(sensors):
    readings = random_readings(sensors, 3000, seed=2)
    store(readings)
    rollups.refresh(now=END + timedelta(hours=2))
    with connection.cursor() as cursor:  # mark an untouched minute: a refresh that rebuilt it would undo this
        cursor.execute("UPDATE readings_1m SET sum = sum + 1000 WHERE bucket = (SELECT min(bucket) FROM readings_1m)")
    late = random_readings(sensors, 300, seed=3, start=START + timedelta(days=1), span=timedelta(hours=5))
    store(late)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM rollup_invalidation")
        assert cursor.fetchone()[0] > 0
    rollups.refresh(now=END + timedelta(hours=2, minutes=1))
    want = expected(readings + late, timedelta(minutes=1))
    got = actual(sensors, "1m")
    first = min(b for _, b in want)
    touched = {key for key in expected(late, timedelta(minutes=1))}
    for key in want:
        if key in touched:
            assert got[key][0] == pytest.approx(want[key][0]) and got[key][3] == want[key][3]
        elif key[1] == first:
            assert got[key][0] * got[key][3] == pytest.approx(want[key][0] * want[key][3] + 1000)
    assert_same(actual(sensors, "1d"), expected(readings + late, timedelta(days=1)))
    assert_same(actual(sensors, "1h"), expected(readings + late, timedelta(hours=1)))


def test_the_newest_readings_are_visible_before_any_refresh(sensors):
    old = random_readings(sensors, 1000, seed=4)
    store(old)
    watermark = rollups.refresh(now=START + timedelta(days=2))
    assert watermark == START + timedelta(days=2) - rollups.REFRESH_LAG
    # Everything after the watermark is only in raw readings until the next refresh.
    for resolution in ("1m", "1h", "1d"):
        assert_same(actual(sensors, resolution), expected(old, rollups.BY_NAME[resolution].width))
    newer = random_readings(sensors, 200, seed=5, start=END, span=timedelta(hours=3))
    store(newer)
    assert_same(actual(sensors, "1h", end=END + timedelta(hours=3)), expected(old + newer, timedelta(hours=1)))


def test_a_range_starting_inside_a_bucket_returns_that_whole_bucket(sensors):
    readings = [(sensors[0], START + timedelta(minutes=m), float(m)) for m in range(120)]
    store(readings)
    rollups.refresh(now=END)
    rows = rollups.buckets([sensors[0]], START + timedelta(minutes=30), START + timedelta(hours=2), "1h")
    assert [(b, avg, n) for _, b, avg, _, _, n in rows] == [
        (START, 29.5, 60),
        (START + timedelta(hours=1), 89.5, 60),
    ]


def test_retention_drops_whole_chunks_past_each_relations_period(sensors, settings):
    settings.HISTORY_RAW_RETENTION_DAYS = 30
    settings.HISTORY_ROLLUP_RETENTION_DAYS = 3650
    store([(sensors[0], START - timedelta(days=60), 1.0), (sensors[0], START, 2.0)])
    rollups.refresh(now=START + timedelta(days=1))
    dropped = rollups.apply_retention(now=START + timedelta(days=1))
    assert dropped["readings"] == 1 and dropped["readings_1m"] == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM readings")
        assert [r[0] for r in cursor.fetchall()] == [2.0]
    # The rollups keep the dropped raw day for their own, longer period.
    assert [
        n for *_, n in rollups.buckets([sensors[0]], START - timedelta(days=61), START + timedelta(days=1), "1d")
    ] == [1, 1]
