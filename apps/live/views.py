"""The operator's live pages: plant overview and machine detail. Rendered with the current values;
static/js/overview.js and machine.js keep them up to date over /ws/realtime."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from apps.accounts import roles
from apps.accounts.decorators import role_required
from apps.alarms.choices import Severity, State
from apps.alarms.models import Alarm
from apps.history import services as history
from apps.plant.models import Machine, Sensor

KEY_VALUES = 4  # sensors shown per machine on the overview (the first by code; state sensors last)


def _alarm_counts() -> dict[int, dict[str, int]]:
    """Open alarms per machine and severity (shelved and out-of-service ones included: the
    overview shows what stands; the alarm centre tells them apart)."""
    rows = Alarm.objects.exclude(state=State.CLOSED)
    counts: dict[int, dict[str, int]] = {}
    for row in rows.values("sensor__machine_id", "severity").annotate(n=Count("id")).order_by():
        counts.setdefault(row["sensor__machine_id"], dict.fromkeys(Severity.values, 0))[row["severity"]] = row["n"]
    return counts


@role_required(roles.VIEWER)
def overview(request: HttpRequest) -> HttpResponse:
    """Every machine with its status, key values and open alarms by severity."""
    machines = list(Machine.objects.order_by("area", "code"))
    sensors: dict[int, list[Sensor]] = {}
    for sensor in Sensor.objects.order_by("code"):
        sensors.setdefault(sensor.machine_id, []).append(sensor)
    counts = _alarm_counts()
    for machine in machines:
        own = sensors.get(machine.pk, [])
        machine.sensor_count = len(own)
        machine.key_sensors = sorted(own, key=lambda s: s.type == "state")[:KEY_VALUES]
        machine.history_sensors = ",".join(str(s.pk) for s in own[: history.MAX_SENSORS])
        machine.alarm_counts = list(counts.get(machine.pk, dict.fromkeys(Severity.values, 0)).items())
    return render(request, "live/overview.html", {"machines": machines})


@role_required(roles.VIEWER)
def machine_detail(request: HttpRequest, code: str) -> HttpResponse:
    """One machine: its sensors with live values, quality, age and a sparkline, and its alarms."""
    machine = get_object_or_404(Machine, code=code)
    sensors = list(machine.sensors.order_by("code"))
    return render(
        request,
        "live/machine.html",
        {"machine": machine, "sensors": sensors, "can_act": roles.has_role(request.user, roles.OPERATOR)},
    )
