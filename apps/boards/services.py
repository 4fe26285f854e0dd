"""Boards: who sees which, and widgets checked against the plant."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.boards import widgets
from apps.boards.models import Board
from apps.plant.models import Machine, Sensor

NAME_TAKEN = "You already have a board with this name."


def name_taken(owner, name: str, exclude: int | None = None) -> bool:
    """Board names are unique per owner (a database constraint too; this gives the reason first)."""
    return Board.objects.filter(owner=owner, name=name).exclude(pk=exclude).exists()


def visible_to(user) -> QuerySet[Board]:
    """The user's own boards and everyone's shared ones."""
    return Board.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner")


def clean_widgets(value: object) -> list[dict]:
    """Canonical widgets; raises widgets.WidgetError for a bad one or an unknown sensor/machine."""
    cleaned, sensor_ids, machine_ids = widgets.clean(value)
    unknown = sensor_ids - set(Sensor.objects.filter(pk__in=sensor_ids).values_list("id", flat=True))
    if unknown:
        raise widgets.WidgetError(f"no such sensor: {', '.join(map(str, sorted(unknown)))}")
    unknown = machine_ids - set(Machine.objects.filter(pk__in=machine_ids).values_list("id", flat=True))
    if unknown:
        raise widgets.WidgetError(f"no such machine: {', '.join(map(str, sorted(unknown)))}")
    return cleaned
