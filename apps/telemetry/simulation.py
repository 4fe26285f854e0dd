"""Realistic sensor signals for the demo plant (pure: no Django, no MQTT).

Each analog signal is an operating point plus a daily cycle, a slow mean-reverting drift
(Ornstein-Uhlenbeck) and measurement noise; now and then an excursion ramps it past the top (or
bottom) of its range for a minute or two, enough to trip a HiHi/LoLo alarm. State signals are 0/1
lamps that change every few minutes and drop to 0 during an excursion (a trip).
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field

DAY = 86400.0


@dataclass
class Excursion:
    start: float
    duration: float
    upward: bool

    def shape(self, t: float) -> float:
        """0..1: ramp up over the first quarter, hold, ramp down over the last quarter."""
        x = (t - self.start) / self.duration
        if x <= 0 or x >= 1:
            return 0.0
        return min(1.0, x / 0.25, (1 - x) / 0.25)


@dataclass
class SensorSignal:
    low: float
    high: float
    decimals: int = 1
    is_state: bool = False
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        span = self.high - self.low
        self.span = span
        self.setpoint = self.low + span * self.rng.uniform(0.35, 0.6)
        self.daily_amplitude = span * self.rng.uniform(0.02, 0.08)
        self.phase = self.rng.uniform(0, 2 * math.pi)
        self.drift = 0.0
        self.drift_sigma = span * 0.02  # stationary spread of the drift
        self.drift_tau = self.rng.uniform(600, 3600)  # seconds to revert half-way, roughly
        self.noise = span * 0.004
        self.state = 1.0 if self.rng.random() < 0.8 else 0.0
        self.excursion: Excursion | None = None
        self.last_t: float | None = None

    def start_excursion(self, t: float) -> None:
        self.excursion = Excursion(start=t, duration=self.rng.uniform(45, 180), upward=self.rng.random() < 0.75)

    def value(self, t: float) -> float:
        """The reading at time t (seconds since the epoch); call with increasing t."""
        dt = 0.0 if self.last_t is None else max(0.0, t - self.last_t)
        self.last_t = t
        if self.excursion and t >= self.excursion.start + self.excursion.duration:
            self.excursion = None
        return self._state(dt, t) if self.is_state else self._analog(dt, t)

    def _state(self, dt: float, t: float) -> float:
        if self.excursion is not None:
            return 0.0
        # Mean dwell of ten minutes in each state.
        if self.rng.random() < 1 - math.exp(-dt / 600):
            self.state = 1.0 - self.state
        return self.state

    def _analog(self, dt: float, t: float) -> float:
        if dt:
            decay = math.exp(-dt / self.drift_tau)
            self.drift = self.drift * decay + self.rng.gauss(0, self.drift_sigma * math.sqrt(1 - decay * decay))
        daily = self.daily_amplitude * math.sin(2 * math.pi * (t % DAY) / DAY + self.phase)
        value = self.setpoint + daily + self.drift + self.rng.gauss(0, self.noise)
        if self.excursion is not None:
            # Far enough to cross a limit at 95% (or 5%) of the range.
            target = self.high + 0.02 * self.span if self.excursion.upward else self.low - 0.02 * self.span
            value += (target - value) * self.excursion.shape(t)
        value = min(max(value, self.low - 0.05 * self.span), self.high + 0.05 * self.span)
        return round(value, self.decimals)


@dataclass(order=True)
class _Due:
    at: float
    key: str = field(compare=False)
    signal: SensorSignal = field(compare=False)


class PlantSimulator:
    """Schedules every signal at its own interval and starts excursions at a plant-wide rate."""

    def __init__(self, excursions_per_hour: float = 12.0, seed: int | None = None):
        self.rng = random.Random(seed)
        self.excursions_per_hour = excursions_per_hour
        self.signals: dict[str, SensorSignal] = {}
        self.intervals: dict[str, float] = {}
        self.queue: list[_Due] = []

    def add(
        self, key: str, low: float, high: float, interval: float, now: float, decimals: int = 1, is_state: bool = False
    ) -> None:
        if not low < high:
            low, high = (0.0, 1.0) if is_state else (0.0, 100.0)
        rng = random.Random(self.rng.random())
        self.signals[key] = SensorSignal(low, high, decimals, is_state, rng)
        self.intervals[key] = interval
        # Spread first readings over one interval so the plant does not publish in bursts.
        heapq.heappush(self.queue, _Due(now + self.rng.uniform(0, interval), key, self.signals[key]))

    def remove(self, key: str) -> None:
        self.signals.pop(key, None)
        self.intervals.pop(key, None)

    def next_due(self) -> float | None:
        return self.queue[0].at if self.queue else None

    def due(self, now: float) -> list[tuple[str, float, float]]:
        """(key, time, value) for every signal due by `now`; each is rescheduled."""
        out = []
        while self.queue and self.queue[0].at <= now:
            item = heapq.heappop(self.queue)
            signal = item.signal
            if self.signals.get(item.key) is not signal:  # removed or replaced since it was scheduled
                continue
            interval = self.intervals[item.key]
            if signal.excursion is None and self.signals:
                chance = self.excursions_per_hour / len(self.signals) * interval / 3600
                if self.rng.random() < chance:
                    signal.start_excursion(item.at)
            out.append((item.key, item.at, signal.value(item.at)))
            item.at = max(item.at + interval, now - interval)  # after a stall, do not replay a backlog
            heapq.heappush(self.queue, item)
        return out
