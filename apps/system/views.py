from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.plant.models import Machine


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The plant at a glance: every machine with its status and sensor count."""
    machines = Machine.objects.annotate(sensor_count=Count("sensors")).order_by("area", "code")
    return render(request, "system/home.html", {"machines": machines})
