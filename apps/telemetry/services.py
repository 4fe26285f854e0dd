"""Telemetry figures and workflows shared by the API, admin, tasks and the ingest."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.plant.models import Machine, Sensor
from apps.plant.topics import CODE_RE
from apps.telemetry import stats
from apps.telemetry.ingest import Decoded, Message, decode_batch, load_index, store_batch
from apps.telemetry.models import RejectCount, RejectedMessage
from apps.telemetry.payloads import UNKNOWN_MACHINE, UNKNOWN_SENSOR, Limits


def ingest_figures() -> dict[str, Any]:
    """Every live ingest worker's figures, their sum, the rejects by reason, the newest reading's age."""
    workers = stats.read_all()
    newest = Sensor.objects.aggregate(newest=Max("last_seen"))["newest"]
    return {
        "workers": workers,
        "readings_per_s": round(sum(w["readings_per_s"] for w in workers), 1),
        "newest_reading_age_s": round((timezone.now() - newest).total_seconds(), 1) if newest else None,
        "rejected": dict(RejectCount.objects.values_list("reason", "count")),
    }


def create_sensors_for_rejected(messages: list[RejectedMessage]) -> tuple[list[Sensor], int]:
    """Turn unknown `sensors/{machine}/{sensor}/value` topics into sensors (and machines), then
    store the kept payloads of those topics. Returns (sensors created, readings recovered)."""
    created: list[Sensor] = []
    with transaction.atomic():
        for topic in sorted({m.topic for m in messages if m.reason in (UNKNOWN_SENSOR, UNKNOWN_MACHINE)}):
            parts = topic.split("/")
            if len(parts) != 4 or parts[0] != "sensors" or parts[3] != "value":
                continue
            machine_code, sensor_code = parts[1], parts[2]
            if not (CODE_RE.match(machine_code) and CODE_RE.match(sensor_code)):
                continue
            machine, _ = Machine.objects.get_or_create(code=machine_code, defaults={"name": machine_code})
            if Sensor.objects.filter(mqtt_topic=topic).exists():
                continue
            sensor, was_created = Sensor.objects.get_or_create(
                machine=machine, code=sensor_code, defaults={"name": sensor_code, "mqtt_topic": topic}
            )
            if was_created:
                created.append(sensor)
        recovered = replay_rejected(
            RejectedMessage.objects.filter(topic__in=[s.mqtt_topic for s in created]).order_by("id")
        )
    return created, recovered


def replay_rejected(queryset) -> int:
    """Store the kept payloads again with today's plant (e.g. after their sensor was created).
    Those that now store are removed from the rejected list; the others stay as they are.
    Returns the readings stored."""
    index = load_index()
    limits = Limits(max_future=float(settings.INGEST_MAX_FUTURE_SECONDS))
    recovered = Decoded()
    done = []
    for rejected in queryset:
        # Decoded against its original receive time, as it was then.
        message = Message(rejected.topic, rejected.payload.encode(), rejected.received_at.timestamp())
        decoded = decode_batch([message], index, limits)
        if not decoded.rejected:
            recovered.rows.extend(decoded.rows)
            done.append(rejected.pk)
    stored = store_batch(recovered)
    RejectedMessage.objects.filter(pk__in=done).delete()
    return stored.inserted
