from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.alarms.api import kpi_views, views

router = SimpleRouter(trailing_slash=False)
router.register("alarms", views.AlarmViewSet, basename="alarm")
router.register("alarm-rules", views.AlarmRuleViewSet, basename="alarm-rule")

# Explicit paths first: "alarms/kpis" must not be taken for the detail of an alarm called "kpis".
urlpatterns = [
    path("alarms/kpis", kpi_views.AlarmKpiView.as_view(), name="alarm-kpis"),
    *router.urls,
]
