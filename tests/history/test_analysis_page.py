"""The analyst page /history/: in a real headless Chromium against a live server, an analyst picks
up a shared view, sees the trend with its alarm marker and statistics, drags to zoom into a finer
resolution, zooms out, overlays the day before and exports what is shown."""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from apps.alarms.models import Alarm
from apps.telemetry.ingest import Decoded, store_batch
from tests.conftest import log_in, make_user, screenshot

END = datetime(2026, 11, 20, tzinfo=UTC)
START = END - timedelta(days=2)
MINUTES = 2 * 24 * 60


@pytest.fixture
def history(plant) -> dict:
    """Two days of minute readings for two sensors and one alarm in the middle."""
    pressure, flow = plant["pressure"], plant["flow"]
    rows = []
    for i in range(MINUTES):
        t = (START + timedelta(minutes=i)).timestamp()
        rows.append((pressure.pk, t, 5 + 2 * math.sin(i / 180), 0))
        rows.append((flow.pk, t, 100.0 - (i % 60), 0))
    store_batch(Decoded(rows=rows, rejected=Counter(), kept=[]))
    Alarm.objects.create(
        sensor=pressure, kind="hi", severity="high", message="Pump 1 pressure high", value=7.1, setpoint=7,
        triggered_at=START + timedelta(days=1),
    )  # fmt: skip
    return {"pressure": pressure, "flow": flow}


def shared_url(live_server, ids: list[int], start=START, end=END) -> str:
    iso = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    return f"{live_server.url}/history/?sensors={','.join(map(str, ids))}&start={iso(start)}&end={iso(end)}"


def query(page) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(page.url).query).items()}


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_an_analyst_explores_two_days_of_history(live_server, page, history, viewer):
    pressure, flow = history["pressure"], history["flow"]
    log_in(page, live_server, viewer)
    page.goto(shared_url(live_server, [pressure.pk, flow.pk]))

    status = page.locator("#status")
    expect(status).to_contain_text("buckets from the 1m rollups")
    expect(page.locator("#chart canvas")).to_have_count(1)
    expect(page.locator(".u-legend")).to_contain_text("PS1/P1_PRESS")
    expect(page.locator(".u-legend").get_by_text("PS1/P1_PRESS min")).to_be_hidden()  # it only draws the band
    # Statistics for the whole range, from every raw reading.
    first = page.locator("#stats tbody tr").first
    expect(first).to_contain_text("PS1/P1_PRESS (bar)")
    expect(first.locator("td").nth(1)).to_have_text(f"{MINUTES:,}")
    expect(page.locator("#stats-note")).to_contain_text("every raw reading")
    expect(page.locator("#correlation")).to_be_visible()
    # The alarm is listed (and drawn as a marker on the trend).
    expect(page.locator("#alarms tbody")).to_contain_text("Pump 1 pressure high")
    screenshot(page, "history-two-days")

    # Drag across a tenth of the chart: the page asks again for that span, now from raw readings.
    over = page.locator("#chart .u-over").bounding_box()
    y = over["y"] + over["height"] / 2
    page.mouse.move(over["x"] + over["width"] * 0.40, y)
    page.mouse.down()
    page.mouse.move(over["x"] + over["width"] * 0.45, y, steps=5)
    page.mouse.up()
    expect(status).to_contain_text("raw readings")
    zoomed = query(page)
    zoomed_start, zoomed_end = (datetime.fromisoformat(zoomed[k].replace("Z", "+00:00")) for k in ("start", "end"))
    assert START < zoomed_start < zoomed_end < END
    assert timedelta(hours=1) < zoomed_end - zoomed_start < timedelta(hours=4)
    assert page.locator("#chart").get_attribute("data-resolution") == "raw"
    screenshot(page, "history-zoomed")

    page.click("#zoom-out")
    expect(status).to_contain_text("buckets from the 1m rollups")
    assert query(page)["start"].startswith("2026-11-18T00:00:00")

    # Overlay the day before: a dashed series per sensor, labelled with the comparison.
    page.select_option("#compare", "86400")
    expect(page.locator(".u-legend")).to_contain_text("PS1/P1_PRESS (the day before)")
    assert query(page)["compare"] == "86400"
    expect(page.locator("#stats-note")).to_contain_text("every raw reading")  # refreshed for the whole range
    expect(first.locator("td").nth(1)).to_have_text(f"{MINUTES:,}")
    screenshot(page, "history-compare")

    # Export what is shown: the link carries the same range; the file has every raw reading.
    href = page.get_attribute("#export-csv", "href")
    assert parse_qs(urlsplit(href).query)["sensors"] == [f"{pressure.pk},{flow.pk}"]
    response = page.request.get(f"{live_server.url}{href}")
    assert response.status == 200
    rows = list(csv.reader(io.StringIO(response.text())))
    assert len(rows) == 1 + 2 * MINUTES


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_bad_custom_range_is_refused_on_the_page(live_server, page, history, viewer):
    log_in(page, live_server, viewer)
    page.goto(shared_url(live_server, [history["pressure"].pk]))
    expect(page.locator("#status")).to_contain_text("points")
    page.fill("#range-start", "2026-11-19T12:00:00")
    page.fill("#range-end", "2026-11-19T06:00:00")
    page.click("#custom-range button")
    expect(page.locator("#status")).to_have_text("The start of the range must be before its end.")


def test_the_page_needs_a_login_and_a_role(client, plant, viewer):
    assert client.get("/history/").status_code == 302
    client.force_login(make_user("norole", None))
    assert client.get("/history/").status_code == 403
    client.force_login(viewer)
    response = client.get("/history/")
    assert response.status_code == 200
    assert b'id="sensor-meta"' in response.content and b"PS1/P1_PRESS" in response.content


def test_the_overview_links_each_machine_to_its_history(client, plant, viewer):
    client.force_login(viewer)
    page = client.get("/").content.decode()
    pressure, flow, steam = plant["pressure"], plant["flow"], plant["steam"]
    assert f'href="/history/?sensors={flow.pk},{pressure.pk}"' in page  # PS1's sensors, by code
    assert f'href="/history/?sensors={steam.pk}"' in page
