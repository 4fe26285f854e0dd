"""The alarm API: lists and filters, the active list and badge counts, the operator's actions with
their journal, roles, and alarm rules with their validation and service state.

Alarms are made the real way: rules on the `plant` fixture's sensors (tests/conftest.py: PS1 with
P1_PRESS and FLOW, BLR1 with STEAM_PRESS) and readings through the ingest's store_batch, stamped now
so that shelving (which ends at now + minutes) applies to them.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.test import override_settings

from apps.alarms.models import Alarm, AlarmEvent, AlarmRule
from apps.telemetry.ingest import Decoded, store_batch
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def feed(sensor, value: float, seconds_ago: float = 0.0) -> None:
    """One reading in its own ingest batch."""
    store_batch(Decoded(rows=[(sensor.pk, time.time() - seconds_ago, float(value), 0)], rejected=Counter(), kept=[]))


def rule(sensor, kind: str = "hi", setpoint: float = 10.0, **fields) -> AlarmRule:
    return AlarmRule.objects.create(sensor=sensor, kind=kind, setpoint=setpoint, **fields)


def raised(sensor, value: float = 12.0, seconds_ago: float = 0.0) -> Alarm:
    feed(sensor, value, seconds_ago)
    return Alarm.objects.filter(sensor=sensor).latest("id")


def ids(response) -> list[int]:
    body = response.json()
    return [a["id"] for a in (body["results"] if isinstance(body, dict) else body)]


@pytest.fixture
def hi_alarm(plant) -> Alarm:
    """'hi' at 10 bar on P1_PRESS, raised by 12 bar: active, unacknowledged."""
    rule(plant["pressure"], severity="high")
    return raised(plant["pressure"])


@pytest.fixture
def ops(operator):
    return client_for(operator)


# -- access ------------------------------------------------------------------------------------------


def test_anonymous_gets_401_everywhere(anon_client, hi_alarm):
    for url in ("/api/alarms", f"/api/alarms/{hi_alarm.pk}", "/api/alarms/active", "/api/alarms/summary"):
        assert anon_client.get(url).status_code == 401, url
    assert anon_client.get("/api/alarm-rules").status_code == 401
    assert anon_client.post(f"/api/alarms/{hi_alarm.pk}/acknowledge", {}, format="json").status_code == 401


def test_a_user_without_a_role_is_told_so(nobody, hi_alarm):
    response = client_for(nobody).get("/api/alarms")
    assert response.status_code == 403
    assert "no role" in response.json()["detail"]


def test_a_viewer_reads_everything_but_may_not_act(viewer, hi_alarm):
    client = client_for(viewer)
    for url in ("/api/alarms", f"/api/alarms/{hi_alarm.pk}", "/api/alarms/active", "/api/alarms/summary"):
        assert client.get(url).status_code == 200, url
    assert client.get("/api/alarm-rules").status_code == 200
    actions = {
        f"/api/alarms/{hi_alarm.pk}/acknowledge": {"note": "seen"},
        f"/api/alarms/{hi_alarm.pk}/shelve": {"minutes": 10, "reason": "maintenance"},
        f"/api/alarms/{hi_alarm.pk}/unshelve": {},
        f"/api/alarms/{hi_alarm.pk}/reset": {},
        "/api/alarms/acknowledge": {"ids": [hi_alarm.pk]},
    }
    for url, body in actions.items():
        response = client.post(url, body, format="json")
        assert response.status_code == 403, url
        assert response.json()["detail"] == "Only operators, engineers and admins may act on alarms."
    hi_alarm.refresh_from_db()
    assert hi_alarm.state == "unack"
    assert not AlarmEvent.objects.exclude(kind="raised").exists()


def test_an_unknown_alarm_is_a_json_404(ops, hi_alarm):
    for response in (
        ops.get("/api/alarms/999999"),
        ops.post("/api/alarms/999999/acknowledge", {}, format="json"),
        ops.post("/api/alarms/999999/shelve", {}, format="json"),  # 404 before the body's 400
    ):
        assert response.status_code == 404
        assert "detail" in response.json()


# -- lists and filters -----------------------------------------------------------------------------


@pytest.fixture
def three_alarms(plant) -> dict[str, Alarm]:
    """Pressure hi (high, cleared: rtn_unack, 2 h ago), flow hi (critical, unack, 1 h ago),
    steam lo (low, unack, now; machine BLR1)."""
    rule(plant["pressure"], severity="high")
    rule(plant["flow"], setpoint=100, severity="critical")
    rule(plant["steam"], kind="lo", setpoint=2, severity="low")
    pressure = raised(plant["pressure"], 12, seconds_ago=7200)
    feed(plant["pressure"], 5, seconds_ago=7100)
    return {
        "pressure": pressure,
        "flow": raised(plant["flow"], 150, seconds_ago=3600),
        "steam": raised(plant["steam"], 1),
    }


def test_the_list_is_newest_first_and_paginated(deployment_client, three_alarms):
    a = three_alarms
    assert ids(deployment_client.get("/api/alarms")) == [a["steam"].pk, a["flow"].pk, a["pressure"].pk]
    page = deployment_client.get("/api/alarms?limit=1&offset=1").json()
    assert (page["count"], [r["id"] for r in page["results"]]) == (3, [a["flow"].pk])
    row = deployment_client.get("/api/alarms?limit=1").json()["results"][0]
    assert (row["machine_code"], row["sensor_code"], row["severity"], row["state"]) == (
        "BLR1",
        "STEAM_PRESS",
        "low",
        "unack",
    )


def test_filters_by_state_severity_kind_machine_and_sensor(deployment_client, plant, three_alarms):
    a = three_alarms

    def listed(query: str) -> set[int]:
        response = deployment_client.get(f"/api/alarms?{query}")
        assert response.status_code == 200, response.content
        return set(ids(response))

    assert listed("state=rtn_unack") == {a["pressure"].pk}
    assert listed("state=rtn_unack&state=unack") == {a["pressure"].pk, a["flow"].pk, a["steam"].pk}
    assert listed("severity=critical&severity=low") == {a["flow"].pk, a["steam"].pk}
    assert listed("kind=lo") == {a["steam"].pk}
    assert listed(f"machine={plant['pump'].pk}") == {a["pressure"].pk, a["flow"].pk}
    assert listed("machine_code=BLR1") == {a["steam"].pk}
    assert listed(f"sensor={plant['flow'].pk}") == {a["flow"].pk}
    bad = deployment_client.get("/api/alarms?state=banana")
    assert bad.status_code == 400
    assert "banana" in str(bad.json()["state"])


def test_open_filter(ops, hi_alarm):
    ops.post(f"/api/alarms/{hi_alarm.pk}/acknowledge", {}, format="json")
    assert ids(ops.get("/api/alarms?open=true")) == [hi_alarm.pk]
    feed(hi_alarm.sensor, 5)  # acknowledged and back to normal: closed
    assert ids(ops.get("/api/alarms?open=true")) == []
    assert ids(ops.get("/api/alarms?open=false")) == [hi_alarm.pk]


def test_filters_by_trigger_time_and_refuses_a_bad_date(deployment_client, three_alarms):
    a = three_alarms
    after = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5400))  # 1.5 h ago
    assert set(ids(deployment_client.get(f"/api/alarms?triggered_after={after}"))) == {a["flow"].pk, a["steam"].pk}
    assert ids(deployment_client.get(f"/api/alarms?triggered_before={after}")) == [a["pressure"].pk]
    response = deployment_client.get("/api/alarms?triggered_after=yesterday")
    assert response.status_code == 400
    assert "ISO 8601" in response.json()["triggered_after"][0]


def test_ordering_by_severity_puts_critical_first(deployment_client, three_alarms):
    a = three_alarms
    by_rank = [a["flow"].pk, a["pressure"].pk, a["steam"].pk]  # critical, high, low
    assert ids(deployment_client.get("/api/alarms?ordering=severity")) == by_rank
    assert ids(deployment_client.get("/api/alarms?ordering=-severity")) == by_rank[::-1]
    assert ids(deployment_client.get("/api/alarms?ordering=triggered_at")) == [
        a["pressure"].pk,
        a["flow"].pk,
        a["steam"].pk,
    ]


def test_the_detail_has_the_journal_oldest_first(ops, hi_alarm, operator):
    ops.post(f"/api/alarms/{hi_alarm.pk}/acknowledge", {"note": "crew on the way"}, format="json")
    feed(hi_alarm.sensor, 5)
    body = ops.get(f"/api/alarms/{hi_alarm.pk}").json()
    assert body["state"] == "closed"
    journal = [(e["kind"], e["from_state"], e["to_state"], e["user"], e["note"]) for e in body["events"]]
    assert journal == [
        ("raised", "", "unack", None, ""),
        ("acknowledged", "unack", "acked", "bob", "crew on the way"),
        ("cleared", "acked", "closed", None, ""),
    ]


# -- active list and summary -----------------------------------------------------------------------


def test_active_lists_open_alarms_by_severity_then_newest(ops, plant, three_alarms):
    a = three_alarms
    rule(plant["steam"], kind="lolo", setpoint=1.5, severity="critical")
    newest_critical = raised(plant["steam"], 1)
    ops.post(f"/api/alarms/{a['pressure'].pk}/acknowledge", {}, format="json")  # rtn_unack -> closed
    response = ops.get("/api/alarms/active")
    assert response.status_code == 200
    assert ids(response) == [newest_critical.pk, a["flow"].pk, a["steam"].pk]  # a plain list, not paginated
    assert ids(ops.get("/api/alarms/active?machine_code=BLR1")) == [newest_critical.pk, a["steam"].pk]


def test_active_leaves_out_shelved_and_out_of_service_alarms_unless_asked(ops, plant, engineer, three_alarms):
    a = three_alarms
    ops.post(f"/api/alarms/{a['flow'].pk}/shelve", {"minutes": 30, "reason": "flowmeter swap"}, format="json")
    steam_rule = a["steam"].rule
    client_for(engineer).post(
        f"/api/alarm-rules/{steam_rule.pk}/out-of-service", {"note": "boiler overhaul"}, format="json"
    )
    assert ids(ops.get("/api/alarms/active")) == [a["pressure"].pk]
    everything = ops.get("/api/alarms/active?include_shelved=true").json()
    assert [r["id"] for r in everything] == [a["flow"].pk, a["pressure"].pk, a["steam"].pk]
    assert [(r["shelved_until"] is not None, r["out_of_service"]) for r in everything] == [
        (True, False),
        (False, False),
        (False, True),
    ]
    assert ops.get("/api/alarms/active?include_shelved=maybe").status_code == 400
    assert ids(ops.get("/api/alarms/active?shelved=false&ordering=-triggered_at")) == [a["pressure"].pk]
    assert ids(ops.get("/api/alarms?shelved=true")) == [a["flow"].pk]
    assert set(ids(ops.get("/api/alarms?shelved=false"))) == {a["pressure"].pk, a["steam"].pk}


def test_summary_counts_for_the_badge(ops, plant, engineer, three_alarms):
    a = three_alarms
    rule(plant["pressure"], kind="hihi", setpoint=20, severity="critical")
    hihi = raised(plant["pressure"], 25)  # pressure's hi is raised again by the same reading
    ops.post(f"/api/alarms/{a['flow'].pk}/acknowledge", {}, format="json")
    ops.post(f"/api/alarms/{a['steam'].pk}/shelve", {"minutes": 30, "reason": "sensor check"}, format="json")
    client_for(engineer).post(f"/api/alarm-rules/{hihi.rule_id}/out-of-service", {"note": "trip test"}, format="json")
    assert ops.get("/api/alarms/summary").json() == {
        "open": 2,  # pressure hi (unack) and flow (acked)
        "unacknowledged": 1,
        "unacknowledged_by_severity": {"critical": 0, "high": 1, "medium": 0, "low": 0},
        "shelved": 1,
        "out_of_service": 1,
    }


# -- operator actions --------------------------------------------------------------------------------


def test_acknowledge_changes_the_state_and_journals_user_and_note(ops, hi_alarm):
    response = ops.post(f"/api/alarms/{hi_alarm.pk}/acknowledge", {"note": "valve opened"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["state"], body["acknowledged_by"]) == (hi_alarm.pk, "acked", "bob")
    event = AlarmEvent.objects.get(alarm=hi_alarm, kind="acknowledged")
    assert (event.user.username, event.note, event.from_state, event.to_state) == (
        "bob",
        "valve opened",
        "unack",
        "acked",
    )


def test_acknowledging_twice_is_a_409_with_the_reason(ops, hi_alarm):
    assert ops.post(f"/api/alarms/{hi_alarm.pk}/acknowledge", {}, format="json").status_code == 200
    response = ops.post(f"/api/alarms/{hi_alarm.pk}/acknowledge", {}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "The alarm is already acknowledged."}
    assert AlarmEvent.objects.filter(kind="acknowledged").count() == 1


def test_shelving_needs_a_reason_and_a_sensible_duration(ops, hi_alarm):
    url = f"/api/alarms/{hi_alarm.pk}/shelve"
    with override_settings(ALARM_SHELVE_MAX_MINUTES=60):
        for body, field in [
            ({"minutes": 0, "reason": "x"}, "minutes"),
            ({"minutes": 61, "reason": "x"}, "minutes"),
            ({"minutes": "soon", "reason": "x"}, "minutes"),
            ({"minutes": 10}, "reason"),
            ({"minutes": 10, "reason": "   "}, "reason"),
        ]:
            response = ops.post(url, body, format="json")
            assert response.status_code == 400, body
            assert field in response.json(), body
        assert "at most 60 minutes" in ops.post(url, {"minutes": 61, "reason": "x"}, format="json").json()["minutes"][0]
    assert not AlarmEvent.objects.filter(kind="shelved").exists()


def test_shelve_and_unshelve(ops, hi_alarm):
    response = ops.post(f"/api/alarms/{hi_alarm.pk}/shelve", {"minutes": 15, "reason": "recalibration"}, format="json")
    assert response.status_code == 200
    assert response.json()["shelved_until"] is not None
    feed(hi_alarm.sensor, 5)  # returns to normal while shelved: journaled, not announced
    assert AlarmEvent.objects.get(kind="cleared").announced is False
    response = ops.post(f"/api/alarms/{hi_alarm.pk}/unshelve", {"note": "done"}, format="json")
    assert response.status_code == 200
    assert (response.json()["shelved_until"], response.json()["state"]) == (None, "rtn_unack")
    assert AlarmEvent.objects.get(kind="unshelved").note == "done"
    again = ops.post(f"/api/alarms/{hi_alarm.pk}/unshelve", {}, format="json")
    assert (again.status_code, again.json()) == (409, {"detail": "The alarm is not shelved."})


def test_a_latched_alarm_resets_only_once_its_condition_cleared(ops, plant):
    rule(plant["pressure"], latching=True)
    alarm = raised(plant["pressure"])
    url = f"/api/alarms/{alarm.pk}/reset"
    response = ops.post(url, {}, format="json")
    assert response.status_code == 409
    assert "still active" in response.json()["detail"]
    feed(plant["pressure"], 5)
    assert Alarm.objects.get(pk=alarm.pk).state == "unack"  # latched: stays until reset
    response = ops.post(url, {"note": "pressure relief checked"}, format="json")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["acknowledged_by"]) == ("closed", "bob")
    assert AlarmEvent.objects.get(kind="reset").note == "pressure relief checked"


def test_reset_of_an_unlatched_alarm_is_refused(ops, hi_alarm):
    response = ops.post(f"/api/alarms/{hi_alarm.pk}/reset", {}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == "Only a latched alarm needs a reset; acknowledge this one."


def test_bulk_acknowledge_reports_what_it_could_not_do(ops, plant, three_alarms):
    a = three_alarms
    ops.post(f"/api/alarms/{a['flow'].pk}/acknowledge", {}, format="json")
    body = {"ids": [a["steam"].pk, a["flow"].pk, 999999, a["pressure"].pk, a["steam"].pk], "note": "shift handover"}
    response = ops.post("/api/alarms/acknowledge", body, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "acknowledged": [a["steam"].pk, a["pressure"].pk],
        "refused": {str(a["flow"].pk): "The alarm is already acknowledged.", "999999": "No such alarm."},
    }
    assert AlarmEvent.objects.filter(kind="acknowledged", note="shift handover").count() == 2
    for bad in ({"ids": []}, {"ids": ["x"]}, {"note": "no ids"}):
        response = ops.post("/api/alarms/acknowledge", bad, format="json")
        assert response.status_code == 400 and "ids" in response.json(), bad


# -- alarm rules -------------------------------------------------------------------------------------


def test_rules_are_listed_with_their_live_state_and_filtered(ops, plant, hi_alarm):
    rule(plant["steam"], kind="lo", setpoint=2, severity="critical", enabled=False)
    rows = ops.get("/api/alarm-rules").json()["results"]
    pressure = next(r for r in rows if r["sensor"] == plant["pressure"].pk)
    assert (pressure["active"], pressure["open_alarm"], pressure["out_of_service"]) == (True, hi_alarm.pk, False)
    assert (pressure["machine_code"], pressure["sensor_code"]) == ("PS1", "P1_PRESS")
    steam = next(r for r in rows if r["sensor"] == plant["steam"].pk)
    assert (steam["active"], steam["open_alarm"], steam["shelved_until"]) == (False, None, None)

    def kinds(query: str) -> list[str]:
        return [r["kind"] for r in ops.get(f"/api/alarm-rules?{query}").json()["results"]]

    assert kinds("machine_code=BLR1") == ["lo"]
    assert kinds(f"machine={plant['pump'].pk}") == ["hi"]
    assert kinds(f"sensor={plant['steam'].pk}") == ["lo"]
    assert kinds("severity=critical") == ["lo"]
    assert kinds("kind=hi") == ["hi"]
    assert kinds("enabled=false") == ["lo"]


def test_only_engineers_change_rules(viewer, operator, engineer, plant):
    body = {"sensor": plant["flow"].pk, "kind": "hi", "setpoint": 90, "severity": "high"}
    for user in (viewer, operator):
        response = client_for(user).post("/api/alarm-rules", body, format="json")
        assert response.status_code == 403
        assert response.json()["detail"] == "Only engineers and admins may change this."
    client = client_for(engineer)
    created = client.post("/api/alarm-rules", body, format="json")
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    assert (created.json()["active"], created.json()["open_alarm"]) == (False, None)
    assert client.patch(f"/api/alarm-rules/{rule_id}", {"setpoint": 95}, format="json").json()["setpoint"] == 95
    assert client_for(operator).delete(f"/api/alarm-rules/{rule_id}").status_code == 403
    assert client.delete(f"/api/alarm-rules/{rule_id}").status_code == 204
    assert not AlarmRule.objects.exists()


def test_rule_validation_gives_field_errors(engineer, plant):
    client = client_for(engineer)
    sensor = plant["flow"].pk
    cases = [
        ({"sensor": sensor, "kind": "rate", "setpoint": 0}, "setpoint", "more than 0"),
        ({"sensor": sensor, "kind": "comm_loss", "setpoint": -5}, "setpoint", "more than 0"),
        (
            {"sensor": sensor, "kind": "hi", "setpoint": 5, "message": "{sensor} at {pressure}"},
            "message",
            "Unknown placeholder",
        ),
        ({"sensor": sensor, "kind": "hi", "setpoint": 5, "deadband": -1}, "deadband", ""),
        ({"sensor": sensor, "kind": "sideways", "setpoint": 5}, "kind", ""),
    ]
    for body, field, words in cases:
        response = client.post("/api/alarm-rules", body, format="json")
        assert response.status_code == 400, body
        assert words in str(response.json()[field]), response.json()
    made = client.post("/api/alarm-rules", {"sensor": sensor, "kind": "rate", "setpoint": 3}, format="json").json()
    response = client.patch(f"/api/alarm-rules/{made['id']}", {"setpoint": 0}, format="json")  # the stored kind counts
    assert response.status_code == 400 and "setpoint" in response.json()
    assert not AlarmRule.objects.filter(setpoint__lte=0).exists()


def test_a_second_rule_of_the_same_kind_on_a_sensor_is_refused_with_a_reason(engineer, plant):
    client = client_for(engineer)
    first = rule(plant["pressure"], kind="hi")
    response = client.post(
        "/api/alarm-rules", {"sensor": plant["pressure"].pk, "kind": "hi", "setpoint": 12}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["kind"] == [
        f"Sensor PS1/P1_PRESS already has a high limit rule (rule {first.pk}); edit that one."
    ]
    other = rule(plant["pressure"], kind="hihi", setpoint=14)
    assert client.patch(f"/api/alarm-rules/{other.pk}", {"kind": "hi"}, format="json").status_code == 400
    assert (
        client.patch(f"/api/alarm-rules/{first.pk}", {"kind": "hi", "setpoint": 11}, format="json").status_code == 200
    )


def test_out_of_service_is_for_engineers_and_keeps_journaling_quietly(operator, engineer, plant):
    hi = rule(plant["pressure"])
    url = f"/api/alarm-rules/{hi.pk}"
    refused = client_for(operator).post(f"{url}/out-of-service", {"note": "sensor replaced"}, format="json")
    assert refused.status_code == 403
    client = client_for(engineer)
    assert "note" in client.post(f"{url}/out-of-service", {}, format="json").json()
    response = client.post(f"{url}/out-of-service", {"note": "sensor replaced"}, format="json")
    assert response.status_code == 200 and response.json()["out_of_service"] is True
    again = client.post(f"{url}/out-of-service", {"note": "again"}, format="json")
    assert (again.status_code, again.json()) == (409, {"detail": "The alarm is already out of service."})

    alarm = raised(plant["pressure"])  # raised while out of service: journaled, not announced
    assert AlarmEvent.objects.get(alarm=alarm, kind="raised").announced is False
    shelve = client_for(operator).post(f"/api/alarms/{alarm.pk}/shelve", {"minutes": 5, "reason": "x"}, format="json")
    assert (shelve.status_code, shelve.json()["detail"]) == (409, "The alarm is out of service; it cannot be shelved.")

    back = client.post(f"{url}/in-service", {"note": "new transmitter checked"}, format="json")
    assert back.status_code == 200 and back.json()["out_of_service"] is False
    event = AlarmEvent.objects.get(kind="in_service")
    assert (event.user.username, event.note, event.alarm_id) == ("erin", "new transmitter checked", alarm.pk)
    assert client.post(f"{url}/in-service", {}, format="json").status_code == 409


def test_the_schema_documents_the_alarm_endpoints(deployment_client):
    paths = deployment_client.get("/api/schema").json()["paths"]
    assert {
        "/api/alarms/active",
        "/api/alarms/summary",
        "/api/alarms/{id}/shelve",
        "/api/alarm-rules/{id}/out-of-service",
    } <= set(paths)


def test_a_closed_alarm_cannot_be_shelved(plant, hi_alarm, ops):
    feed(plant["pressure"], 5)  # back to normal
    ops.post(f"/api/alarms/{hi_alarm.pk}/acknowledge", {}, format="json")
    response = ops.post(f"/api/alarms/{hi_alarm.pk}/shelve", {"minutes": 30, "reason": "noisy"}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == "The alarm is closed."


def test_a_rule_cannot_move_to_another_sensor(plant, engineer):
    moved = rule(plant["pressure"])
    response = client_for(engineer).patch(f"/api/alarm-rules/{moved.pk}", {"sensor": plant["flow"].pk}, format="json")
    assert response.status_code == 400
    assert "cannot move" in response.json()["sensor"][0]
