"""Announce committed alarm transitions: MQTT `alarms/{machine}` (QoS 1), browsers (Channels group
`alarms`), and e-mail/webhook notifications (a Celery task per transition).

Called only after the transaction that made the transitions has committed, and only for
transitions the lifecycle marked as announced (never while shelved or out of service). A broker or
Redis outage loses no alarm: the alarms and their journal are in the database; this is the push.
"""

from __future__ import annotations

import logging

import orjson
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from scadapro import mqtt

log = logging.getLogger("scadapro.alarms")

BROWSER_GROUP = "alarms"


def event_message(event) -> dict:
    from apps.alarms.api.serializers import AlarmEventSerializer, AlarmSerializer

    return {
        "event": AlarmEventSerializer(event).data,
        "machine": event.sensor.machine.code,
        "sensor": event.sensor.code,
        "alarm": AlarmSerializer(event.alarm).data if event.alarm else None,
    }


def events(event_ids: list[int]) -> None:
    from apps.alarms import tasks
    from apps.alarms.models import AlarmEvent, NotificationRoute

    selected = (
        AlarmEvent.objects.filter(pk__in=event_ids, announced=True)
        .select_related(
            "sensor__machine", "user", "alarm__sensor__machine", "alarm__acknowledged_by", "alarm__rule__state"
        )
        .order_by("id")
    )
    messages = [(e, event_message(e)) for e in selected]
    publisher = mqtt.shared_publisher()
    for _, message in messages:
        publisher.publish(f"alarms/{message['machine']}", orjson.dumps(message), qos=1)
    try:
        send = async_to_sync(get_channel_layer().group_send)
        for _, message in messages:
            send(BROWSER_GROUP, {"type": "alarm.event", "message": message})
    except Exception:  # Redis away: browsers catch up from the API when they reconnect
        log.exception("could not push alarm events to browsers")
    if not messages or not NotificationRoute.objects.filter(enabled=True).exists():
        return
    for event, _ in messages:
        try:
            tasks.notify.delay(event.pk)
        except Exception:
            log.exception("could not queue notifications for alarm event %s", event.pk)
