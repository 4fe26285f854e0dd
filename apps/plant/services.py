"""Plant workflows shared by the `plant` command, admin and API: import, diff and export of YAML.

Alarm rules travel with their sensors (see apps.plant.plantfile for the file's rules): a sensor's
`alarms:` is made to match by kind, other kinds in the database are kept unless pruning, and a
sensor without `alarms:` keeps its rules, or gets the defaults of apps.alarms.defaults when the
import creates it. Rules are saved through the ORM with full_clean; their live state is not touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from apps.alarms.defaults import default_rules
from apps.alarms.models import AlarmRule
from apps.alarms.services import lock_sensors
from apps.plant.models import PLC, Machine, Sensor
from apps.plant.plantfile import (
    ALARM_KINDS,
    AlarmSpec,
    MachineSpec,
    PlantFileError,
    PlantSpec,
    PlcSpec,
    Problem,
    SensorSpec,
    dump_plant,
    load_plant,
)
from apps.plant.topics import default_sensor_topic

MACHINE_FIELDS = ("name", "description", "status", "area", "line")
PLC_FIELDS = ("protocol", "address", "description")
SENSOR_FIELDS = (
    "name", "description", "type", "unit", "range_min", "range_max",
    "decimals", "expected_interval", "mqtt_topic",
)  # fmt: skip
RULE_FIELDS = ("setpoint", "deadband", "on_delay", "off_delay", "severity", "latching", "enabled", "message")


@dataclass
class Change:
    """One difference between a plant file and the database."""

    action: str  # "create", "update", "delete" or "keep" (only in the database, left alone)
    kind: str  # "machine", "plc", "sensor" or "alarm" (key: "MACHINE/SENSOR KIND")
    key: str
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def __str__(self) -> str:
        if self.action == "create":
            return f"+ {self.kind} {self.key}"
        if self.action == "delete":
            return f"- {self.kind} {self.key}"
        if self.action == "keep":
            return f"! {self.kind} {self.key} is only in the database (kept; --prune deletes it)"
        details = ", ".join(f"{name}: {old!r} -> {new!r}" for name, (old, new) in self.fields.items())
        return f"~ {self.kind} {self.key}: {details}"


def read_plant_file(path: str | Path) -> PlantSpec:
    """Read and validate a plant file; PlantFileError lists every problem with its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlantFileError(str(path), [Problem(1, f"cannot read the file: {exc}")]) from None
    return load_plant(text, str(path))


def _assign(obj: Any, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    changed = {}
    for name, new in values.items():
        old = getattr(obj, name)
        if old != new:
            changed[name] = (old, new)
            setattr(obj, name, new)
    return changed


def _check_topics_against_database(spec: PlantSpec, filename: str) -> None:
    """A topic in the file may not belong to a database sensor the file does not describe.

    (Sensors the file describes may trade topics: the file says where each ends up, and the
    unique constraint on topics is checked at commit.)"""
    by_topic = {}
    described = set()
    for machine in spec.machines:
        for sensor in machine.sensors:
            by_topic[spec.sensor_topic(machine, sensor)] = sensor
            described.add((machine.code, sensor.code))
    problems = []
    clashes = Sensor.objects.filter(mqtt_topic__in=by_topic).select_related("machine")
    for other in clashes:
        if (other.machine.code, other.code) not in described:
            sensor = by_topic[other.mqtt_topic]
            problems.append(Problem(sensor.lineno, f"MQTT topic '{other.mqtt_topic}' belongs to sensor {other}"))
    if problems:
        raise PlantFileError(filename, problems)


def _sync_machine(spec: MachineSpec, prune: bool, changes: list[Change]) -> None:
    values = {name: getattr(spec, name) for name in MACHINE_FIELDS}
    machine = Machine.objects.filter(code=spec.code).first()
    if machine is None:
        machine = Machine.objects.create(code=spec.code, **values)
        changes.append(Change("create", "machine", spec.code))
    elif diff := _assign(machine, values):
        machine.save()
        changes.append(Change("update", "machine", spec.code, diff))

    plcs = {plc.name: plc for plc in machine.plcs.all()}
    for plc_spec in spec.plcs:
        _sync_plc(machine, plcs, plc_spec, changes)
    sensors = {sensor.code: sensor for sensor in machine.sensors.select_related("plc").prefetch_related("alarm_rules")}
    for sensor_spec in spec.sensors:
        sensor, created = _sync_sensor(machine, plcs, sensors, sensor_spec, changes)
        _sync_alarms(sensor, created, f"{spec.code}/{sensor_spec.code}", sensor_spec, prune, changes)

    wanted_sensors = {s.code for s in spec.sensors}
    for code, sensor in sensors.items():
        if code not in wanted_sensors:
            _prune(sensor, "sensor", f"{spec.code}/{code}", prune, changes)
    wanted_plcs = {p.name for p in spec.plcs}
    for name, plc in plcs.items():
        if name not in wanted_plcs:
            _prune(plc, "plc", f"{spec.code}/{name}", prune, changes)


def _sync_plc(machine: Machine, plcs: dict[str, PLC], spec: PlcSpec, changes: list[Change]) -> None:
    values = {name: getattr(spec, name) for name in PLC_FIELDS}
    key = f"{machine.code}/{spec.name}"
    plc = plcs.get(spec.name)
    if plc is None:
        plcs[spec.name] = PLC.objects.create(machine=machine, name=spec.name, **values)
        changes.append(Change("create", "plc", key))
    elif diff := _assign(plc, values):
        plc.save()
        changes.append(Change("update", "plc", key, diff))


def _sync_sensor(
    machine: Machine, plcs: dict[str, PLC], sensors: dict[str, Sensor], spec: SensorSpec, changes: list[Change]
) -> tuple[Sensor, bool]:
    """Create or update one sensor; returns it and whether it was created."""
    values = {name: getattr(spec, name) for name in SENSOR_FIELDS}
    values["mqtt_topic"] = spec.mqtt_topic or default_sensor_topic(machine.code, spec.code)
    key = f"{machine.code}/{spec.code}"
    sensor = sensors.get(spec.code)
    if sensor is None:
        sensor = Sensor.objects.create(machine=machine, code=spec.code, plc=plcs.get(spec.plc or ""), **values)
        changes.append(Change("create", "sensor", key))
        return sensor, True
    diff = _assign(sensor, values)
    old_plc = sensor.plc.name if sensor.plc else None
    if old_plc != spec.plc:
        diff["plc"] = (old_plc, spec.plc)
        sensor.plc = plcs.get(spec.plc or "")
    if diff:
        sensor.save()
        changes.append(Change("update", "sensor", key, diff))
    return sensor, False


def _sync_alarms(sensor: Sensor, created: bool, key: str, spec: SensorSpec, prune: bool, changes: list[Change]) -> None:
    """Make a sensor's alarm rules match its `alarms:` (kinds not in it are kept or pruned).

    Without `alarms:`, an existing sensor's rules are left alone and a new sensor gets the
    defaults for its type and range; those come with the "+ sensor" change, not as changes of
    their own (the file did not ask for them by name)."""
    if spec.alarms is None:
        if created:
            for default in default_rules(
                sensor.type, sensor.range_min, sensor.range_max, sensor.expected_interval, sensor.decimals
            ):
                values = {name: getattr(default, name) for name in RULE_FIELDS if hasattr(default, name)}
                _save_rule(AlarmRule(sensor=sensor, kind=default.kind, **values), spec.lineno)
        return
    rules = {} if created else {rule.kind: rule for rule in sensor.alarm_rules.all()}
    for kind, alarm in spec.alarms.items():
        values = {name: getattr(alarm, name) for name in RULE_FIELDS}
        rule = rules.get(kind)
        if rule is None:
            _save_rule(AlarmRule(sensor=sensor, kind=kind, **values), alarm.lineno)
            changes.append(Change("create", "alarm", f"{key} {kind}"))
        elif diff := _assign(rule, values):
            _save_rule(rule, alarm.lineno)
            changes.append(Change("update", "alarm", f"{key} {kind}", diff))
    extra = sorted(set(rules) - set(spec.alarms), key=_kind_order)
    if prune and extra:
        # Deleting a rule deletes its live state and detaches its alarms: hold the sensor's row
        # lock like every other writer of alarm state (the ingest, timers, operators).
        lock_sensors([sensor.pk])
    for kind in extra:
        _prune(rules[kind], "alarm", f"{key} {kind}", prune, changes)


def _kind_order(kind: str) -> tuple[int, str]:
    return (ALARM_KINDS.index(kind) if kind in ALARM_KINDS else len(ALARM_KINDS), kind)


class _RuleRefused(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


def _save_rule(rule: AlarmRule, lineno: int) -> None:
    """Save a rule after the model's own checks. The file was validated already, so a refusal here
    means the two disagree; it still rejects the file with the rule's line, not a traceback."""
    try:
        rule.full_clean()
    except ValidationError as exc:
        reasons = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in exc.message_dict.items())
        raise _RuleRefused(Problem(lineno, f"alarm {rule.kind} of sensor {rule.sensor}: {reasons}")) from None
    rule.save()


def _prune(obj: Machine | PLC | Sensor | AlarmRule, kind: str, key: str, prune: bool, changes: list[Change]) -> None:
    if prune:
        obj.delete()
        changes.append(Change("delete", kind, key))
    else:
        changes.append(Change("keep", kind, key))


@transaction.atomic
def apply_plant(
    spec: PlantSpec, *, filename: str = "<plant>", dry_run: bool = False, prune: bool = False
) -> list[Change]:
    """Make the database match the file in one transaction; with dry_run, roll it back.

    Machines, PLCs and sensors are matched by code (PLCs by name within their machine), alarm
    rules by sensor and kind, and updated in place, so their ids, readings and history survive.
    Items only in the database are reported and kept, or deleted with `prune` (a deleted sensor's
    readings stay until retention; a deleted rule's alarms stay in the history).
    """
    _check_topics_against_database(spec, filename)
    changes: list[Change] = []
    try:
        for machine_spec in spec.machines:
            _sync_machine(machine_spec, prune, changes)
    except _RuleRefused as exc:
        raise PlantFileError(filename, [exc.problem]) from None
    wanted = {m.code for m in spec.machines}
    for machine in Machine.objects.exclude(code__in=wanted):
        _prune(machine, "machine", machine.code, prune, changes)
    if dry_run:
        transaction.set_rollback(True)
    else:
        # Check the deferred topic constraint now, inside this function's error handling.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS sensor_mqtt_topic_unique IMMEDIATE")
    return changes


def diff_plant(spec: PlantSpec, *, filename: str = "<plant>", prune: bool = False) -> list[Change]:
    """What `apply_plant` would change, computed by applying it and rolling back."""
    return apply_plant(spec, filename=filename, dry_run=True, prune=prune)


def plant_spec_from_database() -> PlantSpec:
    spec = PlantSpec()
    machines = Machine.objects.prefetch_related("plcs", "sensors__plc", "sensors__alarm_rules").order_by("code")
    for machine in machines:
        machine_spec = MachineSpec(code=machine.code, **{name: getattr(machine, name) for name in MACHINE_FIELDS})
        for plc in sorted(machine.plcs.all(), key=lambda p: p.name):
            machine_spec.plcs.append(PlcSpec(name=plc.name, **{n: getattr(plc, n) for n in PLC_FIELDS}))
        for sensor in sorted(machine.sensors.all(), key=lambda s: s.code):
            values = {name: getattr(sensor, name) for name in SENSOR_FIELDS}
            if values["mqtt_topic"] == sensor.default_topic:
                values["mqtt_topic"] = None
            # Always a mapping, `{}` too: a file without `alarms:` would mean "leave them alone".
            alarms = {
                rule.kind: AlarmSpec(kind=rule.kind, **{name: getattr(rule, name) for name in RULE_FIELDS})
                for rule in sorted(sensor.alarm_rules.all(), key=lambda r: _kind_order(r.kind))
            }
            machine_spec.sensors.append(
                SensorSpec(code=sensor.code, plc=sensor.plc.name if sensor.plc else None, alarms=alarms, **values)
            )
        spec.machines.append(machine_spec)
    return spec


def export_plant() -> str:
    # No timestamp in the header: exporting an unchanged plant gives identical bytes, so exports
    # can be kept in version control and diffed.
    header = "ScadaPRO plant, exported from the database.\nLoad it with: manage.py plant import FILE"
    return dump_plant(plant_spec_from_database(), header=header)
