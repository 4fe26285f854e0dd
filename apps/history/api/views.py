from datetime import UTC, datetime, timedelta

import orjson
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.history import export, services, statistics
from apps.plant.models import Sensor
from scadapro import timeparse

# Times as 2026-11-01T00:00:00Z (like the rest of the API); integer dict keys (sensor ids) allowed.
ORJSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def _period(request: Request) -> tuple[datetime, datetime]:
    """start and end from the query (default: the last 24 hours), end after start."""
    times = {}
    for name in ("end", "start"):
        text = request.query_params.get(name)
        try:
            times[name] = timeparse.parse_time(text, name) if text else None
        except ValueError as exc:
            raise ValidationError({name: str(exc)}) from None
    end = times["end"] or datetime.now(UTC)
    start = times["start"] or end - timedelta(hours=24)
    if end <= start:
        raise ValidationError({"detail": "end must be after start."})
    return start, end


def _json(body: dict) -> HttpResponse:
    """Thousands of rows: orjson renders them several times faster than DRF's JSON renderer."""
    return HttpResponse(orjson.dumps(body, option=ORJSON_OPTIONS), content_type="application/json")


def _query(request: Request) -> tuple[datetime, datetime, int, str]:
    start, end = _period(request)
    try:
        points = int(request.query_params.get("points", services.DEFAULT_POINTS))
    except ValueError:
        raise ValidationError({"points": "A whole number."}) from None
    return start, end, points, request.query_params.get("resolution", "auto")


QUERY_PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.DATETIME, description="Default: 24 hours before end."),
    OpenApiParameter("end", OpenApiTypes.DATETIME, description="Default: now."),
    OpenApiParameter("points", int, description=f"About this many buckets (default {services.DEFAULT_POINTS})."),
    OpenApiParameter("resolution", str, enum=["auto", *services.RESOLUTIONS]),
]


def _sensor_ids(request: Request) -> list[int]:
    text = request.query_params.get("sensors", "")
    try:
        ids = list(dict.fromkeys(int(part) for part in text.split(",") if part.strip()))
    except ValueError:
        raise ValidationError({"sensors": "Sensor ids separated by commas, e.g. sensors=1,2,3."}) from None
    if not 1 <= len(ids) <= services.MAX_SENSORS:
        raise ValidationError({"sensors": f"Give 1 to {services.MAX_SENSORS} sensor ids."})
    unknown = sorted(set(ids) - set(Sensor.objects.filter(pk__in=ids).values_list("pk", flat=True)))
    if unknown:
        raise ValidationError({"sensors": f"No such sensor: {', '.join(map(str, unknown))}."})
    return ids


class FirstRenderer(DefaultContentNegotiation):
    """`format` here names the file format, not DRF's response format: errors are always JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportView(APIView):
    """Any range as a CSV or Parquet file, streamed: GET /api/history/export?sensors=1,2&format=parquet"""

    content_negotiation_class = FirstRenderer

    FORMATS = {
        "csv": ("text/csv", export.csv_stream),
        "parquet": ("application/vnd.apache.parquet", export.parquet_stream),
    }

    @extend_schema(
        parameters=[
            OpenApiParameter("sensors", str, required=True, description="Sensor ids, comma-separated."),
            OpenApiParameter("start", OpenApiTypes.DATETIME, description="Default: 24 hours before end."),
            OpenApiParameter("end", OpenApiTypes.DATETIME, description="Default: now."),
            OpenApiParameter("resolution", str, enum=list(services.RESOLUTIONS), description="Default: raw."),
            OpenApiParameter("format", str, enum=["csv", "parquet"], description="Default: csv."),
        ],
        responses={200: OpenApiTypes.BINARY},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        ids = _sensor_ids(request)
        start, end = _period(request)
        resolution = request.query_params.get("resolution", services.RAW)
        if resolution not in services.RESOLUTIONS:
            raise ValidationError({"resolution": f"One of {', '.join(services.RESOLUTIONS)}."})
        kind = request.query_params.get("format", "csv")
        if kind not in self.FORMATS:
            raise ValidationError({"format": "csv or parquet."})
        content_type, stream = self.FORMATS[kind]
        response = StreamingHttpResponse(stream(ids, start, end, resolution), content_type=content_type)
        name = f"scadapro-{resolution}-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.{kind}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def _number(request: Request, name: str) -> float | None:
    text = request.query_params.get(name)
    if text in (None, ""):
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValidationError({name: "A number."}) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValidationError({name: "A finite number."})
    return value


class StatisticsView(APIView):
    """Mean, std, min, max, percentiles, time above/below a limit and correlation, with pandas."""

    @extend_schema(
        parameters=[
            OpenApiParameter("sensors", str, required=True, description="Sensor ids, comma-separated."),
            OpenApiParameter("start", OpenApiTypes.DATETIME, description="Default: 24 hours before end."),
            OpenApiParameter("end", OpenApiTypes.DATETIME, description="Default: now."),
            OpenApiParameter("above", float, description="Limit for the time spent above it (seconds)."),
            OpenApiParameter("below", float, description="Limit for the time spent below it (seconds)."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> HttpResponse:
        ids = _sensor_ids(request)
        start, end = _period(request)
        if end - start > timedelta(days=3660):
            raise ValidationError({"detail": "At most ten years at a time."})
        figures = statistics.statistics(ids, start, end, _number(request, "above"), _number(request, "below"))
        return _json({"start": start, "end": end, **figures})


class HistoryView(APIView):
    """Several sensors' history on one time axis: GET /api/history?sensors=1,2,3&start=&end=&points="""

    @extend_schema(
        parameters=[
            OpenApiParameter("sensors", str, required=True, description="Sensor ids, comma-separated."),
            *QUERY_PARAMETERS,
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> HttpResponse:
        ids = _sensor_ids(request)
        start, end, points, resolution = _query(request)
        try:
            plan, rows = services.history(ids, start, end, points, resolution)
        except services.BadQuery as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        seconds = int(plan.width.total_seconds()) if plan.width else None
        return _json(
            {"sensors": ids, "start": start, "end": end, "resolution": plan.resolution, "bucket_seconds": seconds}
            | services.aligned(plan, ids, rows)
        )


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
    def get(self, request: Request, pk: int) -> HttpResponse:
        sensor = Sensor.objects.filter(pk=pk).first()
        if sensor is None:
            raise NotFound("No such sensor.")
        start, end, points, resolution = _query(request)
        try:
            plan, rows = services.history([sensor.pk], start, end, points, resolution)
        except services.BadQuery as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        body: dict = {
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
        return _json(body)
