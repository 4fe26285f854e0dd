from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from apps.accounts import roles
from apps.accounts.decorators import role_required
from apps.alarms import kpis
from apps.plant.models import Machine

# Periods offered on the page: query value -> (label, length). The first is the default.
PRESETS = {
    "24h": ("Last 24 h", timedelta(hours=24)),
    "7d": ("7 days", timedelta(days=7)),
    "30d": ("30 days", timedelta(days=30)),
}


@role_required(roles.VIEWER)
def kpi_page(request: HttpRequest) -> HttpResponse:
    """The alarm-system figures (apps.alarms.kpis) for a preset period ending now."""
    preset = request.GET.get("period", "")
    if preset not in PRESETS:
        preset = next(iter(PRESETS))
    end = timezone.now()
    figures = kpis.alarm_kpis(end - PRESETS[preset][1], end, now=end)
    choices = [(key, label) for key, (label, _) in PRESETS.items()]
    return render(request, "alarms/kpis.html", {"kpis": figures, "presets": choices, "preset": preset})


@role_required(roles.VIEWER)
def centre_page(request: HttpRequest) -> HttpResponse:
    """Active alarms with the operator's actions, and the alarm history (static/js/alarms.js)."""
    machines = list(Machine.objects.order_by("code").values("id", "code"))
    can_act = roles.has_role(request.user, roles.OPERATOR)
    return render(request, "alarms/centre.html", {"machines": machines, "can_act": can_act})
