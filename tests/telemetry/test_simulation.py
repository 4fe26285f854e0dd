"""The demo plant simulator: plausible values, excursions past the range, every sensor published."""

import json
import random
import statistics
import threading

import paho.mqtt.client as mqtt
import pytest
from django.conf import settings
from django.core.management import call_command

from apps.telemetry.simulation import PlantSimulator, SensorSignal


def test_analog_signal_stays_near_its_range_and_varies():
    signal = SensorSignal(low=0.0, high=16.0, decimals=2, rng=random.Random(1))
    values = [signal.value(t) for t in range(0, 6 * 3600, 5)]
    assert all(-0.8 <= v <= 16.8 for v in values)
    assert 2.0 < statistics.mean(values) < 12.0
    assert statistics.pstdev(values) > 0.05  # noise and drift, not a flat line
    assert all(round(v, 2) == v for v in values)


def test_excursion_crosses_the_top_of_the_range_then_returns():
    signal = SensorSignal(low=0.0, high=100.0, rng=random.Random(7))
    for t in range(0, 600, 5):
        signal.value(t)
    signal.start_excursion(600)
    signal.excursion.upward = True
    during = [signal.value(t) for t in range(600, 600 + int(signal.excursion.duration), 1)]
    assert max(during) > 95.0
    after = [signal.value(t) for t in range(1200, 1800, 5)]
    assert max(after) < 90.0


def test_state_signal_is_binary_and_trips_to_zero():
    signal = SensorSignal(low=0, high=1, decimals=0, is_state=True, rng=random.Random(3))
    values = {signal.value(t) for t in range(0, 3 * 3600, 5)}
    assert values <= {0.0, 1.0}
    signal.start_excursion(3 * 3600)
    assert signal.value(3 * 3600 + 10) == 0.0


def test_plant_schedules_each_sensor_at_its_interval():
    plant = PlantSimulator(excursions_per_hour=0, seed=1)
    plant.add("fast", 0, 10, interval=1, now=0)
    plant.add("slow", 0, 10, interval=10, now=0)
    counts = {"fast": 0, "slow": 0}
    for now in range(1, 101):
        for key, _, _ in plant.due(now):
            counts[key] += 1
    assert 98 <= counts["fast"] <= 101
    assert 9 <= counts["slow"] <= 11


def test_plant_wide_excursion_rate_is_respected():
    plant = PlantSimulator(excursions_per_hour=60, seed=2)
    for i in range(50):
        plant.add(str(i), 0, 100, interval=5, now=0)
    started = 0
    for now in range(1, 3600 * 4):
        for key, _, _ in plant.due(now):
            if plant.signals[key].excursion and plant.signals[key].excursion.start == plant.signals[key].last_t:
                started += 1
    assert 150 <= started <= 330  # about 60 an hour over four hours


@pytest.mark.django_db(transaction=True)
def test_simulate_publishes_json_readings_for_every_active_sensor(plant):
    received: dict[str, dict] = {}
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-simulate-listener")
    client.on_connect = lambda c, *a: c.subscribe("sensors/#", qos=1)
    client.on_subscribe = lambda *a: subscribed.set()
    client.on_message = lambda c, u, m: received.setdefault(m.topic, json.loads(m.payload))
    client.connect(settings.MQTT.host, settings.MQTT.port)
    client.loop_start()
    try:
        assert subscribed.wait(5)
        call_command("simulate", "--rate", "30", "--duration", "2", "--seed", "1")
    finally:
        client.loop_stop()
        client.disconnect()
    # The boiler is in maintenance: only the pump's sensors are simulated.
    assert set(received) == {"sensors/PS1/P1_PRESS/value", "sensors/PS1/FLOW/value"}
    pressure = received["sensors/PS1/P1_PRESS/value"]
    assert -1 <= pressure["value"] <= 17
    assert pressure["ts"].endswith("Z")
