from django.urls import path

from apps.history import views

app_name = "history"
urlpatterns = [
    path("", views.analysis_page, name="analysis"),
]
