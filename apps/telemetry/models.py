from django.db import models

from apps.plant.models import Sensor
from apps.telemetry.choices import Quality, RejectReason


class Reading(models.Model):
    """One sensor reading, in the `readings` hypertable (partitioned by time).

    The primary key (sensor_id, time) makes a redelivered reading a no-op instead of a duplicate.
    The sensor reference has no database constraint on purpose: a foreign-key check per row
    would slow the COPY on the ingest's hot path, and the ingest only writes ids of known sensors.
    """

    pk = models.CompositePrimaryKey("sensor_id", "time")
    sensor = models.ForeignKey(
        Sensor, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    time = models.DateTimeField()
    value = models.FloatField()
    quality = models.SmallIntegerField(choices=Quality.choices, default=Quality.GOOD)

    class Meta:
        db_table = "readings"
        managed = True

    def __str__(self) -> str:
        return f"{self.sensor_id} @ {self.time.isoformat()} = {self.value}"


class RejectedMessage(models.Model):
    """A payload the ingest could not store, kept for inspection (newest N; oldest dropped first)."""

    received_at = models.DateTimeField(db_index=True)
    topic = models.CharField(max_length=255, db_index=True)
    payload = models.TextField(blank=True, help_text="As received (UTF-8, cut at 2,000 characters).")
    reason = models.CharField(max_length=32, choices=RejectReason.choices, db_index=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.reason}: {self.topic}"


class RejectCount(models.Model):
    """How many readings or messages the ingest rejected for each reason, since installation."""

    reason = models.CharField(max_length=32, choices=RejectReason.choices, primary_key=True)
    count = models.BigIntegerField(default=0)
    last_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.reason}: {self.count}"
