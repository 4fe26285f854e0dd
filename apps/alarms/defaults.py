"""Default alarm rules for a sensor, from its type and display range (pure, no Django).

Limits sit at a fraction of the range; deadbands and on-delays follow the starting points that
ISA-18.2's guidance (TR5, alarm design) gives per measurement type: flow 5 % / 15 s,
level 5 % / 60 s, pressure 2 % / 15 s, temperature 1 % / 60 s; other analog types 2 % / 15 s.
Every sensor also gets a communication-loss rule: silent for three expected intervals (at least 10 s).
State sensors get no limit: which state is abnormal depends on the equipment (a standby pump is
off in normal operation), so an engineer adds a digital rule where one makes sense.
"""

from __future__ import annotations

from dataclasses import dataclass

# type -> (deadband as a fraction of the span, on-delay seconds, [(kind, fraction of span, severity)])
_TYPES: dict[str, tuple[float, float, list[tuple[str, float, str]]]] = {
    "temperature": (0.01, 60, [("hihi", 0.95, "high"), ("hi", 0.85, "medium")]),
    "pressure": (0.02, 15, [("hihi", 0.95, "critical"), ("hi", 0.85, "high"), ("lo", 0.10, "medium")]),
    "level": (
        0.05,
        60,
        [("hihi", 0.95, "high"), ("hi", 0.85, "medium"), ("lo", 0.15, "medium"), ("lolo", 0.05, "high")],
    ),
    "flow": (0.05, 15, [("hi", 0.95, "medium")]),
    "vibration": (0.02, 15, [("hihi", 0.90, "critical"), ("hi", 0.70, "medium")]),
    "speed": (0.02, 15, [("hi", 0.95, "medium")]),
    "power": (0.02, 15, [("hi", 0.90, "medium")]),
    "current": (0.02, 15, [("hi", 0.90, "medium")]),
    "voltage": (0.02, 15, [("hi", 0.95, "medium"), ("lo", 0.05, "medium")]),
    "humidity": (0.02, 15, [("hi", 0.90, "low")]),
}


@dataclass(frozen=True)
class RuleSpec:
    kind: str
    setpoint: float
    severity: str
    deadband: float = 0.0
    on_delay: float = 0.0
    off_delay: float = 0.0
    latching: bool = False


def comm_loss_timeout(expected_interval: int) -> float:
    return float(max(3 * expected_interval, 10))


def default_rules(
    sensor_type: str, range_min: float | None, range_max: float | None, expected_interval: int, decimals: int = 1
) -> list[RuleSpec]:
    rules = []
    known = _TYPES.get(sensor_type)
    if known and range_min is not None and range_max is not None and range_max > range_min:
        deadband, on_delay, limits = known
        span = range_max - range_min
        for kind, fraction, severity in limits:
            setpoint = round(range_min + fraction * span, decimals)
            rules.append(RuleSpec(kind, setpoint, severity, round(deadband * span, decimals + 1), on_delay))
    rules.append(RuleSpec("comm_loss", comm_loss_timeout(expected_interval), "medium"))
    return rules
