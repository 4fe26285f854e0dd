"""Alarm-system performance figures after EEMUA 191 (and ISA-18.2 / IEC 62682, which share its benchmarks).

Everything is computed in PostgreSQL from the journal (`alarms_alarmevent`), never by loading rows.

Definitions (also returned under "definitions", so a reader of the figures sees them):

- An activation is a journaled `raised` event in the period [start, end). Events are counted, not
  alarm rows: a latched alarm that comes back before its reset raises again on the same row.
- Only activations announced to operators count. EEMUA 191 measures the load an operator is
  shown; an alarm raised while shelved or out of service is journaled with announced=False and is
  reported apart as "suppressed" (in total and per severity), nowhere else.
- Severity is the alarm row's (the rule's severity when it was raised).
- A "rule" is a sensor and a kind (unique per AlarmRule), so the activations of a deleted rule
  (whose events keep their sensor but lose their rule id) are still grouped together.
- Rate buckets are fixed 10-minute and 1-hour windows aligned to the Unix epoch. An average is
  activations divided by the period's length in buckets (24 h = 144 ten-minute buckets); a maximum
  is the largest count in one bucket, counting only the part of an edge bucket inside the period.
- Stale alarms are about now, whatever the period.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.alarms import services
from apps.alarms.choices import SEVERITY_RANK, Severity
from scadapro import timeparse

SHORT_BUCKET = timedelta(minutes=10)
LONG_BUCKET = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_PERIOD = timedelta(hours=24)
MAX_PERIOD = timedelta(days=366)

# EEMUA 191 benchmark for the long-term average alarm rate per operator, in activations per
# 10 minutes (ISA-18.2 adopts the same figures: ~1 very likely acceptable, ~2 maximum manageable).
# (upper bound inclusive, label); above the last bound the load is over-demanding.
RATE_BENCHMARK = ((1.0, "very likely acceptable"), (2.0, "manageable"))
OVER_DEMANDING = "over-demanding"
# EEMUA 191 / ISA-18.2: an alarm flood starts at more than 10 alarms in 10 minutes (per operator).
FLOOD_MORE_THAN = 10
FLOOD_LISTED = 50
# ISA-18.2's example of a chattering alarm: 3 or more activations within 60 seconds.
CHATTER_ACTIVATIONS = 3
CHATTER_WINDOW = timedelta(seconds=60)
TOP = 10
STALE_LISTED = 100


class BadPeriod(ValueError):
    """A period the figures cannot be computed for; the message says why."""


def rate_label(per_10_minutes: float) -> str:
    for bound, label in RATE_BENCHMARK:
        if per_10_minutes <= bound:
            return label
    return OVER_DEMANDING


def parse_time(text: str, name: str) -> datetime:
    try:
        return timeparse.parse_time(text, name)
    except ValueError as exc:
        raise BadPeriod(str(exc)) from None


def parse_period(start: str | None, end: str | None, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The period from optional ISO 8601 texts: end defaults to now, start to 24 hours before end."""
    end_at = parse_time(end, "end") if end else (now or timezone.now())
    start_at = parse_time(start, "start") if start else end_at - DEFAULT_PERIOD
    if end_at <= start_at:
        raise BadPeriod("end must be after start.")
    if end_at - start_at > MAX_PERIOD:
        raise BadPeriod(f"The period may be at most {MAX_PERIOD.days} days.")
    return start_at, end_at


# The announced activations of the period: the queries below start with it (constant SQL; every
# value is a query parameter, hence the S608 exceptions).
_WITH_ACTIVATIONS = """
WITH activations AS (
    SELECT e.id, e.at, e.sensor_id, e.rule_id, a.kind, a.severity, a.message
      FROM alarms_alarmevent e
      JOIN alarms_alarm a ON a.id = e.alarm_id
     WHERE e.kind = 'raised' AND e.announced AND e.at >= %(start)s AND e.at < %(end)s
)"""

_BY_SEVERITY = """
SELECT a.severity, count(*) FILTER (WHERE e.announced), count(*) FILTER (WHERE NOT e.announced)
  FROM alarms_alarmevent e
  JOIN alarms_alarm a ON a.id = e.alarm_id
 WHERE e.kind = 'raised' AND e.at >= %(start)s AND e.at < %(end)s
 GROUP BY a.severity
"""

_SHORT_BUCKETS = (
    _WITH_ACTIVATIONS  # noqa: S608
    + """,
buckets AS (
    SELECT date_bin(%(short)s, at, %(epoch)s) AS bucket, count(*) AS n FROM activations GROUP BY 1
),
floods AS (  -- newer = the number of floods from the newest down to this one
    SELECT *, count(*) FILTER (WHERE n > %(flood)s) OVER (ORDER BY bucket DESC) AS newer FROM buckets
)
SELECT coalesce(max(n), 0),
       count(*) FILTER (WHERE n > %(flood)s),
       -- an edge bucket is in the period only in part
       coalesce(sum(extract(epoch FROM least(bucket + %(short)s, %(end)s) - greatest(bucket, %(start)s)))
                FILTER (WHERE n > %(flood)s), 0)::float8,
       coalesce(array_agg(bucket ORDER BY bucket DESC) FILTER (WHERE n > %(flood)s AND newer <= %(listed)s), '{}'),
       coalesce(array_agg(n ORDER BY bucket DESC) FILTER (WHERE n > %(flood)s AND newer <= %(listed)s), '{}')
  FROM floods
"""
)

_HOURS = (
    _WITH_ACTIVATIONS  # noqa: S608
    + """,
counts AS (SELECT date_bin(%(long)s, at, %(epoch)s) AS bucket, count(*) AS n FROM activations GROUP BY 1)
SELECT h.bucket, coalesce(c.n, 0)
  FROM generate_series(date_bin(%(long)s, %(start)s, %(epoch)s), %(end)s, %(long)s) AS h(bucket)
  LEFT JOIN counts c ON c.bucket = h.bucket
 WHERE h.bucket < %(end)s
 ORDER BY h.bucket
"""
)

# Per rule (sensor, kind): activations, whether any 3 fell within the window (lag(at, 2) is the
# activation two before), and the newest message and severity. Keeps chattering rules and the top.
_RULES = (
    _WITH_ACTIVATIONS  # noqa: S608
    + """,
windows AS (
    SELECT *, at - lag(at, %(chatter_back)s) OVER (PARTITION BY sensor_id, kind ORDER BY at, id) AS span
      FROM activations
),
rules AS (
    SELECT sensor_id, kind, max(rule_id) AS rule_id, count(*) AS n,
           coalesce(bool_or(span <= %(chatter_window)s), false) AS chatters,
           (array_agg(message ORDER BY at DESC, id DESC))[1] AS message,
           (array_agg(severity ORDER BY at DESC, id DESC))[1] AS severity
      FROM windows
     GROUP BY sensor_id, kind
),
ranked AS (
    SELECT r.*, s.code AS sensor_code, m.code AS machine_code,
           row_number() OVER (ORDER BY r.n DESC, m.code, s.code, r.kind) AS rank
      FROM rules r
      JOIN plant_sensor s ON s.id = r.sensor_id
      JOIN plant_machine m ON m.id = s.machine_id
)
SELECT rule_id, sensor_id, sensor_code, machine_code, kind, severity, message, n, chatters, rank
  FROM ranked
 WHERE chatters OR rank <= %(top)s
 ORDER BY rank
"""
)

# Open alarms whose condition has been true since before the cutoff. A latched alarm raised again
# is active since its latest raise, not its first.
_STALE = """
WITH open_active AS (
    SELECT a.id, a.message, a.severity, a.triggered_at, a.rule_id, s.code AS sensor_code, m.code AS machine_code,
           coalesce((SELECT max(e.at) FROM alarms_alarmevent e WHERE e.alarm_id = a.id AND e.kind = 'raised'),
                    a.triggered_at) AS active_since
      FROM alarms_alarm a
      JOIN plant_sensor s ON s.id = a.sensor_id
      JOIN plant_machine m ON m.id = s.machine_id
     WHERE a.state <> 'closed' AND a.condition
)
SELECT o.id, o.message, o.severity, o.sensor_code, o.machine_code, o.triggered_at, o.active_since,
       coalesce(st.out_of_service OR st.shelved_until > %(now)s, false) AS suppressed,
       count(*) OVER () AS total
  FROM open_active o
  LEFT JOIN alarms_rulestate st ON st.rule_id = o.rule_id AND st.open_alarm_id = o.id
 WHERE o.active_since < %(cutoff)s
 ORDER BY o.active_since, o.id
 LIMIT %(listed)s
"""


def _percent(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def alarm_kpis(start: datetime, end: datetime, *, now: datetime | None = None) -> dict:
    """The alarm-system figures for activations in [start, end) and the alarms stale at `now`."""
    now = now or timezone.now()
    seconds = (end - start).total_seconds()
    params = {
        "start": start,
        "end": end,
        "epoch": EPOCH,
        "short": SHORT_BUCKET,
        "long": LONG_BUCKET,
        "flood": FLOOD_MORE_THAN,
        "chatter_back": CHATTER_ACTIVATIONS - 1,
        "chatter_window": CHATTER_WINDOW,
        "top": TOP,
        "listed": FLOOD_LISTED,
    }
    with connection.cursor() as cursor:
        cursor.execute(_BY_SEVERITY, params)
        found = {severity: (shown, suppressed) for severity, shown, suppressed in cursor.fetchall()}
        cursor.execute(_SHORT_BUCKETS, params)
        short_max, flood_count, flood_seconds, flood_starts, flood_counts = cursor.fetchone()
        cursor.execute(_HOURS, params)
        hours = cursor.fetchall()
        cursor.execute(_RULES, params)
        rules = cursor.fetchall()
        cutoff = services.stale_cutoff(now)
        cursor.execute(_STALE, {"now": now, "cutoff": cutoff, "listed": STALE_LISTED})
        stale = cursor.fetchall()

    # Every severity, most urgent first, with 0 where none was raised.
    per_severity = {s.value: found.get(s.value, (0, 0)) for s in sorted(Severity, key=SEVERITY_RANK.get)}
    activations = sum(shown for shown, _ in per_severity.values())
    per_10_minutes = activations / (seconds / SHORT_BUCKET.total_seconds())
    return {
        "period": {"start": start, "end": end, "hours": round(seconds / 3600, 2)},
        "definitions": _definitions(),
        "totals": {
            "activations": activations,
            "suppressed": sum(suppressed for _, suppressed in per_severity.values()),
            "by_severity": [
                {
                    "severity": severity,
                    "label": Severity(severity).label,
                    "activations": shown,
                    "share": _percent(shown, activations),
                    "suppressed": suppressed,
                }
                for severity, (shown, suppressed) in per_severity.items()
            ],
        },
        "rate": {
            "per_10_minutes": {
                "average": round(per_10_minutes, 2),
                "max": short_max,
                "benchmark": rate_label(per_10_minutes),
            },
            "per_hour": {
                "average": round(activations / (seconds / LONG_BUCKET.total_seconds()), 2),
                "max": max((n for _, n in hours), default=0),
                "buckets": [{"start": bucket, "count": n} for bucket, n in hours],
            },
        },
        "floods": {
            "count": flood_count,
            "time_percent": _percent(flood_seconds, seconds),
            "buckets": [{"start": bucket, "count": n} for bucket, n in zip(flood_starts, flood_counts, strict=True)],
        },
        "chattering": [_rule(r) for r in rules if r[8]],
        "top": {
            "alarms": [{**_rule(r), "share": _percent(r[7], activations)} for r in rules if r[9] <= TOP],
            "share": _percent(sum(r[7] for r in rules if r[9] <= TOP), activations),
        },
        "stale": {
            "as_of": now,
            "count": stale[0][8] if stale else 0,
            "alarms": [_stale(r, now) for r in stale],
        },
    }


def _rule(r: tuple) -> dict:
    rule_id, sensor_id, sensor_code, machine_code, kind, severity, message, n, _, _ = r
    return {
        "rule": rule_id,  # None when the rule was deleted since
        "sensor": sensor_id,
        "sensor_code": sensor_code,
        "machine_code": machine_code,
        "kind": kind,
        "severity": severity,
        "message": message,  # of its newest activation in the period
        "activations": n,
    }


def _stale(r: tuple, now: datetime) -> dict:
    alarm_id, message, severity, sensor_code, machine_code, triggered_at, active_since, suppressed, _ = r
    return {
        "id": alarm_id,
        "message": message,
        "severity": severity,
        "sensor_code": sensor_code,
        "machine_code": machine_code,
        "triggered_at": triggered_at,
        "active_since": active_since,
        "age_hours": round((now - active_since).total_seconds() / 3600, 1),
        "suppressed": suppressed,  # shelved or out of service now: not on the operator's list
    }


def _definitions() -> dict:
    return {
        "activation": "An alarm raised in [start, end) and announced to operators; a latched alarm raised "
        "again before its reset counts again. Raised while shelved or out of service: counted as suppressed only.",
        "buckets": {
            "short_minutes": int(SHORT_BUCKET.total_seconds() // 60),
            "long_minutes": int(LONG_BUCKET.total_seconds() // 60),
            "aligned_to": EPOCH,
            "average": "activations / (period length / bucket length)",
        },
        "rate_benchmark_per_10_minutes": [
            *({"up_to": bound, "label": label} for bound, label in RATE_BENCHMARK),
            {"up_to": None, "label": OVER_DEMANDING},
        ],
        # The same benchmark per hour (6 ten-minute buckets): hours above it are highlighted.
        "manageable_per_hour": int(RATE_BENCHMARK[-1][0] * 6),
        "flood": {"bucket_minutes": int(SHORT_BUCKET.total_seconds() // 60), "more_than": FLOOD_MORE_THAN},
        "floods_listed": FLOOD_LISTED,
        "chattering": {"activations": CHATTER_ACTIVATIONS, "within_seconds": int(CHATTER_WINDOW.total_seconds())},
        "stale_hours": settings.ALARM_STALE_HOURS,
        "stale_listed": STALE_LISTED,
        "top": TOP,
    }
