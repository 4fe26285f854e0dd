"""Rollup relations readings_1m, readings_1h, readings_1d and their refresh bookkeeping.

Each rollup row is one sensor's bucket: sum, count, min, max, first/last value with their times,
so that coarser buckets and averages over any span are exact (avg = sum(sum) / sum(count)).

This migration builds the Apache-edition back end (plain hypertables refreshed by Celery beat,
apps/history/rollups.py), which runs on either edition. On the Community edition, the post_migrate
handler (apps/history/apps.py -> continuous.ensure) replaces the three tables by continuous
aggregates of the same columns and applies the policies.

- rollup_state: one row. `threshold`: a reading older than this that arrives now is logged in
  rollup_invalidation (a backfill into rolled-up time). `materialized`: rollups are complete up
  to here; reads take newer data from the raw tail.
- rollup_invalidation: raw time ranges per sensor to re-aggregate at the next refresh.
"""

from django.db import migrations

ROLLUP_COLUMNS = """
    sensor_id bigint NOT NULL,
    bucket timestamptz NOT NULL,
    sum double precision NOT NULL,
    count bigint NOT NULL,
    min double precision NOT NULL,
    max double precision NOT NULL,
    first double precision NOT NULL,
    first_time timestamptz NOT NULL,
    last double precision NOT NULL,
    last_time timestamptz NOT NULL,
    PRIMARY KEY (sensor_id, bucket)
"""

# Chunks sized to hold roughly the same number of rows per level.
LEVELS = (("readings_1m", "7 days"), ("readings_1h", "180 days"), ("readings_1d", "3650 days"))


def forwards_sql() -> list[str]:
    statements = []
    for table, chunk in LEVELS:
        statements.append(f"CREATE TABLE {table} ({ROLLUP_COLUMNS})")
        statements.append(
            f"SELECT create_hypertable('{table}', by_range('bucket', INTERVAL '{chunk}'), create_default_indexes => false)"
        )
    statements += [
        "CREATE TABLE rollup_state (id smallint PRIMARY KEY CHECK (id = 1), threshold timestamptz, materialized timestamptz)",
        "INSERT INTO rollup_state (id, threshold, materialized) VALUES (1, NULL, NULL)",
        "CREATE TABLE rollup_invalidation (id bigserial PRIMARY KEY, sensor_id bigint NOT NULL,"
        " low timestamptz NOT NULL, high timestamptz NOT NULL)",
    ]
    return statements


class Migration(migrations.Migration):
    initial = True
    dependencies = [("telemetry", "0002_rejectcount_rejectedmessage")]

    operations = [
        migrations.RunSQL(
            sql=forwards_sql(),
            reverse_sql=[
                "DROP TABLE rollup_invalidation",
                "DROP TABLE rollup_state",
                *(f"DROP TABLE {table}" for table, _ in LEVELS),
            ],
        )
    ]
