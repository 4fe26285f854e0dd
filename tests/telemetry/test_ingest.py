"""The ingest worker against a real broker and database: every reading stored exactly once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from apps.plant.models import Sensor
from apps.telemetry.models import Reading, RejectCount, RejectedMessage
from tests.helpers import ROOT, IngestProcess, publish, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BASE = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def stamp(seconds: float) -> str:
    return (BASE + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def sequence(topic: str, count: int, start: int = 0) -> list[tuple[str, str]]:
    """Readings numbered by value, one second apart."""
    return [(topic, json.dumps({"value": i, "ts": stamp(i)})) for i in range(start, start + count)]


def stored_values(sensor: Sensor) -> list[float]:
    return list(Reading.objects.filter(sensor=sensor).order_by("time").values_list("value", flat=True))


def test_every_reading_is_stored_once_and_the_latest_value_kept(plant, broker, ingest):
    worker = ingest()
    sensor = plant["pressure"]
    publish(broker.port, sequence(sensor.mqtt_topic, 3000))
    assert wait_until(lambda: Reading.objects.filter(sensor=sensor).count() == 3000)
    assert stored_values(sensor) == [float(i) for i in range(3000)]
    sensor.refresh_from_db()
    assert (sensor.last_value, sensor.last_seen, sensor.last_quality) == (2999.0, BASE + timedelta(seconds=2999), 0)
    assert worker.stop() == 0
    assert "3000 readings stored" in worker.output()


def test_all_payload_forms_are_understood(plant, broker, ingest):
    ingest()
    flow, pressure = plant["flow"], plant["pressure"]
    before = datetime.now(UTC)
    publish(
        broker.port,
        [
            (flow.mqtt_topic, "12.5"),  # bare number: receive time
            (pressure.mqtt_topic, json.dumps({"value": 1.5, "ts": 1_780_000_000, "quality": "uncertain"})),
            (pressure.mqtt_topic, json.dumps({"value": 2.5, "ts": 1_780_000_001_500})),  # milliseconds
            (pressure.mqtt_topic, json.dumps({"value": True, "ts": "2026-06-01T12:00:00+02:00"})),
            (
                "sensors/PS1/batch",
                json.dumps(
                    [
                        {
                            "ts": "2026-11-27T09:00:00Z",
                            "values": {"P1_PRESS": 7.25, "FLOW": {"value": 3, "quality": "bad"}},
                        },
                        {"ts": "2026-11-27T09:00:01Z", "values": {"P1_PRESS": 7.5}},
                    ]
                ),
            ),
        ],
    )
    assert wait_until(lambda: Reading.objects.count() == 7)
    readings = {(r.sensor_id, r.time): (r.value, r.quality) for r in Reading.objects.all()}
    assert readings[(pressure.pk, datetime.fromtimestamp(1_780_000_000, UTC))] == (1.5, 1)
    assert readings[(pressure.pk, datetime.fromtimestamp(1_780_000_001.5, UTC))] == (2.5, 0)
    assert readings[(pressure.pk, datetime(2026, 6, 1, 10, 0, tzinfo=UTC))] == (1.0, 0)
    assert readings[(pressure.pk, datetime(2026, 11, 27, 9, 0, 1, tzinfo=UTC))] == (7.5, 0)
    assert readings[(flow.pk, datetime(2026, 11, 27, 9, 0, tzinfo=UTC))] == (3.0, 2)
    bare = Reading.objects.get(sensor=flow, value=12.5)
    assert before - timedelta(seconds=1) <= bare.time <= datetime.now(UTC)


def test_bad_payloads_are_counted_by_reason_and_kept_and_good_ones_stored(plant, broker, ingest):
    worker = ingest()
    pressure = plant["pressure"]
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    bad = [
        (pressure.mqtt_topic, "not a number", "malformed"),
        (pressure.mqtt_topic, '{"ts": 1780000000}', "malformed"),
        (pressure.mqtt_topic, "NaN", "non_finite"),
        (pressure.mqtt_topic, '{"value": "-Infinity"}', "non_finite"),
        (pressure.mqtt_topic, json.dumps({"value": 1, "ts": future}), "future_timestamp"),
        (pressure.mqtt_topic, json.dumps({"value": 1, "ts": "yesterday"}), "bad_timestamp"),
        (pressure.mqtt_topic, json.dumps({"value": 1, "quality": "excellent"}), "bad_quality"),
        ("sensors/PS1/NO_SUCH/value", "1", "unknown_sensor"),
        ("sensors/NO_SUCH/P1/value", "1", "unknown_machine"),
        ("sensors/PS1", "1", "unknown_topic"),
        ("sensors/PS1/batch", json.dumps({"values": {"P1_PRESS": "x", "GHOST": 1}}), None),
        (pressure.mqtt_topic, b"\xff\xfe\x00binary", "malformed"),
    ]
    good = sequence(pressure.mqtt_topic, 200)
    stream = []
    for i, message in enumerate(good):
        stream.append(message)
        if i % 16 == 0 and i // 16 < len(bad):
            stream.append(bad[i // 16][:2])
    publish(broker.port, stream)
    expected = {
        "malformed": 4, "non_finite": 2, "future_timestamp": 1, "bad_timestamp": 1,
        "bad_quality": 1, "unknown_sensor": 2, "unknown_machine": 1, "unknown_topic": 1,
    }  # fmt: skip
    assert wait_until(lambda: dict(RejectCount.objects.values_list("reason", "count")) == expected), dict(
        RejectCount.objects.values_list("reason", "count")
    )
    assert wait_until(lambda: Reading.objects.filter(sensor=pressure).count() == 200)
    assert stored_values(pressure) == [float(i) for i in range(200)]
    kept = RejectedMessage.objects.filter(reason="unknown_machine").get()
    assert kept.topic == "sensors/NO_SUCH/P1/value" and kept.payload == "1"
    assert "NO_SUCH" in kept.detail
    assert worker.process.poll() is None  # still running


def test_the_same_readings_published_twice_are_stored_once(plant, broker, ingest):
    ingest()
    sensor = plant["flow"]
    messages = sequence(sensor.mqtt_topic, 500)
    publish(broker.port, messages)
    publish(broker.port, messages[100:400])
    publish(broker.port, [messages[7]] * 3)
    assert wait_until(lambda: Reading.objects.filter(sensor=sensor).count() == 500)
    marker = sequence(sensor.mqtt_topic, 1, start=500)
    publish(broker.port, marker)  # once this is in, every earlier message has been handled
    assert wait_until(lambda: Reading.objects.filter(sensor=sensor).count() == 501)
    assert stored_values(sensor) == [float(i) for i in range(501)]


def test_kill_9_in_mid_stream_then_restart_stores_every_reading_exactly_once(plant, broker, ingest):
    sensor = plant["pressure"]
    worker = ingest()
    total = 20000
    messages = sequence(sensor.mqtt_topic, total)
    publish(broker.port, messages[:5000])
    assert wait_until(lambda: Reading.objects.filter(sensor=sensor).count() > 0, every=0.01)
    worker.kill()  # mid-stream: some batches committed, others in flight unacknowledged
    stored_at_kill = Reading.objects.filter(sensor=sensor).count()
    publish(broker.port, messages[5000:])  # queued by the broker for the dead worker's session
    restarted = IngestProcess(broker.url, worker.log.parent)
    restarted.client_id, restarted.group = worker.client_id, worker.group
    restarted.start()
    try:
        assert wait_until(lambda: Reading.objects.filter(sensor=sensor).count() >= total, timeout=60)
        assert stored_values(sensor) == [float(i) for i in range(total)]
        assert stored_at_kill < total
        assert "session resumed" in restarted.output()
    finally:
        restarted.stop()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("pg_ctlcluster"), reason="restarting PostgreSQL needs root")
def test_postgresql_restart_in_mid_stream_loses_nothing(plant, broker, ingest):
    sensor = plant["flow"]
    worker = ingest()
    total = 6000
    messages = sequence(sensor.mqtt_topic, total)
    publish(broker.port, messages[:2000])
    assert wait_until(lambda: Reading.objects.filter(sensor=sensor).count() == 2000)
    connection.close()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"], check=True, timeout=60)
    publish(broker.port, messages[2000:])
    assert wait_until(lambda: _count_after_restart(sensor) == total, timeout=90)
    assert stored_values(sensor) == [float(i) for i in range(total)]
    assert "database unavailable" in worker.output()
    assert "database is back" in worker.output()
    assert worker.process.poll() is None


def _count_after_restart(sensor: Sensor) -> int:
    try:
        return Reading.objects.filter(sensor=sensor).count()
    except Exception:
        connection.close()
        return -1


def test_an_unknown_topic_becomes_a_sensor_in_one_admin_action_and_its_readings_are_recovered(plant, broker, ingest):
    ingest()
    topic = "sensors/PS1/P2_PRESS/value"
    publish(broker.port, sequence(topic, 5))
    assert wait_until(lambda: RejectedMessage.objects.filter(topic=topic).count() == 5)

    admin = User.objects.create_superuser("ada", password="ada-password-123")
    client = Client()
    client.force_login(admin)
    ids = list(RejectedMessage.objects.filter(topic=topic).values_list("pk", flat=True))
    response = client.post(
        "/admin/telemetry/rejectedmessage/",
        {"action": "create_sensors", "_selected_action": ids},
        follow=True,
    )
    assert response.status_code == 200
    assert "Created 1 sensor(s): PS1/P2_PRESS; 5 kept reading(s) stored." in response.content.decode()
    sensor = Sensor.objects.get(machine__code="PS1", code="P2_PRESS")
    assert sensor.mqtt_topic == topic
    assert stored_values(sensor) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert not RejectedMessage.objects.filter(topic=topic).exists()

    # The running worker picks the new sensor up by itself.
    publish(broker.port, sequence(topic, 1, start=5))
    assert wait_until(lambda: Reading.objects.filter(sensor=sensor).count() == 6)


def test_health_shows_the_ingest_figures(plant, broker, ingest, deployment_client):
    client_id = ingest().client_id
    publish(broker.port, [*sequence(plant["flow"].mqtt_topic, 300), ("sensors/PS1/GHOST/value", "1")])
    assert wait_until(lambda: Reading.objects.count() == 300)

    def figures():
        check = deployment_client.get("/api/health").json()["checks"]["ingest"]
        # Figures are published every 2 s: wait for the report that includes the last batch.
        mine = [w for w in check.get("workers", []) if w["client_id"] == client_id and w["readings_total"] == 300]
        return (check, mine[0]) if mine else None

    check, worker = wait_until(figures, timeout=10)
    assert check["ok"] is True
    assert worker["readings_total"] == 300
    assert worker["rejected"] == {"unknown_sensor": 1}
    assert worker["database_ok"] and worker["mqtt_connected"]
    assert worker["commit_ms_p50"] is not None
    assert check["rejected"] == {"unknown_sensor": 1}
    assert check["newest_reading_age_s"] is not None


def test_retiring_a_worker_stores_its_queued_share_and_frees_the_group(plant, broker, ingest, tmp_path):
    sensor = plant["pressure"]
    first = ingest()
    second = IngestProcess(broker.url, tmp_path, "second")
    second.group = first.group
    second.start()
    assert first.stop() == 0  # its persistent session stays a member of the group...
    publish(broker.port, sequence(sensor.mqtt_topic, 1000))
    assert wait_until(lambda: Reading.objects.filter(sensor=sensor).count() >= 200)
    time.sleep(1)
    assert Reading.objects.filter(sensor=sensor).count() < 1000  # ...and the broker keeps its share for it

    retire = subprocess.run(
        [sys.executable, "manage.py", "ingest", "--client-id", first.client_id, "--group", first.group, "--retire"],
        cwd=ROOT,
        env=first.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert retire.returncode == 0, retire.stderr
    assert "retired" in retire.stderr
    assert Reading.objects.filter(sensor=sensor).count() == 1000

    publish(broker.port, sequence(sensor.mqtt_topic, 500, start=1000))  # now all for the second worker
    assert wait_until(lambda: Reading.objects.filter(sensor=sensor).count() == 1500)
    assert stored_values(sensor) == [float(i) for i in range(1500)]
    second.stop()
    second.forget(broker.port)
