# Placeholder while the API is being written (replaced in the same session).
from rest_framework import viewsets

from apps.alarms.api.serializers import AlarmRuleSerializer, AlarmSerializer
from apps.alarms.models import Alarm, AlarmRule


class AlarmViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Alarm.objects.select_related("sensor__machine", "acknowledged_by", "rule__state")
    serializer_class = AlarmSerializer


class AlarmRuleViewSet(viewsets.ModelViewSet):
    queryset = AlarmRule.objects.all()
    serializer_class = AlarmRuleSerializer
