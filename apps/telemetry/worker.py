"""The ingest worker: a persistent MQTT session feeding per-batch transactions.

Threads: paho's network thread only appends raw messages to a deque (cheap, never blocks); the
main thread forms batches (INGEST_BATCH_SIZE messages or INGEST_BATCH_WAIT_MS since the oldest),
decodes and stores each in one transaction, and only then acknowledges its messages. A crash
before the commit leaves them unacknowledged, so the broker delivers them again; a crash after the
commit but before the acknowledgement makes the broker redeliver readings already stored, which
the primary key turns into no-ops. Nothing is lost, nothing is stored twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection

from apps.telemetry import hooks, stats
from apps.telemetry.ingest import Message, decode_batch, load_index, plant_version, prune_rejected, store_batch
from apps.telemetry.payloads import UNKNOWN_MACHINE, UNKNOWN_SENSOR, Limits
from scadapro.mqtt import connect_blocking, make_client

log = logging.getLogger("scadapro.ingest")

SENSOR_TOPICS = "sensors/#"
POLL = 0.005  # seconds between looks at the buffer
# Batch messages carry many readings each: a batch also closes at this many payload bytes
# (about 40,000 readings), which keeps each transaction and the worker's memory bounded.
MAX_BATCH_BYTES = 1 << 20
IDLE = 0.5
RETIRE_IDLE = 3.0  # seconds without messages after leaving the group: the queue is drained
PLANT_CHECK_EVERY = 5.0  # seconds between checks for plant changes (new sensors, new topics)
STATS_EVERY = 2.0
PRUNE_EVERY = 30.0
MAX_BACKOFF = 30.0


class IngestWorker:
    def __init__(
        self,
        stop: threading.Event,
        *,
        client_id: str | None = None,
        group: str | None = None,
        batch_size: int | None = None,
        batch_wait_ms: int | None = None,
        retire: bool = False,
    ):
        self.stop = stop
        self.retire = retire
        self.unsubscribed = threading.Event()
        self.client_id = client_id or settings.MQTT_INGEST_CLIENT_ID
        group = settings.MQTT_INGEST_GROUP if group is None else group
        # An empty group means a plain subscription (a single worker).
        self.subscription = f"$share/{group}/{SENSOR_TOPICS}" if group else SENSOR_TOPICS
        self.batch_size = batch_size or settings.INGEST_BATCH_SIZE
        self.batch_wait = (batch_wait_ms or settings.INGEST_BATCH_WAIT_MS) / 1000
        self.limits = Limits(max_future=float(settings.INGEST_MAX_FUTURE_SECONDS))
        # (topic, payload, mid, qos, received, generation), appended by paho's thread
        self.buffer: deque[tuple[str, bytes, int, int, float, int]] = deque()
        # Bumped on every (re)connect: message ids of an earlier connection must not be
        # acknowledged on the new one (the broker reuses ids and redelivers those messages anyway).
        self.generation = 0
        self.connected = False
        self.database_ok = True
        self.stats = stats.IngestStats(self.client_id)
        self.client = make_client(self.client_id, clean_session=False, manual_ack=True)

    # --- MQTT callbacks (paho's network thread) -------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("the MQTT broker refused the connection: %s", reason_code)
            return
        self.generation += 1
        self.connected = True
        log.info(
            "connected to %s as %s (session %s)",
            settings.MQTT.netloc,
            self.client_id,
            "resumed" if flags.session_present else "new",
        )
        if self.retire:
            # Leave the group first, so the broker routes nothing new here; what it queued for
            # this session while it was away still arrives and is stored.
            client.unsubscribe(self.subscription)
            return
        # Always subscribe again: Mosquitto 2.0 does not keep shared subscriptions across a
        # broker restart even for a persistent session.
        client.subscribe(self.subscription, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error("the broker refused the subscription to %s: %s", self.subscription, reason_codes)
        else:
            log.info("subscribed to %s", self.subscription)

    def _on_unsubscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        log.info("left %s; storing what was queued for %s", self.subscription, self.client_id)
        self.unsubscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected = False
        if not self.stop.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message) -> None:
        self.buffer.append((message.topic, message.payload, message.mid, message.qos, time.time(), self.generation))

    # --- Main loop ------------------------------------------------------------------------------

    def run(self) -> None:
        self.index = self._with_database(load_index)
        self.plant_version = self._with_database(plant_version)
        if self.index is None:
            return
        client = self.client
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = self._on_unsubscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.connect_async(settings.MQTT.host, settings.MQTT.port, keepalive=30)
        client.loop_start()  # connects, and reconnects with backoff (1 s to 30 s)
        next_plant_check = next_stats = time.monotonic()
        next_prune = next_stats + PRUNE_EVERY
        last_message = time.monotonic()
        try:
            while not self.stop.is_set():
                items = self._next_batch()
                if items:
                    self._process(items)
                    last_message = time.monotonic()
                now = time.monotonic()
                if self.retire and self.unsubscribed.is_set() and now - last_message >= RETIRE_IDLE:
                    break
                if now >= next_plant_check:
                    self._refresh_index()
                    next_plant_check = now + PLANT_CHECK_EVERY
                if now >= next_stats:
                    self._publish_stats()
                    next_stats = now + STATS_EVERY
                if now >= next_prune:
                    self._with_database(prune_rejected, settings.INGEST_REJECTED_KEEP, retry=False)
                    next_prune = now + PRUNE_EVERY
            # Clean stop: store what has arrived and acknowledge it; anything arriving later stays
            # unacknowledged and is delivered again after the restart.
            if self.buffer and self.database_ok:
                self._process(self._take(len(self.buffer)))
        finally:
            client.disconnect()
            client.loop_stop()
            if self.retire and self.unsubscribed.is_set() and not self.buffer:
                self._forget_session()
            try:
                stats.withdraw(self.client_id)
            except Exception as exc:
                log.warning("could not withdraw ingest figures from Redis: %s", exc)
            log.info(
                "ingest stopped: %d readings stored, %d messages, rejected %s",
                self.stats.readings_total,
                self.stats.messages_total,
                dict(self.stats.rejected) or "none",
            )

    def _forget_session(self) -> None:
        """Connect once with a clean session: the broker deletes this client id's session."""
        client = make_client(self.client_id, clean_session=True)
        try:
            connect_blocking(client)
            client.disconnect()
            client.loop_stop()
            log.info("session %s retired: its queue is stored and the broker forgot it", self.client_id)
        except (OSError, ConnectionError) as exc:
            log.error("could not retire the session %s: %s", self.client_id, exc)

    def _next_batch(self) -> list:
        """Wait until a batch is full or its oldest message has waited long enough; an empty list
        after IDLE seconds without messages, so the housekeeping runs on a quiet plant too."""
        buffer = self.buffer
        idle_until = time.monotonic() + IDLE
        while not self.stop.is_set():
            if not buffer and time.monotonic() >= idle_until:
                break
            if len(buffer) >= self.batch_size:
                break
            if buffer and time.time() - buffer[0][4] >= self.batch_wait:
                break
            time.sleep(POLL)
        return self._take(min(len(buffer), self.batch_size))

    def _take(self, count: int) -> list:
        popleft = self.buffer.popleft
        items = []
        size = 0
        for _ in range(count):
            item = popleft()
            items.append(item)
            size += len(item[1])
            if size >= MAX_BATCH_BYTES:
                break
        return items

    def _process(self, items: list) -> None:
        messages = [Message(topic, payload, received) for topic, payload, _, _, received, _ in items]
        decoded = decode_batch(messages, self.index, self.limits)
        if (decoded.rejected[UNKNOWN_SENSOR] or decoded.rejected[UNKNOWN_MACHINE]) and self._refresh_index():
            decoded = decode_batch(messages, self.index, self.limits)  # a sensor was just added
        started = time.perf_counter()
        stored = self._with_database(store_batch, decoded)
        if stored is None:  # stopped while the database was down: leave the messages unacknowledged
            self.buffer.extendleft(reversed(items))
            return
        commit_ms = (time.perf_counter() - started) * 1000
        generation = self.generation
        ack = self.client.ack
        for _, _, mid, qos, _, gen in items:
            if qos and gen == generation:
                ack(mid, qos)
        oldest_wait_ms = (time.time() - items[0][4]) * 1000
        self.stats.record(len(decoded.rows), stored.inserted, len(items), commit_ms, oldest_wait_ms, decoded.rejected)
        hooks.run_after_commit(stored)

    def _with_database(self, func, *args, retry: bool = True):
        """Run func; while the database is unreachable, retry with backoff until it is back or we stop."""
        delay = 0.5
        while True:
            try:
                result = func(*args)
                if not self.database_ok:
                    log.info("database is back")
                self.database_ok = True
                return result
            except (OperationalError, InterfaceError) as exc:
                if self.database_ok:
                    log.error("database unavailable (%s); holding messages unacknowledged", str(exc).strip()[:200])
                self.database_ok = False
            except DatabaseError:
                # Not a lost connection: a bug or an unexpected value. Retrying keeps the messages
                # (never drop readings); the log shows what to fix.
                log.exception("database error while storing a batch; retrying")
            connection.close()
            if not retry or self.stop.wait(delay):
                return None
            delay = min(delay * 2, MAX_BACKOFF)

    def _refresh_index(self) -> bool:
        """Reload the topic index if the plant changed; True when it did."""
        version = self._with_database(plant_version, retry=False)
        if version is None or version == self.plant_version:
            return False
        index = self._with_database(load_index, retry=False)
        if index is None:
            return False
        self.index, self.plant_version = index, version
        log.info("plant changed: %d topics known", len(index.by_topic))
        return True

    def _publish_stats(self) -> None:
        snapshot = self.stats.snapshot(len(self.buffer), self.database_ok, self.connected)
        try:
            stats.publish(snapshot)
        except Exception as exc:  # figures are best effort; the readings are what matters
            log.warning("could not publish ingest figures to Redis: %s", exc)
