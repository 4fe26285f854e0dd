from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView

from apps.system.api.views import api_not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema", SpectacularJSONAPIView.as_view(), name="api-schema"),
    path("api/", include("apps.system.api.urls")),
    path("api/", include("apps.history.api.urls")),
    path("api/", include("apps.plant.api.urls")),
    path("api/", include("apps.alarms.api.urls")),
    path("api/", include("apps.boards.api.urls")),
    # Anything else under /api/ answers in JSON, not with an HTML page.
    re_path(r"^api/(?P<path>.*)$", api_not_found),
    path("alarms/", include("apps.alarms.urls")),
    path("history/", include("apps.history.urls")),
    path("boards/", include("apps.boards.urls")),
    path("", include("apps.system.urls")),
]
