from datetime import UTC, datetime, timedelta

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.history import services
from apps.plant.models import Sensor


def _time(request: Request, name: str, default: datetime) -> datetime:
    text = request.query_params.get(name)
    if not text:
        return default
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        hint = " (in a URL, write a + offset as %2B)" if " " in text else ""
        raise ValidationError({name: f"Not an ISO 8601 date or time{hint}."}) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class SensorHistoryView(APIView):
    """A sensor's history: raw readings or buckets (avg, min, max, count) from the rollups."""

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, description="Default: 24 hours before end."),
            OpenApiParameter("end", OpenApiTypes.DATETIME, description="Default: now."),
            OpenApiParameter(
                "points", int, description=f"About this many buckets (default {services.DEFAULT_POINTS})."
            ),
            OpenApiParameter("resolution", str, enum=["auto", *services.RESOLUTIONS]),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, pk: int) -> Response:
        sensor = Sensor.objects.filter(pk=pk).first()
        if sensor is None:
            raise NotFound("No such sensor.")
        end = _time(request, "end", datetime.now(UTC))
        start = _time(request, "start", end - timedelta(hours=24))
        try:
            points = int(request.query_params.get("points", services.DEFAULT_POINTS))
        except ValueError:
            raise ValidationError({"points": "A whole number."}) from None
        try:
            plan, rows = services.history(
                [sensor.pk], start, end, points, request.query_params.get("resolution", "auto")
            )
        except services.BadQuery as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        body = {
            "sensor": sensor.pk,
            "start": start,
            "end": end,
            "resolution": plan.resolution,
            "bucket_seconds": int(plan.width.total_seconds()) if plan.width else None,
        }
        if plan.width is None:
            body["rows"] = [{"time": t, "value": v, "quality": q} for _, t, v, q in rows]
        else:
            body["rows"] = [{"time": b, "avg": avg, "min": lo, "max": hi, "count": n} for _, b, avg, lo, hi, n in rows]
        return Response(body)
