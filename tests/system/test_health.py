"""/api/health: reachable without a token (status only); details of each service with one."""

import json

import paho.mqtt.subscribe as subscribe
import pytest
from django.conf import settings as django_settings

from apps.system.tasks import publish_postgresql_status, publish_system_status
from scadapro.env import ServiceUrl
from tests.brokers import free_port
from tests.helpers import IngestProcess

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ingest_worker(broker, tmp_path):
    """A real ingest worker, so the platform is complete and health can say ok. Started per test:
    a worker that outlived its test would also store what other tests publish."""
    worker = IngestProcess(broker.url, tmp_path).start()
    worker.wait_reported()
    yield worker
    worker.stop()
    worker.forget(broker.port)


def test_health_without_token_shows_only_the_status(anon_client, deployment_client):
    response = anon_client.get("/api/health")
    assert response.status_code == 200, deployment_client.get("/api/health").json()
    assert response.json() == {"status": "ok"}


def test_health_with_token_details_every_service(deployment_client):
    body = deployment_client.get("/api/health").json()
    assert body["status"] == "ok"
    checks = body["checks"]
    assert set(checks) == {"database", "redis", "mqtt", "ingest"}
    assert all(check["ok"] for check in checks.values())
    assert checks["database"]["timescaledb_license"] in {"apache", "timescale"}
    assert checks["database"]["timescaledb"]


def test_health_reveals_no_secrets(deployment_client):
    text = deployment_client.get("/api/health").content.decode()
    assert django_settings.SECRET_KEY not in text
    assert django_settings.SCADAPRO_API_TOKEN not in text


def test_health_is_degraded_when_redis_and_mqtt_are_down(deployment_client, anon_client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.MQTT = ServiceUrl("mqtt", "127.0.0.1", free_port(), None, None, "")
    response = deployment_client.get("/api/health")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["redis"]["ok"] is False and "Error" in checks["redis"]["error"]
    assert checks["mqtt"]["ok"] is False
    assert anon_client.get("/api/health").json() == {"status": "degraded"}


def test_health_is_degraded_without_an_ingest_worker(deployment_client, ingest_worker):
    ingest_worker.stop()  # a clean stop withdraws its figures at once
    try:
        response = deployment_client.get("/api/health")
        assert response.status_code == 503
        assert "no ingest worker" in response.json()["checks"]["ingest"]["error"]
    finally:
        ingest_worker.start()
        ingest_worker.wait_reported()


@pytest.mark.parametrize(
    ("task", "topic", "key"),
    [
        (publish_system_status, "system/status", "services"),
        (publish_postgresql_status, "system/postgresql", "readings_bytes"),
    ],
)
def test_status_tasks_publish_retained_messages(task, topic, key):
    task()  # run in-process, as the worker would
    message = subscribe.simple(topic, hostname=django_settings.MQTT.host, port=django_settings.MQTT.port, retained=True)
    payload = json.loads(message.payload)
    assert message.retain
    assert key in payload
    if topic == "system/status":
        assert payload["services"] == {"database": True, "redis": True, "mqtt": True, "ingest": True}
        assert payload["ingest"]["workers"] >= 1
    else:
        assert payload["timescaledb_license"] in {"apache", "timescale"}
