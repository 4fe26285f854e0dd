"""The plant API: machines and sensors with filters, details and validation errors."""

import pytest

pytestmark = pytest.mark.django_db


def test_machine_list_has_sensor_counts(deployment_client, plant):
    rows = {m["code"]: m for m in deployment_client.get("/api/machines").json()["results"]}
    assert rows["PS1"]["sensor_count"] == 2
    assert rows["BLR1"]["sensor_count"] == 1
    assert rows["BLR1"]["status"] == "maintenance"


def test_machine_detail_includes_plcs_and_sensors(deployment_client, plant):
    body = deployment_client.get(f"/api/machines/{plant['pump'].pk}").json()
    assert body["code"] == "PS1"
    assert [p["name"] for p in body["plcs"]] == ["PLC-PS1"]
    assert {s["code"] for s in body["sensors"]} == {"P1_PRESS", "FLOW"}


def test_filter_machines_by_status(deployment_client, plant):
    body = deployment_client.get("/api/machines?status=maintenance").json()
    assert [m["code"] for m in body["results"]] == ["BLR1"]


def test_filter_sensors_by_machine_and_type(deployment_client, plant):
    by_machine = deployment_client.get(f"/api/sensors?machine={plant['pump'].pk}").json()
    assert {s["code"] for s in by_machine["results"]} == {"P1_PRESS", "FLOW"}
    by_type = deployment_client.get("/api/sensors?type=pressure").json()
    assert {s["code"] for s in by_type["results"]} == {"P1_PRESS", "STEAM_PRESS"}
    both = deployment_client.get("/api/sensors?machine_code=BLR1&type=pressure").json()
    assert [s["code"] for s in both["results"]] == ["STEAM_PRESS"]


def test_sensor_detail_shows_topic_and_range(deployment_client, plant):
    body = deployment_client.get(f"/api/sensors/{plant['pressure'].pk}").json()
    assert body["mqtt_topic"] == "sensors/PS1/P1_PRESS/value"
    assert (body["range_min"], body["range_max"], body["unit"]) == (0.0, 16.0, "bar")
    assert body["machine_code"] == "PS1"


def test_sensor_shows_its_latest_value_with_quality(deployment_client, plant):
    from django.utils import timezone

    sensor = plant["pressure"]
    sensor.last_value, sensor.last_seen, sensor.last_quality = 7.25, timezone.now(), 1
    sensor.save()
    body = deployment_client.get(f"/api/sensors/{sensor.pk}").json()
    assert (body["last_value"], body["last_quality"]) == (7.25, "uncertain")
    assert deployment_client.get(f"/api/sensors/{plant['flow'].pk}").json()["last_quality"] is None


def test_bad_filter_value_is_a_400_with_reason(deployment_client, plant):
    response = deployment_client.get("/api/sensors?type=banana")
    assert response.status_code == 400
    assert "banana" in str(response.json()["type"])


def test_unknown_sensor_is_404(deployment_client, plant):
    assert deployment_client.get("/api/sensors/999999").status_code == 404


def test_creating_a_sensor_validates_range_and_plc(deployment_client, plant):
    response = deployment_client.post(
        "/api/sensors",
        {
            "machine": plant["boiler"].pk,
            "plc": plant["plc"].pk,
            "code": "X",
            "name": "x",
            "range_min": 5,
            "range_max": 1,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "plc" in response.json()


def test_created_sensor_gets_its_default_topic(deployment_client, plant):
    response = deployment_client.post(
        "/api/sensors", {"machine": plant["boiler"].pk, "code": "DRUM_LEVEL", "name": "Drum level"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["mqtt_topic"] == "sensors/BLR1/DRUM_LEVEL/value"


def test_duplicate_machine_code_is_a_400(deployment_client, plant):
    response = deployment_client.post("/api/machines", {"code": "PS1", "name": "Again"}, format="json")
    assert response.status_code == 400
    assert "code" in response.json()


def test_machine_code_with_topic_wildcards_is_refused(deployment_client):
    response = deployment_client.post("/api/machines", {"code": "PS/1", "name": "Bad"}, format="json")
    assert response.status_code == 400
