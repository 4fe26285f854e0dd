"""Topic -> sensor resolution for the ingest (apps/telemetry/routing.py): pure, no database."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.telemetry.payloads import REASONS, UNKNOWN_MACHINE, UNKNOWN_SENSOR, UNKNOWN_TOPIC, Rejected
from apps.telemetry.routing import BATCH, VALUE, SensorIndex

PROPERTY = settings(max_examples=200, deadline=None)

ROWS = [
    (1, "press1", "temp", "sensors/press1/temp/value"),
    (2, "press1", "pressure", "sensors/press1/pressure/value"),
    (3, "press2", "flow", "factory/line2/flow"),  # a custom topic
    (4, "press2", "state", "sensors/press2/state/value"),
]


@pytest.fixture
def index() -> SensorIndex:
    index = SensorIndex.build(ROWS)
    for machine in ("press1", "press2", "empty"):  # as load_index does: every machine, with or without sensors
        index.add_machine(machine)
    return index


def rejection(index: SensorIndex, topic: str) -> Rejected:
    with pytest.raises(Rejected) as info:
        index.resolve(topic)
    return info.value


@pytest.mark.parametrize(
    ("topic", "sensor_id"),
    [
        ("sensors/press1/temp/value", 1),
        ("sensors/press1/pressure/value", 2),
        ("sensors/press2/state/value", 4),
    ],
)
def test_the_value_topic_of_a_known_sensor(index, topic, sensor_id):
    assert index.resolve(topic) == (VALUE, sensor_id)


def test_a_custom_topic(index):
    assert index.resolve("factory/line2/flow") == (VALUE, 3)


def test_a_sensor_on_a_custom_topic_is_not_on_its_default_topic(index):
    exc = rejection(index, "sensors/press2/flow/value")
    assert exc.reason == UNKNOWN_SENSOR


def test_an_unknown_sensor_on_a_known_machine(index):
    exc = rejection(index, "sensors/press1/humidity/value")
    assert exc.reason == UNKNOWN_SENSOR
    assert "press1" in exc.detail


def test_a_sensor_of_another_machine_is_unknown_on_this_one(index):
    assert rejection(index, "sensors/press2/temp/value").reason == UNKNOWN_SENSOR


@pytest.mark.parametrize("topic", ["sensors/press9/temp/value", "sensors/press9/batch", "sensors/PRESS1/temp/value"])
def test_an_unknown_machine(index, topic):
    exc = rejection(index, topic)
    assert exc.reason == UNKNOWN_MACHINE
    assert topic.split("/")[1] in exc.detail


@pytest.mark.parametrize("machine", ["press1", "press2", "empty"])
def test_the_batch_topic_of_a_known_machine(index, machine):
    assert index.resolve(f"sensors/{machine}/batch") == (BATCH, machine)


def test_a_machine_without_sensors_is_known(index):
    assert rejection(index, "sensors/empty/temp/value").reason == UNKNOWN_SENSOR
    assert index.resolve("sensors/empty/batch") == (BATCH, "empty")
    with pytest.raises(Rejected) as info:
        index.batch_sensor("empty", "temp")
    assert info.value.reason == UNKNOWN_SENSOR


def test_without_add_machine_a_machine_without_sensors_is_unknown():
    index = SensorIndex.build(ROWS)
    assert rejection(index, "sensors/empty/temp/value").reason == UNKNOWN_MACHINE
    assert rejection(index, "sensors/empty/batch").reason == UNKNOWN_MACHINE


def test_add_machine_keeps_the_sensors_of_a_machine_already_indexed():
    index = SensorIndex.build(ROWS)
    index.add_machine("press1")
    assert index.batch_sensor("press1", "temp") == 1
    assert index.resolve("sensors/press1/temp/value") == (VALUE, 1)


@pytest.mark.parametrize(
    "topic",
    [
        "",
        "sensors",
        "sensors/x",
        "sensors/press1",
        "sensors/press1/temp",
        "foo/bar/baz/value",
        "foo/press1/batch",
        "sensors/a/b/c/value",
        "sensors/press1/temp/value/extra",
        "sensors/press1/temp/value/",
        "/sensors/press1/temp/value",
        "Sensors/press1/temp/value",
        "sensors/press1/temp/values",
        "sensors/press1/temp/VALUE",
        "sensors/press1/batch/value/x",
        "sensors/press1/batches",
        "sensors/press1/batch/",
        "factory/line2/flow/",
        "factory/line2",
        "#",
        "sensors/+/temp/value/#",
    ],
)
def test_other_shapes_are_unknown_topics(index, topic):
    assert rejection(index, topic).reason == UNKNOWN_TOPIC


def test_batch_sensor(index):
    assert index.batch_sensor("press1", "temp") == 1
    assert index.batch_sensor("press1", "pressure") == 2
    assert index.batch_sensor("press2", "flow") == 3  # its custom topic does not matter in a batch


@pytest.mark.parametrize(("machine", "code"), [("press1", "humidity"), ("press1", "flow"), ("press2", "temp")])
def test_batch_sensor_of_an_unknown_code(index, machine, code):
    with pytest.raises(Rejected) as info:
        index.batch_sensor(machine, code)
    assert info.value.reason == UNKNOWN_SENSOR
    assert machine in info.value.detail
    assert repr(code) in info.value.detail


def test_an_empty_index_knows_no_topic():
    index = SensorIndex.build([])
    assert rejection(index, "sensors/press1/temp/value").reason == UNKNOWN_MACHINE
    assert rejection(index, "sensors/press1/batch").reason == UNKNOWN_MACHINE
    assert rejection(index, "factory/line2/flow").reason == UNKNOWN_TOPIC


def test_build_takes_any_iterable():
    index = SensorIndex.build(row for row in ROWS)
    assert index.resolve("factory/line2/flow") == (VALUE, 3)
    assert index.by_machine == {"press1": {"temp": 1, "pressure": 2}, "press2": {"flow": 3, "state": 4}}


def test_indexes_do_not_share_state():
    first = SensorIndex.build(ROWS)
    second = SensorIndex()
    second.add_machine("other")
    assert second.by_topic == {}
    assert "other" not in first.by_machine


def test_a_sensor_topic_wins_over_the_shape_of_the_topic():
    """The current rule: by_topic is looked up first, so a custom topic shaped like a batch topic
    (topic_problem in apps/plant/topics.py does not forbid it) takes that machine's batches."""
    index = SensorIndex.build([*ROWS, (5, "press2", "odd", "sensors/press1/batch")])
    assert index.resolve("sensors/press1/batch") == (VALUE, 5)
    assert index.resolve("sensors/press2/batch") == (BATCH, "press2")


# --- properties ----------------------------------------------------------------------------------

codes = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=8)


@st.composite
def plants(draw) -> list[tuple[int, str, str, str]]:
    """Rows with unique (machine, sensor) pairs on their default topics."""
    pairs = draw(st.lists(st.tuples(codes, codes), unique=True, max_size=12))
    return [(i + 1, machine, sensor, f"sensors/{machine}/{sensor}/value") for i, (machine, sensor) in enumerate(pairs)]


@PROPERTY
@given(plants())
def test_property_every_sensor_resolves_by_topic_and_in_a_batch(rows):
    index = SensorIndex.build(rows)
    for sensor_id, machine, sensor, topic in rows:
        assert index.resolve(topic) == (VALUE, sensor_id)
        assert index.resolve(f"sensors/{machine}/batch") == (BATCH, machine)
        assert index.batch_sensor(machine, sensor) == sensor_id


@PROPERTY
@given(plants(), st.text(max_size=40) | st.lists(codes | st.just("value") | st.just("batch"), max_size=5).map("/".join))
def test_property_any_topic_resolves_or_is_a_known_rejection(rows, topic):
    index = SensorIndex.build(rows)
    try:
        kind, target = index.resolve(topic)
    except Rejected as exc:
        assert exc.reason in REASONS
        assert exc.reason in (UNKNOWN_TOPIC, UNKNOWN_MACHINE, UNKNOWN_SENSOR)
        return
    if kind == VALUE:
        assert target in {row[0] for row in rows}
    else:
        assert kind == BATCH
        assert target in index.by_machine
