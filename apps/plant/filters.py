import django_filters
from django.db.models import Q

from apps.plant.choices import MachineStatus, SensorType
from apps.plant.models import Machine, Sensor


class MachineFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=MachineStatus.choices)
    q = django_filters.CharFilter(method="search", label="Search code, name, area, line")

    class Meta:
        model = Machine
        fields = ["code", "status", "area", "line"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(code__icontains=value) | Q(name__icontains=value) | Q(area__icontains=value) | Q(line__icontains=value)
        )


class NumberInFilter(django_filters.BaseInFilter, django_filters.NumberFilter):
    pass


class SensorFilterSet(django_filters.FilterSet):
    id = NumberInFilter(label="Sensor ids, comma-separated")
    machine = django_filters.ModelMultipleChoiceFilter(queryset=Machine.objects.all())
    machine_code = django_filters.CharFilter(field_name="machine__code")
    type = django_filters.MultipleChoiceFilter(choices=SensorType.choices)
    q = django_filters.CharFilter(method="search", label="Search code, name, topic")

    class Meta:
        model = Sensor
        fields = ["machine", "machine_code", "type", "plc", "code"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value) | Q(mqtt_topic__icontains=value))
