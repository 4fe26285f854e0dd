from rest_framework import serializers

from apps.alarms.models import Alarm, AlarmEvent, AlarmRule


class AlarmSerializer(serializers.ModelSerializer):
    """An alarm with its sensor and machine, and its point's shelving and service state.
    Querysets must select_related("sensor__machine", "acknowledged_by", "rule__state")."""

    sensor_code = serializers.CharField(source="sensor.code", read_only=True)
    sensor_name = serializers.CharField(source="sensor.name", read_only=True)
    unit = serializers.CharField(source="sensor.unit", read_only=True)
    machine = serializers.IntegerField(source="sensor.machine_id", read_only=True)
    machine_code = serializers.CharField(source="sensor.machine.code", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    shelved_until = serializers.SerializerMethodField()
    out_of_service = serializers.SerializerMethodField()

    class Meta:
        model = Alarm
        fields = [
            "id", "rule", "sensor", "sensor_code", "sensor_name", "unit", "machine", "machine_code",
            "kind", "severity", "message", "value", "setpoint", "state", "condition", "latched",
            "triggered_at", "acknowledged_at", "acknowledged_by", "resolved_at", "closed_at",
            "shelved_until", "out_of_service",
        ]  # fmt: skip
        read_only_fields = fields

    def _state(self, alarm: Alarm):
        if not alarm.is_open or alarm.rule is None:
            return None
        return getattr(alarm.rule, "state", None)

    def get_shelved_until(self, alarm: Alarm) -> str | None:
        state = self._state(alarm)
        return (
            serializers.DateTimeField().to_representation(state.shelved_until)
            if state and state.shelved_until
            else None
        )

    def get_out_of_service(self, alarm: Alarm) -> bool:
        state = self._state(alarm)
        return bool(state and state.out_of_service)


class AlarmEventSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = AlarmEvent
        fields = ["id", "alarm", "rule", "sensor", "kind", "at", "from_state", "to_state", "user", "note", "value"]
        read_only_fields = fields


class AlarmRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlarmRule
        fields = [
            "id", "sensor", "kind", "setpoint", "deadband", "on_delay", "off_delay", "severity", "latching",
            "enabled", "message", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]
