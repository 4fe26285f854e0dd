from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from apps.plant.choices import MachineStatus, PlcProtocol, SensorType
from apps.plant.topics import CODE_HELP, CODE_PATTERN, default_sensor_topic, topic_problem
from apps.telemetry.choices import Quality

code_validator = RegexValidator(CODE_PATTERN, CODE_HELP)


def validate_topic(value: str) -> None:
    problem = topic_problem(value)
    if problem:
        raise ValidationError(f"MQTT topic {problem}.")


class Machine(models.Model):
    code = models.CharField(max_length=64, unique=True, validators=[code_validator], help_text=CODE_HELP)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=MachineStatus.choices, default=MachineStatus.ACTIVE)
    area = models.CharField(max_length=100, blank=True, help_text="Plant area, e.g. 'Water intake'.")
    line = models.CharField(max_length=100, blank=True, help_text="Production line within the area.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def save(self, *args, **kwargs) -> None:
        old_code = Machine.objects.filter(pk=self.pk).values_list("code", flat=True).first() if self.pk else None
        super().save(*args, **kwargs)
        if old_code and old_code != self.code:
            # Sensors on default topics follow the new code; custom topics are left as set.
            for sensor in self.sensors.all():
                if sensor.mqtt_topic == default_sensor_topic(old_code, sensor.code):
                    sensor.mqtt_topic = sensor.default_topic
                    sensor.save(update_fields=["mqtt_topic", "updated_at"])


class PLC(models.Model):
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="plcs")
    name = models.CharField(max_length=100)
    protocol = models.CharField(max_length=16, choices=PlcProtocol.choices, default=PlcProtocol.MODBUS_TCP)
    address = models.CharField(max_length=200, blank=True, help_text="e.g. 10.0.1.10:502 or opc.tcp://host:4840")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "PLC"
        verbose_name_plural = "PLCs"
        ordering = ["machine__code", "name"]
        constraints = [models.UniqueConstraint(fields=["machine", "name"], name="plc_name_unique_per_machine")]

    def __str__(self) -> str:
        return f"{self.machine.code} · {self.name}"


class Sensor(models.Model):
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="sensors")
    plc = models.ForeignKey(PLC, on_delete=models.SET_NULL, null=True, blank=True, related_name="sensors")
    code = models.CharField(max_length=64, validators=[code_validator], help_text=CODE_HELP)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=16, choices=SensorType.choices, default=SensorType.OTHER)
    unit = models.CharField(max_length=20, blank=True, help_text="Engineering unit, e.g. °C, bar, m³/h.")
    range_min = models.FloatField(null=True, blank=True, help_text="Lower end of the display range.")
    range_max = models.FloatField(null=True, blank=True, help_text="Upper end of the display range.")
    decimals = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(6)])
    expected_interval = models.PositiveIntegerField(
        default=5,
        validators=[MinValueValidator(1)],
        help_text="Seconds between readings in normal operation; longer silence means lost communication.",
    )
    mqtt_topic = models.CharField(
        max_length=255,
        blank=True,
        validators=[validate_topic],
        help_text="Left empty, it becomes sensors/{machine}/{sensor}/value.",
    )
    last_value = models.FloatField(null=True, blank=True, editable=False)
    last_seen = models.DateTimeField(null=True, blank=True, editable=False)
    last_quality = models.SmallIntegerField(choices=Quality.choices, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["machine__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["machine", "code"], name="sensor_code_unique_per_machine"),
            # Deferred to commit, so one plant import can move a topic from one sensor to another.
            models.UniqueConstraint(
                fields=["mqtt_topic"], name="sensor_mqtt_topic_unique", deferrable=models.Deferrable.DEFERRED
            ),
            models.CheckConstraint(
                condition=models.Q(range_min__isnull=True)
                | models.Q(range_max__isnull=True)
                | models.Q(range_min__lt=models.F("range_max")),
                name="sensor_range_min_below_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.machine.code}/{self.code}"

    def save(self, *args, **kwargs) -> None:
        if self.pk and self.mqtt_topic:
            # A sensor on its default topic keeps following it when its code changes.
            old_code = Sensor.objects.filter(pk=self.pk).values_list("code", flat=True).first()
            if (
                old_code
                and old_code != self.code
                and self.mqtt_topic == default_sensor_topic(self.machine.code, old_code)
            ):
                self.mqtt_topic = ""
        if not self.mqtt_topic:
            self.mqtt_topic = self.default_topic
        super().save(*args, **kwargs)

    @property
    def default_topic(self) -> str:
        return default_sensor_topic(self.machine.code, self.code)

    @property
    def effective_topic(self) -> str:
        return self.mqtt_topic or self.default_topic

    def topic_owner(self) -> "Sensor | None":
        """Another sensor already on this sensor's topic (the database checks only at commit)."""
        others = Sensor.objects.filter(mqtt_topic=self.effective_topic).exclude(pk=self.pk)
        return others.select_related("machine").first()

    def clean(self) -> None:
        if self.plc_id and self.machine_id and self.plc.machine_id != self.machine_id:
            raise ValidationError({"plc": "The PLC belongs to another machine."})
        if self.machine_id and self.code and (owner := self.topic_owner()):
            raise ValidationError({"mqtt_topic": f"The topic {self.effective_topic} is used by sensor {owner}."})
        if self.range_min is not None and self.range_max is not None and self.range_min >= self.range_max:
            raise ValidationError({"range_max": "The range maximum must be above the minimum."})
