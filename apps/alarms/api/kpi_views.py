from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.alarms import kpis


class AlarmKpiView(APIView):
    """Alarm-system figures after EEMUA 191 for activations in [start, end): totals and severity
    distribution, rates per 10 minutes and per hour, floods, chattering, top 10, and the alarms
    stale now. Any role reads. The response's "definitions" say how each figure is counted."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "start", OpenApiTypes.DATETIME, description="ISO 8601 (no offset: UTC); default end - 24 h"
            ),
            OpenApiParameter("end", OpenApiTypes.DATETIME, description="ISO 8601, excluded; default now"),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        try:
            start, end = kpis.parse_period(request.query_params.get("start"), request.query_params.get("end"))
        except kpis.BadPeriod as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(kpis.alarm_kpis(start, end))
