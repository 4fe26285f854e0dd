"""GET /api/sensors/{id}/history: the resolution chosen for a range, what comes back, bad requests."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from apps.history import rollups, services
from apps.telemetry.ingest import Decoded, store_batch
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("span", "points", "resolution", "bucket"),
    [
        (timedelta(hours=1), 1000, "raw", timedelta(seconds=3)),  # 3.6 s buckets: from raw readings
        (timedelta(seconds=59_999), 1000, "raw", timedelta(seconds=59)),  # 59.999 s
        (timedelta(seconds=100), 1000, "raw", timedelta(seconds=1)),  # never finer than a second
        (timedelta(seconds=60_000), 1000, "1m", timedelta(minutes=1)),  # exactly a minute
        (timedelta(days=1), 1000, "1m", timedelta(minutes=1)),  # 86.4 s -> whole minutes
        (timedelta(days=7), 1000, "1m", timedelta(minutes=10)),  # 604.8 s
        (timedelta(hours=1000), 1000, "1h", timedelta(hours=1)),  # exactly an hour
        (timedelta(days=365), 1000, "1h", timedelta(hours=8)),  # 8.76 h
        (timedelta(days=1000), 1000, "1d", timedelta(days=1)),  # exactly a day
        (timedelta(days=3650), 1000, "1d", timedelta(days=3)),
    ],
)
def test_auto_picks_the_coarsest_rollup_that_fits_a_bucket(span, points, resolution, bucket):
    assert services.plan(START, START + span, points) == services.Plan(resolution, bucket)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("start=2026-11-02T00:00:00Z&end=2026-11-01T00:00:00Z", "end must be after start"),
        ("points=0", "points must be between"),
        ("points=1000000", "points must be between"),
        ("points=many", "whole number"),
        ("resolution=5m", "resolution must be"),
        ("start=yesterday", "ISO 8601"),
    ],
)
def test_bad_requests_get_400_with_a_reason(plant, viewer, query, reason):
    response = client_for(viewer).get(f"/api/sensors/{plant['pressure'].pk}/history?{query}")
    assert response.status_code == 400
    assert reason in str(response.json())


def test_unknown_sensor_and_anonymous(plant, viewer, anon_client):
    assert client_for(viewer).get("/api/sensors/999999/history").status_code == 404
    assert anon_client.get(f"/api/sensors/{plant['pressure'].pk}/history").status_code == 401


def test_history_answers_rolled_up_and_raw_rows(plant, viewer, apache_backend):
    sensor = plant["pressure"]
    rows = [(sensor.pk, (START + timedelta(seconds=10 * i)).timestamp(), float(i % 100), 0) for i in range(8640 * 2)]
    store_batch(Decoded(rows=rows, rejected=Counter(), kept=[]))
    rollups.refresh(now=START + timedelta(days=1, hours=12))
    client = client_for(viewer)
    body = client.get(
        f"/api/sensors/{sensor.pk}/history",
        {"start": "2026-11-01T00:00:00Z", "end": "2026-11-03T00:00:00Z", "points": 48},
    ).json()
    assert (body["resolution"], body["bucket_seconds"], len(body["rows"])) == ("1h", 3600, 48)
    first = body["rows"][0]
    assert (first["time"], first["count"], first["min"], first["max"]) == ("2026-11-01T00:00:00Z", 360, 0.0, 99.0)
    assert first["avg"] == pytest.approx(sum(i % 100 for i in range(360)) / 360)
    assert sum(r["count"] for r in body["rows"]) == len(rows)  # the raw tail after the watermark included

    fine = client.get(
        f"/api/sensors/{sensor.pk}/history",
        {"start": "2026-11-01T00:00:00Z", "end": "2026-11-01T01:00:00Z", "points": 120},
    ).json()
    assert (fine["resolution"], fine["bucket_seconds"], len(fine["rows"])) == ("raw", 30, 120)
    assert fine["rows"][1] == {"time": "2026-11-01T00:00:30Z", "avg": 4.0, "min": 3.0, "max": 5.0, "count": 3}

    raw = client.get(
        f"/api/sensors/{sensor.pk}/history",
        {"start": "2026-11-01T00:00:00Z", "end": "2026-11-01T00:01:00Z", "resolution": "raw"},
    ).json()
    assert raw["resolution"] == "raw" and raw["bucket_seconds"] is None
    assert [r["value"] for r in raw["rows"]] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert raw["rows"][0] == {"time": "2026-11-01T00:00:00Z", "value": 0.0, "quality": 0}


def test_several_sensors_come_back_on_one_time_axis(plant, viewer):
    pressure, flow = plant["pressure"], plant["flow"]
    rows = [(pressure.pk, (START + timedelta(minutes=m)).timestamp(), float(m), 0) for m in range(0, 180)]
    rows += [(flow.pk, (START + timedelta(minutes=m)).timestamp(), 2.0 * m, 0) for m in range(60, 180)]
    store_batch(Decoded(rows=rows, rejected=Counter(), kept=[]))
    body = (
        client_for(viewer)
        .get(
            f"/api/history?sensors={pressure.pk},{flow.pk}&start=2026-11-01T00:00:00Z&end=2026-11-01T03:00:00Z&points=3"
        )
        .json()
    )
    assert (body["resolution"], body["bucket_seconds"]) == ("1h", 3600)
    assert body["time"] == ["2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z", "2026-11-01T02:00:00Z"]
    assert body["avg"][str(pressure.pk)] == [29.5, 89.5, 149.5]
    assert body["avg"][str(flow.pk)] == [None, 179.0, 299.0]
    assert body["count"][str(flow.pk)] == [None, 60, 60]


@pytest.mark.parametrize(
    ("sensors", "reason"),
    [("", "Give 1 to"), ("1,x", "separated by commas"), ("999998,999999", "No such sensor: 999998, 999999")],
)
def test_bad_sensor_lists_get_400(viewer, sensors, reason):
    response = client_for(viewer).get(f"/api/history?sensors={sensors}")
    assert response.status_code == 400 and reason in str(response.json())
