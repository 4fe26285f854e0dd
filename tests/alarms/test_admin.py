"""Alarm admin: engineers edit rules and take them out of service (with their own reason), operators
acknowledge, and the alarms and their journal are an audit trail nobody edits."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.accounts import roles
from apps.alarms.models import Alarm, AlarmEvent, AlarmRule, NotificationRoute, RuleState
from apps.telemetry.ingest import Decoded, store_batch
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def staff(username: str, role: str) -> Client:
    user = make_user(username, role)
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def feed(sensor, value: float) -> None:
    store_batch(Decoded(rows=[(sensor.pk, time.time(), float(value), 0)], rejected=Counter(), kept=[]))


@pytest.fixture
def rule(plant) -> AlarmRule:
    return AlarmRule.objects.create(sensor=plant["pressure"], kind="hi", setpoint=10.0, severity="high")


def test_every_alarm_page_renders_for_an_engineer(rule, plant):
    feed(plant["pressure"], 12)
    client = staff("ed", roles.ENGINEER)
    alarm = Alarm.objects.get()
    for url in (
        "/admin/alarms/alarmrule/",
        f"/admin/alarms/alarmrule/{rule.pk}/change/",
        "/admin/alarms/alarm/",
        f"/admin/alarms/alarm/{alarm.pk}/change/",
        "/admin/alarms/alarmevent/",
        "/admin/alarms/notificationroute/",
        "/admin/alarms/notificationroute/add/",
        "/admin/alarms/notification/",
        f"/admin/plant/sensor/{plant['pressure'].pk}/change/",
    ):
        assert client.get(url).status_code == 200, url


def test_alarms_and_their_journal_cannot_be_added_changed_or_deleted(rule, plant):
    feed(plant["pressure"], 12)
    client = staff("ed", roles.ENGINEER)
    alarm = Alarm.objects.get()
    assert client.get("/admin/alarms/alarm/add/").status_code == 403
    assert client.post(f"/admin/alarms/alarm/{alarm.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/alarms/alarmevent/add/").status_code == 403
    assert Alarm.objects.count() == 1 and AlarmEvent.objects.count() == 1


def test_taking_rules_out_of_service_asks_for_the_engineers_reason(rule):
    client = staff("ed", roles.ENGINEER)
    action = {"action": "take_out_of_service", "_selected_action": [rule.pk]}
    page = client.post("/admin/alarms/alarmrule/", action)
    assert page.status_code == 200 and b"Reason (journaled)" in page.content
    refused = client.post("/admin/alarms/alarmrule/", {**action, "apply": "1", "note": " "})
    assert b"A reason is required." in refused.content
    assert not RuleState.objects.filter(out_of_service=True).exists()

    client.post("/admin/alarms/alarmrule/", {**action, "apply": "1", "note": "transmitter replaced, loop check"})
    state = RuleState.objects.get(rule=rule)
    assert state.out_of_service and state.service_note == "transmitter replaced, loop check"
    event = AlarmEvent.objects.get(kind="out_of_service")
    assert (event.user.username, event.note) == ("ed", "transmitter replaced, loop check")

    client.post("/admin/alarms/alarmrule/", {"action": "return_to_service", "_selected_action": [rule.pk]})
    assert not RuleState.objects.get(rule=rule).out_of_service


def test_an_operator_cannot_take_rules_out_of_service(rule):
    client = staff("otto", roles.OPERATOR)
    assert b"take_out_of_service" not in client.get("/admin/alarms/alarmrule/").content
    action = {"action": "take_out_of_service", "_selected_action": [rule.pk], "apply": "1", "note": "x"}
    client.post("/admin/alarms/alarmrule/", action)
    assert not RuleState.objects.filter(out_of_service=True).exists()


def test_the_rule_list_and_page_show_the_live_state(rule, plant):
    feed(plant["pressure"], 12)
    client = staff("ed", roles.ENGINEER)
    action = {"action": "take_out_of_service", "_selected_action": [rule.pk], "apply": "1"}
    client.post("/admin/alarms/alarmrule/", {**action, "note": "loop check"})
    assert b"in alarm, out of service" in client.get("/admin/alarms/alarmrule/").content
    page = client.get(f"/admin/alarms/alarmrule/{rule.pk}/change/").content.decode()
    assert "Live state" in page and "loop check" in page


def test_the_alarm_page_shows_its_journal_and_cannot_be_changed(rule, plant):
    feed(plant["pressure"], 12)
    feed(plant["pressure"], 5)
    alarm = Alarm.objects.get()
    client = staff("ed", roles.ENGINEER)
    page = client.get(f"/admin/alarms/alarm/{alarm.pk}/change/").content.decode()
    assert "Raised" in page and "Returned to normal" in page
    assert client.post(f"/admin/alarms/alarm/{alarm.pk}/change/", {"message": "edited"}).status_code == 403
    alarm.refresh_from_db()
    assert alarm.message != "edited"


def test_an_operator_acknowledges_from_the_alarm_list(rule, plant):
    feed(plant["pressure"], 12)
    alarm = Alarm.objects.get()
    client = staff("otto", roles.OPERATOR)
    client.post("/admin/alarms/alarm/", {"action": "acknowledge", "_selected_action": [alarm.pk]})
    alarm.refresh_from_db()
    assert alarm.state == "acked" and alarm.acknowledged_by == User.objects.get(username="otto")


def test_saving_a_rule_in_admin_keeps_its_live_state(rule, plant):
    feed(plant["pressure"], 12)
    client = staff("ed", roles.ENGINEER)
    form = {
        "kind": "hi", "setpoint": "11", "deadband": "0", "on_delay": "0", "off_delay": "0", "severity": "high",
        "enabled": "on", "message": "",
        "state-TOTAL_FORMS": "1", "state-INITIAL_FORMS": "1", "state-MIN_NUM_FORMS": "0", "state-MAX_NUM_FORMS": "1",
        "state-0-rule": str(rule.pk),
    }  # fmt: skip
    response = client.post(f"/admin/alarms/alarmrule/{rule.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    rule.refresh_from_db()
    assert rule.setpoint == 11.0
    state = RuleState.objects.get(rule=rule)
    assert state.active and state.open_alarm == Alarm.objects.get()


def test_the_sensor_action_adds_the_default_rules_once(plant):
    client = staff("ed", roles.ENGINEER)
    pressure, flow = plant["pressure"], plant["flow"]
    AlarmRule.objects.create(sensor=pressure, kind="hi", setpoint=12.0, severity="medium")  # the engineer's own
    action = {"action": "add_default_alarm_rules", "_selected_action": [pressure.pk, flow.pk]}
    response = client.post("/admin/plant/sensor/", action, follow=True)
    assert "4 alarm rule(s) created for 2 sensor(s)." in response.content.decode()
    rules = {
        r.kind: (r.setpoint, r.deadband, r.on_delay, r.severity) for r in AlarmRule.objects.filter(sensor=pressure)
    }
    assert rules == {
        "hihi": (15.2, 0.32, 15.0, "critical"),
        "hi": (12.0, 0.0, 0.0, "medium"),  # kept: the sensor already had a high limit
        "lo": (1.6, 0.32, 15.0, "medium"),
        "comm_loss": (15.0, 0.0, 0.0, "medium"),
    }
    # No range: no limits, only the communication-loss rule.
    assert list(AlarmRule.objects.filter(sensor=flow).values_list("kind", flat=True)) == ["comm_loss"]
    again = client.post("/admin/plant/sensor/", action, follow=True)
    assert "0 alarm rule(s) created for 2 sensor(s)." in again.content.decode()
    assert AlarmRule.objects.count() == 5


def test_changing_a_rule_to_a_kind_its_sensor_already_has_is_refused(rule, plant):
    low = AlarmRule.objects.create(sensor=plant["pressure"], kind="lo", setpoint=1.0)
    client = staff("ed", roles.ENGINEER)
    form = {
        "kind": "hi", "setpoint": "1", "deadband": "0", "on_delay": "0", "off_delay": "0", "severity": "medium",
        "enabled": "on", "message": "",
        "state-TOTAL_FORMS": "0", "state-INITIAL_FORMS": "0", "state-MIN_NUM_FORMS": "0", "state-MAX_NUM_FORMS": "1",
    }  # fmt: skip
    response = client.post(f"/admin/alarms/alarmrule/{low.pk}/change/", form)
    assert response.status_code == 200
    assert "already has a high limit rule; edit that one." in response.content.decode()
    low.refresh_from_db()
    assert low.kind == "lo"


def test_a_notification_route_is_edited_with_checkboxes_and_validated(plant):
    client = staff("ed", roles.ENGINEER)
    form = {
        "name": "control room", "channel": "webhook", "target": "ftp://example.com/hook", "min_severity": "high",
        "machines": [plant["pump"].pk], "events": ["raised", "cleared"], "secret": "s3cret", "enabled": "on",
    }  # fmt: skip
    refused = client.post("/admin/alarms/notificationroute/add/", form)
    assert refused.status_code == 200 and b"A webhook needs an http:// or https:// URL." in refused.content
    assert not NotificationRoute.objects.exists()

    response = client.post("/admin/alarms/notificationroute/add/", {**form, "target": "https://hooks.example.com/a"})
    assert response.status_code == 302
    saved = NotificationRoute.objects.get()
    assert saved.events == ["raised", "cleared"] and list(saved.machines.all()) == [plant["pump"]]
    page = client.get(f"/admin/alarms/notificationroute/{saved.pk}/change/").content.decode()
    assert 'type="checkbox" name="events" value="cleared"' in page and "checked" in page
