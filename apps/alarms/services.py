"""Alarm services: load a rule's point, persist what the lifecycle decided, operator actions, timers.

The decisions are apps.alarms.lifecycle's; this module only reads and writes them. Every change
holds the sensor's row lock first (the ingest takes the same lock for each batch), so an operator's
acknowledgement, the timer task and two ingest workers never overwrite one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.alarms import announce, defaults, lifecycle, messages
from apps.alarms.choices import Kind, State
from apps.alarms.lifecycle import Event, NotAllowed, Point, Transition
from apps.alarms.models import Alarm, AlarmEvent, AlarmRule, RuleState
from apps.plant.models import Sensor

# Events about the point (shelving, service), not about the alarm's own state.
POINT_EVENTS = frozenset({Event.SHELVED, Event.UNSHELVED, Event.SHELVE_EXPIRED, Event.OUT_OF_SERVICE, Event.IN_SERVICE})

# One row per rule with its live state and open alarm; callers add the WHERE clause.
POINT_SQL = """
SELECT r.id, r.sensor_id, r.kind, r.setpoint, r.deadband, r.on_delay, r.off_delay, r.latching, r.severity,
       r.message, coalesce(st.active, false), extract(epoch FROM st.since)::float8, st.open_alarm_id,
       a.state, a.condition, a.latched, extract(epoch FROM st.shelved_until)::float8,
       coalesce(st.out_of_service, false)
  FROM alarms_alarmrule r
  LEFT JOIN alarms_rulestate st ON st.rule_id = r.id
  LEFT JOIN alarms_alarm a ON a.id = st.open_alarm_id
"""


@dataclass
class PointRow:
    """One rule as the lifecycle sees it, with what persisting needs."""

    rule_id: int
    sensor_id: int
    rule: lifecycle.Rule
    severity: str
    template: str
    open_alarm_id: int | None
    point: Point


def point_row(r: tuple) -> PointRow:
    alarm = lifecycle.Alarm(lifecycle.State(r[13]), r[14], r[15]) if r[12] is not None and r[13] else None
    return PointRow(
        rule_id=r[0],
        sensor_id=r[1],
        rule=lifecycle.Rule(lifecycle.Kind(r[2]), r[3], r[4], r[5], r[6], r[7]),
        severity=r[8],
        template=r[9],
        open_alarm_id=r[12] if alarm else None,
        point=Point(lifecycle.Condition(r[10], r[11]), alarm, r[16], r[17]),
    )


def load_points(where: str, params: list) -> list[PointRow]:
    with connection.cursor() as cursor:
        cursor.execute(POINT_SQL + " WHERE " + where, params)
        return [point_row(r) for r in cursor.fetchall()]


def lock_sensors(sensor_ids: list[int]) -> None:
    """Take the sensors' row locks in id order (the ingest's order: no deadlocks)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM plant_sensor WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE", [sorted(sensor_ids)]
        )


def _dt(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def persist(row: PointRow, after: Point, transitions: list[Transition], *, user=None, note: str = "") -> list[int]:
    """Write one point's new state, its alarms and journal; announce after commit. Returns event ids."""
    alarm_id = row.open_alarm_id
    event_ids: list[int] = []
    announced: list[int] = []
    for tr in transitions:
        at = _dt(tr.at)
        if tr.opens:
            alarm_id = _open_alarm(row, at, tr.value).id
        elif alarm_id is not None and tr.before is not None and tr.event not in POINT_EVENTS:
            Alarm.objects.filter(pk=alarm_id).update(**_alarm_changes(tr, at, user))
        event = AlarmEvent.objects.create(
            alarm_id=alarm_id,
            rule_id=row.rule_id,
            sensor_id=row.sensor_id,
            kind=tr.event,
            at=at,
            from_state=tr.before or "",
            to_state=tr.after or "",
            user=user,
            note=note[:500],
            value=tr.value,
            announced=tr.announce,
        )
        event_ids.append(event.id)
        if tr.announce:
            announced.append(event.id)
        if tr.after == State.CLOSED:
            alarm_id = None
    save_states([(row.rule_id, after, alarm_id if after.alarm else None)])
    if announced:
        transaction.on_commit(lambda: announce.events(announced))
    return event_ids


def save_states(states: list[tuple[int, Point, int | None]]) -> None:
    """Upsert the live state of several rules in one statement."""
    if not states:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO alarms_rulestate (rule_id, active, since, open_alarm_id, shelved_until, out_of_service,
                                          shelve_reason, service_note, updated_at)
            SELECT *, '', '', now() FROM unnest(%s::bigint[], %s::bool[], %s::timestamptz[], %s::bigint[],
                                                %s::timestamptz[], %s::bool[])
            ON CONFLICT (rule_id) DO UPDATE SET
                active = EXCLUDED.active, since = EXCLUDED.since, open_alarm_id = EXCLUDED.open_alarm_id,
                shelved_until = EXCLUDED.shelved_until, out_of_service = EXCLUDED.out_of_service,
                updated_at = EXCLUDED.updated_at
            """,
            [
                [rule_id for rule_id, _, _ in states],
                [p.condition.active for _, p, _ in states],
                [_dt(p.condition.since) for _, p, _ in states],
                [alarm_id for _, _, alarm_id in states],
                [_dt(p.shelved_until) for _, p, _ in states],
                [p.out_of_service for _, p, _ in states],
            ],
        )


def _open_alarm(row: PointRow, at: datetime, value: float | None) -> Alarm:
    sensor = Sensor.objects.select_related("machine").get(pk=row.sensor_id)
    decimals = 0 if row.rule.kind == Kind.COMM_LOSS else sensor.decimals
    context = {
        "machine": sensor.machine.code,
        "machine_name": sensor.machine.name,
        "sensor": sensor.code,
        "sensor_name": sensor.name,
        "value": messages.number(value, decimals),
        "setpoint": messages.number(row.rule.setpoint, decimals),
        "unit": sensor.unit,
        "kind": Kind(row.rule.kind).label.lower(),
        "severity": row.severity,
    }
    return Alarm.objects.create(
        rule_id=row.rule_id,
        sensor=sensor,
        kind=row.rule.kind,
        severity=row.severity,
        message=messages.render(row.template, row.rule.kind, context),
        value=value,
        setpoint=row.rule.setpoint,
        state=State.UNACK,
        condition=True,
        latched=row.rule.latching,
        triggered_at=at,
    )


def _alarm_changes(tr: Transition, at: datetime, user) -> dict:
    changes: dict = {"state": tr.after}
    if tr.event == Event.CLEARED:
        changes.update(condition=False, resolved_at=at)
    elif tr.event == Event.RAISED:  # a latched alarm back in alarm before its reset
        changes.update(condition=True, resolved_at=None, acknowledged_at=None, acknowledged_by=None)
    if tr.event in (Event.ACKNOWLEDGED, Event.RESET) and tr.before in (State.UNACK, State.RTN_UNACK):
        changes.update(acknowledged_at=at, acknowledged_by=user)
    if tr.after == State.CLOSED:
        changes["closed_at"] = at
    return changes


# -- operator actions --------------------------------------------------------------------------------


def _act(alarm: Alarm, action, user, note: str, state_fields: dict | None = None, **fields) -> Alarm:
    """Apply an operator action to the alarm's point under its sensor's lock; `state_fields` are
    written to the point's RuleState in the same transaction (who shelved it and why)."""
    with transaction.atomic():
        lock_sensors([alarm.sensor_id])
        if alarm.rule_id is None:
            if action is lifecycle.acknowledge:
                return _acknowledge_orphan(alarm, user, note)
            raise NotAllowed("The rule of this alarm was deleted; acknowledging it closes it.")
        row = load_points("r.id = %s", [alarm.rule_id])[0]
        now = timezone.now().timestamp()
        # Unshelving acts on the point whichever of its alarms it is asked through; the rest need this one open.
        if action is not lifecycle.unshelve and row.open_alarm_id != alarm.pk:
            raise NotAllowed("The alarm is closed." if alarm.state == State.CLOSED else "The alarm is no longer open.")
        after, transitions = action(row.point, now, **fields)
        persist(row, after, transitions, user=user, note=note)
        if state_fields:
            RuleState.objects.filter(pk=alarm.rule_id).update(**state_fields)
    alarm.refresh_from_db()
    return alarm


def _acknowledge_orphan(alarm: Alarm, user, note: str) -> Alarm:
    """An open alarm whose rule was deleted: nothing will clear it any more, so acknowledging closes it."""
    alarm = Alarm.objects.select_for_update().get(pk=alarm.pk)
    if alarm.state == State.CLOSED:
        raise NotAllowed("The alarm is closed.")
    now = timezone.now()
    event = AlarmEvent.objects.create(
        alarm=alarm, sensor_id=alarm.sensor_id, kind=Event.ACKNOWLEDGED, at=now, from_state=alarm.state,
        to_state=State.CLOSED, user=user, note=(note or "rule deleted")[:500], announced=True,
    )  # fmt: skip
    Alarm.objects.filter(pk=alarm.pk).update(
        state=State.CLOSED, acknowledged_at=now, acknowledged_by=user, closed_at=now
    )
    transaction.on_commit(lambda: announce.events([event.pk]))
    alarm.refresh_from_db()
    return alarm


def acknowledge(alarm: Alarm, user, note: str = "") -> Alarm:
    return _act(alarm, lifecycle.acknowledge, user, note)


def acknowledge_many(alarm_ids: list[int], user, note: str = "") -> tuple[list[int], dict[int, str]]:
    """Acknowledge each alarm it can; returns the acknowledged ids and, for the others, why not."""
    done, refused = [], {}
    alarms = {a.pk: a for a in Alarm.objects.filter(pk__in=alarm_ids)}
    for alarm_id in alarm_ids:
        alarm = alarms.get(alarm_id)
        if alarm is None:
            refused[alarm_id] = "No such alarm."
            continue
        try:
            acknowledge(alarm, user, note)
            done.append(alarm_id)
        except NotAllowed as exc:
            refused[alarm_id] = str(exc)
    return done, refused


def reset(alarm: Alarm, user, note: str = "") -> Alarm:
    return _act(alarm, lifecycle.reset, user, note)


def shelve(alarm: Alarm, user, minutes: float, reason: str) -> Alarm:
    if not reason.strip():
        raise NotAllowed("Shelving needs a reason.")
    longest = settings.ALARM_SHELVE_MAX_MINUTES
    if not 0 < minutes <= longest:
        raise NotAllowed(f"Shelve for more than 0 and at most {longest} minutes.")
    until = timezone.now().timestamp() + minutes * 60
    return _act(
        alarm,
        lifecycle.shelve,
        user,
        reason,
        state_fields={"shelved_by": user, "shelve_reason": reason[:300]},
        until=until,
    )


def unshelve(alarm: Alarm, user, note: str = "") -> Alarm:
    return _act(alarm, lifecycle.unshelve, user, note, state_fields={"shelved_by": None, "shelve_reason": ""})


def take_out_of_service(rule: AlarmRule, user, note: str) -> None:
    if not note.strip():
        raise NotAllowed("Taking an alarm out of service needs a reason.")
    _service(rule, lifecycle.take_out_of_service, user, note)


def return_to_service(rule: AlarmRule, user, note: str = "") -> None:
    _service(rule, lifecycle.return_to_service, user, note)


def _service(rule: AlarmRule, action, user, note: str) -> None:
    with transaction.atomic():
        lock_sensors([rule.sensor_id])
        row = load_points("r.id = %s", [rule.pk])[0]
        after, transitions = action(row.point, timezone.now().timestamp())
        persist(row, after, transitions, user=user, note=note)
        RuleState.objects.filter(pk=rule.pk).update(
            service_changed_by=user, service_note=note[:300], shelved_by=None, shelve_reason=""
        )


def rule_disabled(rule: AlarmRule) -> None:
    """A disabled rule no longer watches its condition: a standing alarm returns to normal now
    (a latched one still waits for its reset), so nothing stays active with no one to clear it."""
    with transaction.atomic():
        lock_sensors([rule.sensor_id])
        rows = load_points("r.id = %s", [rule.pk])
        if not rows:
            return
        row = rows[0]
        after, transitions = lifecycle.stop_watching(row.rule, row.point, timezone.now().timestamp())
        if after != row.point:
            persist(row, after, transitions, note="rule disabled")


# -- timers (Celery beat) ------------------------------------------------------------------------------

_DUE_SQL = """
SELECT r.id FROM alarms_alarmrule r JOIN alarms_rulestate st ON st.rule_id = r.id
 WHERE (st.since IS NOT NULL AND r.enabled
        AND st.since + make_interval(secs => CASE WHEN st.active THEN r.off_delay ELSE r.on_delay END) <= %(now)s)
    OR st.shelved_until <= %(now)s
UNION
SELECT r.id FROM alarms_alarmrule r
  JOIN plant_sensor s ON s.id = r.sensor_id
  JOIN plant_machine m ON m.id = s.machine_id
  LEFT JOIN alarms_rulestate st ON st.rule_id = r.id
 WHERE r.kind = 'comm_loss' AND r.enabled AND m.status = 'active' AND NOT coalesce(st.active, false)
   AND st.since IS NULL AND coalesce(s.last_seen, r.created_at) < %(now)s - make_interval(secs => r.setpoint)
"""


def run_timers(now: datetime | None = None) -> int:
    """Elapsed on/off-delays, expired shelvings and communication loss; returns transitions made."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_DUE_SQL, {"now": now})
        rule_ids = [r[0] for r in cursor.fetchall()]
    made = 0
    for rule_id in rule_ids:
        with transaction.atomic():
            rule = AlarmRule.objects.select_related("sensor__machine").filter(pk=rule_id).first()
            if rule is None:
                continue
            lock_sensors([rule.sensor_id])
            row = load_points("r.id = %s", [rule_id])[0]
            point, transitions = row.point, []
            if rule.kind == Kind.COMM_LOSS and rule.enabled and rule.sensor.machine.status == "active":
                rule.sensor.refresh_from_db(fields=["last_seen"])
                silent_since = rule.sensor.last_seen or rule.created_at
                point, transitions = lifecycle.on_value(
                    row.rule, point, now.timestamp(), (now - silent_since).total_seconds()
                )
            point, more = lifecycle.tick(row.rule, point, now.timestamp())
            transitions += more
            if point != row.point or transitions:
                persist(row, point, transitions)
                if row.point.shelved_until is not None and point.shelved_until is None:  # the shelving expired
                    RuleState.objects.filter(pk=rule_id).update(shelved_by=None, shelve_reason="")
                made += len(transitions)
    return made


def stale_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(hours=settings.ALARM_STALE_HOURS)


def add_default_rules(sensor: Sensor) -> int:
    """Create the default rules (apps.alarms.defaults) of the kinds the sensor has none of yet."""
    have = set(sensor.alarm_rules.values_list("kind", flat=True))
    created = 0
    for spec in defaults.default_rules(
        sensor.type, sensor.range_min, sensor.range_max, sensor.expected_interval, sensor.decimals
    ):
        if spec.kind in have:
            continue
        AlarmRule.objects.create(
            sensor=sensor, kind=spec.kind, setpoint=spec.setpoint, severity=spec.severity, deadband=spec.deadband,
            on_delay=spec.on_delay, off_delay=spec.off_delay, latching=spec.latching,
        )  # fmt: skip
        created += 1
    return created
