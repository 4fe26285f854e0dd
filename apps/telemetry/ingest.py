"""The ingest pipeline, per batch: decode messages, then store them in one transaction.

`decode_batch` turns raw MQTT messages into reading rows and rejects (no database access);
`store_batch` writes them: COPY into the readings hypertable, each sensor's latest value once,
the rejects with their counts, and the in-transaction hooks, all committed together. The worker
(apps/telemetry/worker.py) acknowledges the MQTT messages only after that commit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import IntegrityError, connection, transaction

from apps.plant.models import Machine, Sensor
from apps.telemetry import hooks
from apps.telemetry.hooks import StoredBatch
from apps.telemetry.payloads import Limits, Rejected, parse_batch_message, parse_value_message
from apps.telemetry.routing import VALUE, SensorIndex

PAYLOAD_KEEP_CHARS = 2000
# A misconfigured publisher can send thousands of bad messages a second: count them all, keep a
# sample of each reason per batch.
KEEP_PER_REASON_PER_BATCH = 50


@dataclass(slots=True)
class Message:
    topic: str
    payload: bytes
    received: float  # epoch seconds


@dataclass
class Decoded:
    rows: list[tuple[int, float, float, int]] = field(default_factory=list)
    rejected: Counter = field(default_factory=Counter)  # reason -> count
    kept: list[tuple[float, str, bytes, str, str]] = field(default_factory=list)  # samples to store


def load_index() -> SensorIndex:
    rows = Sensor.objects.values_list("id", "machine__code", "code", "mqtt_topic")
    index = SensorIndex.build(rows)
    for code in Machine.objects.values_list("code", flat=True):
        index.add_machine(code)
    return index


def plant_version() -> tuple:
    """Changes whenever a sensor or machine is added, removed or edited (the index is then stale)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM plant_sensor), (SELECT max(updated_at) FROM plant_sensor),"
            " (SELECT count(*) FROM plant_machine), (SELECT max(updated_at) FROM plant_machine)"
        )
        return tuple(cursor.fetchone())


def decode_batch(messages: list[Message], index: SensorIndex, limits: Limits) -> Decoded:
    out = Decoded()
    rows = out.rows
    for message in messages:
        try:
            kind, target = index.resolve(message.topic)
            if kind == VALUE:
                t, value, quality = parse_value_message(message.payload, message.received, limits)
                rows.append((target, t, value, quality))
                continue
            readings, rejects = parse_batch_message(message.payload, message.received, limits)
            for code, t, value, quality in readings:
                try:
                    rows.append((index.batch_sensor(target, code), t, value, quality))
                except Rejected as exc:
                    _reject(out, message, exc)
            for exc in rejects:
                _reject(out, message, exc)
        except Rejected as exc:
            _reject(out, message, exc)
    return out


def _reject(out: Decoded, message: Message, exc: Rejected) -> None:
    out.rejected[exc.reason] += 1
    if out.rejected[exc.reason] <= KEEP_PER_REASON_PER_BATCH:
        out.kept.append((message.received, message.topic, message.payload, exc.reason, exc.detail))


def store_batch(decoded: Decoded) -> StoredBatch:
    """Write one decoded batch in one transaction; returns what was stored (for hooks and figures)."""
    batch = StoredBatch(readings=decoded.rows)
    latest = batch.latest
    for sensor_id, t, value, quality in decoded.rows:
        newest = latest.get(sensor_id)
        if newest is None or t >= newest[0]:
            latest[sensor_id] = (t, value, quality)
    with transaction.atomic():
        with connection.cursor() as cursor:
            if decoded.rows:
                batch.previous = _lock_sensors(cursor, latest)
                batch.inserted = _insert_readings(cursor, decoded.rows)
                _update_latest(cursor, latest)
            if decoded.rejected:
                _store_rejects(cursor, decoded)
        hooks.run_in_transaction(batch)
    return batch


def _insert_readings(cursor, rows: list[tuple[int, float, float, int]]) -> int:
    """COPY straight into the hypertable; if any row is already there (a redelivery after a crash,
    or a publisher repeating itself), go through a staging table with ON CONFLICT DO NOTHING."""
    try:
        with transaction.atomic():
            _copy(cursor, "readings", rows)
        return len(rows)
    except IntegrityError:
        pass
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS readings_staging (LIKE readings INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    _copy(cursor, "readings_staging", rows)
    cursor.execute(
        "INSERT INTO readings (sensor_id, time, value, quality)"
        " SELECT sensor_id, time, value, quality FROM readings_staging ON CONFLICT DO NOTHING"
    )
    return cursor.rowcount


def _copy(cursor, table: str, rows: list[tuple[int, float, float, int]]) -> None:
    fromts = datetime.fromtimestamp
    # cursor.copy is psycopg's own; the wrapper turns its errors into Django's, as execute() does.
    with (
        connection.wrap_database_errors,
        cursor.copy(f"COPY {table} (sensor_id, time, value, quality) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(["int8", "timestamptz", "float8", "int2"])
        write = copy.write_row
        for sensor_id, t, value, quality in rows:
            write((sensor_id, fromts(t, UTC), value, quality))


def _lock_sensors(cursor, latest: dict) -> dict[int, tuple[float | None, float | None]]:
    """Lock the batch's sensors (in id order, so workers never deadlock) and read their newest
    reading so far: another worker's batch of the same sensors waits until this one commits, and
    alarm evaluation sees which readings are live and which are backfill."""
    cursor.execute(
        "SELECT id, extract(epoch FROM last_seen)::float8, last_value FROM plant_sensor"
        " WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
        [sorted(latest)],
    )
    return {sensor_id: (seen, value) for sensor_id, seen, value in cursor.fetchall()}


def _update_latest(cursor, latest: dict[int, tuple[float, float, int]]) -> None:
    """Each sensor's newest value, once per batch; a backfilled older reading does not overwrite it."""
    ids = list(latest)
    cursor.execute(
        """
        UPDATE plant_sensor AS s
           SET last_value = v.value, last_seen = v.time, last_quality = v.quality
          FROM unnest(%s::bigint[], %s::timestamptz[], %s::float8[], %s::smallint[]) AS v(id, time, value, quality)
         WHERE s.id = v.id AND (s.last_seen IS NULL OR s.last_seen <= v.time)
        """,
        [
            ids,
            [datetime.fromtimestamp(latest[i][0], UTC) for i in ids],
            [latest[i][1] for i in ids],
            [latest[i][2] for i in ids],
        ],
    )


def _store_rejects(cursor, decoded: Decoded) -> None:
    now = datetime.now(UTC)
    cursor.executemany(
        "INSERT INTO telemetry_rejectedmessage (received_at, topic, payload, reason, detail) VALUES (%s, %s, %s, %s, %s)",
        [
            (
                datetime.fromtimestamp(received, UTC),
                topic[:255],
                payload[:PAYLOAD_KEEP_CHARS].decode("utf-8", "replace").replace("\x00", "\ufffd"),
                reason,
                detail[:300],
            )
            for received, topic, payload, reason, detail in decoded.kept
        ],
    )
    cursor.executemany(
        "INSERT INTO telemetry_rejectcount (reason, count, last_at) VALUES (%s, %s, %s)"
        " ON CONFLICT (reason) DO UPDATE SET count = telemetry_rejectcount.count + EXCLUDED.count,"
        " last_at = EXCLUDED.last_at",
        [(reason, count, now) for reason, count in decoded.rejected.items()],
    )


def prune_rejected(keep: int) -> int:
    """Drop all but the newest `keep` rejected messages; returns how many were dropped."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM telemetry_rejectedmessage WHERE id <="
            " (SELECT id FROM telemetry_rejectedmessage ORDER BY id DESC OFFSET %s LIMIT 1)",
            [keep],
        )
        return cursor.rowcount
