"""The readings hypertable: partitioned by time, one row per (sensor, time), whatever is resent."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from apps.telemetry.models import Reading

pytestmark = pytest.mark.django_db


def test_readings_is_a_hypertable_on_time():
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name FROM timescaledb_information.dimensions WHERE hypertable_name = 'readings'")
        assert cursor.fetchall() == [("time",)]


def test_primary_key_is_sensor_and_time():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.attname FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = 'readings'::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)
            """
        )
        assert [row[0] for row in cursor.fetchall()] == ["sensor_id", "time"]


def test_a_resent_reading_is_a_no_op_not_a_duplicate(plant):
    sensor = plant["pressure"]
    at = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    rows = [Reading(sensor=sensor, time=at + timedelta(seconds=i), value=float(i)) for i in range(5)]
    Reading.objects.bulk_create(rows, ignore_conflicts=True)
    Reading.objects.bulk_create(rows[2:], ignore_conflicts=True)  # redelivered
    assert Reading.objects.filter(sensor=sensor).count() == 5


def test_readings_spread_over_days_land_in_daily_chunks(plant):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    Reading.objects.bulk_create(
        [Reading(sensor=plant["flow"], time=start + timedelta(days=d), value=1.0) for d in range(3)]
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM show_chunks('readings')")
        assert cursor.fetchone()[0] == 3


def test_quality_is_stored_and_labelled(plant):
    at = datetime(2026, 11, 27, tzinfo=UTC)
    Reading.objects.create(sensor=plant["flow"], time=at, value=3.5, quality=2)
    reading = Reading.objects.get(sensor=plant["flow"], time=at)
    assert reading.get_quality_display() == "bad"
