"""Alarm admin: engineers edit rules and take them out of service (with their own reason), operators
acknowledge, and the alarms and their journal are an audit trail nobody edits."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.accounts import roles
from apps.alarms.models import Alarm, AlarmEvent, AlarmRule, RuleState
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
    action = {"action": "take_out_of_service", "_selected_action": [rule.pk], "apply": "1", "note": "x"}
    client.post("/admin/alarms/alarmrule/", action)
    assert not RuleState.objects.filter(out_of_service=True).exists()


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
    action = {"action": "add_default_alarm_rules", "_selected_action": [plant["pressure"].pk]}
    client.post("/admin/plant/sensor/", action)
    rules = {r.kind: (r.setpoint, r.severity) for r in AlarmRule.objects.filter(sensor=plant["pressure"])}
    assert rules == {
        "hihi": (15.2, "critical"),
        "hi": (13.6, "high"),
        "lo": (1.6, "medium"),
        "comm_loss": (15.0, "medium"),
    }
    client.post("/admin/plant/sensor/", action)
    assert AlarmRule.objects.count() == 4
