from django.urls import path

from apps.alarms import views

app_name = "alarms"
urlpatterns = [
    path("", views.centre_page, name="centre"),
    path("kpis", views.kpi_page, name="kpis"),
]
