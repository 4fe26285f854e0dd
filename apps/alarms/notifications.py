"""E-mail and webhook notifications of announced alarm transitions, routed by severity, machine and
kind of transition.

At most once per (transition, route): the Notification row is the idempotency key, and a delivery
holds its row lock while sending, so two runs of the same task never both send. A run that dies
after sending but before recording it leaves the row pending and the retry sends again; the
`Idempotency-Key` header (webhooks) and the fixed Message-ID (e-mail) let the receiver drop that copy.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import urllib.error
import urllib.request

import orjson
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from apps.alarms import announce
from apps.alarms.choices import SEVERITY_RANK, Channel, DeliveryStatus
from apps.alarms.models import AlarmEvent, Notification, NotificationRoute

log = logging.getLogger("scadapro.alarms")


class DeliveryFailed(Exception):
    pass


def _event(event_id: int) -> AlarmEvent:
    return AlarmEvent.objects.select_related(
        "sensor__machine", "user", "rule", "alarm__sensor__machine", "alarm__acknowledged_by", "alarm__rule__state"
    ).get(pk=event_id)


def _severity(event: AlarmEvent) -> str | None:
    if event.alarm is not None:
        return event.alarm.severity
    return event.rule.severity if event.rule is not None else None


def routes_for(event_id: int) -> list[int]:
    """The enabled routes that want this transition (none if the event is gone, e.g. pruned)."""
    try:
        event = _event(event_id)
    except AlarmEvent.DoesNotExist:
        log.warning("alarm event %s no longer exists; nothing to notify", event_id)
        return []
    severity = _severity(event)
    if not event.announced or severity is None:
        return []
    wanted = []
    for route in NotificationRoute.objects.filter(enabled=True, events__contains=[event.kind]).prefetch_related(
        "machines"
    ):
        machines = {m.pk for m in route.machines.all()}
        if SEVERITY_RANK[severity] <= SEVERITY_RANK[route.min_severity] and (
            not machines or event.sensor.machine_id in machines
        ):
            wanted.append(route.pk)
    return wanted


def deliver(event_id: int, route_id: int) -> bool:
    """Send the transition along the route unless already sent; returns whether it sent now.
    Raises DeliveryFailed (for the task to retry) when the mail server or webhook refuses it."""
    # Queued tasks outlive rows: a route deleted (or an event pruned) since leaves nothing to send,
    # and inserting its Notification would only fail on the foreign key.
    event_exists = AlarmEvent.objects.filter(pk=event_id).exists()
    if not event_exists or not NotificationRoute.objects.filter(pk=route_id).exists():
        log.warning("alarm event %s or route %s no longer exists; nothing to send", event_id, route_id)
        return False
    Notification.objects.get_or_create(event_id=event_id, route_id=route_id)
    error = None
    with transaction.atomic():
        note = (
            Notification.objects.select_for_update().select_related("route").get(event_id=event_id, route_id=route_id)
        )
        if note.status == DeliveryStatus.SENT:
            return False
        if not note.route.enabled:  # disabled while this waited for a retry: the admin wants it quiet
            note.status, note.last_error = DeliveryStatus.FAILED, "not sent: the route was disabled"
            note.save(update_fields=["status", "last_error"])
            return False
        note.attempts += 1
        try:
            _send(note.route, _event(event_id), note.idempotency_key)
        except Exception as exc:
            # Our own reasons read as they are; anything else (SMTP errors) keeps its type for context.
            error = (str(exc) if isinstance(exc, DeliveryFailed) else f"{type(exc).__name__}: {exc}")[:500]
            note.last_error = error
        else:
            note.status, note.sent_at, note.last_error = DeliveryStatus.SENT, timezone.now(), ""
        note.save(update_fields=["attempts", "status", "sent_at", "last_error"])
    if error:
        raise DeliveryFailed(error)
    return True


def give_up(event_id: int, route_id: int, error: str) -> None:
    Notification.objects.filter(event_id=event_id, route_id=route_id).exclude(status=DeliveryStatus.SENT).update(
        status=DeliveryStatus.FAILED, last_error=error[:500]
    )
    log.error("gave up sending alarm event %s along route %s: %s", event_id, route_id, error)


def _send(route: NotificationRoute, event: AlarmEvent, key: str) -> None:
    message = announce.event_message(event)
    if route.channel == Channel.EMAIL:
        _email(route, event, message, key)
    else:
        _webhook(route, message, key)


def subject(event: AlarmEvent) -> str:
    severity = (_severity(event) or "").upper()
    text = event.alarm.message if event.alarm else str(event.sensor)
    return f"[ScadaPRO] {severity} {event.get_kind_display().lower()}: {text}"[:200]


def _value(event: AlarmEvent, alarm: dict) -> object:
    """The reading at this transition (a clearing shows the value it returned to); for operator
    actions, which carry no reading, the value that raised the alarm."""
    if event.value is not None:
        return event.value
    return alarm.get("value", "-")


def _email(route: NotificationRoute, event: AlarmEvent, message: dict, key: str) -> None:
    if not settings.EMAIL_HOST and settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
        raise DeliveryFailed("EMAIL_HOST is not set: no mail server to send through")
    alarm = message["alarm"] or {}
    lines = [
        subject(event),
        "",
        f"Machine:  {message['machine']}",
        f"Sensor:   {message['sensor']}",
        f"When:     {message['event']['at']}",
        f"State:    {alarm.get('state', '-')}",
        f"Value:    {_value(event, alarm)} {alarm.get('unit', '')}".rstrip(),
        f"Setpoint: {alarm.get('setpoint', '-')}",
    ]
    if event.user:
        lines.append(f"By:       {event.user.username} {event.note}".rstrip())
    recipients = [a.strip() for a in route.target.split(",") if a.strip()]
    EmailMessage(
        subject(event), "\n".join(lines) + "\n", to=recipients, headers={"Message-ID": f"<{key}@scadapro>"}
    ).send()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib turns a POST answered 301/302/303 into a GET without the body; a 200 to that GET
    would count as delivered. A redirect is a failure instead, its status in the error."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _webhook(route: NotificationRoute, message: dict, key: str) -> None:
    body = orjson.dumps(message)
    headers = {"Content-Type": "application/json", "Idempotency-Key": key, "User-Agent": "ScadaPRO"}
    if route.secret:
        digest = hmac.new(route.secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-ScadaPRO-Signature"] = f"sha256={digest}"
    if not route.target.startswith(("http://", "https://")):
        raise DeliveryFailed("a webhook needs an http:// or https:// URL")
    request = urllib.request.Request(route.target, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=settings.ALARM_WEBHOOK_TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        moved = f" (to {exc.headers.get('Location')}; redirects are not followed)" if 300 <= exc.code < 400 else ""
        raise DeliveryFailed(f"the webhook answered {exc.code} {exc.reason}{moved}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc  # not "<urlopen error ...>"
        raise DeliveryFailed(f"the webhook could not be reached: {reason}") from exc
