"""GET /api/history/export: CSV and Parquet files equal to what the history query answers, streamed."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from apps.history import export, rollups
from apps.telemetry.ingest import Decoded, store_batch
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 1, tzinfo=UTC)
RANGE = {"start": "2026-11-01T00:00:00Z", "end": "2026-11-01T03:00:00Z"}


@pytest.fixture
def readings(plant) -> list[tuple]:
    pressure, flow = plant["pressure"], plant["flow"]
    rows = [(pressure.pk, START + timedelta(seconds=20 * i), i * 0.5, i % 3) for i in range(540)]
    rows += [(flow.pk, START + timedelta(seconds=30 * i), 100.0 - i, 0) for i in range(360)]
    store_batch(Decoded(rows=[(s, t.timestamp(), v, q) for s, t, v, q in rows], rejected=Counter(), kept=[]))
    return rows


def get(user, plant, **params):
    ids = f"{plant['pressure'].pk},{plant['flow'].pk}"
    return client_for(user).get("/api/history/export", {"sensors": ids, **RANGE, **params})


def body(response) -> bytes:
    assert response.streaming
    return b"".join(response.streaming_content)


def test_raw_csv_holds_every_reading_across_batches(readings, plant, viewer, monkeypatch):
    monkeypatch.setattr(export, "BATCH", 100)  # several batches, as a year of data would be
    response = get(viewer, plant, format="csv")
    assert response["Content-Type"] == "text/csv"
    assert 'filename="scadapro-raw-20261101T0000-20261101T0300.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(body(response).decode())))
    assert rows[0] == ["sensor", "time", "value", "quality"]
    assert len(rows) == 1 + len(readings)
    assert rows[1] == ["PS1/P1_PRESS", "2026-11-01T00:00:00+00:00", "0.0", "0"]
    assert rows[-1] == ["PS1/FLOW", (START + timedelta(seconds=30 * 359)).isoformat(), "-259.0", "0"]


def test_raw_parquet_equals_the_readings(readings, plant, viewer, monkeypatch):
    monkeypatch.setattr(export, "BATCH", 128)
    table = pq.read_table(io.BytesIO(body(get(viewer, plant, format="parquet"))))
    assert table.num_rows == len(readings)
    names = {plant["pressure"].pk: "PS1/P1_PRESS", plant["flow"].pk: "PS1/FLOW"}
    want = sorted((names[s], t, v, q) for s, t, v, q in readings)
    got = sorted(zip(*(table.column(c).to_pylist() for c in ("sensor", "time", "value", "quality")), strict=True))
    assert got == want


def test_rolled_up_export_equals_the_history_query(readings, plant, viewer, apache_backend):
    rollups.refresh(now=START + timedelta(hours=2))
    table = pq.read_table(io.BytesIO(body(get(viewer, plant, format="parquet", resolution="1h"))))
    want = rollups.buckets([plant["pressure"].pk, plant["flow"].pk], START, START + timedelta(hours=3), "1h")
    assert table.column("count").to_pylist() == [n for *_, n in want]
    assert table.column("avg").to_pylist() == pytest.approx([avg for _, _, avg, *_ in want])
    assert table.column("time").to_pylist() == [b for _, b, *_ in want]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"format": "xlsx"}, "csv or parquet"),
        ({"resolution": "5m"}, "One of"),
        ({"end": "2026-10-01T00:00:00Z"}, "after start"),
    ],
)
def test_bad_export_requests_get_400(plant, viewer, params, reason):
    response = get(viewer, plant, **params)
    assert response.status_code == 400 and reason in str(response.json())


def test_export_needs_a_login(plant, anon_client):
    assert anon_client.get(f"/api/history/export?sensors={plant['pressure'].pk}").status_code == 401
