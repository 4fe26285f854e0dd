from django.urls import path

from apps.history.api.views import ExportView, HistoryView, SensorHistoryView

urlpatterns = [
    path("history", HistoryView.as_view(), name="history"),
    path("history/export", ExportView.as_view(), name="history-export"),
    path("sensors/<int:pk>/history", SensorHistoryView.as_view(), name="sensor-history"),
]
