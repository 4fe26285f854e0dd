"""The pure ISA-18.2 lifecycle (apps/alarms/lifecycle.py), with hypothesis: random sequences of readings,
timer ticks and operator actions never break its rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.alarms import lifecycle as lc
from apps.alarms.lifecycle import Event, Kind, NotAllowed, Point, Rule, State

# Every (event, before, after) the lifecycle may produce; anything else is a bug.
ALLOWED = {
    (Event.RAISED, None, State.UNACK),
    (Event.RAISED, State.UNACK, State.UNACK),  # latched, cleared, back in alarm before its reset
    (Event.RAISED, State.ACKED, State.UNACK),
    (Event.CLEARED, State.UNACK, State.RTN_UNACK),
    (Event.CLEARED, State.UNACK, State.UNACK),  # latched: stays until reset
    (Event.CLEARED, State.ACKED, State.CLOSED),
    (Event.CLEARED, State.ACKED, State.ACKED),  # latched
    (Event.ACKNOWLEDGED, State.UNACK, State.ACKED),
    (Event.ACKNOWLEDGED, State.RTN_UNACK, State.CLOSED),
    (Event.RESET, State.UNACK, State.CLOSED),
    (Event.RESET, State.ACKED, State.CLOSED),
    (Event.SUPERSEDED, State.RTN_UNACK, State.CLOSED),
}
POINT_EVENTS = {Event.SHELVED, Event.UNSHELVED, Event.SHELVE_EXPIRED, Event.OUT_OF_SERVICE, Event.IN_SERVICE}
# Events that mark the start or the end of a quiet period: announced so that displays follow.
QUIET_EDGES = {Event.SHELVED, Event.OUT_OF_SERVICE, Event.UNSHELVED, Event.IN_SERVICE, Event.SHELVE_EXPIRED}

rules = st.builds(
    Rule,
    kind=st.sampled_from([Kind.HI, Kind.HIHI, Kind.LO, Kind.LOLO]),
    setpoint=st.just(50.0),
    deadband=st.sampled_from([0.0, 2.0, 5.0]),
    on_delay=st.sampled_from([0.0, 3.0, 10.0]),
    off_delay=st.sampled_from([0.0, 3.0, 10.0]),
    latching=st.booleans(),
)
readings = st.tuples(st.just("value"), st.floats(30, 70, allow_nan=False))
actions = st.one_of(
    readings,  # readings are most of what happens: weigh them up
    readings,
    readings,
    readings,
    st.tuples(st.just("tick"), st.just(0.0)),
    st.tuples(st.just("acknowledge"), st.just(0.0)),
    st.tuples(st.just("reset"), st.just(0.0)),
    st.tuples(st.just("shelve"), st.floats(1, 60)),
    st.tuples(st.just("unshelve"), st.just(0.0)),
    st.tuples(st.just("out_of_service"), st.just(0.0)),
    st.tuples(st.just("in_service"), st.just(0.0)),
)
OPERATOR = {
    "acknowledge": lc.acknowledge,
    "reset": lc.reset,
    "unshelve": lc.unshelve,
    "out_of_service": lc.take_out_of_service,
    "in_service": lc.return_to_service,
}


def run(rule: Rule, steps: list[tuple[str, float]], gaps: list[float]):
    """Apply the steps one after another; yields (point before, transitions, point after) per step."""
    point, t = Point(), 1000.0
    for (action, arg), gap in zip(steps, gaps, strict=False):
        t += gap
        before = point
        try:
            if action == "value":
                point, transitions = lc.on_value(rule, point, t, arg)
            elif action == "tick":
                point, transitions = lc.tick(rule, point, t)
            elif action == "shelve":
                point, transitions = lc.shelve(point, t, t + arg)
            else:
                point, transitions = OPERATOR[action](point, t)
        except NotAllowed as exc:
            assert str(exc), "a refusal must say why"
            assert action != "value" and action != "tick"
            transitions = []
        yield t, before, transitions, point


@settings(max_examples=400, deadline=None)
@given(rules, st.lists(actions, min_size=5, max_size=60), st.lists(st.floats(0, 8), min_size=60, max_size=60))
def test_only_allowed_transitions_and_consistent_state(rule, steps, gaps):
    for _, _, transitions, point in run(rule, steps, gaps):
        for tr in transitions:
            if tr.event in POINT_EVENTS:
                assert tr.before == tr.after
            else:
                assert (tr.event, tr.before, tr.after) in ALLOWED, tr
        # The open alarm mirrors the condition, and an active condition always has an open alarm.
        if point.alarm is not None:
            assert point.alarm.state != State.CLOSED
            assert point.alarm.condition == point.condition.active
            assert point.alarm.state != State.RTN_UNACK or not point.alarm.condition
        else:
            assert not point.condition.active


@settings(max_examples=400, deadline=None)
@given(
    rules.map(lambda r: Rule(r.kind, r.setpoint, r.deadband, r.on_delay, r.off_delay, latching=True)),
    st.lists(actions, min_size=5, max_size=60),
    st.lists(st.floats(0, 8), min_size=60, max_size=60),
)
def test_a_latched_alarm_never_closes_without_reset(rule, steps, gaps):
    for _, before, transitions, _ in run(rule, steps, gaps):
        if before.alarm is None:
            continue
        for tr in transitions:
            if tr.after == State.CLOSED and tr.before is not None:
                assert tr.event == Event.RESET, tr


@settings(max_examples=400, deadline=None)
@given(rules, st.lists(actions, min_size=5, max_size=60), st.lists(st.floats(0, 8), min_size=60, max_size=60))
def test_a_shelved_or_out_of_service_alarm_never_announces(rule, steps, gaps):
    for _, _, transitions, point in run(rule, steps, gaps):
        for tr in transitions:
            quiet = point.out_of_service or (point.shelved_until is not None and tr.at < point.shelved_until)
            if tr.announce and tr.event not in QUIET_EDGES:
                assert not quiet, tr
            if quiet and tr.event not in QUIET_EDGES:
                assert not tr.announce


def test_shelving_hides_transitions_until_it_expires_and_then_announces_what_stands():
    rule = Rule(Kind.HI, 50.0)
    point, _ = lc.on_value(rule, Point(), 0.0, 60.0)
    point, shelved = lc.shelve(point, 1.0, 61.0)
    assert [t.event for t in shelved] == [Event.SHELVED] and shelved[0].announce
    point, cleared = lc.on_value(rule, point, 10.0, 40.0)
    point, raised = lc.on_value(rule, point, 20.0, 60.0)
    assert [t.event for t in cleared + raised] == [Event.CLEARED, Event.SUPERSEDED, Event.RAISED]
    assert not any(t.announce for t in cleared + raised)
    point, nothing = lc.tick(rule, point, 60.0)
    assert nothing == []
    point, expired = lc.tick(rule, point, 61.0)
    assert [(t.event, t.after, t.announce) for t in expired] == [(Event.SHELVE_EXPIRED, State.UNACK, True)]
    assert point.shelved_until is None


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([Kind.HI, Kind.LO]),
    st.floats(0.5, 10),
    st.lists(st.floats(-0.999, 0.999), min_size=1, max_size=200),
)
def test_noise_within_the_deadband_around_a_limit_gives_one_alarm(kind, deadband, noise):
    """The value crosses the limit once, then wanders within the deadband around it: one alarm."""
    rule = Rule(kind, 50.0, deadband)
    beyond = 50.0 + deadband if kind == Kind.HI else 50.0 - deadband
    point, transitions = lc.on_value(rule, Point(), 0.0, beyond)
    events = [t.event for t in transitions]
    for i, n in enumerate(noise, start=1):
        point, more = lc.on_value(rule, point, float(i), 50.0 + n * deadband)
        events += [t.event for t in more]
    assert events == [Event.RAISED]


def test_without_a_deadband_the_same_noise_chatters():
    rule = Rule(Kind.HI, 50.0, 0.0)
    point, events = Point(), []
    for i, value in enumerate([51, 49.5, 50.5, 49.8, 50.2]):
        point, more = lc.on_value(rule, point, float(i), value)
        events += [t.event for t in more]
    assert events.count(Event.RAISED) == 3


@settings(max_examples=300, deadline=None)
@given(st.floats(1, 120), st.floats(0.01, 0.99), st.integers(1, 20))
def test_a_spike_shorter_than_the_on_delay_gives_no_alarm(on_delay, fraction, samples):
    rule = Rule(Kind.HI, 50.0, on_delay=on_delay)
    spike = on_delay * fraction
    point, transitions = Point(), []
    for i in range(samples + 1):  # over the limit from 0 to `spike`, sampled evenly
        point, more = lc.on_value(rule, point, 100.0 + spike * i / samples, 80.0)
        transitions += more
    point, more = lc.on_value(rule, point, 100.0 + spike + 0.001, 40.0)
    transitions += more
    point, more = lc.tick(rule, point, 100.0 + on_delay * 5)
    transitions += more
    assert transitions == []


@settings(max_examples=200, deadline=None)
@given(st.floats(1, 120), st.floats(1.01, 3))
def test_a_condition_held_past_the_on_delay_raises_once_when_the_delay_ends(on_delay, factor):
    rule = Rule(Kind.HI, 50.0, on_delay=on_delay)
    point, first = lc.on_value(rule, Point(), 100.0, 80.0)
    assert first == [] and point.condition.since == 100.0
    point, raised = lc.on_value(rule, point, 100.0 + on_delay * factor, 81.0)
    assert [(t.event, t.at) for t in raised] == [(Event.RAISED, 100.0 + on_delay)]


def test_with_no_reading_the_timer_raises_when_the_on_delay_has_passed():
    rule = Rule(Kind.LO, 10.0, on_delay=15.0)
    point, _ = lc.on_value(rule, Point(), 0.0, 5.0)
    point, early = lc.tick(rule, point, 14.9)
    point, due = lc.tick(rule, point, 15.0)
    assert early == []
    assert [(t.event, t.at) for t in due] == [(Event.RAISED, 15.0)]


def test_a_dip_shorter_than_the_off_delay_does_not_clear():
    rule = Rule(Kind.HI, 50.0, off_delay=10.0)
    point, _ = lc.on_value(rule, Point(), 0.0, 60.0)
    point, dip = lc.on_value(rule, point, 1.0, 40.0)
    point, back = lc.on_value(rule, point, 9.0, 60.0)
    point, late = lc.tick(rule, point, 30.0)
    assert dip == back == late == []
    point, _ = lc.on_value(rule, point, 31.0, 40.0)
    point, cleared = lc.tick(rule, point, 41.0)
    assert [(t.event, t.at, t.after) for t in cleared] == [(Event.CLEARED, 41.0, State.RTN_UNACK)]


def test_acknowledge_then_return_to_normal_closes_and_the_reverse_order_too():
    rule = Rule(Kind.HI, 50.0)
    point, _ = lc.on_value(rule, Point(), 0.0, 60.0)
    point, acked = lc.acknowledge(point, 1.0)
    point, cleared = lc.on_value(rule, point, 2.0, 40.0)
    assert [t.after for t in acked + cleared] == [State.ACKED, State.CLOSED] and point.alarm is None
    point, _ = lc.on_value(rule, point, 3.0, 60.0)
    point, cleared = lc.on_value(rule, point, 4.0, 40.0)
    point, acked = lc.acknowledge(point, 5.0)
    assert [t.after for t in cleared + acked] == [State.RTN_UNACK, State.CLOSED] and point.alarm is None


def test_a_latched_alarm_needs_the_condition_to_clear_before_a_reset():
    rule = Rule(Kind.HI, 50.0, latching=True)
    point, _ = lc.on_value(rule, Point(), 0.0, 60.0)
    with pytest.raises(NotAllowed, match="still active"):
        lc.reset(point, 1.0)
    point, cleared = lc.on_value(rule, point, 2.0, 40.0)
    assert cleared[0].after == State.UNACK and point.alarm.latched and not point.alarm.condition
    point, acked = lc.acknowledge(point, 3.0)
    assert acked[0].after == State.ACKED and point.alarm is not None
    point, reset = lc.reset(point, 4.0)
    assert reset[0].after == State.CLOSED and point.alarm is None


def test_refusals_say_why():
    rule = Rule(Kind.HI, 50.0)
    point, _ = lc.on_value(rule, Point(), 0.0, 60.0)
    point, _ = lc.acknowledge(point, 1.0)
    with pytest.raises(NotAllowed, match="already acknowledged"):
        lc.acknowledge(point, 2.0)
    with pytest.raises(NotAllowed, match="Only a latched alarm"):
        lc.reset(point, 2.0)
    with pytest.raises(NotAllowed, match="not shelved"):
        lc.unshelve(point, 2.0)
    point, _ = lc.take_out_of_service(point, 3.0)
    with pytest.raises(NotAllowed, match="out of service"):
        lc.shelve(point, 4.0, 100.0)
    with pytest.raises(NotAllowed, match="closed"):
        lc.acknowledge(Point(), 5.0)


@pytest.mark.parametrize(
    ("kind", "setpoint", "value", "alarm"),
    [
        (Kind.STATE, 0, 0.0, True),
        (Kind.STATE, 0, 1.0, False),
        (Kind.STATE, 1, 0.6, True),
        (Kind.COMM_LOSS, 30, 31.0, True),
        (Kind.COMM_LOSS, 30, 0.0, False),
        (Kind.LOLO, 5, 4.9, True),
        (Kind.HIHI, 5, 5.0, False),
    ],
)
def test_raw_conditions(kind, setpoint, value, alarm):
    assert lc.in_alarm(Rule(kind, setpoint), False, value) is alarm


def test_rate_of_change_is_per_minute():
    assert lc.rate_per_minute(0.0, 10.0, 30.0, 5.0) == 10.0
    assert lc.rate_per_minute(5.0, 1.0, 5.0, 2.0) is None
