"""`manage.py simulate`: publish realistic readings for every sensor of the plant over MQTT."""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.plant.choices import SensorType
from apps.plant.models import Sensor
from apps.telemetry.simulation import PlantSimulator
from scadapro.mqtt import connect_blocking, make_client
from scadapro.shutdown import stop_event_on_signals

log = logging.getLogger("scadapro.simulate")
RELOAD_EVERY = 60.0


def iso_utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Command(BaseCommand):
    help = "Publish simulated readings on sensors/{machine}/{sensor}/value for every sensor, until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rate",
            type=float,
            default=float(os.environ.get("SIMULATOR_RATE") or 0),
            help="Readings per second for the whole plant; 0 (default) publishes each sensor at its expected interval.",
        )
        parser.add_argument("--excursions-per-hour", type=float, default=12.0, help="Plant-wide (default 12).")
        parser.add_argument(
            "--duration", type=float, default=0, help="Stop after this many seconds (0: run until stopped)."
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for repeatable runs.")

    def handle(self, *args, rate: float, excursions_per_hour: float, duration: float, seed: int | None, **options):
        if rate < 0:
            raise CommandError("--rate must be 0 or more.")
        stop = stop_event_on_signals()
        client = make_client(f"scadapro-simulator-{os.getpid()}")
        try:
            connect_blocking(client)
        except (OSError, ConnectionError) as exc:
            raise CommandError(f"cannot reach the MQTT broker: {exc}") from None
        simulator = PlantSimulator(excursions_per_hour=excursions_per_hour, seed=seed)
        topics: dict[str, str] = {}
        self._sync(simulator, topics, rate)
        log.info("simulating %d sensors (%.1f readings/s)", len(topics), self._rate(simulator))
        started = loaded = time.time()
        published = 0
        try:
            while not stop.is_set():
                now = time.time()
                if duration and now - started >= duration:
                    break
                if now - loaded >= RELOAD_EVERY:
                    self._sync(simulator, topics, rate)
                    loaded = now
                for key, at, value in simulator.due(now):
                    payload = json.dumps({"value": value, "ts": iso_utc(at)})
                    client.publish(topics[key], payload, qos=1)
                    published += 1
                next_at = simulator.next_due()
                stop.wait(0.5 if next_at is None else min(0.5, max(0.0, next_at - time.time())))
        finally:
            client.disconnect()
            client.loop_stop()
        log.info("simulator stopped after %d readings", published)

    def _sync(self, simulator: PlantSimulator, topics: dict[str, str], rate: float) -> None:
        """Follow the plant: simulate sensors added since the last look, drop deleted ones."""
        sensors = {str(s.pk): s for s in Sensor.objects.filter(machine__status="active")}
        for key in set(topics) - set(sensors):
            simulator.remove(key)
            del topics[key]
        now = time.time()
        for key, sensor in sensors.items():
            interval = len(sensors) / rate if rate else float(sensor.expected_interval)
            if key in topics and simulator.intervals.get(key) == interval:
                topics[key] = sensor.mqtt_topic
                continue
            low = sensor.range_min if sensor.range_min is not None else 0.0
            high = sensor.range_max if sensor.range_max is not None else 100.0
            is_state = sensor.type == SensorType.STATE
            simulator.add(key, low, high, interval, now, sensor.decimals, is_state=is_state)
            topics[key] = sensor.mqtt_topic

    @staticmethod
    def _rate(simulator: PlantSimulator) -> float:
        return sum(1 / interval for interval in simulator.intervals.values())
