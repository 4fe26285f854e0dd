"""Alarm evaluation in the ingest: once per batch, inside the batch's transaction.

Only live readings count: those newer than the sensor's newest reading before the batch (read
under its row lock by the ingest). A backfilled older reading is stored but never flips an alarm.
Each sensor's live readings are fed in reading-time order. Readings of bad quality do not move a
limit (a failed transmitter is not a process alarm) but do end a communication loss.

Most batches change nothing: a rule whose condition is settled and whose readings all stay on the
same side of its limit is skipped with one comparison against the batch's min/max for the sensor.
"""

from __future__ import annotations

from apps.alarms import lifecycle, services
from apps.alarms.lifecycle import HIGH_KINDS, Kind
from apps.telemetry import hooks
from apps.telemetry.choices import Quality
from apps.telemetry.hooks import StoredBatch

_RULES_WHERE = (
    "r.sensor_id = ANY(%s) AND r.enabled"
    " AND (r.kind <> 'comm_loss' OR coalesce(st.active, false) OR st.since IS NOT NULL)"
)
# Column positions in services.POINT_SQL used by the quick check.
_SENSOR, _KIND, _SETPOINT, _DEADBAND, _ACTIVE, _SINCE = 1, 2, 3, 4, 10, 11


@hooks.in_transaction
def evaluate_batch(batch: StoredBatch) -> None:
    previous = batch.previous
    # Sensors whose newest reading in the batch is newer than what they had: the others got only backfill.
    fresh = [s for s, (t, _, _) in batch.latest.items() if (seen := previous.get(s, (None,))[0]) is None or t > seen]
    if not fresh:
        return
    rows = _rule_rows(fresh)
    if not rows:
        return
    live = live_readings(batch, {raw[_SENSOR] for raw in rows})
    bounds = {}
    states = []
    for raw in rows:
        readings = live[raw[_SENSOR]]
        if _settled(raw, readings, bounds):
            continue
        row = services.point_row(raw)
        point, transitions = _feed(row, readings, previous.get(row.sensor_id, (None, None)))
        if transitions:
            services.persist(row, point, transitions)
        elif point != row.point:  # only a delay started or was cancelled
            states.append((row.rule_id, point, row.open_alarm_id))
    services.save_states(states)


def live_readings(batch: StoredBatch, sensors: set[int]) -> dict[int, list[tuple[float, float, int]]]:
    """Sensor id -> its readings newer than its previous newest, in time order (for `sensors` only)."""
    previous = batch.previous
    live: dict[int, list[tuple[float, float, int]]] = {}
    for sensor_id, t, value, quality in batch.readings:
        if sensor_id not in sensors:
            continue
        seen = previous.get(sensor_id, (None, None))[0]
        if seen is None or t > seen:
            live.setdefault(sensor_id, []).append((t, value, quality))
    for readings in live.values():
        readings.sort()
    return live


def _rule_rows(sensor_ids: list[int]) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(services.POINT_SQL + " WHERE " + _RULES_WHERE + " ORDER BY r.sensor_id, r.id", [sensor_ids])
        return cursor.fetchall()


def _settled(raw: tuple, readings: list, bounds: dict) -> bool:
    """True when the rule's condition is settled (no delay running) and no reading crosses it."""
    if raw[_SINCE] is not None:
        return False
    kind = raw[_KIND]
    if kind in (Kind.STATE, Kind.RATE, Kind.COMM_LOSS):
        return False
    sensor_id = raw[_SENSOR]
    low_high = bounds.get(sensor_id)
    if low_high is None:
        values = [v for _, v, q in readings if q != Quality.BAD]
        low_high = bounds[sensor_id] = (min(values), max(values)) if values else (float("inf"), float("-inf"))
    low, high = low_high
    if low > high:  # only bad-quality readings
        return True
    setpoint, deadband, active = raw[_SETPOINT], raw[_DEADBAND], raw[_ACTIVE]
    if kind in HIGH_KINDS:
        return low > setpoint - deadband if active else high <= setpoint
    return high < setpoint + deadband if active else low >= setpoint


def _feed(row: services.PointRow, readings: list, previous: tuple) -> tuple[lifecycle.Point, list]:
    rule, point = row.rule, row.point
    transitions: list[lifecycle.Transition] = []
    if rule.kind == Kind.COMM_LOSS:  # data is back: silence is over at the first reading
        point, transitions = lifecycle.on_value(rule, point, readings[0][0], 0.0)
        return point, transitions
    last_t, last_v = previous
    for t, value, quality in readings:
        if quality == Quality.BAD:
            continue
        if rule.kind == Kind.RATE:
            rate = None if last_t is None else lifecycle.rate_per_minute(last_t, last_v, t, value)
            last_t, last_v = t, value
            if rate is None:
                continue
            value = rate
        point, more = lifecycle.on_value(rule, point, t, value)
        transitions += more
    return point, transitions
