"""Machine status changes (admin, API, plant YAML) reach open pages: a message to the machine's
live group once the change is committed."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.live.fanout import machine_group
from apps.plant.models import Machine

log = logging.getLogger("scadapro.live")


def push_status(machine_id: int, status: str) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(
            machine_group(machine_id), {"type": "live.machine", "machine": machine_id, "status": status}
        )
    except Exception:  # Redis away: pages show the status at their next load
        log.warning("could not push the status of machine %s", machine_id, exc_info=True)


@receiver(post_save, sender=Machine, dispatch_uid="live.machine_status")
def machine_saved(sender, instance: Machine, created: bool, **kwargs) -> None:
    if not created:
        transaction.on_commit(lambda: push_status(instance.pk, instance.status))
