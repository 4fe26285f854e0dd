"""Filters of the alarm API (django-filter), and the annotations they and the views share."""

from __future__ import annotations

from datetime import datetime

import django_filters
from django.db.models import BooleanField, Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django_filters import rest_framework as drf_filters

from apps.alarms.choices import SEVERITY_RANK, Kind, Severity, State
from apps.alarms.models import Alarm, AlarmRule
from apps.plant.models import Machine, Sensor

BAD_DATE = "Enter a date and time in ISO 8601, e.g. 2026-11-28T06:00:00Z (no offset means UTC)."


def severity_rank() -> Case:
    """The severity as its rank (1 = critical): sorting by the text would put "critical" after "high"."""
    return Case(
        *(When(severity=severity, then=Value(rank)) for severity, rank in SEVERITY_RANK.items()),
        default=Value(len(SEVERITY_RANK) + 1),
        output_field=IntegerField(),
    )


def with_point_flags(queryset: QuerySet[Alarm], now: datetime | None = None) -> QuerySet[Alarm]:
    """Annotate `point_shelved` and `point_out_of_service`: whether the open alarm's point is silenced
    now. A closed alarm is neither: shelving and service act on what is still standing."""
    now = now or timezone.now()
    is_open = ~Q(state=State.CLOSED)
    return queryset.annotate(
        point_shelved=Case(
            When(is_open & Q(rule__state__shelved_until__gt=now), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
        point_out_of_service=Case(
            When(is_open & Q(rule__state__out_of_service=True), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )


class AlarmOrdering(django_filters.OrderingFilter):
    """`ordering=severity` sorts by urgency (critical first); ties stay newest first."""

    def filter(self, qs: QuerySet, value: list[str] | None) -> QuerySet:
        if not value:
            return qs
        ordering = [self.get_ordering_value(param) for param in value]
        if any(o.lstrip("-") == "severity_rank" for o in ordering):
            qs = qs.annotate(severity_rank=severity_rank())
        return qs.order_by(*ordering, "-triggered_at", "-id")


class AlarmFilterSet(drf_filters.FilterSet):
    # Every relation filtered on is single-valued (alarm -> sensor -> machine): no DISTINCT needed.
    state = django_filters.MultipleChoiceFilter(choices=State.choices, distinct=False)
    open = drf_filters.BooleanFilter(method="filter_open", label="Open (any state but closed)")
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, distinct=False)
    kind = django_filters.MultipleChoiceFilter(choices=Kind.choices, distinct=False)
    machine = django_filters.ModelMultipleChoiceFilter(
        field_name="sensor__machine", queryset=Machine.objects.all(), distinct=False
    )
    machine_code = django_filters.CharFilter(field_name="sensor__machine__code")
    sensor = django_filters.ModelMultipleChoiceFilter(queryset=Sensor.objects.all(), distinct=False)
    triggered_after = django_filters.IsoDateTimeFilter(
        field_name="triggered_at",
        lookup_expr="gte",
        label="Triggered at or after (ISO 8601)",
        error_messages={"invalid": BAD_DATE},
    )
    triggered_before = django_filters.IsoDateTimeFilter(
        field_name="triggered_at",
        lookup_expr="lt",
        label="Triggered before (ISO 8601)",
        error_messages={"invalid": BAD_DATE},
    )
    shelved = drf_filters.BooleanFilter(method="filter_shelved", label="Open and its point shelved now")
    ordering = AlarmOrdering(
        fields=(("triggered_at", "triggered_at"), ("severity_rank", "severity"), ("state", "state")),
        label="triggered_at, severity (critical first) or state; prefix - to reverse",
    )

    class Meta:
        model = Alarm
        fields = ["state", "severity", "kind", "machine", "machine_code", "sensor"]

    def filter_open(self, queryset: QuerySet[Alarm], name: str, value: bool) -> QuerySet[Alarm]:
        return queryset.exclude(state=State.CLOSED) if value else queryset.filter(state=State.CLOSED)

    def filter_shelved(self, queryset: QuerySet[Alarm], name: str, value: bool) -> QuerySet[Alarm]:
        return with_point_flags(queryset).filter(point_shelved=value)


class AlarmRuleFilterSet(drf_filters.FilterSet):
    sensor = django_filters.ModelMultipleChoiceFilter(queryset=Sensor.objects.all(), distinct=False)
    machine = django_filters.ModelMultipleChoiceFilter(
        field_name="sensor__machine", queryset=Machine.objects.all(), distinct=False
    )
    machine_code = django_filters.CharFilter(field_name="sensor__machine__code")
    kind = django_filters.MultipleChoiceFilter(choices=Kind.choices, distinct=False)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, distinct=False)
    enabled = drf_filters.BooleanFilter()

    class Meta:
        model = AlarmRule
        fields = ["sensor", "machine", "machine_code", "kind", "severity", "enabled"]
