"""`manage.py ingest`: the long-lived MQTT ingest worker.

This first version holds the worker's MQTT session (fixed client id, clean session off, QoS 1, on a
shared subscription so several workers split the stream) and reports what arrives. Storing the
readings in TimescaleDB is the Ingest issue's pipeline, which plugs into `on_message` here.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from scadapro.mqtt import make_client
from scadapro.shutdown import stop_event_on_signals

log = logging.getLogger("scadapro.ingest")
SENSOR_TOPICS = "sensors/#"


class Command(BaseCommand):
    help = "Run the MQTT ingest worker until stopped (SIGINT/SIGTERM end it cleanly)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--report-every", type=float, default=10.0, help="Seconds between progress lines.")

    def handle(self, *args, report_every: float, **options) -> None:
        stop = stop_event_on_signals()
        subscription = f"$share/{settings.MQTT_INGEST_GROUP}/{SENSOR_TOPICS}"
        client = make_client(settings.MQTT_INGEST_CLIENT_ID, clean_session=False)
        received = 0

        def on_connect(c, userdata, flags, reason_code, properties):
            if reason_code.is_failure:
                log.error("MQTT broker refused the connection: %s", reason_code)
                return
            log.info("connected to %s as %s", settings.MQTT.netloc, settings.MQTT_INGEST_CLIENT_ID)
            # Renew the subscription on every connect: harmless when the session persisted.
            c.subscribe(subscription, qos=1)

        def on_subscribe(c, userdata, mid, reason_codes, properties):
            if any(code.is_failure for code in reason_codes):
                log.error("the broker refused the subscription to %s: %s", subscription, reason_codes)
            else:
                log.info("subscribed to %s", subscription)

        def on_disconnect(c, userdata, flags, reason_code, properties):
            if not stop.is_set():
                log.warning("MQTT connection lost (%s); reconnecting", reason_code)

        def on_message(c, userdata, message):
            nonlocal received
            received += 1

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_disconnect = on_disconnect
        client.on_message = on_message
        client.connect_async(settings.MQTT.host, settings.MQTT.port, keepalive=30)
        client.loop_start()  # reconnects by itself with backoff (1 s to 30 s)
        last_count, last_time = 0, time.monotonic()
        while not stop.wait(report_every):
            now = time.monotonic()
            rate = (received - last_count) / (now - last_time)
            log.info("%d messages received (%.1f/s)", received, rate)
            last_count, last_time = received, now
        client.disconnect()
        client.loop_stop()
        log.info("ingest stopped after %d messages", received)
