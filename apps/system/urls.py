from django.contrib.auth import views as auth_views
from django.urls import path

from apps.live import views as live

urlpatterns = [
    path("", live.overview, name="home"),
    path("machines/<str:code>/", live.machine_detail, name="machine"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
