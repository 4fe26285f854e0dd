from django.urls import path

from apps.history.api.views import SensorHistoryView

urlpatterns = [path("sensors/<int:pk>/history", SensorHistoryView.as_view(), name="sensor-history")]
