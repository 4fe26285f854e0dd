"""What one WebSocket client is owed, with flow control (pure: no Django, no I/O).

Updates for a client are merged here, newest value per sensor, and sent as one message when the
client has fewer than `window` messages unacknowledged. A client that reads slowly therefore gets
fewer, fuller messages instead of a growing queue: what waits for it is at most one value per
subscribed sensor plus `max_events` alarm events (beyond those it is told to re-read the alarms
from the API). Nobody else waits for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Reading = list  # [epoch seconds, value, quality]


@dataclass
class Outbox:
    window: int = 4
    max_events: int = 200
    readings: dict[str, Reading] = field(default_factory=dict)  # sensor id (as in JSON) -> newest
    events: list[dict] = field(default_factory=list)
    machines: dict[str, str] = field(default_factory=dict)  # machine id -> its new status
    resync: bool = False
    sent: int = 0
    acked: int = 0

    def add_readings(self, readings: dict[str, Reading]) -> None:
        """Takes `readings` (the caller's own copy): usually nothing waits and it is kept as is."""
        if not self.readings:
            self.readings = readings
            return
        for sensor_id, reading in readings.items():
            held = self.readings.get(sensor_id)
            if held is None or reading[0] >= held[0]:  # a late batch never replaces a newer value
                self.readings[sensor_id] = reading

    def add_event(self, event: dict) -> None:
        if self.resync:
            return
        if len(self.events) >= self.max_events:
            self.events.clear()
            self.resync = True  # the client re-reads the alarm list instead of replaying the backlog
        else:
            self.events.append(event)

    def add_machine(self, machine_id: int, status: str) -> None:
        self.machines[str(machine_id)] = status

    def ack(self, seq: int) -> None:
        if self.acked < seq <= self.sent:
            self.acked = seq

    @property
    def pending(self) -> bool:
        return bool(self.readings or self.events or self.machines or self.resync)

    @property
    def can_send(self) -> bool:
        return self.sent - self.acked < self.window

    def claim(self) -> int | None:
        """The seq for an update sent as is, when nothing waits and the window has room (the
        common case: the caller sends a pre-encoded update without merging); None otherwise."""
        if self.pending or not self.can_send:
            return None
        self.sent += 1
        return self.sent

    def take(self) -> dict | None:
        """The next message to send, or None (nothing pending, or the window is full)."""
        if not self.pending or not self.can_send:
            return None
        self.sent += 1
        message = {"type": "update", "seq": self.sent, "readings": self.readings, "alarms": self.events}
        if self.machines:
            message["machines"] = self.machines
        if self.resync:
            message["resync"] = True
        self.readings, self.events, self.machines, self.resync = {}, [], {}, False
        return message
