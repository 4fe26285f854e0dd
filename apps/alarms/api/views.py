"""The alarm API: alarms (lists, detail with journal, the operator's actions) and alarm rules.

Views only parse, call apps.alarms.services and serialize. A lifecycle refusal (NotAllowed) is a
409 with its reason; a malformed body is a 400 with field errors.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.permissions import ReadAnyRoleActOperator, ReadAnyRoleWriteEngineer
from apps.alarms import services
from apps.alarms.api.serializers import (
    ActiveQuerySerializer,
    AlarmDetailSerializer,
    AlarmRuleSerializer,
    AlarmSerializer,
    AlarmSummarySerializer,
    BulkAcknowledgeResultSerializer,
    BulkAcknowledgeSerializer,
    NoteSerializer,
    ServiceNoteSerializer,
    ShelveSerializer,
)
from apps.alarms.choices import Severity, State
from apps.alarms.filters import AlarmFilterSet, AlarmRuleFilterSet, severity_rank, with_point_flags
from apps.alarms.lifecycle import NotAllowed
from apps.alarms.models import Alarm, AlarmEvent, AlarmRule

REFUSED = OpenApiResponse(OpenApiTypes.OBJECT, description='The alarm\'s state does not allow it: {"detail": why}.')
UNACKNOWLEDGED = (State.UNACK, State.RTN_UNACK)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_allowed"


def _body(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class AlarmViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Alarms, newest first. Any role reads; operators, engineers and admins act on them."""

    permission_classes = [ReadAnyRoleActOperator]
    serializer_class = AlarmSerializer
    filterset_class = AlarmFilterSet
    # Ordering is the FilterSet's `ordering` (severity by rank), not DRF's OrderingFilter.
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self) -> QuerySet[Alarm]:
        queryset = Alarm.objects.select_related("sensor__machine", "acknowledged_by", "rule__state")
        if self.action == "retrieve":
            journal = AlarmEvent.objects.select_related("user").order_by("at", "id")
            queryset = queryset.prefetch_related(Prefetch("events", queryset=journal))
        return queryset

    def get_serializer_class(self):
        return AlarmDetailSerializer if self.action == "retrieve" else AlarmSerializer

    def _updated(self, alarm: Alarm) -> Response:
        # Read again: the service's instance has a stale rule state cached (shelving, service).
        return Response(AlarmSerializer(self.get_queryset().get(pk=alarm.pk)).data)

    @extend_schema(
        parameters=[ActiveQuerySerializer],
        responses=AlarmSerializer(many=True),
        description="Open alarms, most severe first, then newest; not paginated (at most one per rule, plus "
        "any a deleted rule left open). Shelved and out-of-service ones only with include_shelved=true. "
        "The list's filters apply.",
    )
    @action(detail=False, pagination_class=None)
    def active(self, request: Request) -> Response:
        query = ActiveQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = self.filter_queryset(self.get_queryset()).exclude(state=State.CLOSED)
        if not query.validated_data["include_shelved"]:
            queryset = with_point_flags(queryset).filter(point_shelved=False, point_out_of_service=False)
        if "ordering" not in request.query_params:
            queryset = queryset.annotate(severity_rank=severity_rank()).order_by(
                "severity_rank", "-triggered_at", "-id"
            )
        return Response(AlarmSerializer(queryset, many=True).data)

    @extend_schema(responses=AlarmSummarySerializer, filters=False)
    @action(detail=False, pagination_class=None, filter_backends=[])
    def summary(self, request: Request) -> Response:
        """Counts for the navigation badge. Shelved and out-of-service alarms count only as such."""
        rows = (
            with_point_flags(Alarm.objects.exclude(state=State.CLOSED))
            .values("state", "severity", "point_shelved", "point_out_of_service")
            .annotate(n=Count("id"))
            .order_by()
        )
        counts = {"open": 0, "unacknowledged": 0, "shelved": 0, "out_of_service": 0}
        by_severity = dict.fromkeys(Severity.values, 0)
        for row in rows:
            if row["point_out_of_service"]:
                counts["out_of_service"] += row["n"]
            elif row["point_shelved"]:
                counts["shelved"] += row["n"]
            else:
                counts["open"] += row["n"]
                if row["state"] in UNACKNOWLEDGED:
                    counts["unacknowledged"] += row["n"]
                    by_severity[row["severity"]] += row["n"]
        return Response({**counts, "unacknowledged_by_severity": by_severity})

    @extend_schema(request=NoteSerializer, responses={200: AlarmSerializer, 409: REFUSED})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        alarm = self.get_object()  # 404 before 400
        body = _body(NoteSerializer, request)
        try:
            alarm = services.acknowledge(alarm, request.user, body["note"])
        except NotAllowed as exc:
            raise Conflict(str(exc)) from exc
        return self._updated(alarm)

    @extend_schema(request=ShelveSerializer, responses={200: AlarmSerializer, 409: REFUSED})
    @action(detail=True, methods=["post"])
    def shelve(self, request: Request, pk: str | None = None) -> Response:
        """Shelve the alarm's point for `minutes`: its transitions are journaled but not announced."""
        alarm = self.get_object()  # 404 before 400
        body = _body(ShelveSerializer, request)
        try:
            alarm = services.shelve(alarm, request.user, body["minutes"], body["reason"])
        except NotAllowed as exc:
            raise Conflict(str(exc)) from exc
        return self._updated(alarm)

    @extend_schema(request=NoteSerializer, responses={200: AlarmSerializer, 409: REFUSED})
    @action(detail=True, methods=["post"])
    def unshelve(self, request: Request, pk: str | None = None) -> Response:
        alarm = self.get_object()  # 404 before 400
        body = _body(NoteSerializer, request)
        try:
            alarm = services.unshelve(alarm, request.user, body["note"])
        except NotAllowed as exc:
            raise Conflict(str(exc)) from exc
        return self._updated(alarm)

    @extend_schema(request=NoteSerializer, responses={200: AlarmSerializer, 409: REFUSED})
    @action(detail=True, methods=["post"])
    def reset(self, request: Request, pk: str | None = None) -> Response:
        """Close a latched alarm whose condition has cleared."""
        alarm = self.get_object()  # 404 before 400
        body = _body(NoteSerializer, request)
        try:
            alarm = services.reset(alarm, request.user, body["note"])
        except NotAllowed as exc:
            raise Conflict(str(exc)) from exc
        return self._updated(alarm)

    @extend_schema(
        operation_id="alarms_acknowledge_many",
        request=BulkAcknowledgeSerializer,
        responses=BulkAcknowledgeResultSerializer,
        filters=False,
    )
    @action(detail=False, methods=["post"], url_path="acknowledge", pagination_class=None, filter_backends=[])
    def acknowledge_many(self, request: Request) -> Response:
        """Acknowledge each alarm that can be; the others are listed with the reason."""
        body = _body(BulkAcknowledgeSerializer, request)
        ids = list(dict.fromkeys(body["ids"]))  # a repeated id would be refused as already acknowledged
        done, refused = services.acknowledge_many(ids, request.user, body["note"])
        return Response({"acknowledged": done, "refused": {str(k): v for k, v in refused.items()}})


class AlarmRuleViewSet(viewsets.ModelViewSet):
    """Alarm rules with their point's live state. Any role reads; engineers and admins change them
    and take them out of service."""

    permission_classes = [ReadAnyRoleWriteEngineer]
    serializer_class = AlarmRuleSerializer
    filterset_class = AlarmRuleFilterSet
    ordering_fields = ["id", "sensor", "kind", "setpoint", "updated_at"]

    def get_queryset(self) -> QuerySet[AlarmRule]:
        return AlarmRule.objects.select_related("sensor__machine", "state")

    def perform_create(self, serializer) -> None:
        try:
            with transaction.atomic():
                serializer.save()
        except IntegrityError as exc:  # the same rule created by someone else a moment ago
            raise ValidationError({"kind": "The sensor already has a rule of this kind; edit that one."}) from exc

    def _updated(self, rule: AlarmRule) -> Response:
        return Response(AlarmRuleSerializer(self.get_queryset().get(pk=rule.pk)).data)

    @extend_schema(request=ServiceNoteSerializer, responses={200: AlarmRuleSerializer, 409: REFUSED})
    @action(detail=True, methods=["post"], url_path="out-of-service")
    def out_of_service(self, request: Request, pk: str | None = None) -> Response:
        """Take the rule's point out of service: it still evaluates and journals, but announces nothing."""
        rule = self.get_object()
        body = _body(ServiceNoteSerializer, request)
        try:
            services.take_out_of_service(rule, request.user, body["note"])
        except NotAllowed as exc:
            raise Conflict(str(exc)) from exc
        return self._updated(rule)

    @extend_schema(request=NoteSerializer, responses={200: AlarmRuleSerializer, 409: REFUSED})
    @action(detail=True, methods=["post"], url_path="in-service")
    def in_service(self, request: Request, pk: str | None = None) -> Response:
        rule = self.get_object()
        body = _body(NoteSerializer, request)
        try:
            services.return_to_service(rule, request.user, body["note"])
        except NotAllowed as exc:
            raise Conflict(str(exc)) from exc
        return self._updated(rule)
