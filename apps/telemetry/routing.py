"""Topic -> sensor resolution for the ingest (pure: built from plain tuples, no Django)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from apps.telemetry.payloads import UNKNOWN_MACHINE, UNKNOWN_SENSOR, UNKNOWN_TOPIC, Rejected

VALUE = "value"
BATCH = "batch"


@dataclass
class SensorIndex:
    """Where each topic's readings go. Rebuilt when the plant changes; read per message."""

    by_topic: dict[str, int] = field(default_factory=dict)
    by_machine: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def build(cls, sensors: Iterable[tuple[int, str, str, str]]) -> SensorIndex:
        """From (sensor id, machine code, sensor code, mqtt topic) rows."""
        index = cls()
        for sensor_id, machine_code, sensor_code, topic in sensors:
            index.by_topic[topic] = sensor_id
            index.by_machine.setdefault(machine_code, {})[sensor_code] = sensor_id
        return index

    def add_machine(self, machine_code: str) -> None:
        self.by_machine.setdefault(machine_code, {})

    def resolve(self, topic: str) -> tuple[str, int | str]:
        """(VALUE, sensor id) or (BATCH, machine code); Rejected for a topic nobody owns."""
        sensor_id = self.by_topic.get(topic)
        if sensor_id is not None:
            return VALUE, sensor_id
        parts = topic.split("/")
        if len(parts) == 3 and parts[0] == "sensors" and parts[2] == BATCH:
            if parts[1] not in self.by_machine:
                raise Rejected(UNKNOWN_MACHINE, f"no machine with code {parts[1]!r}")
            return BATCH, parts[1]
        if len(parts) == 4 and parts[0] == "sensors" and parts[3] == VALUE:
            if parts[1] not in self.by_machine:
                raise Rejected(UNKNOWN_MACHINE, f"no machine with code {parts[1]!r}")
            raise Rejected(UNKNOWN_SENSOR, f"machine {parts[1]} has no sensor on this topic")
        raise Rejected(
            UNKNOWN_TOPIC, "not sensors/{machine}/{sensor}/value, sensors/{machine}/batch or a sensor's topic"
        )

    def batch_sensor(self, machine_code: str, sensor_code: str) -> int:
        sensor_id = self.by_machine.get(machine_code, {}).get(sensor_code)
        if sensor_id is None:
            raise Rejected(UNKNOWN_SENSOR, f"machine {machine_code} has no sensor {sensor_code!r}")
        return sensor_id
