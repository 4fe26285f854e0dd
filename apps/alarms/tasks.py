"""Celery tasks of the alarm system: thin wrappers over services, taking ids."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from apps.alarms import notifications, services


@shared_task(ignore_result=True)
def run_timers() -> int:
    """Beat, every ALARM_TIMER_INTERVAL: elapsed delays, shelving expiry, communication loss."""
    return services.run_timers()


@shared_task(ignore_result=True)
def notify(event_id: int) -> None:
    """Fan one announced transition out to every route that wants it, one delivery task each."""
    for route_id in notifications.routes_for(event_id):
        deliver.delay(event_id, route_id)


@shared_task(bind=True, ignore_result=True)
def deliver(self, event_id: int, route_id: int) -> None:
    """Send one transition along one route, at most once; retried with backoff while it fails,
    then marked failed. The retry limit is read at run time (ALARM_NOTIFY_MAX_RETRIES)."""
    try:
        notifications.deliver(event_id, route_id)
    except notifications.DeliveryFailed as exc:
        limit = settings.ALARM_NOTIFY_MAX_RETRIES
        if self.request.retries < limit:
            countdown = min(2**self.request.retries * 5, 300)
            raise self.retry(exc=exc, countdown=countdown, max_retries=limit) from exc
        notifications.give_up(event_id, route_id, str(exc))
