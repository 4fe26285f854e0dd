"""`/ws/realtime`: live readings per machine and alarm transitions, with flow control.

Protocol (JSON text frames):
- client -> {"action": "subscribe", "machines": [ids] | "*", "sensors": [ids], "alarms": true}
  replaces the subscription. Readings come for the listed machines' sensors ("*": the whole plant)
  plus the listed sensors; alarm events (all machines) when "alarms" is true. The server answers
  {"type": "subscribed", "machines": [...], "sensors": n, "alarms": bool} and then an update with
  every subscribed sensor's current value (its last reading).
- server -> {"type": "update", "seq": n, "readings": {"<sensor id>": [epoch s, value, quality]},
  "alarms": [alarm event, as on MQTT alarms/{machine}], "machines": {"<machine id>": "maintenance"}
  (only when a listened-to machine's status changed), "resync": true (only when alarm events were
  dropped: re-read /api/alarms/active)}
- client -> {"action": "ack", "seq": n} after handling update n. At most LIVE_CLIENT_WINDOW updates
  are unacknowledged; meanwhile newer values replace older ones (apps/live/outbox.py).
- server -> {"type": "error", "reason": "..."} for a bad request (the socket stays open).
Close codes: 4401 not authenticated (or a wrong token), 4403 no role.
"""

from __future__ import annotations

import orjson
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db.models import Q

from apps.accounts import roles
from apps.alarms.announce import BROWSER_GROUP
from apps.live.fanout import machine_group
from apps.live.outbox import Outbox
from apps.plant.models import Machine, Sensor

MAX_IDS = 5000


class BadRequest(Exception):
    pass


def _ids(value, name: str) -> set[int]:
    if value is None:
        return set()
    if not isinstance(value, list) or len(value) > MAX_IDS:
        raise BadRequest(f"{name} must be a list of at most {MAX_IDS} ids")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise BadRequest(f"{name} must hold whole numbers (ids)")
    return set(value)


@database_sync_to_async
def _allowed(user) -> bool:
    return roles.has_role(user, roles.VIEWER)


@database_sync_to_async
def _resolve(machines, sensors: set[int]) -> tuple[set[int], set[str] | None, dict[str, list]]:
    """(machine ids to listen to, sensor filter or None for all of them, current values)."""
    if machines == "*":
        machine_ids = set(Machine.objects.values_list("id", flat=True))
    else:
        machine_ids = _ids(machines, "machines")
        unknown = machine_ids - set(Machine.objects.filter(pk__in=machine_ids).values_list("id", flat=True))
        if unknown:
            raise BadRequest(f"no such machine: {', '.join(map(str, sorted(unknown)))}")
    rows = list(
        Sensor.objects.filter(Q(machine_id__in=machine_ids) | Q(pk__in=sensors)).values_list(
            "id", "machine_id", "last_value", "last_seen", "last_quality"
        )
    )
    machine_of = {row[0]: row[1] for row in rows}
    unknown = sensors - machine_of.keys()
    if unknown:
        raise BadRequest(f"no such sensor: {', '.join(map(str, sorted(unknown)))}")
    listen = machine_ids | {machine_of[sensor_id] for sensor_id in sensors}
    # Whole machines forward every sensor; a single sensor of another machine means filtering.
    wanted = None if listen == machine_ids else {str(sensor_id) for sensor_id in machine_of}
    current = {
        str(sensor_id): [seen.timestamp(), value, quality]
        for sensor_id, _, value, seen, quality in rows
        if seen is not None and value is not None
    }
    return listen, wanted, current


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    @classmethod
    async def encode_json(cls, content) -> str:
        return orjson.dumps(content).decode()  # several times faster than json: every update, every client

    @classmethod
    async def decode_json(cls, text_data):
        return orjson.loads(text_data)

    async def dispatch(self, message) -> None:
        # Channels closes stale database connections before every message, a thread-pool round
        # trip paid here for each update and each acknowledgement of each client. This consumer
        # touches the database only through database_sync_to_async, which does that itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        if not await _allowed(user):
            await self.close(code=4403)
            return
        self.groups_joined: set[str] = set()
        self.wanted: set[str] | None = set()  # sensor ids to forward; None: all of the machines listened to
        self.alarms = False
        self.outbox = Outbox(window=settings.LIVE_CLIENT_WINDOW)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        try:
            if action == "subscribe":
                await self.subscribe(content)
            elif action == "ack":
                seq = content.get("seq")
                if not isinstance(seq, int):
                    raise BadRequest("ack needs the seq of an update")
                self.outbox.ack(seq)
                await self.flush()
            else:
                raise BadRequest('action must be "subscribe" or "ack"')
        except BadRequest as exc:
            await self.send_json({"type": "error", "reason": str(exc)})

    async def subscribe(self, content: dict) -> None:
        machines = content.get("machines", [])
        sensors = _ids(content.get("sensors"), "sensors")
        alarms = content.get("alarms", False)
        if not isinstance(alarms, bool):
            raise BadRequest("alarms must be true or false")
        listen, wanted, current = await _resolve(machines, sensors)
        groups = {machine_group(machine_id) for machine_id in listen} | ({BROWSER_GROUP} if alarms else set())
        for group in groups - self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        for group in self.groups_joined - groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined, self.wanted, self.alarms = groups, wanted, alarms
        self.outbox.readings = {}
        await self.send_json(
            {"type": "subscribed", "machines": sorted(listen), "sensors": len(current), "alarms": alarms}
        )
        self.outbox.add_readings(current)
        await self.flush()

    async def flush(self) -> None:
        message = self.outbox.take()
        if message is not None:
            await self.send_json(message)

    # -- group messages ----------------------------------------------------------------------------
    async def live_readings(self, event: dict) -> None:
        text = event["json"]  # {"<sensor id>": [ts, value, quality]}, encoded by the ingest
        if self.wanted is None:
            seq = self.outbox.claim()
            if seq is not None:  # nothing to merge or filter: send it as the ingest encoded it
                await self.send(text_data=f'{{"type":"update","seq":{seq},"readings":{text},"alarms":[]}}')
                return
        readings = orjson.loads(text)
        if self.wanted is not None:
            readings = {s: r for s, r in readings.items() if s in self.wanted}
        if readings:
            self.outbox.add_readings(readings)
            await self.flush()

    async def live_machine(self, event: dict) -> None:
        self.outbox.add_machine(event["machine"], event["status"])
        await self.flush()

    async def alarm_event(self, event: dict) -> None:
        if self.alarms:
            self.outbox.add_event(event["message"])
            await self.flush()
