"""GET /api/history/statistics: per-sensor figures with pandas equal numpy's on the same readings;
correlation; time above/below a limit; beyond the raw limit, exact figures from the rollups."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from apps.history import rollups, statistics
from apps.telemetry.ingest import Decoded, store_batch
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 1, tzinfo=UTC)
VALUES = [float((i * 37) % 100) for i in range(100)]  # 0..99, shuffled, one a minute


@pytest.fixture
def readings(plant):
    rows = []
    for i, v in enumerate(VALUES):
        t = (START + timedelta(minutes=i)).timestamp()
        rows += [
            (plant["pressure"].pk, t, v, 0),
            (plant["flow"].pk, t, 2 * v + 1, 0),
            (plant["steam"].pk, t, 100 - v, 0),
        ]
    store_batch(Decoded(rows=rows, rejected=Counter(), kept=[]))


def ask(user, plant, **params):
    ids = ",".join(str(plant[k].pk) for k in ("pressure", "flow", "steam"))
    query = {"sensors": ids, "start": "2026-11-01T00:00:00Z", "end": "2026-11-01T01:40:00Z", **params}
    return client_for(user).get("/api/history/statistics", query)


def test_figures_equal_numpy_on_the_readings(readings, plant, viewer):
    body = ask(viewer, plant, above=89.5, below=10).json()
    assert (body["source"], body["approximate"]) == ("raw", False)
    figures = body["sensors"]["PS1/P1_PRESS"]
    assert figures["count"] == 100
    assert figures["mean"] == pytest.approx(np.mean(VALUES))
    assert figures["std"] == pytest.approx(np.std(VALUES, ddof=1))
    assert (figures["min"], figures["max"]) == (0.0, 99.0)
    assert figures["percentiles"] == {str(p): pytest.approx(np.percentile(VALUES, p)) for p in (5, 25, 50, 75, 95)}
    assert figures["seconds_above"] == 10 * 60  # 90..99, each held a minute
    assert figures["seconds_below"] == 10 * 60  # 0..9


def test_correlation_matrix(readings, plant, viewer):
    body = ask(viewer, plant).json()["correlation"]
    assert body["sensors"] == ["PS1/P1_PRESS", "PS1/FLOW", "BLR1/STEAM_PRESS"]
    assert body["matrix"] == [
        [pytest.approx(1.0), pytest.approx(1.0), pytest.approx(-1.0)],
        [pytest.approx(1.0), pytest.approx(1.0), pytest.approx(-1.0)],
        [pytest.approx(-1.0), pytest.approx(-1.0), pytest.approx(1.0)],
    ]


def test_beyond_the_raw_limit_exact_figures_come_from_the_rollups(readings, plant, viewer, apache_backend, monkeypatch):
    monkeypatch.setattr(statistics, "MAX_RAW_READINGS", 10)
    rollups.refresh(now=START + timedelta(hours=3))
    body = ask(viewer, plant).json()
    assert (body["source"], body["approximate"]) == ("1m", True)
    figures = body["sensors"]["PS1/FLOW"]
    assert figures["count"] == 100
    assert figures["mean"] == pytest.approx(2 * np.mean(VALUES) + 1)
    assert (figures["min"], figures["max"]) == (1.0, 199.0)


@pytest.mark.parametrize(("params", "reason"), [({"above": "high"}, "A number"), ({"below": "nan"}, "finite")])
def test_bad_limits_get_400(plant, viewer, params, reason):
    response = ask(viewer, plant, **params)
    assert response.status_code == 400 and reason in str(response.json())
