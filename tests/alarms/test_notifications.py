"""Alarm notifications: routed by severity, machine and kind of transition, sent along each route at
most once, retried while the receiver fails. A real HTTP server receives the webhooks; e-mail goes
to Django's in-memory outbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from apps.alarms import notifications, services, tasks
from apps.alarms.models import AlarmEvent, AlarmRule, Notification, NotificationRoute
from apps.telemetry.ingest import Decoded, store_batch
from tests.brokers import free_port

pytestmark = pytest.mark.django_db


class Receiver:
    """A webhook receiver on localhost that records requests and answers the statuses it is given."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": self.headers, "body": body})
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    instance = Receiver()
    yield instance
    instance.close()


def feed(sensor, value: float) -> None:
    store_batch(Decoded(rows=[(sensor.pk, time.time(), float(value), 0)], rejected=Counter(), kept=[]))


def route(name: str = "control room", channel: str = "webhook", target: str = "", **fields) -> NotificationRoute:
    return NotificationRoute.objects.create(name=name, channel=channel, target=target, **fields)


@pytest.fixture
def raised(plant) -> AlarmEvent:
    """A 'high' alarm raised on PS1/P1_PRESS."""
    AlarmRule.objects.create(sensor=plant["pressure"], kind="hi", setpoint=10, severity="high")
    feed(plant["pressure"], 12)
    return AlarmEvent.objects.get(kind="raised")


def test_routes_by_minimum_severity(raised):
    high = route("high and up", target="http://x.invalid/", min_severity="high")
    medium = route("medium and up", target="http://x.invalid/", min_severity="medium")
    route("critical only", target="http://x.invalid/", min_severity="critical")
    assert sorted(notifications.routes_for(raised.pk)) == sorted([high.pk, medium.pk])


def test_routes_by_machine(raised, plant):
    everywhere = route("all machines", target="http://x.invalid/")
    pumps = route("pumps", target="http://x.invalid/")
    pumps.machines.set([plant["pump"]])
    boilers = route("boilers", target="http://x.invalid/")
    boilers.machines.set([plant["boiler"]])
    assert sorted(notifications.routes_for(raised.pk)) == sorted([everywhere.pk, pumps.pk])


def test_routes_by_kind_of_transition_and_enabled(raised, plant):
    raised_only = route("raised", target="http://x.invalid/")
    both = route("raised and cleared", target="http://x.invalid/", events=["raised", "cleared"])
    route("off", target="http://x.invalid/", enabled=False)
    feed(plant["pressure"], 5)
    cleared = AlarmEvent.objects.get(kind="cleared")
    assert sorted(notifications.routes_for(raised.pk)) == sorted([raised_only.pk, both.pk])
    assert notifications.routes_for(cleared.pk) == [both.pk]


def test_nothing_is_routed_while_shelved_or_for_a_vanished_event(raised, plant, operator):
    route(target="http://x.invalid/", events=["raised", "cleared", "superseded"])
    services.shelve(raised.alarm, operator, minutes=30, reason="sensor under maintenance")
    feed(plant["pressure"], 5)
    feed(plant["pressure"], 12)
    quiet = AlarmEvent.objects.filter(announced=False)
    assert quiet.count() == 3
    assert all(notifications.routes_for(event.pk) == [] for event in quiet)
    assert notifications.routes_for(999_999) == []


def test_route_validation_names_the_problem():
    with pytest.raises(ValidationError) as bad_url:
        NotificationRoute(name="a", channel="webhook", target="ftp://example.com/x").full_clean()
    assert "http:// or https://" in str(bad_url.value)
    with pytest.raises(ValidationError) as bad_mail:
        NotificationRoute(name="b", channel="email", target="ops@example.com, not-an-address").full_clean()
    assert "not-an-address" in str(bad_mail.value)
    with pytest.raises(ValidationError) as bad_event:
        NotificationRoute(name="c", channel="email", target="ops@example.com", events=["exploded"]).full_clean()
    assert "exploded" in str(bad_event.value)


def test_a_webhook_gets_the_transition_signed_with_an_idempotency_key(raised, receiver):
    hook = route(target=receiver.url, secret="s3cret")
    assert notifications.deliver(raised.pk, hook.pk) is True
    [request] = receiver.requests
    body = json.loads(request["body"])
    assert (body["machine"], body["sensor"], body["event"]["kind"]) == ("PS1", "P1_PRESS", "raised")
    assert (body["alarm"]["severity"], body["alarm"]["value"], body["alarm"]["state"]) == ("high", 12.0, "unack")
    note = Notification.objects.get()
    assert request["headers"]["Idempotency-Key"] == note.idempotency_key
    assert request["headers"]["Content-Type"] == "application/json"
    signature = hmac.new(b"s3cret", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-ScadaPRO-Signature"] == f"sha256={signature}"
    assert (note.status, note.attempts) == ("sent", 1) and note.sent_at is not None


def test_a_transition_is_sent_at_most_once_per_route(raised, receiver):
    hook = route(target=receiver.url)
    assert notifications.deliver(raised.pk, hook.pk) is True
    assert notifications.deliver(raised.pk, hook.pk) is False
    assert len(receiver.requests) == 1
    assert Notification.objects.count() == 1


def test_a_failing_receiver_is_retried_and_the_error_kept(raised, receiver):
    hook = route(target=receiver.url)
    receiver.statuses = [500]
    with pytest.raises(notifications.DeliveryFailed, match="500"):
        notifications.deliver(raised.pk, hook.pk)
    note = Notification.objects.get()
    assert (note.status, note.attempts) == ("pending", 1) and "500" in note.last_error
    assert notifications.deliver(raised.pk, hook.pk) is True
    note.refresh_from_db()
    assert (note.status, note.attempts, note.last_error) == ("sent", 2, "")


def test_an_unreachable_webhook_fails_with_a_reason_and_can_be_given_up(raised):
    hook = route(target=f"http://127.0.0.1:{free_port()}/hook")
    with pytest.raises(notifications.DeliveryFailed, match="could not be reached"):
        notifications.deliver(raised.pk, hook.pk)
    notifications.give_up(raised.pk, hook.pk, "gave up after retries")
    note = Notification.objects.get()
    assert (note.status, note.last_error) == ("failed", "gave up after retries")


def test_an_email_names_severity_alarm_and_values(raised, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    by_mail = route("shift leads", channel="email", target="lead@example.com, ops@example.com")
    notifications.deliver(raised.pk, by_mail.pk)
    [message] = mail.outbox
    assert message.subject == "[ScadaPRO] HIGH raised: Pump 1 pressure high: 12.00 bar (limit 10.00 bar)"
    assert message.to == ["lead@example.com", "ops@example.com"]
    assert "Machine:  PS1" in message.body and "Value:    12.0 bar" in message.body
    assert message.extra_headers["Message-ID"] == f"<{Notification.objects.get().idempotency_key}@scadapro>"


def test_email_without_a_mail_server_fails_clearly(raised, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = ""
    by_mail = route("shift leads", channel="email", target="lead@example.com")
    with pytest.raises(notifications.DeliveryFailed, match="EMAIL_HOST is not set"):
        notifications.deliver(raised.pk, by_mail.pk)


@pytest.fixture
def eager():
    from scadapro.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_the_delivery_task_retries_then_gives_up(raised, receiver, eager):
    hook = route(target=receiver.url)
    receiver.statuses = [500] * 20
    tasks.deliver.apply(args=[raised.pk, hook.pk])
    tries = tasks.deliver.max_retries + 1
    assert len(receiver.requests) == tries  # eager retries run at once, without the countdown
    note = Notification.objects.get()
    assert (note.status, note.attempts) == ("failed", tries) and "500" in note.last_error


def test_notify_delivers_along_every_matching_route(raised, receiver, eager):
    route("one", target=receiver.url)
    route("two", target=receiver.url + "2")
    tasks.notify.delay(raised.pk)
    assert sorted(r["path"] for r in receiver.requests) == ["/hook", "/hook2"]
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
