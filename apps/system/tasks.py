"""Periodic publications of ScadaPRO's own state on the seed's MQTT topics."""

from __future__ import annotations

import json

from celery import shared_task
from django.utils import timezone

from apps.system import services
from scadapro.mqtt import publish_once


@shared_task(ignore_result=True)
def publish_system_status() -> None:
    """`system/status` (retained): overall health and per-service state, without secrets."""
    publish_once("system/status", json.dumps(services.system_status(), default=str), qos=1, retain=True)


@shared_task(ignore_result=True)
def publish_postgresql_status() -> None:
    """`system/postgresql` (retained): database size, connections, readings stored."""
    payload = {"time": timezone.now().isoformat(), **services.postgresql_status()}
    publish_once("system/postgresql", json.dumps(payload, default=str), qos=1, retain=True)
