from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts import roles
from apps.accounts.decorators import role_required
from apps.history import services
from apps.plant.models import Sensor


@role_required(roles.VIEWER)
def analysis_page(request: HttpRequest) -> HttpResponse:
    """The analyst page: trends, zoom, period overlay, alarm markers, statistics and export. The
    page is a shell; static/js/history.js reads everything from the history and alarm APIs, and
    keeps the selection in the URL (?sensors=1,2&start=&end=&compare=) so a view can be shared."""
    sensors = Sensor.objects.select_related("machine").order_by("machine__code", "code")
    machines: dict[str, list[Sensor]] = {}
    for sensor in sensors:
        machines.setdefault(f"{sensor.machine.code} · {sensor.machine.name}", []).append(sensor)
    meta = {
        sensor.pk: {"label": f"{sensor.machine.code}/{sensor.code}", "name": sensor.name, "unit": sensor.unit}
        for sensor in sensors
    }
    return render(
        request,
        "history/analysis.html",
        {"machines": machines, "sensor_meta": meta, "max_sensors": services.MAX_SENSORS},
    )
