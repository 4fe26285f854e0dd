"""The ISA-18.2 alarm lifecycle as pure functions: no Django, no database, no clock.

Times are epoch seconds passed in by the caller. Three layers, all held in one `Point` per rule:

- the condition (`Condition`, `evaluate`, `due`): is the process in alarm? Limits with a deadband
  (hysteresis), an on-delay (the condition must hold that long before the alarm is raised) and an
  off-delay (it must stay clear that long before the alarm returns to normal).
- the activation (`Alarm`): one alarm from raise to close, through active-unacknowledged,
  active-acknowledged, returned-to-normal-unacknowledged and closed. A latched alarm stays active
  after the process returns to normal until an operator resets it.
- the point's shelving and out-of-service flags: while either holds, transitions still happen and
  are journaled, but none is announced (MQTT, browsers, notifications). Unshelving, expiry and the
  return to service re-announce the open alarm, so operators see whatever is still standing.

Every function returns the new `Point` and the `Transition`s that happened, for the caller to
persist and announce. Operator actions raise `NotAllowed` with a reason a person can read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Kind(StrEnum):
    HIHI = "hihi"
    HI = "hi"
    LO = "lo"
    LOLO = "lolo"
    STATE = "state"  # alarm while the value equals the setpoint (rounded to an integer)
    RATE = "rate"  # alarm while the value changes faster than the setpoint, in units per minute
    COMM_LOSS = "comm_loss"  # alarm while the sensor is silent longer than the setpoint, in seconds


HIGH_KINDS = frozenset({Kind.HIHI, Kind.HI, Kind.RATE, Kind.COMM_LOSS})
LOW_KINDS = frozenset({Kind.LO, Kind.LOLO})


class State(StrEnum):
    UNACK = "unack"
    ACKED = "acked"
    RTN_UNACK = "rtn_unack"
    CLOSED = "closed"


class Event(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"  # the process returned to normal
    ACKNOWLEDGED = "acknowledged"
    RESET = "reset"
    SUPERSEDED = "superseded"  # an unacknowledged returned-to-normal alarm closed by a new activation
    SHELVED = "shelved"
    UNSHELVED = "unshelved"
    SHELVE_EXPIRED = "shelve_expired"
    OUT_OF_SERVICE = "out_of_service"
    IN_SERVICE = "in_service"


class NotAllowed(Exception):
    """An operator action that the alarm's state does not allow; the message says why."""


@dataclass(frozen=True, slots=True)
class Rule:
    kind: Kind
    setpoint: float
    deadband: float = 0.0
    on_delay: float = 0.0
    off_delay: float = 0.0
    latching: bool = False


@dataclass(frozen=True, slots=True)
class Condition:
    active: bool = False
    # When the raw condition started to differ from `active`: a delay is running since then.
    since: float | None = None


@dataclass(frozen=True, slots=True)
class Alarm:
    state: State = State.UNACK
    condition: bool = True  # the process is still in alarm
    latched: bool = False


@dataclass(frozen=True, slots=True)
class Point:
    condition: Condition = Condition()
    alarm: Alarm | None = None  # the open activation, if any
    shelved_until: float | None = None
    out_of_service: bool = False

    def silenced(self, at: float) -> bool:
        """Whether a transition at `at` is kept quiet (journaled, not announced)."""
        return self.out_of_service or (self.shelved_until is not None and at < self.shelved_until)


@dataclass(frozen=True, slots=True)
class Transition:
    event: Event
    at: float
    before: State | None  # the alarm's state before (None: no alarm was open)
    after: State | None
    announce: bool
    opens: bool = False  # this transition opened a new activation
    value: float | None = None


# -- the condition ----------------------------------------------------------------------------------


def in_alarm(rule: Rule, active: bool, value: float) -> bool:
    """The raw condition for one value. A limit in alarm clears only once the value is past the
    setpoint by the deadband, so noise around a limit gives one alarm, not many."""
    kind = rule.kind
    if kind in HIGH_KINDS:
        return value > rule.setpoint - rule.deadband if active else value > rule.setpoint
    if kind in LOW_KINDS:
        return value < rule.setpoint + rule.deadband if active else value < rule.setpoint
    return round(value) == round(rule.setpoint)  # Kind.STATE


def evaluate(rule: Rule, cond: Condition, t: float, value: float) -> tuple[Condition, float | None]:
    """One reading at time t. Returns the new condition and, when it flipped, the time it did."""
    raw = in_alarm(rule, cond.active, value)
    if raw == cond.active:
        return (cond if cond.since is None else Condition(cond.active)), None  # a running delay is cancelled
    since = t if cond.since is None else cond.since
    delay = rule.off_delay if cond.active else rule.on_delay
    if t - since >= delay:
        return Condition(not cond.active), since + delay
    return Condition(cond.active, since), None


def due(rule: Rule, cond: Condition, now: float) -> tuple[Condition, float | None]:
    """A running delay that has elapsed by `now` with no reading since: the last value holds."""
    if cond.since is None:
        return cond, None
    delay = rule.off_delay if cond.active else rule.on_delay
    if now - cond.since >= delay:
        return Condition(not cond.active), cond.since + delay
    return cond, None


def rate_per_minute(t0: float, v0: float, t1: float, v1: float) -> float | None:
    """Absolute rate of change between two readings, in units per minute (None if not after)."""
    if t1 <= t0:
        return None
    return abs(v1 - v0) / (t1 - t0) * 60.0


# -- the point: condition changes and operator actions ------------------------------------------------


def on_value(rule: Rule, point: Point, t: float, value: float) -> tuple[Point, list[Transition]]:
    """Feed one live reading (for Kind.RATE the rate, for Kind.COMM_LOSS the seconds of silence)."""
    cond, flipped_at = evaluate(rule, point.condition, t, value)
    point = replace(point, condition=cond)
    if flipped_at is None:
        return point, []
    return _condition_changed(rule, point, flipped_at, value)


def tick(rule: Rule, point: Point, now: float) -> tuple[Point, list[Transition]]:
    """The passing of time: elapsed on/off-delays, then an expired shelving."""
    transitions: list[Transition] = []
    cond, flipped_at = due(rule, point.condition, now)
    if flipped_at is not None:
        point, transitions = _condition_changed(rule, replace(point, condition=cond), flipped_at, None)
    if point.shelved_until is not None and now >= point.shelved_until:
        at = point.shelved_until
        point = replace(point, shelved_until=None)
        state = point.alarm.state if point.alarm else None
        transitions.append(Transition(Event.SHELVE_EXPIRED, at, state, state, announce=not point.silenced(at)))
    return point, transitions


def stop_watching(rule: Rule, point: Point, now: float) -> tuple[Point, list[Transition]]:
    """The rule was disabled: its condition is no longer known, so a standing alarm clears now."""
    if point.condition == Condition():
        return point, []
    return _condition_changed(rule, replace(point, condition=Condition()), now, None)


def _condition_changed(rule: Rule, point: Point, at: float, value: float | None) -> tuple[Point, list[Transition]]:
    announce = not point.silenced(at)
    alarm = point.alarm
    if point.condition.active:  # raised
        transitions = []
        if alarm is not None:
            if alarm.condition:
                return point, []
            if alarm.latched:  # back in alarm before the reset: the same activation is active again
                raised = Alarm(State.UNACK, True, True)
                return replace(point, alarm=raised), [
                    Transition(Event.RAISED, at, alarm.state, State.UNACK, announce, value=value)
                ]
            transitions.append(Transition(Event.SUPERSEDED, at, alarm.state, State.CLOSED, announce))
        transitions.append(Transition(Event.RAISED, at, None, State.UNACK, announce, opens=True, value=value))
        return replace(point, alarm=Alarm(State.UNACK, True, rule.latching)), transitions
    # cleared
    if alarm is None or not alarm.condition:
        return point, []
    if alarm.latched:
        cleared = replace(alarm, condition=False)
    elif alarm.state == State.UNACK:
        cleared = Alarm(State.RTN_UNACK, False, False)
    else:
        cleared = Alarm(State.CLOSED, False, False)
    transition = Transition(Event.CLEARED, at, alarm.state, cleared.state, announce, value=value)
    return _keep_open(point, cleared), [transition]


def acknowledge(point: Point, now: float) -> tuple[Point, list[Transition]]:
    alarm = _open_alarm(point)
    if alarm.state == State.UNACK:
        after = Alarm(State.ACKED, alarm.condition, alarm.latched)
    elif alarm.state == State.RTN_UNACK:
        after = Alarm(State.CLOSED, False, alarm.latched)
    else:
        raise NotAllowed("The alarm is already acknowledged.")
    transition = Transition(Event.ACKNOWLEDGED, now, alarm.state, after.state, not point.silenced(now))
    return _keep_open(point, after), [transition]


def reset(point: Point, now: float) -> tuple[Point, list[Transition]]:
    """Close a latched alarm whose condition has cleared (acknowledging it if it was not)."""
    alarm = _open_alarm(point)
    if not alarm.latched:
        raise NotAllowed("Only a latched alarm needs a reset; acknowledge this one.")
    if alarm.condition:
        raise NotAllowed(
            "The condition is still active: a latched alarm can be reset once the process is back to normal."
        )
    transition = Transition(Event.RESET, now, alarm.state, State.CLOSED, not point.silenced(now))
    return replace(point, alarm=None), [transition]


def shelve(point: Point, now: float, until: float) -> tuple[Point, list[Transition]]:
    """Shelve the point until `until` (also to extend a shelving). The shelving itself is
    announced, so that displays can hide the alarm; nothing after it is, until it ends."""
    if point.out_of_service:
        raise NotAllowed("The alarm is out of service; it cannot be shelved.")
    if until <= now:
        raise NotAllowed("A shelving must end in the future.")
    state = point.alarm.state if point.alarm else None
    return replace(point, shelved_until=until), [Transition(Event.SHELVED, now, state, state, True)]


def unshelve(point: Point, now: float) -> tuple[Point, list[Transition]]:
    if not point.silenced(now) or point.out_of_service:
        raise NotAllowed("The alarm is not shelved.")
    point = replace(point, shelved_until=None)
    state = point.alarm.state if point.alarm else None
    return point, [Transition(Event.UNSHELVED, now, state, state, True)]


def take_out_of_service(point: Point, now: float) -> tuple[Point, list[Transition]]:
    if point.out_of_service:
        raise NotAllowed("The alarm is already out of service.")
    state = point.alarm.state if point.alarm else None
    point = replace(point, out_of_service=True, shelved_until=None)
    return point, [Transition(Event.OUT_OF_SERVICE, now, state, state, True)]


def return_to_service(point: Point, now: float) -> tuple[Point, list[Transition]]:
    if not point.out_of_service:
        raise NotAllowed("The alarm is in service.")
    point = replace(point, out_of_service=False)
    state = point.alarm.state if point.alarm else None
    return point, [Transition(Event.IN_SERVICE, now, state, state, True)]


def _open_alarm(point: Point) -> Alarm:
    if point.alarm is None:
        raise NotAllowed("The alarm is closed.")
    return point.alarm


def _keep_open(point: Point, alarm: Alarm) -> Point:
    return replace(point, alarm=None if alarm.state == State.CLOSED else alarm)
