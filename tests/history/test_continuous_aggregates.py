"""Community-edition back end: hierarchical continuous aggregates, compression and policies.

Runs only where `SHOW timescaledb.license` says timescale (skipped with the reason elsewhere; the
machines that run CI build the Apache edition). Run it against a Community build with
DATABASE_URL pointing at that server. Outside a transaction: TimescaleDB refuses to refresh
continuous aggregates inside one."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection

from apps.history import continuous, rollups
from tests.conftest import client_for
from tests.history.test_rollups import END, START, actual, assert_same, expected, random_readings, store

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("community_backend")]


@pytest.fixture
def sensors(plant) -> list[int]:
    return [plant["pressure"].pk, plant["flow"].pk]


def materialized_rows(view: str, sensor_ids: list[int]) -> int:
    """Rows in the aggregate's own hypertable, not what real-time aggregation adds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format('%%I.%%I', materialization_hypertable_schema, materialization_hypertable_name)"
            " FROM timescaledb_information.continuous_aggregates WHERE view_name = %s",
            [view],
        )
        table = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM {table} WHERE sensor_id = ANY(%s)", [sensor_ids])  # noqa: S608
        return cursor.fetchone()[0]


def test_the_rollups_are_hierarchical_continuous_aggregates():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT view_name, hypertable_name, materialized_only FROM timescaledb_information.continuous_aggregates"
            " ORDER BY view_name"
        )
        rows = cursor.fetchall()
    assert [(view, only) for view, _, only in rows] == [
        ("readings_1d", False),  # real-time: the newest buckets come from the level below
        ("readings_1h", False),
        ("readings_1m", False),
    ]
    sources = {view: source for view, source, _ in rows}
    assert sources["readings_1m"] == "readings"
    # 1h and 1d are built on the materialization hypertable of the level below.
    assert sources["readings_1h"].startswith("_materialized_hypertable_")


def test_aggregates_equal_pandas_at_each_level_with_late_readings(sensors):
    readings = random_readings(sensors, 4000, seed=11)
    store(readings)
    rollups.refresh(now=END + timedelta(hours=2))
    for resolution in ("1m", "1h", "1d"):
        assert_same(actual(sensors, resolution), expected(readings, rollups.BY_NAME[resolution].width))
    assert materialized_rows("readings_1h", sensors) == len(expected(readings, timedelta(hours=1)))

    late = random_readings(sensors, 300, seed=12, start=START + timedelta(days=1), span=timedelta(hours=5))
    store(late)
    rollups.refresh(now=END + timedelta(hours=2, minutes=1))
    for resolution in ("1m", "1h", "1d"):
        assert_same(actual(sensors, resolution), expected(readings + late, rollups.BY_NAME[resolution].width))


def test_the_newest_readings_are_visible_before_any_refresh(sensors):
    old = random_readings(sensors, 1000, seed=13)
    store(old)
    rollups.refresh(now=START + timedelta(days=2))
    newer = random_readings(sensors, 200, seed=14, start=END, span=timedelta(hours=3))
    store(newer)
    for resolution in ("1m", "1h", "1d"):
        got = actual(sensors, resolution, end=END + timedelta(hours=3))
        assert_same(got, expected(old + newer, rollups.BY_NAME[resolution].width))


def test_policies_follow_the_settings(settings):
    settings.HISTORY_RAW_RETENTION_DAYS = 90
    settings.HISTORY_ROLLUP_RETENTION_DAYS = 730
    settings.HISTORY_COMPRESS_AFTER_DAYS = 3
    settings.ROLLUP_REFRESH_INTERVAL = 30
    with connection.cursor() as cursor:
        continuous.ensure(cursor)
        continuous.ensure(cursor)  # idempotent: one policy of each kind per relation
        cursor.execute(
            "SELECT coalesce(v.view_name, j.hypertable_name), j.proc_name, j.schedule_interval, j.config"
            " FROM timescaledb_information.jobs j LEFT JOIN timescaledb_information.continuous_aggregates v"
            " ON v.materialization_hypertable_name = j.hypertable_name WHERE j.hypertable_name IS NOT NULL"
        )
        jobs = {(relation, proc): (every, json.loads(config)) for relation, proc, every, config in cursor.fetchall()}
    assert len(jobs) == 8
    assert jobs["readings", "policy_compression"][1]["compress_after"] == "3 days"
    assert jobs["readings", "policy_retention"][1]["drop_after"] == "90 days"
    refresh_1m = jobs["readings_1m", "policy_refresh_continuous_aggregate"]
    assert refresh_1m[0] == timedelta(seconds=30)
    # The refresh window stops at the source's retention, so dropped raw chunks never empty a rollup.
    assert (refresh_1m[1]["start_offset"], refresh_1m[1]["end_offset"]) == ("90 days", "00:01:00")
    assert jobs["readings_1h", "policy_refresh_continuous_aggregate"][1]["start_offset"] == "730 days"
    for view in ("readings_1m", "readings_1h", "readings_1d"):
        assert jobs[view, "policy_retention"][1]["drop_after"] == "730 days"


def test_compressed_chunks_stay_readable_and_take_backfills(sensors, viewer):
    readings = random_readings(sensors, 2000, seed=15)
    store(readings)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(compress_chunk(c)) FROM show_chunks('readings') c")
        assert cursor.fetchone()[0] >= 3
        cursor.execute(
            "SELECT sum(after_compression_total_bytes) < sum(before_compression_total_bytes)"
            " FROM chunk_compression_stats('readings')"
        )
        assert cursor.fetchone()[0]
    late = random_readings(sensors, 100, seed=16, start=START + timedelta(hours=30), span=timedelta(hours=1))
    store(late)  # the ingest's path into a compressed chunk
    rollups.refresh(now=END + timedelta(hours=1))
    assert_same(actual(sensors, "1h"), expected(readings + late, timedelta(hours=1)))
    body = (
        client_for(viewer)
        .get(
            f"/api/sensors/{sensors[0]}/history",
            {"start": "2026-11-01T00:00:00Z", "end": "2026-11-04T00:00:00Z", "points": 72},
        )
        .json()
    )
    assert body["resolution"] == "1h"
    assert sum(row["count"] for row in body["rows"]) == sum(1 for s, *_ in readings + late if s == sensors[0])
