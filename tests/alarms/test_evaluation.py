"""Alarm evaluation where readings arrive: per ingest batch, in reading-time order, backfill ignored;
the timer task for delays, shelving expiry and communication loss; and, end to end, a reading published
on MQTT that crosses a limit gives an alarm row and a message on `alarms/{machine}`."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from django.db import connection

from apps.alarms import services
from apps.alarms.models import Alarm, AlarmEvent, AlarmRule, RuleState
from apps.telemetry.ingest import Decoded, store_batch
from apps.telemetry.models import Reading
from tests.helpers import publish, wait_until

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC).timestamp()


def feed(*rows: tuple) -> None:
    """One ingest batch of (sensor, seconds after T0, value[, quality]) readings."""
    decoded = Decoded(
        rows=[(s.pk, T0 + t, float(v), q[0] if q else 0) for s, t, v, *q in rows], rejected=Counter(), kept=[]
    )
    store_batch(decoded)


def journal(sensor) -> list[tuple[str, str, str]]:
    return list(AlarmEvent.objects.filter(sensor=sensor).order_by("id").values_list("kind", "from_state", "to_state"))


@pytest.fixture
def hi_rule(plant) -> AlarmRule:
    return AlarmRule.objects.create(sensor=plant["pressure"], kind="hi", setpoint=10.0, deadband=1.0, severity="high")


@pytest.mark.django_db
def test_a_batch_is_evaluated_in_reading_time_order(plant, hi_rule):
    sensor = plant["pressure"]
    feed((sensor, 3, 5), (sensor, 1, 12.5), (sensor, 2, 9.5))  # arrival order differs from time order
    alarm = Alarm.objects.get(sensor=sensor)
    assert (alarm.state, alarm.value, alarm.triggered_at.timestamp()) == ("rtn_unack", 12.5, T0 + 1)
    assert alarm.resolved_at.timestamp() == T0 + 3  # 9.5 is inside the deadband: it cleared at 5
    assert alarm.message == "Pump 1 pressure high: 12.50 bar (limit 10.00 bar)"
    assert journal(sensor) == [("raised", "", "unack"), ("cleared", "unack", "rtn_unack")]


@pytest.mark.django_db
def test_backfilled_readings_are_stored_but_do_not_flip_the_alarm(plant, hi_rule):
    sensor = plant["pressure"]
    feed((sensor, 100, 5))
    feed((sensor, 50, 15), (sensor, 60, 16))  # older than what the sensor already reported
    assert Reading.objects.filter(sensor=sensor).count() == 3
    assert not Alarm.objects.exists()
    feed((sensor, 101, 15))
    alarm = Alarm.objects.get()
    feed((sensor, 70, 2))  # a late reading back to normal changes nothing either
    alarm.refresh_from_db()
    assert (alarm.state, alarm.condition) == ("unack", True)


@pytest.mark.django_db
def test_bad_quality_readings_do_not_raise_limits(plant, hi_rule):
    sensor = plant["pressure"]
    feed((sensor, 1, 99, 2), (sensor, 2, 99, 1))  # bad, then uncertain
    assert [a.value for a in Alarm.objects.all()] == [99.0]
    assert Alarm.objects.get().triggered_at.timestamp() == T0 + 2


@pytest.mark.django_db
def test_disabled_rules_are_not_evaluated(plant, hi_rule):
    hi_rule.enabled = False
    hi_rule.save()
    feed((plant["pressure"], 1, 50))
    assert not Alarm.objects.exists()


@pytest.mark.django_db
def test_rate_of_change_and_digital_state(plant):
    flow = plant["flow"]
    AlarmRule.objects.create(sensor=flow, kind="rate", setpoint=60.0, severity="medium")  # units per minute
    feed((flow, 0, 100), (flow, 10, 105))  # 30/min
    assert not Alarm.objects.exists()
    feed((flow, 20, 125))  # 120/min, the first reading of the batch measured against the previous batch
    assert Alarm.objects.get().value == pytest.approx(120.0)

    steam = plant["steam"]
    AlarmRule.objects.create(sensor=steam, kind="state", setpoint=0, severity="critical", latching=True)
    feed((steam, 0, 1), (steam, 1, 0), (steam, 2, 1))
    trip = Alarm.objects.get(sensor=steam)
    assert (trip.state, trip.condition, trip.latched) == ("unack", False, True)  # latched: stays until reset


@pytest.mark.django_db
def test_on_delay_raises_through_the_timer_when_no_reading_follows(plant):
    sensor = plant["pressure"]
    AlarmRule.objects.create(sensor=sensor, kind="hi", setpoint=10.0, on_delay=15, severity="high")
    feed((sensor, 0, 12))
    assert not Alarm.objects.exists()
    assert RuleState.objects.get().since.timestamp() == T0
    assert services.run_timers(datetime.fromtimestamp(T0 + 14, UTC)) == 0
    assert services.run_timers(datetime.fromtimestamp(T0 + 16, UTC)) == 1
    alarm = Alarm.objects.get()
    assert alarm.triggered_at.timestamp() == T0 + 15


@pytest.mark.django_db
def test_communication_loss_raises_on_silence_and_clears_when_data_returns(plant):
    sensor = plant["pressure"]
    AlarmRule.objects.create(sensor=sensor, kind="comm_loss", setpoint=30, severity="medium")
    feed((sensor, 0, 5))
    assert services.run_timers(datetime.fromtimestamp(T0 + 29, UTC)) == 0
    assert services.run_timers(datetime.fromtimestamp(T0 + 31, UTC)) == 1
    alarm = Alarm.objects.get()
    assert alarm.message == "Pump 1 pressure: no data for 31 s (allowed 30 s)"
    feed((sensor, 40, 5))
    alarm.refresh_from_db()
    assert (alarm.state, alarm.resolved_at.timestamp()) == ("rtn_unack", T0 + 40)


@pytest.mark.django_db
def test_no_communication_loss_for_a_machine_in_maintenance(plant):
    steam = plant["steam"]  # BLR1 is in maintenance in the fixture
    AlarmRule.objects.create(sensor=steam, kind="comm_loss", setpoint=10, severity="medium")
    assert services.run_timers(datetime.now(UTC) + timedelta(hours=1)) == 0
    assert not Alarm.objects.exists()


@pytest.mark.django_db
def test_shelving_expires_by_itself_and_reannounces_the_standing_alarm(plant, hi_rule, operator):
    sensor = plant["pressure"]
    feed((sensor, 0, 15))
    alarm = services.shelve(Alarm.objects.get(), operator, minutes=5, reason="transmitter being recalibrated")
    feed((sensor, 1, 5), (sensor, 2, 15))  # clears and raises again while shelved: journaled, not announced
    assert list(
        AlarmEvent.objects.filter(id__gt=alarm.events.get(kind="raised").id)
        .order_by("id")
        .values_list("kind", "announced")
    ) == [
        ("shelved", True),
        ("cleared", False),
        ("superseded", False),
        ("raised", False),
    ]
    services.run_timers(datetime.now(UTC) + timedelta(minutes=6))
    expired = AlarmEvent.objects.get(kind="shelve_expired")
    assert expired.announced and expired.alarm.state == "unack" and expired.alarm != alarm
    state = RuleState.objects.get()
    assert (state.shelved_until, state.shelved_by, state.shelve_reason) == (None, None, "")


@pytest.mark.django_db
def test_a_broken_message_template_falls_back_to_the_default_message(plant):
    sensor = plant["pressure"]
    rule = AlarmRule.objects.create(sensor=sensor, kind="hi", setpoint=10, severity="high")
    AlarmRule.objects.filter(pk=rule.pk).update(message="{nonsense}")  # slipped past validation somehow
    feed((sensor, 0, 50))
    assert Alarm.objects.get().message == "Pump 1 pressure high: 50.00 bar (limit 10.00 bar)"


@pytest.mark.django_db
def test_a_failing_alarm_evaluation_never_loses_readings(plant, hi_rule):
    sensor = plant["pressure"]
    with connection.cursor() as cursor:  # make every alarm write fail
        cursor.execute("ALTER TABLE alarms_alarm ADD CONSTRAINT test_no_alarms CHECK (false) NOT VALID")
    feed((sensor, 0, 50))
    assert Reading.objects.filter(sensor=sensor).count() == 1
    assert not Alarm.objects.exists()


@pytest.mark.django_db
def test_disabling_a_rule_clears_its_standing_alarm(plant, hi_rule):
    feed((plant["pressure"], 0, 15))
    hi_rule.enabled = False
    hi_rule.save()
    alarm = Alarm.objects.get()
    assert (alarm.state, alarm.condition) == ("rtn_unack", False)
    assert alarm.events.get(kind="cleared").note == "rule disabled"
    assert not RuleState.objects.get().active


class AlarmListener:
    """A real MQTT subscriber on alarms/#, recording when each message arrived."""

    def __init__(self, port: int):
        self.messages: list[tuple[float, str, dict]] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-alarms-{uuid.uuid4().hex[:8]}")
        subscribed = threading.Event()
        self.client.on_message = lambda c, u, m: self.messages.append((time.time(), m.topic, json.loads(m.payload)))
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("alarms/#", qos=1)
        self.client.loop_start()
        assert subscribed.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_published_reading_over_the_limit_raises_an_alarm_announced_on_mqtt(plant, broker, ingest):
    sensor = plant["pressure"]
    AlarmRule.objects.create(sensor=sensor, kind="hihi", setpoint=14.0, severity="critical")
    listener = AlarmListener(broker.port)
    worker = ingest()
    try:
        now = time.time()
        publish(
            broker.port, [(sensor.mqtt_topic, json.dumps({"value": v, "ts": now + i})) for i, v in enumerate([9, 15])]
        )
        assert wait_until(lambda: listener.messages, timeout=15), worker.output()
        alarm = Alarm.objects.get()
        arrived, topic, message = listener.messages[0]
        assert topic == "alarms/PS1"
        assert message["event"]["kind"] == "raised" and message["sensor"] == "P1_PRESS"
        assert message["alarm"]["id"] == alarm.pk
        assert message["alarm"]["severity"] == "critical" and message["alarm"]["state"] == "unack"
        assert message["alarm"]["value"] == 15.0
        assert arrived - now < 5
    finally:
        listener.close()


@pytest.mark.django_db
def test_an_alarm_whose_rule_was_deleted_can_still_be_closed(plant, hi_rule, operator):
    feed((plant["pressure"], 0, 15))
    alarm = Alarm.objects.get()
    hi_rule.delete()
    alarm = services.acknowledge(Alarm.objects.get(pk=alarm.pk), operator, "rule removed in the last review")
    assert (alarm.state, alarm.acknowledged_by) == ("closed", operator)
    assert alarm.events.get(kind="acknowledged").note == "rule removed in the last review"
