from django.urls import path

from apps.alarms import views

app_name = "alarms"
urlpatterns = [
    path("kpis", views.kpi_page, name="kpis"),
]
