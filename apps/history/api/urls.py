from django.urls import path

from apps.history.api.views import HistoryView, SensorHistoryView

urlpatterns = [
    path("history", HistoryView.as_view(), name="history"),
    path("sensors/<int:pk>/history", SensorHistoryView.as_view(), name="sensor-history"),
]
