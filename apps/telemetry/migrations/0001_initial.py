"""The readings hypertable.

1. The timescaledb extension (the server must preload it: scripts/setup-timescaledb.sh).
2. The `readings` table with PRIMARY KEY (sensor_id, time): TimescaleDB requires unique keys on a
   hypertable to include the time column, and the key makes a redelivered reading a no-op.
   No separate index on sensor_id: the primary key's leading column serves it. No default
   index on time either (create_default_indexes => false): every query names its sensors, chunk
   exclusion handles time ranges, and each extra index slows the ingest.
3. create_hypertable partitions it by time in one-day chunks: at 1,000 sensors every second a day
   is ~86M rows, a chunk that still fits comfortably in memory while being written; drop_chunks
   retention then removes whole days.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("plant", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql="CREATE EXTENSION IF NOT EXISTS timescaledb;",
            # Other databases of the server may use the extension; dropping the table is enough.
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.CreateModel(
            name="Reading",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "sensor_id", "time", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("time", models.DateTimeField()),
                ("value", models.FloatField()),
                ("quality", models.SmallIntegerField(choices=[(0, "good"), (1, "uncertain"), (2, "bad")], default=0)),
                (
                    "sensor",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="plant.sensor",
                    ),
                ),
            ],
            options={
                "db_table": "readings",
                "managed": True,
            },
        ),
        migrations.RunSQL(
            sql=(
                "SELECT create_hypertable('readings', by_range('time', INTERVAL '1 day'),"
                " create_default_indexes => false);"
            ),
            # Dropping the table (the CreateModel's reverse) drops the hypertable and its chunks.
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
