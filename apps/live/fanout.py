"""Ingest side of the live updates: after each committed batch, the newest reading of every sensor
in it goes to the Channels group of its machine (`live.machine.<id>`), coalesced per machine.

A machine's update goes out at once when its previous one is at least LIVE_MACHINE_INTERVAL_MS
old (so a change on a quiet machine reaches the screen with no added delay), otherwise when that
interval is up, holding only the newest value per sensor meanwhile: each machine's group gets at
most 1000 / LIVE_MACHINE_INTERVAL_MS messages a second however fast its readings arrive.

The sending runs in one thread with its own event loop, so the ingest's batch loop never waits for
Redis, and channels_redis keeps its connections (they belong to a loop). If Redis is away, the
updates are dropped and logged: browsers then poll the API (static/js/live.js).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import orjson
from channels.layers import get_channel_layer
from django.conf import settings

from apps.telemetry import hooks
from apps.telemetry.hooks import StoredBatch

log = logging.getLogger("scadapro.live")

SENSOR_MAP_MAX_AGE = 60.0  # seconds: sensors moved to another machine are followed within this


def machine_group(machine_id: int) -> str:
    return f"live.machine.{machine_id}"


class Fanout:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        # machine -> sensor id (a string: msgpack on the channel layer wants string keys) -> [ts, value, quality]
        self._pending: dict[int, dict[str, list]] = {}
        self._last_sent: dict[int, float] = {}
        self._machine_of: dict[int, int] = {}
        self._map_loaded = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self.sent = 0

    # -- ingest thread -----------------------------------------------------------------------------
    def publish(self, latest: dict[int, tuple[float, float, int]]) -> None:
        machine_of = self._sensor_machines(latest)
        with self._lock:
            for sensor_id, (ts, value, quality) in latest.items():
                machine_id = machine_of.get(sensor_id)
                if machine_id is not None:
                    self._pending.setdefault(machine_id, {})[str(sensor_id)] = [ts, value, quality]
        self._start()
        self._loop.call_soon_threadsafe(self._wake.set)

    def _sensor_machines(self, latest: dict) -> dict[int, int]:
        stale = time.monotonic() - self._map_loaded > SENSOR_MAP_MAX_AGE
        if stale or any(sensor_id not in self._machine_of for sensor_id in latest):
            from apps.plant.models import Sensor

            self._machine_of = dict(Sensor.objects.values_list("id", "machine_id"))
            self._map_loaded = time.monotonic()
        return self._machine_of

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="live-fanout", daemon=True)
        self._thread.start()
        ready.wait()

    # -- fan-out thread ----------------------------------------------------------------------------
    def _run(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        self._wake = asyncio.Event()
        ready.set()
        self._loop.run_until_complete(self._send_forever())

    async def _send_forever(self) -> None:
        layer = get_channel_layer()
        while True:
            await self._wake.wait()
            self._wake.clear()
            now = time.monotonic()
            due, later = [], None
            with self._lock:
                for machine_id in list(self._pending):
                    ready_at = self._last_sent.get(machine_id, 0.0) + self.interval
                    if ready_at <= now:
                        due.append((machine_id, self._pending.pop(machine_id)))
                        self._last_sent[machine_id] = now
                    else:
                        later = ready_at if later is None else min(later, ready_at)
            if later is not None:
                self._loop.call_later(later - now, self._wake.set)
            for machine_id, readings in due:
                try:
                    # Encoded once here rather than once per browser: most clients send it as is.
                    readings_json = orjson.dumps(readings).decode()
                    await layer.group_send(
                        machine_group(machine_id),
                        {"type": "live.readings", "machine": machine_id, "json": readings_json},
                    )
                    self.sent += 1
                except Exception:  # Redis away: browsers fall back to polling the API
                    log.warning("could not push live readings of machine %s", machine_id, exc_info=True)


_fanout: Fanout | None = None


def fanout() -> Fanout:
    global _fanout
    if _fanout is None:
        _fanout = Fanout(settings.LIVE_MACHINE_INTERVAL_MS / 1000)
    return _fanout


@hooks.after_commit
def publish_batch(batch: StoredBatch) -> None:
    if batch.latest:
        fanout().publish(batch.latest)
