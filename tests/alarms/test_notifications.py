"""Alarm notifications: routed by severity, machine and kind of transition, sent along each route at
most once, retried while the receiver fails. A real HTTP server on localhost receives the webhooks;
e-mail goes to Django's in-memory outbox; alarms are raised by feeding readings through the ingest."""

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
from django.db import connection

from apps.alarms import notifications, services, tasks
from apps.alarms.choices import EventKind
from apps.alarms.models import AlarmEvent, AlarmRule, Notification, NotificationRoute
from apps.telemetry.ingest import Decoded, store_batch
from tests.brokers import free_port

pytestmark = pytest.mark.django_db


class Receiver:
    """A webhook receiver on localhost: records every request and answers the statuses it is given,
    in order (200 once they run out), after `delay` seconds."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.headers: dict[str, str] = {}
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(
                    {"method": self.command, "path": self.path, "headers": self.headers, "body": body}
                )
                time.sleep(receiver.delay)
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.url = f"{self.base}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver():
    instance = Receiver()
    yield instance
    instance.close()


@pytest.fixture
def eager():
    """Celery runs tasks in-process: the app read its settings at import, so switch it directly."""
    from scadapro.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def feed(sensor, value: float) -> None:
    store_batch(Decoded(rows=[(sensor.pk, time.time(), float(value), 0)], rejected=Counter(), kept=[]))


def raise_alarm(sensor, kind: str, setpoint: float, severity: str, value: float) -> AlarmEvent:
    rule = AlarmRule.objects.create(sensor=sensor, kind=kind, setpoint=setpoint, severity=severity)
    feed(sensor, value)
    return AlarmEvent.objects.get(rule=rule, kind=EventKind.RAISED)


def route(name: str = "control room", channel: str = "webhook", target: str = "", **fields) -> NotificationRoute:
    machines = fields.pop("machines", [])
    created = NotificationRoute.objects.create(
        name=name, channel=channel, target=target or "https://hooks.example.com/alarms", **fields
    )
    created.machines.set(machines)
    return created


@pytest.fixture
def raised(plant) -> AlarmEvent:
    """A 'high' alarm raised on PS1/P1_PRESS by a reading of 12 bar over a limit of 10."""
    return raise_alarm(plant["pressure"], "hi", 10, "high", 12)


# Routing


def test_a_route_gets_its_minimum_severity_and_more_urgent_but_not_less(plant):
    high = route(min_severity="high")
    critical = raise_alarm(plant["pressure"], "hihi", 14, "critical", 15)
    high_event = raise_alarm(plant["steam"], "hi", 10, "high", 12)
    medium = raise_alarm(plant["flow"], "hi", 100, "medium", 120)
    assert notifications.routes_for(critical.pk) == [high.pk]
    assert notifications.routes_for(high_event.pk) == [high.pk]
    assert notifications.routes_for(medium.pk) == []


def test_a_route_without_machines_gets_every_machine_one_with_machines_only_theirs(plant):
    everywhere = route("all machines")
    boiler_room = route("boiler room", machines=[plant["boiler"]])
    pump = raise_alarm(plant["pressure"], "hi", 10, "high", 12)
    boiler = raise_alarm(plant["steam"], "hi", 10, "high", 12)
    assert notifications.routes_for(pump.pk) == [everywhere.pk]
    assert sorted(notifications.routes_for(boiler.pk)) == sorted([everywhere.pk, boiler_room.pk])


def test_a_route_gets_only_raised_alarms_unless_it_asks_for_their_clearing(raised, plant):
    default = route("raised only")
    both = route("raised and cleared", events=["raised", "cleared"])
    assert default.events == ["raised"]
    feed(plant["pressure"], 5)
    cleared = AlarmEvent.objects.get(kind="cleared")
    assert cleared.announced
    assert sorted(notifications.routes_for(raised.pk)) == sorted([default.pk, both.pk])
    assert notifications.routes_for(cleared.pk) == [both.pk]


def test_a_disabled_route_gets_nothing(raised):
    route("off", enabled=False)
    assert notifications.routes_for(raised.pk) == []


def test_transitions_while_shelved_are_never_routed(raised, plant, operator):
    route(min_severity="low", events=list(EventKind.values))
    services.shelve(raised.alarm, operator, minutes=30, reason="transmitter under maintenance")
    feed(plant["pressure"], 5)  # clears while shelved
    feed(plant["pressure"], 12)  # and comes back
    quiet = AlarmEvent.objects.filter(announced=False)
    assert {e.kind for e in quiet} >= {"cleared", "raised"}
    assert [notifications.routes_for(e.pk) for e in quiet] == [[] for _ in quiet]


def test_a_deleted_event_is_routed_nowhere_without_error(raised):
    route()
    gone = raised.pk
    AlarmEvent.objects.filter(pk=gone).delete()
    assert notifications.routes_for(gone) == []


def test_route_validation_names_the_bad_url_address_or_transition():
    with pytest.raises(ValidationError) as bad_url:
        NotificationRoute(name="a", channel="webhook", target="ftp://example.com/x").full_clean()
    assert bad_url.value.message_dict["target"] == ["A webhook needs an http:// or https:// URL."]
    with pytest.raises(ValidationError) as bad_mail:
        NotificationRoute(name="b", channel="email", target="ops@example.com, not-an-address").full_clean()
    assert "not valid: not-an-address" in bad_mail.value.message_dict["target"][0]
    with pytest.raises(ValidationError) as bad_event:
        NotificationRoute(name="c", channel="email", target="ops@example.com", events=["exploded"]).full_clean()
    assert "exploded" in str(bad_event.value.message_dict["events"])
    NotificationRoute(name="d", channel="email", target="ops@example.com, lead@example.com").full_clean()


# Webhooks


def test_a_webhook_receives_the_transition_as_json(raised, receiver):
    hook = route(target=receiver.url)
    assert notifications.deliver(raised.pk, hook.pk) is True
    [request] = receiver.requests
    assert (request["method"], request["path"]) == ("POST", "/hook")
    body = json.loads(request["body"])
    assert (body["machine"], body["sensor"]) == ("PS1", "P1_PRESS")
    assert (body["event"]["id"], body["event"]["kind"], body["event"]["value"]) == (raised.pk, "raised", 12.0)
    alarm = body["alarm"]
    assert (alarm["id"], alarm["severity"], alarm["state"]) == (raised.alarm_id, "high", "unack")
    assert (alarm["value"], alarm["setpoint"], alarm["unit"]) == (12.0, 10.0, "bar")
    assert alarm["message"] == "Pump 1 pressure high: 12.00 bar (limit 10.00 bar)"


def test_a_webhook_is_signed_and_carries_the_idempotency_key(raised, receiver):
    hook = route(target=receiver.url, secret="s3cret")
    notifications.deliver(raised.pk, hook.pk)
    [request] = receiver.requests
    note = Notification.objects.get()
    assert request["headers"]["Content-Type"] == "application/json"
    assert (
        request["headers"]["Idempotency-Key"]
        == note.idempotency_key
        == f"scadapro-alarm-event-{raised.pk}-route-{hook.pk}"
    )
    signature = hmac.new(b"s3cret", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-ScadaPRO-Signature"] == f"sha256={signature}"
    assert (note.status, note.attempts, note.last_error) == ("sent", 1, "") and note.sent_at is not None


def test_a_transition_is_posted_once_however_often_delivery_runs(raised, receiver):
    hook = route(target=receiver.url)
    assert notifications.deliver(raised.pk, hook.pk) is True
    assert notifications.deliver(raised.pk, hook.pk) is False
    assert len(receiver.requests) == 1
    assert Notification.objects.get().attempts == 1


def test_a_receiver_error_is_recorded_and_the_next_attempt_sends(raised, receiver):
    hook = route(target=receiver.url)
    receiver.statuses = [500]
    with pytest.raises(notifications.DeliveryFailed, match="500"):
        notifications.deliver(raised.pk, hook.pk)
    note = Notification.objects.get()
    assert (note.status, note.attempts, note.sent_at) == ("pending", 1, None)
    assert note.last_error == "the webhook answered 500 Internal Server Error"
    assert notifications.deliver(raised.pk, hook.pk) is True
    note.refresh_from_db()
    assert (note.status, note.attempts, note.last_error) == ("sent", 2, "") and note.sent_at is not None
    assert len(receiver.requests) == 2


def test_an_unreachable_webhook_fails_with_a_readable_reason_kept_when_given_up(raised):
    hook = route(target=f"http://127.0.0.1:{free_port()}/hook")  # nothing listens there
    with pytest.raises(notifications.DeliveryFailed) as failed:
        notifications.deliver(raised.pk, hook.pk)
    reason = str(failed.value)
    assert reason.startswith("the webhook could not be reached") and "Connection refused" in reason
    assert "<urlopen error" not in reason
    notifications.give_up(raised.pk, hook.pk, reason)
    note = Notification.objects.get()
    assert (note.status, note.attempts, note.last_error) == ("failed", 1, reason)


def test_a_redirecting_webhook_fails_instead_of_losing_the_body(raised, receiver):
    # urllib would follow a 301/302/303 to a POST with a bodiless GET: the alarm marked sent, never received.
    hook = route(target=receiver.url)
    receiver.statuses = [301]
    receiver.headers = {"Location": f"{receiver.base}/new-hook"}
    with pytest.raises(notifications.DeliveryFailed, match="301") as failed:
        notifications.deliver(raised.pk, hook.pk)
    assert f"{receiver.base}/new-hook" in str(failed.value)
    assert [r["method"] for r in receiver.requests] == ["POST"]
    assert Notification.objects.get().status == "pending"


def test_a_route_disabled_while_retrying_stops_sending(raised, receiver):
    hook = route(target=receiver.url)
    receiver.statuses = [500]
    with pytest.raises(notifications.DeliveryFailed):
        notifications.deliver(raised.pk, hook.pk)
    NotificationRoute.objects.filter(pk=hook.pk).update(enabled=False)
    assert notifications.deliver(raised.pk, hook.pk) is False
    assert len(receiver.requests) == 1
    note = Notification.objects.get()
    assert (note.status, note.attempts) == ("failed", 1) and "disabled" in note.last_error


def test_a_delivery_for_a_deleted_event_or_route_sends_nothing(raised, receiver):
    hook = route(target=receiver.url)
    doomed = route("doomed", target=receiver.url)
    doomed_id = doomed.pk
    doomed.delete()
    assert notifications.deliver(raised.pk, doomed_id) is False
    gone = raised.pk
    AlarmEvent.objects.filter(pk=gone).delete()
    assert notifications.deliver(gone, hook.pk) is False
    assert receiver.requests == [] and not Notification.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_the_same_time_send_once(plant, receiver):
    raised = raise_alarm(plant["pressure"], "hi", 10, "high", 12)
    hook = route(target=receiver.url)  # after the alarm: its announcement queues no Celery task
    receiver.delay = 0.5  # the first delivery holds the notification's row lock while the receiver answers
    results: list[bool] = []

    def run():
        try:
            results.append(notifications.deliver(raised.pk, hook.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [False, True]
    assert len(receiver.requests) == 1


# E-mail


def test_an_email_names_severity_alarm_recipients_and_values(raised, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    leads = route("shift leads", channel="email", target="lead@example.com, ops@example.com")
    assert notifications.deliver(raised.pk, leads.pk) is True
    [message] = mail.outbox
    assert message.subject == "[ScadaPRO] HIGH raised: Pump 1 pressure high: 12.00 bar (limit 10.00 bar)"
    assert message.to == ["lead@example.com", "ops@example.com"]
    assert "Machine:  PS1" in message.body and "Sensor:   P1_PRESS" in message.body
    assert "Value:    12.0 bar" in message.body and "Setpoint: 10.0" in message.body
    assert message.extra_headers["Message-ID"] == f"<{Notification.objects.get().idempotency_key}@scadapro>"
    assert Notification.objects.get().status == "sent"


def test_a_cleared_email_shows_the_value_it_returned_to(raised, plant, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    leads = route("shift leads", channel="email", target="lead@example.com", events=["cleared"])
    feed(plant["pressure"], 5)
    cleared = AlarmEvent.objects.get(kind="cleared")
    notifications.deliver(cleared.pk, leads.pk)
    [message] = mail.outbox
    assert message.subject.startswith("[ScadaPRO] HIGH returned to normal: ")
    assert "Value:    5.0 bar" in message.body


def test_email_without_a_mail_server_fails_clearly(raised, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = ""
    leads = route("shift leads", channel="email", target="lead@example.com")
    with pytest.raises(notifications.DeliveryFailed, match="EMAIL_HOST is not set"):
        notifications.deliver(raised.pk, leads.pk)
    note = Notification.objects.get()
    assert note.status == "pending" and note.last_error.startswith("EMAIL_HOST is not set")


# Celery tasks


def test_the_delivery_task_retries_at_once_when_eager_then_gives_up(raised, receiver, settings):
    # Eager apply() runs each self.retry() again in-process (Task.apply: Retry -> sig.apply(retries+1))
    # and ignores the countdown: 5 s + 10 s of backoff never slept.
    settings.ALARM_NOTIFY_MAX_RETRIES = 2
    hook = route(target=receiver.url)
    receiver.statuses = [500] * 10
    started = time.monotonic()
    tasks.deliver.apply(args=[raised.pk, hook.pk])
    assert time.monotonic() - started < 5
    assert len(receiver.requests) == 3  # the first try and two retries
    note = Notification.objects.get()
    assert (note.status, note.attempts) == ("failed", 3)
    assert note.last_error == "the webhook answered 500 Internal Server Error"


def test_the_delivery_task_stops_retrying_once_the_receiver_recovers(raised, receiver, settings):
    settings.ALARM_NOTIFY_MAX_RETRIES = 5
    hook = route(target=receiver.url)
    receiver.statuses = [500, 503]
    tasks.deliver.apply(args=[raised.pk, hook.pk])
    assert len(receiver.requests) == 3
    note = Notification.objects.get()
    assert (note.status, note.attempts, note.last_error) == ("sent", 3, "")


def test_the_delivery_task_without_retries_gives_up_after_one_try(raised, receiver, settings):
    settings.ALARM_NOTIFY_MAX_RETRIES = 0
    hook = route(target=receiver.url)
    receiver.statuses = [500]
    tasks.deliver.apply(args=[raised.pk, hook.pk])
    assert len(receiver.requests) == 1
    assert Notification.objects.get().status == "failed"


def test_notify_delivers_along_every_matching_route_and_no_other(raised, plant, receiver, eager):
    route("one", target=f"{receiver.base}/one")
    route("two", target=f"{receiver.base}/two")
    boilers = route("boilers", target=f"{receiver.base}/boilers", machines=[plant["boiler"]])
    tasks.notify.delay(raised.pk)
    assert sorted(r["path"] for r in receiver.requests) == ["/one", "/two"]
    assert sorted(Notification.objects.values_list("route__name", "status")) == [("one", "sent"), ("two", "sent")]
    assert not boilers.notifications.exists()
