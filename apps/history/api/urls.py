from django.urls import path

from apps.history.api.views import ExportView, HistoryView, SensorHistoryView, StatisticsView

urlpatterns = [
    path("history", HistoryView.as_view(), name="history"),
    path("history/export", ExportView.as_view(), name="history-export"),
    path("history/statistics", StatisticsView.as_view(), name="history-statistics"),
    path("sensors/<int:pk>/history", SensorHistoryView.as_view(), name="sensor-history"),
]
