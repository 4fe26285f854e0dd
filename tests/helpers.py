"""Helpers for tests that run the platform's processes against the test database."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from django.conf import settings

from tests.brokers import free_port

ROOT = Path(__file__).resolve().parent.parent


def process_env(**extra: str) -> dict[str, str]:
    """The environment of a child process that uses the test database."""
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}  # see conftest
    return {**inherited, "DATABASE_URL": url, "DEBUG": "true", **extra}


def wait_until(condition: Callable[[], object], timeout: float = 30.0, every: float = 0.1) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)


def publish(port: int, messages: list[tuple[str, str | bytes]], qos: int = 1, rate: float | None = None) -> None:
    """Publish and wait until the broker has acknowledged every message (QoS 1)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(0)  # unlimited: paho scans its queue per ack otherwise
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = []
        started = time.monotonic()
        for i, (topic, payload) in enumerate(messages):
            infos.append(client.publish(topic, payload, qos=qos))
            if rate:
                ahead = i / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        for info in infos:
            info.wait_for_publish(60)
    finally:
        client.disconnect()
        client.loop_stop()


class IngestProcess:
    """`manage.py ingest` as its own process, with its own client id and group."""

    def __init__(self, broker_url: str, logdir: Path, name: str = "ingest"):
        self.client_id = f"test-{name}-{uuid.uuid4().hex[:8]}"
        self.group = f"g-{uuid.uuid4().hex[:8]}"
        self.env = process_env(MQTT_URL=broker_url, INGEST_BATCH_WAIT_MS="20")
        self.log = logdir / f"{self.client_id}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> IngestProcess:
        args = [sys.executable, "manage.py", "ingest", "--client-id", self.client_id, "--group", self.group]
        starts = self.output().count("subscribed to")
        with self.log.open("a") as out:
            self.process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        atexit.register(self._kill_if_running, self.process)  # never outlive the test run
        if not wait_until(lambda: self.output().count("subscribed to") > starts or self.process.poll() is not None):
            raise RuntimeError(f"ingest did not subscribe:\n{self.output()}")
        if self.process.poll() is not None:
            raise RuntimeError(f"ingest exited:\n{self.output()}")
        return self

    def wait_reported(self, timeout: float = 15.0) -> None:
        """Until its figures (published every 2 s) show it connected to the broker and database."""
        from apps.telemetry import stats

        def healthy() -> bool:
            mine = [w for w in stats.read_all() if w["client_id"] == self.client_id]
            return bool(mine) and mine[0]["mqtt_connected"] and mine[0]["database_ok"]

        if not wait_until(healthy, timeout=timeout):
            raise RuntimeError(f"ingest {self.client_id} did not report healthy:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    @staticmethod
    def _kill_if_running(process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.kill()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def forget(self, port: int) -> None:
        """Delete its persistent session, or the broker keeps queueing what later tests publish."""
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=True)
        client.connect("127.0.0.1", port)
        client.loop_start()
        time.sleep(0.1)
        client.disconnect()
        client.loop_stop()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        return self.process.returncode


class WebProcess:
    """Daphne serving scadapro.asgi (HTTP and /ws/realtime) on the test database, as in production."""

    def __init__(self, logdir: Path):
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.log = logdir / f"daphne-{self.port}.log"
        self.env = process_env(ALLOWED_HOSTS="localhost,127.0.0.1")
        self.process: subprocess.Popen | None = None

    def start(self) -> WebProcess:
        import urllib.request

        args = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "scadapro.asgi:application"]
        with self.log.open("a") as out:
            self.process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        atexit.register(IngestProcess._kill_if_running, self.process)

        def answers() -> bool:
            try:
                urllib.request.urlopen(f"{self.url}/login/", timeout=2)
                return True
            except OSError:
                return self.process.poll() is not None

        if not wait_until(answers, timeout=30) or self.process.poll() is not None:
            raise RuntimeError(f"daphne did not start:\n{self.log.read_text()}")
        return self

    def stop(self) -> None:
        """Terminate; Daphne waits for open WebSockets to close, so kill what is still up after 5 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
