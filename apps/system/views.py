from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.history import services
from apps.plant.models import Machine, Sensor


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The plant at a glance: every machine with its status and sensor count."""
    machines = list(Machine.objects.annotate(sensor_count=Count("sensors")).order_by("area", "code"))
    sensor_ids: dict[int, list[str]] = {}
    for machine_id, sensor_id in Sensor.objects.order_by("code").values_list("machine_id", "id"):
        sensor_ids.setdefault(machine_id, []).append(str(sensor_id))
    for machine in machines:  # the history page opens with the machine's sensors (as many as it shows)
        machine.history_sensors = ",".join(sensor_ids.get(machine.pk, [])[: services.MAX_SENSORS])
    return render(request, "system/home.html", {"machines": machines})
