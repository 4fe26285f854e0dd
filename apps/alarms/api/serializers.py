import copy

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.alarms.choices import Kind, Severity
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


class AlarmDetailSerializer(AlarmSerializer):
    """An alarm with its journal, oldest first. The queryset must prefetch `events` in that order."""

    events = AlarmEventSerializer(many=True, read_only=True)

    class Meta(AlarmSerializer.Meta):
        fields = [*AlarmSerializer.Meta.fields, "events"]
        read_only_fields = fields


class AlarmRuleSerializer(serializers.ModelSerializer):
    """A rule with its point's live state (read-only). The queryset must select_related
    "sensor__machine" and "state"."""

    sensor_code = serializers.CharField(source="sensor.code", read_only=True)
    machine = serializers.IntegerField(source="sensor.machine_id", read_only=True)
    machine_code = serializers.CharField(source="sensor.machine.code", read_only=True)
    active = serializers.SerializerMethodField(help_text="The condition, after deadband and delays.")
    shelved_until = serializers.SerializerMethodField()
    out_of_service = serializers.SerializerMethodField()
    open_alarm = serializers.SerializerMethodField(help_text="Id of the rule's open alarm, if any.")

    class Meta:
        model = AlarmRule
        fields = [
            "id", "sensor", "sensor_code", "machine", "machine_code", "kind", "setpoint", "deadband", "on_delay",
            "off_delay", "severity", "latching", "enabled", "message", "active", "shelved_until", "out_of_service",
            "open_alarm", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]
        # The unique (sensor, kind) pair is checked in validate() with a reason naming the rule.
        validators = []

    def get_active(self, rule: AlarmRule) -> bool:
        state = getattr(rule, "state", None)
        return bool(state and state.active)

    def get_shelved_until(self, rule: AlarmRule) -> str | None:
        state = getattr(rule, "state", None)
        if state is None or state.shelved_until is None:
            return None
        return serializers.DateTimeField().to_representation(state.shelved_until)

    def get_out_of_service(self, rule: AlarmRule) -> bool:
        state = getattr(rule, "state", None)
        return bool(state and state.out_of_service)

    def get_open_alarm(self, rule: AlarmRule) -> int | None:
        state = getattr(rule, "state", None)
        return state.open_alarm_id if state else None

    def validate(self, attrs: dict) -> dict:
        instance = self.instance
        if instance is not None and "sensor" in attrs and attrs["sensor"] != instance.sensor:
            # Its live state and alarms belong to the sensor it watches: a rule never moves.
            raise serializers.ValidationError({"sensor": "A rule cannot move to another sensor; create a new rule."})
        sensor = attrs.get("sensor", getattr(instance, "sensor", None))
        kind = attrs.get("kind", getattr(instance, "kind", None))
        if sensor is not None and kind:
            other = AlarmRule.objects.filter(sensor=sensor, kind=kind).exclude(pk=getattr(instance, "pk", None))
            other = other.first()
            if other is not None:
                reason = (
                    f"Sensor {sensor} already has a {Kind(kind).label.lower()} rule (rule {other.pk}); edit that one."
                )
                raise serializers.ValidationError({"kind": reason})
        # The model's own checks (setpoint of rate/comm_loss, message placeholders), as admin runs them.
        probe = copy.copy(instance) if instance is not None else AlarmRule()
        for name, value in attrs.items():
            setattr(probe, name, value)
        try:
            probe.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class ShelveSerializer(serializers.Serializer):
    minutes = serializers.FloatField(help_text="More than 0 and at most ALARM_SHELVE_MAX_MINUTES (default 1440).")
    reason = serializers.CharField(max_length=300, help_text="Why; shown to every operator and journaled.")

    def validate_minutes(self, minutes: float) -> float:
        longest = settings.ALARM_SHELVE_MAX_MINUTES
        if not 0 < minutes <= longest:  # also refuses NaN
            raise serializers.ValidationError(f"Shelve for more than 0 and at most {longest} minutes.")
        return minutes


class ServiceNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, help_text="Why the alarm is taken out of service; journaled.")


class BulkAcknowledgeSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=1000)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class BulkAcknowledgeResultSerializer(serializers.Serializer):
    acknowledged = serializers.ListField(child=serializers.IntegerField())
    refused = serializers.DictField(child=serializers.CharField(), help_text="Alarm id -> why it was not acknowledged.")


class ActiveQuerySerializer(serializers.Serializer):
    include_shelved = serializers.BooleanField(
        default=False, help_text="Also list open alarms that are shelved or out of service."
    )


class AlarmSummarySerializer(serializers.Serializer):
    open = serializers.IntegerField(help_text="Open alarms, not counting shelved or out-of-service ones.")
    unacknowledged = serializers.IntegerField(help_text="Of those, not yet acknowledged.")
    unacknowledged_by_severity = serializers.DictField(
        child=serializers.IntegerField(), help_text="Every severity: " + ", ".join(Severity.values) + "."
    )
    shelved = serializers.IntegerField(help_text="Open alarms whose point is shelved now.")
    out_of_service = serializers.IntegerField(help_text="Open alarms whose point is out of service.")
