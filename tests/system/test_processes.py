"""The platform's processes as `make demo` runs them: Daphne serves admin and API, ingest connects."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command

from tests.brokers import free_port
from tests.helpers import ROOT, IngestProcess, process_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def daphne():
    port = free_port()
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port), "scadapro.asgi:application"],
        cwd=ROOT,
        env=process_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    yield base
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)


def test_daphne_serves_admin_and_the_api_with_the_demo_plant(daphne, broker, tmp_path):
    ingest = IngestProcess(broker.url, tmp_path).start()
    ingest.wait_reported()
    call_command("plant", "import", str(ROOT / "config/plant.demo.yaml"))
    User.objects.create_superuser("admin", password="demo-admin-password-1")

    status, body = get(f"{daphne}/admin/login/")
    assert (status == 200 and b"ScadaPRO" in body) or b"Django" in body

    status, body = get(f"{daphne}/api/machines")
    assert status == 401
    assert b"credentials were not provided" in body

    status, body = get(f"{daphne}/api/machines?limit=100", settings.SCADAPRO_API_TOKEN)
    assert status == 200
    machines = json.loads(body)
    assert machines["count"] >= 6
    status, body = get(f"{daphne}/api/sensors?limit=1000", settings.SCADAPRO_API_TOKEN)
    assert json.loads(body)["count"] >= 80

    status, body = get(f"{daphne}/api/health")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    ingest.stop()
    ingest.forget(broker.port)
