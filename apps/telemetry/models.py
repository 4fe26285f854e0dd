from django.db import models

from apps.plant.models import Sensor
from apps.telemetry.choices import Quality


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
