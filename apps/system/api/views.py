from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.system.health import run_checks

VERSION = "0.2.0"


class HealthView(APIView):
    """Status of the database, Redis and MQTT. Anyone sees ok/degraded; details need a token."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        report = run_checks()
        status = 200 if report["status"] == "ok" else 503
        if not request.user.is_authenticated:
            return Response({"status": report["status"]}, status=status)
        return Response({"status": report["status"], "version": VERSION, "checks": report["checks"]}, status=status)


def api_not_found(request, path: str = "") -> JsonResponse:
    return JsonResponse({"detail": f"No API endpoint at /api/{path}."}, status=404)
