from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from apps.accounts import roles
from apps.alarms import kpis
from apps.plant.models import Machine

# Periods offered on the page: query value -> (label, length). The first is the default.
PRESETS = {
    "24h": ("Last 24 h", timedelta(hours=24)),
    "7d": ("7 days", timedelta(days=7)),
    "30d": ("30 days", timedelta(days=30)),
}


@login_required
def kpi_page(request: HttpRequest) -> HttpResponse:
    """The alarm-system figures (apps.alarms.kpis) for a preset period ending now."""
    if not roles.has_role(request.user, roles.VIEWER):
        raise PermissionDenied("Your account has no role; an admin must give you one.")
    preset = request.GET.get("period", "")
    if preset not in PRESETS:
        preset = next(iter(PRESETS))
    end = timezone.now()
    figures = kpis.alarm_kpis(end - PRESETS[preset][1], end, now=end)
    choices = [(key, label) for key, (label, _) in PRESETS.items()]
    return render(request, "alarms/kpis.html", {"kpis": figures, "presets": choices, "preset": preset})


@login_required
def centre_page(request: HttpRequest) -> HttpResponse:
    """Active alarms with the operator's actions, and the alarm history (static/js/alarms.js)."""
    if not roles.has_role(request.user, roles.VIEWER):
        raise PermissionDenied("Your account has no role; an admin must give you one.")
    machines = list(Machine.objects.order_by("code").values("id", "code"))
    can_act = roles.has_role(request.user, roles.OPERATOR)
    return render(request, "alarms/centre.html", {"machines": machines, "can_act": can_act})
