"""The per-client outbox: newest value per sensor, at most `window` unacknowledged updates, and a
bounded backlog of alarm events."""

from apps.live.outbox import Outbox


def test_updates_wait_for_acknowledgements_and_merge_meanwhile():
    box = Outbox(window=2)
    box.add_readings({"1": [10.0, 1.0, 0]})
    first = box.take()
    assert first == {"type": "update", "seq": 1, "readings": {"1": [10.0, 1.0, 0]}, "alarms": []}
    box.add_readings({"1": [11.0, 2.0, 0]})
    assert box.take()["seq"] == 2
    for second in range(12, 100):  # the client stopped reading: nothing more is sent, one value is kept
        box.add_readings({"1": [float(second), float(second), 0], "2": [float(second), 0.0, 2]})
        assert box.take() is None
    assert box.readings == {"1": [99.0, 99.0, 0], "2": [99.0, 0.0, 2]}
    box.ack(1)
    assert box.take() == {
        "type": "update",
        "seq": 3,
        "readings": {"1": [99.0, 99.0, 0], "2": [99.0, 0.0, 2]},
        "alarms": [],
    }
    assert box.take() is None  # nothing pending


def test_a_late_reading_never_replaces_a_newer_one():
    box = Outbox()
    box.add_readings({"1": [20.0, 5.0, 0]})
    box.add_readings({"1": [19.0, 4.0, 0]})
    assert box.take()["readings"] == {"1": [20.0, 5.0, 0]}


def test_acknowledgements_outside_what_was_sent_are_ignored():
    box = Outbox(window=1)
    box.add_readings({"1": [1.0, 1.0, 0]})
    box.take()
    box.ack(7)  # never sent
    box.add_readings({"1": [2.0, 1.0, 0]})
    assert box.take() is None
    box.ack(1)
    assert box.take()["seq"] == 2


def test_too_many_waiting_alarm_events_become_one_resync():
    box = Outbox(window=1, max_events=3)
    box.add_event({"n": 0})
    assert box.take()["alarms"] == [{"n": 0}]
    for n in range(1, 10):
        box.add_event({"n": n})
    box.ack(1)
    message = box.take()
    assert message["resync"] is True and message["alarms"] == []
    box.add_event({"n": 10})
    box.ack(2)
    assert box.take() == {"type": "update", "seq": 3, "readings": {}, "alarms": [{"n": 10}]}


def test_an_update_is_sent_as_is_only_when_nothing_waits_and_the_window_has_room():
    box = Outbox(window=1)
    assert box.claim() == 1
    assert box.claim() is None  # window full
    box.ack(1)
    box.add_readings({"1": [1.0, 1.0, 0]})
    assert box.claim() is None  # something to merge with: the caller must merge and take()
    assert box.take()["seq"] == 2
