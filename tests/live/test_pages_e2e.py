"""The operator UI end to end, in real headless Chromium against Daphne (pages and /ws/realtime),
the real ingest on a private Mosquitto, Redis and the test database. Screenshots of each page go
to test-artifacts/."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
from django.db import connection
from playwright.sync_api import expect

from apps.alarms.models import Alarm, AlarmRule
from apps.boards.models import Board
from apps.plant.models import Machine
from apps.telemetry.ingest import Decoded, store_batch
from tests.conftest import log_in, screenshot
from tests.helpers import publish

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def in_thread(work) -> None:
    """Run `work` in a thread of its own: the test's thread runs playwright's event loop, and what
    the platform pushes after a commit (async_to_sync) may not run inside one."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


def store(sensor_id: int, value: float) -> None:
    """One reading through the ingest's store."""
    in_thread(lambda: store_batch(Decoded(rows=[(sensor_id, time.time(), value, 0)], rejected=Counter(), kept=[])))


def set_status(machine_id: int, status: str) -> None:
    machine = Machine.objects.get(pk=machine_id)
    machine.status = status
    machine.save()  # as admin, the API and the plant YAML do


def test_an_operator_sees_a_value_change_after_an_mqtt_publish(broker, ingest, web, page, plant, operator):
    ingest()
    log_in(page, web, operator)
    expect(page.locator("#live-mode")).to_have_text("Live")
    screenshot(page, "overview")
    page.goto(f"{web.url}/machines/PS1/")
    expect(page.locator("#live-mode")).to_have_text("Live")
    value = page.locator(f'tr[data-sensor="{plant["pressure"].pk}"] .value')
    expect(value).to_have_text("–")
    publish(broker.port, [("sensors/PS1/P1_PRESS/value", json.dumps({"value": 7.25, "ts": time.time()}))])
    expect(value).to_have_text("7.25", timeout=10_000)  # two decimals, as the sensor says
    expect(page.locator(f'tr[data-sensor="{plant["pressure"].pk}"] .quality')).to_have_text("good")
    screenshot(page, "machine")

    # The overview shows the same value, pushed again when it changes.
    page.goto(f"{web.url}/")
    card_value = page.locator(f'.kv[data-sensor="{plant["pressure"].pk}"] .value')
    expect(card_value).to_have_text("7.25")
    publish(broker.port, [("sensors/PS1/P1_PRESS/value", json.dumps({"value": 3.5, "ts": time.time()}))])
    expect(card_value).to_have_text("3.50", timeout=10_000)

    # An engineer puts the pump station into maintenance: the open page shows it.
    in_thread(lambda: set_status(plant["pump"].pk, "maintenance"))
    expect(page.locator(f'.machine-card[data-machine="{plant["pump"].pk}"] .status')).to_have_text("Maintenance")


def test_pages_say_so_and_poll_when_the_socket_is_down(web, page, plant, viewer):
    log_in(page, web, viewer)
    expect(page.locator("#live-mode")).to_have_text("Live")
    web.stop()  # the socket drops; the page keeps its values and says it is polling
    expect(page.locator("#live-mode")).to_contain_text("refreshing every 5 s", timeout=10_000)


def test_without_websockets_the_pages_poll_the_api_every_5_seconds(live_server, page, plant, viewer):
    """pytest-django's live server speaks HTTP only: the socket never opens, the page polls."""
    log_in(page, live_server, viewer)
    expect(page.locator("#live-mode")).to_contain_text("refreshing every 5 s")
    value = page.locator(f'.kv[data-sensor="{plant["pressure"].pk}"] .value')
    expect(value).to_have_text("–")
    store(plant["pressure"].pk, 6.75)
    expect(value).to_have_text("6.75", timeout=12_000)


def test_a_viewer_builds_a_board_with_every_widget_type_and_finds_it_after_reload(web, page, plant, viewer):
    store(plant["pressure"].pk, 5.5)  # a value to show
    log_in(page, web, viewer)
    page.goto(f"{web.url}/boards/")
    screenshot(page, "boards-empty")
    page.fill("#new-board input[name=name]", "Shift board")
    page.click("#new-board button")
    expect(page.locator("#add-widget")).to_be_visible()  # a new board opens in edit mode

    pressure, steam, pump = plant["pressure"], plant["steam"], plant["pump"]
    widgets = [
        ("kpi", {"sensor": pressure.pk}),
        ("gauge", {"sensor": pressure.pk, "min": "0", "max": "16"}),
        ("status", {"machine": pump.pk}),
        ("linechart", {"sensors": [pressure.pk, steam.pk]}),
        ("alarms", {"machines": [pump.pk]}),
    ]
    for kind, fields in widgets:
        page.click("#add-widget")
        form = page.locator("#widget-form")
        form.locator("select[name=type]").select_option(kind)
        if "sensor" in fields:
            form.locator("select[name=sensor]").select_option(str(fields["sensor"]))
        if "machine" in fields:
            form.locator("select[name=target]").select_option("machine")
            form.locator("select[name=machine]").select_option(str(fields["machine"]))
        if "sensors" in fields:
            form.locator("select[name=sensors]").select_option([str(s) for s in fields["sensors"]])
        if "machines" in fields:
            form.locator("select[name=machines]").select_option([str(m) for m in fields["machines"]])
        for name in ("min", "max"):
            if name in fields:
                form.locator(f"input[name={name}]").fill(fields[name])
        form.locator("button[value=confirm]").click()
        expect(page.locator(f".grid-stack-item[data-type={kind}]")).to_have_count(1)
    expect(page.locator("#save-status")).to_have_text("Saved")
    expect(page.locator(".widget-kpi .kpi-number")).to_have_text("5.50")

    # Move the KPI six columns to the right, then make it wider, with the mouse.
    column = page.locator("#board").bounding_box()["width"] / 12
    body = page.locator(".grid-stack-item[data-type=kpi] .widget-body").bounding_box()
    drag(page, body["x"] + 20, body["y"] + 20, 6 * column, 0)
    expect(page.locator("#save-status")).to_have_text("Saved")
    handle = page.locator(".grid-stack-item[data-type=kpi] .ui-resizable-se")
    page.locator(".grid-stack-item[data-type=kpi]").hover()
    corner = handle.bounding_box()
    drag(page, corner["x"] + corner["width"] / 2, corner["y"] + corner["height"] / 2, 2 * column, 0)
    expect(page.locator("#save-status")).to_have_text("Saved")
    screenshot(page, "board-editing")

    page.click("#edit-toggle")
    page.reload()
    for kind, _ in widgets:
        expect(page.locator(f".grid-stack-item[data-type={kind}]")).to_have_count(1)
    expect(page.locator(".widget-status .lamp-label")).to_have_text("active")
    expect(page.locator(".widget-linechart canvas").first).to_be_visible()
    screenshot(page, "board")
    board = Board.objects.get(owner=viewer, name="Shift board")
    assert [w["type"] for w in board.widgets] == [kind for kind, _ in widgets]
    assert board.widgets[1]["max"] == 16.0
    assert (board.widgets[0]["x"], board.widgets[0]["w"]) == (6, 5)  # moved and resized


def drag(page, x: float, y: float, dx: float, dy: float) -> None:
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=8)
    page.mouse.move(x + dx, y + dy, steps=8)
    page.mouse.up()


def test_an_operator_acknowledges_an_alarm_from_the_alarm_centre(web, page, plant, operator):
    pressure = plant["pressure"]
    AlarmRule.objects.create(sensor=pressure, kind="hi", setpoint=8, severity="critical")
    store(pressure.pk, 9.5)
    alarm = Alarm.objects.get(sensor=pressure)
    log_in(page, web, operator)
    expect(page.locator("#alarm-badge")).to_have_text("1")
    expect(page.locator("#critical-banner")).to_be_visible()
    page.click("#alarm-nav")
    row = page.locator(f'#active tr[data-id="{alarm.pk}"]')
    expect(row).to_contain_text("Unacknowledged")
    screenshot(page, "alarm-centre")
    row.get_by_role("button", name="Acknowledge").click()
    page.fill("#action-form textarea[name=note]", "Checked the pump on site")
    page.click("#action-form button[value=confirm]")
    expect(row).to_contain_text("Acknowledged")
    expect(page.locator("#alarm-badge")).to_be_hidden()
    expect(page.locator("#critical-banner")).to_be_hidden()
    page.goto(f"{web.url}/alarms/kpis")
    expect(page.locator("h1")).to_have_text("Alarm system performance")
    screenshot(page, "alarm-kpis")
    alarm.refresh_from_db()
    assert (alarm.state, alarm.acknowledged_by) == ("acked", operator)
    assert alarm.events.filter(note="Checked the pump on site").exists()


def test_a_viewer_gets_no_acknowledge_button(web, page, plant, viewer):
    pressure = plant["pressure"]
    AlarmRule.objects.create(sensor=pressure, kind="hi", setpoint=8, severity="high")
    store(pressure.pk, 9.5)
    log_in(page, web, viewer)
    page.goto(f"{web.url}/alarms/")
    expect(page.locator("#active tbody tr")).to_contain_text("Unacknowledged")
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page.locator("#bulk-ack")).to_have_count(0)
