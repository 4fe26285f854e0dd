from django.db.models import Count
from rest_framework import viewsets

from apps.plant.api.serializers import MachineDetailSerializer, MachineSerializer, SensorSerializer
from apps.plant.filters import MachineFilterSet, SensorFilterSet
from apps.plant.models import Machine, Sensor


class MachineViewSet(viewsets.ModelViewSet):
    """Machines of the plant. Any role reads; engineers and admins change."""

    filterset_class = MachineFilterSet
    ordering_fields = ["code", "name", "status", "area", "updated_at"]

    def get_queryset(self):
        queryset = Machine.objects.annotate(sensor_count=Count("sensors"))
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("plcs", "sensors__machine")
        return queryset

    def get_serializer_class(self):
        return MachineDetailSerializer if self.action == "retrieve" else MachineSerializer


class SensorViewSet(viewsets.ModelViewSet):
    """Sensors with their latest value. Filter by machine (id), machine_code, type, q."""

    queryset = Sensor.objects.select_related("machine")
    serializer_class = SensorSerializer
    filterset_class = SensorFilterSet
    ordering_fields = ["code", "name", "type", "last_seen", "machine__code"]
