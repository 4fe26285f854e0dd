from rest_framework import serializers

from apps.plant.models import PLC, Machine, Sensor


class PLCSerializer(serializers.ModelSerializer):
    class Meta:
        model = PLC
        fields = ["id", "machine", "name", "protocol", "address", "description", "created_at", "updated_at"]


class SensorSerializer(serializers.ModelSerializer):
    machine_code = serializers.CharField(source="machine.code", read_only=True)
    mqtt_topic = serializers.CharField(required=False, allow_blank=True, max_length=255)
    last_quality = serializers.CharField(source="get_last_quality_display", read_only=True, allow_null=True)

    class Meta:
        model = Sensor
        fields = [
            "id", "machine", "machine_code", "plc", "code", "name", "description", "type", "unit",
            "range_min", "range_max", "decimals", "expected_interval", "mqtt_topic",
            "last_value", "last_seen", "last_quality", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["last_value", "last_seen", "last_quality"]

    def validate(self, attrs):
        machine = attrs.get("machine", getattr(self.instance, "machine", None))
        plc = attrs.get("plc", getattr(self.instance, "plc", None))
        if plc is not None and machine is not None and plc.machine_id != machine.pk:
            raise serializers.ValidationError({"plc": "The PLC belongs to another machine."})
        code = attrs.get("code", getattr(self.instance, "code", None))
        topic = attrs.get("mqtt_topic", getattr(self.instance, "mqtt_topic", ""))
        if machine is not None and code:
            probe = Sensor(pk=getattr(self.instance, "pk", None), machine=machine, code=code, mqtt_topic=topic)
            if owner := probe.topic_owner():
                raise serializers.ValidationError({"mqtt_topic": f"The topic is used by sensor {owner}."})
        low = attrs.get("range_min", getattr(self.instance, "range_min", None))
        high = attrs.get("range_max", getattr(self.instance, "range_max", None))
        if low is not None and high is not None and low >= high:
            raise serializers.ValidationError({"range_max": "The range maximum must be above the minimum."})
        return attrs


class MachineSerializer(serializers.ModelSerializer):
    sensor_count = serializers.SerializerMethodField()

    class Meta:
        model = Machine
        fields = [
            "id", "code", "name", "description", "status", "area", "line",
            "sensor_count", "created_at", "updated_at",
        ]  # fmt: skip

    def get_sensor_count(self, obj: Machine) -> int:
        # Annotated by the list query; counted for a machine just created or updated.
        count = getattr(obj, "sensor_count", None)
        return obj.sensors.count() if count is None else count


class MachineDetailSerializer(MachineSerializer):
    plcs = PLCSerializer(many=True, read_only=True)
    sensors = SensorSerializer(many=True, read_only=True)

    class Meta(MachineSerializer.Meta):
        fields = [*MachineSerializer.Meta.fields, "plcs", "sensors"]
