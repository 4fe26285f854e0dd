"""Alarm rules in the plant file: `alarms:` per sensor, parsed with line numbers, imported, diffed and
exported; a sensor the import creates without `alarms:` gets the default rules of its type and range.

Line numbers in the inline YAML texts are 1-based and counted after textwrap.dedent, as in
test_plantfile.py. Database tests use the `plant` fixture of tests/conftest.py where a plant must
already exist: PS1 (PLC-PS1; P1_PRESS pressure 0..16 bar on PLC-PS1, FLOW) and BLR1 (STEAM_PRESS).
"""

from __future__ import annotations

import io
import textwrap
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.alarms.choices import Kind, Severity
from apps.alarms.models import Alarm, AlarmRule, RuleState
from apps.plant.models import Machine, Sensor
from apps.plant.plantfile import (
    ALARM_KINDS,
    ALARM_SEVERITIES,
    AlarmSpec,
    MachineSpec,
    PlantSpec,
    SensorSpec,
    dump_plant,
    parse_plant,
)
from apps.telemetry.ingest import Decoded, store_batch

DEMO = Path(__file__).resolve().parents[2] / "config" / "plant.demo.yaml"
T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC).timestamp()


# --- helpers ------------------------------------------------------------------------------------


def problems_of(text: str) -> list[tuple[int, str]]:
    spec, problems = parse_plant(textwrap.dedent(text))
    assert spec is None, "a file with problems must not give a spec"
    return sorted((p.line, p.message) for p in problems)


def parse_ok(text: str) -> PlantSpec:
    spec, problems = parse_plant(textwrap.dedent(text))
    assert problems == []
    assert spec is not None
    return spec


def sensor_with(alarms: str) -> str:
    """A one-sensor file whose sensor's alarms block (indented 8 spaces) starts on line 7."""
    return "machines:\n  - code: M\n    name: M\n    sensors:\n      - code: S\n        name: S\n" + textwrap.indent(
        textwrap.dedent(alarms), " " * 8
    )


@dataclass
class Run:
    code: int
    out: str
    err: str


def manage(*args: str) -> Run:
    """Run `manage.py plant ...`; a CommandError propagates, `sys.exit(n)` becomes Run.code."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("plant", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return Run(code, out.getvalue(), err.getvalue())


def plant_fails(*args: str) -> tuple[CommandError, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("plant", *args, stdout=out, stderr=err)
    return caught.value, err.getvalue()


@pytest.fixture
def write(tmp_path):
    def write(text: str, name: str = "plant.yaml") -> str:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return str(path)

    return write


def rules(**filters) -> dict[tuple[str, str], tuple]:
    """Every rule as (machine/sensor, kind) -> (setpoint, deadband, on_delay, off_delay, severity,
    latching, enabled, message)."""
    return {
        (f"{r.sensor.machine.code}/{r.sensor.code}", r.kind): (
            r.setpoint, r.deadband, r.on_delay, r.off_delay, r.severity, r.latching, r.enabled, r.message,
        )
        for r in AlarmRule.objects.filter(**filters).select_related("sensor__machine")
    }  # fmt: skip


def rule_rows() -> list[dict]:
    """Every rule row with its id, to show that nothing changed at all."""
    return list(AlarmRule.objects.order_by("pk").values())


def feed(sensor: Sensor, t: float, value: float) -> None:
    """One ingest batch with one reading, `t` seconds after T0 (evaluates the sensor's rules)."""
    store_batch(Decoded(rows=[(sensor.pk, T0 + t, value, 0)], rejected=Counter(), kept=[]))


# The conftest `plant` fixture as a plant file, with {p1_alarms} inserted into P1_PRESS (line 20 on).
FIXTURE_PLANT = """\
version: 1
machines:
  - code: PS1
    name: Pumping station 1
    status: active
    area: Intake
    plcs:
      - name: PLC-PS1
        protocol: modbus-tcp
        address: 10.0.1.10:502
    sensors:
      - code: P1_PRESS
        name: Pump 1 pressure
        type: pressure
        unit: bar
        range_min: 0
        range_max: 16
        decimals: 2
        plc: PLC-PS1
{p1_alarms}      - code: FLOW
        name: Outlet flow
        type: flow
        unit: m³/h
  - code: BLR1
    name: Boiler 1
    status: maintenance
    area: Utilities
    sensors:
      - code: STEAM_PRESS
        name: Steam pressure
        type: pressure
        unit: bar
"""


def fixture_plant(p1_alarms: str = "") -> str:
    return FIXTURE_PLANT.format(p1_alarms=textwrap.indent(textwrap.dedent(p1_alarms), " " * 8))


# A plant disjoint from the fixture's, every sensor with explicit rules.
NEW_PLANT = """\
version: 1
machines:
  - code: COMP1
    name: Compressor 1
    sensors:
      - code: DISCH_PRESS
        name: Discharge pressure
        type: pressure
        unit: bar
        range_min: 0
        range_max: 12
        decimals: 2
        alarms:
          hi: {setpoint: 10.5, deadband: 0.25, on_delay: 10, severity: high}
          comm_loss: {setpoint: 30}
      - code: RUNNING
        name: Compressor running
        type: state
        alarms: {}
"""


# --- The file format ----------------------------------------------------------------------------


def test_alarms_are_read_with_the_rule_defaults_and_an_absent_key_is_not_an_empty_one():
    spec = parse_ok(
        """\
        machines:
          - code: M
            name: M
            sensors:
              - code: FULL
                name: Every key
                alarms:
                  hihi:
                    setpoint: 15.2
                    deadband: 0.32
                    on_delay: 15
                    off_delay: 2.5
                    severity: critical
                    latching: true
                    enabled: false
                    message: "{sensor_name} very high: {value} {unit}"
                  lo: {setpoint: -3}
                  state: {setpoint: 0}
              - code: NONE
                name: No rules
                alarms: {}
              - code: ABSENT
                name: Says nothing about alarms
        """
    )
    full, none, absent = spec.machines[0].sensors
    assert full.alarms == {
        "hihi": AlarmSpec(
            "hihi", 15.2, 0.32, 15.0, 2.5, "critical", True, False, "{sensor_name} very high: {value} {unit}"
        ),
        "lo": AlarmSpec("lo", -3.0),
        "state": AlarmSpec("state", 0.0),
    }
    lo = full.alarms["lo"]
    assert (lo.deadband, lo.on_delay, lo.off_delay, lo.severity, lo.latching, lo.enabled, lo.message) == (
        0.0, 0.0, 0.0, "medium", False, True, "",
    )  # fmt: skip
    assert (full.alarms["hihi"].lineno, lo.lineno) == (8, 17)
    assert none.alarms == {}
    assert absent.alarms is None


def test_every_alarm_problem_is_named_on_its_line():
    found = problems_of(
        sensor_with(
            """\
            alarms:
              high: {setpoint: 1}
              hi:
                setpoint: '14'
                deadband: -0.5
                on_delay: -1
                off_delay: .inf
                severity: urgent
                latching: 'yes'
                enabled: 1
                colour: red
              lo:
                deadband: 1
              lolo: {setpoint: }
              rate: {setpoint: 0}
              comm_loss: {setpoint: -10}
              state: 1
            """
        )
    )
    assert found == [
        (8, "unknown alarm kind 'high' of sensor M/S; allowed: " + ", ".join(ALARM_KINDS)),
        (10, "'setpoint' must be a finite number, got '14'"),
        (11, "'deadband' must be 0 or more, got -0.5"),
        (12, "'on_delay' must be 0 or more, got -1"),
        (13, "'off_delay' must be a finite number, got .inf"),
        (14, "'severity' 'urgent' is not one of: critical, high, medium, low"),
        (15, "'latching' must be true or false, got 'yes'"),
        (16, "'enabled' must be true or false, got 1"),
        (
            17,
            "unknown key 'colour' in alarm hi of sensor M/S; allowed: "
            "setpoint, deadband, on_delay, off_delay, severity, latching, enabled, message",
        ),
        (18, "alarm lo of sensor M/S has no 'setpoint'"),
        (20, "alarm lolo of sensor M/S has no 'setpoint'"),
        (21, "'setpoint' of a rate alarm must be more than 0 (units per minute), got 0"),
        (22, "'setpoint' of a comm_loss alarm must be more than 0 (seconds of silence), got -10"),
        (23, "alarm state of sensor M/S must be a mapping of keys to values"),
    ]


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("'{sensor_name} at {pressure}'", "'message' unknown placeholder {pressure}; use one of {machine},"),
        ("'{value:.2f} bar'", "'message' not a valid template: "),
        ("'{sensor_name'", "'message' not a valid template: "),
        ("42", "'message' must be text, got 42; quote it: '42'"),
        ("'" + "x" * 301 + "'", "'message' is longer than 300 characters"),
    ],
)
def test_a_bad_message_template_is_a_problem(message, problem):
    [(line, found)] = problems_of(sensor_with(f"alarms:\n  hi:\n    setpoint: 1\n    message: {message}\n"))
    assert line == 10
    assert found.startswith(problem), found


def test_alarms_must_be_a_mapping_and_a_bare_key_says_what_to_write():
    assert problems_of(sensor_with("alarms:\n  - hi\n")) == [
        (7, "'alarms' of sensor M/S must be a mapping of keys to values")
    ]
    assert problems_of(sensor_with("alarms:\n")) == [
        (
            7,
            "'alarms' is empty: write 'alarms: {}' for no rules, or leave the key out to keep the rules in the database",
        )
    ]


def test_the_files_value_lists_and_defaults_are_the_alarm_models():
    assert ALARM_KINDS == tuple(Kind.values)
    assert ALARM_SEVERITIES == tuple(Severity.values)
    blank = AlarmSpec(kind="hi", setpoint=1.0)
    for name in ("deadband", "on_delay", "off_delay", "severity", "latching", "enabled", "message"):
        default = AlarmRule._meta.get_field(name).get_default()
        assert getattr(blank, name) == default, name


def test_dump_writes_alarms_in_kind_order_leaving_out_defaults():
    alarms = {
        "comm_loss": AlarmSpec("comm_loss", 15.0),
        "lo": AlarmSpec("lo", 1.6, deadband=0.32, on_delay=15.0),
        "hihi": AlarmSpec("hihi", 15.2, severity="critical", latching=True, enabled=False, message="{sensor} {value}"),
    }
    spec = PlantSpec(
        machines=[
            MachineSpec(
                code="M",
                name="M",
                sensors=[
                    SensorSpec(code="A", name="A", alarms=alarms),
                    SensorSpec(code="B", name="B", alarms={}),
                    SensorSpec(code="C", name="C"),
                ],
            )
        ]
    )
    text = dump_plant(spec)
    block = textwrap.dedent(
        """\
        alarms:
          hihi:
            setpoint: 15.2
            severity: critical
            latching: true
            enabled: false
            message: '{sensor} {value}'
          lo:
            setpoint: 1.6
            deadband: 0.32
            on_delay: 15
          comm_loss:
            setpoint: 15
        """
    )
    assert "  - code: A\n    name: A\n" in text
    assert textwrap.indent(block, "    ") + "  - code: B\n" in text
    assert (
        "  - code: B\n    name: B\n    type: other\n    decimals: 1\n    expected_interval: 5\n    alarms: {}\n" in text
    )
    assert text.count("alarms") == 2  # the sensor without a mapping says nothing about alarms
    assert parse_plant(text) == (spec, [])


numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
not_negative = st.floats(min_value=0, allow_infinity=False)
templates = st.sampled_from(
    ["", "{sensor_name} {value}", "on", "'quoted'", "{{literal}}", "°C: {unit}", "# not a comment"]
)


@st.composite
def alarm_maps(draw) -> dict[str, AlarmSpec]:
    alarms = {}
    for kind in draw(st.lists(st.sampled_from(ALARM_KINDS), unique=True)):
        setpoint = draw(st.floats(min_value=1e-9, max_value=1e9) if kind in ("rate", "comm_loss") else numbers)
        alarms[kind] = AlarmSpec(
            kind,
            setpoint,
            deadband=draw(not_negative),
            on_delay=draw(not_negative),
            off_delay=draw(not_negative),
            severity=draw(st.sampled_from(ALARM_SEVERITIES)),
            latching=draw(st.booleans()),
            enabled=draw(st.booleans()),
            message=draw(templates),
        )
    return alarms


@settings(
    max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(st.none() | alarm_maps(), min_size=1, max_size=3))
def test_parse_of_dump_gives_back_the_same_alarms(sensor_alarms):
    spec = PlantSpec(
        machines=[
            MachineSpec(
                code="M",
                name="M",
                sensors=[SensorSpec(code=f"S{i}", name="S", alarms=a) for i, a in enumerate(sensor_alarms)],
            )
        ]
    )
    text = dump_plant(spec)
    back, problems = parse_plant(text)
    assert problems == []
    assert back == spec
    assert dump_plant(back) == text


# --- import: create, update in place, defaults, keep and prune ------------------------------------


def test_import_creates_the_files_rules_and_updates_them_in_place(db, write):
    path = write(NEW_PLANT)
    run = manage("import", path)
    assert run.out.splitlines() == [
        "+ machine COMP1",
        "+ sensor COMP1/DISCH_PRESS",
        "+ alarm COMP1/DISCH_PRESS hi",
        "+ alarm COMP1/DISCH_PRESS comm_loss",
        "+ sensor COMP1/RUNNING",
        f"{path}: changed 5 items",
    ]
    # The file's rules, not the defaults; `alarms: {}` means none.
    assert rules() == {
        ("COMP1/DISCH_PRESS", "hi"): (10.5, 0.25, 10.0, 0.0, "high", False, True, ""),
        ("COMP1/DISCH_PRESS", "comm_loss"): (30.0, 0.0, 0.0, 0.0, "medium", False, True, ""),
    }
    hi = AlarmRule.objects.get(kind="hi")

    changed = NEW_PLANT.replace(
        "setpoint: 10.5, deadband: 0.25, on_delay: 10, severity: high",
        "setpoint: 11, deadband: 0.25, on_delay: 10, severity: critical, latching: true",
    )
    path = write(changed, "changed.yaml")
    run = manage("import", path)
    assert run.out.splitlines() == [
        "~ alarm COMP1/DISCH_PRESS hi: setpoint: 10.5 -> 11.0, severity: 'high' -> 'critical', latching: False -> True",
        f"{path}: changed 1 item",
    ]
    after = AlarmRule.objects.get(pk=hi.pk)  # the same row: its history stays attached
    assert (after.setpoint, after.severity, after.latching) == (11.0, "critical", True)
    assert manage("import", path).out == f"{path}: changed 0 items\n"


def test_a_rule_update_leaves_the_live_state_and_its_alarm_alone(plant, write):
    sensor = plant["pressure"]
    rule = AlarmRule.objects.create(sensor=sensor, kind="hi", setpoint=10.0, severity="high")
    feed(sensor, 1, 12.0)  # raises an alarm the real way
    alarm = Alarm.objects.get(rule=rule)
    state_before = RuleState.objects.filter(pk=rule.pk).values().get()
    alarm_before = Alarm.objects.filter(pk=alarm.pk).values().get()
    assert (alarm.state, state_before["active"], state_before["open_alarm_id"]) == ("unack", True, alarm.pk)

    path = write(fixture_plant("alarms:\n  hi: {setpoint: 11, severity: high}\n"))
    assert manage("import", path).out.splitlines() == [
        "~ alarm PS1/P1_PRESS hi: setpoint: 10.0 -> 11.0",
        f"{path}: changed 1 item",
    ]
    assert AlarmRule.objects.get(pk=rule.pk).setpoint == 11.0
    assert RuleState.objects.filter(pk=rule.pk).values().get() == state_before
    assert Alarm.objects.filter(pk=alarm.pk).values().get() == alarm_before  # still open, same setpoint


def test_a_sensor_the_import_creates_without_alarms_gets_the_default_rules(db, write):
    path = write(
        """\
        machines:
          - code: PS2
            name: Pumping station 2
            sensors:
              - code: P1_PRESS
                name: Pump 1 pressure
                type: pressure
                unit: bar
                range_min: 0
                range_max: 16
                decimals: 2
                expected_interval: 5
              - code: FLOW
                name: Flow without a range
                type: flow
                expected_interval: 2
              - code: RUN
                name: Running
                type: state
                expected_interval: 60
        """
    )
    run = manage("import", path)
    # The defaults come with the new sensor; they are not changes of their own.
    assert run.out.splitlines() == [
        "+ machine PS2",
        "+ sensor PS2/P1_PRESS",
        "+ sensor PS2/FLOW",
        "+ sensor PS2/RUN",
        f"{path}: changed 4 items",
    ]
    assert rules() == {
        # pressure, 0..16: 95 % / 85 % / 10 % of the span, deadband 2 % of it, on-delay 15 s
        ("PS2/P1_PRESS", "hihi"): (15.2, 0.32, 15.0, 0.0, "critical", False, True, ""),
        ("PS2/P1_PRESS", "hi"): (13.6, 0.32, 15.0, 0.0, "high", False, True, ""),
        ("PS2/P1_PRESS", "lo"): (1.6, 0.32, 15.0, 0.0, "medium", False, True, ""),
        # communication loss: three expected intervals, at least 10 s
        ("PS2/P1_PRESS", "comm_loss"): (15.0, 0.0, 0.0, 0.0, "medium", False, True, ""),
        # no range, no limits; a state sensor gets no limit either
        ("PS2/FLOW", "comm_loss"): (10.0, 0.0, 0.0, 0.0, "medium", False, True, ""),
        ("PS2/RUN", "comm_loss"): (180.0, 0.0, 0.0, 0.0, "medium", False, True, ""),
    }
    # Importing the same file again leaves the defaults as they are (and an engineer's edits too).
    AlarmRule.objects.filter(kind="hi").update(setpoint=14.0)
    assert manage("import", path).out == f"{path}: changed 0 items\n"
    assert AlarmRule.objects.get(kind="hi").setpoint == 14.0


def test_an_existing_sensor_without_alarms_keeps_its_rules_even_with_prune(plant, write):
    AlarmRule.objects.create(sensor=plant["pressure"], kind="hi", setpoint=12.0, severity="high")
    AlarmRule.objects.create(sensor=plant["steam"], kind="comm_loss", setpoint=60.0)
    before = rule_rows()
    path = write(fixture_plant())
    assert manage("import", path).out == f"{path}: changed 0 items\n"
    assert manage("import", "--prune", path).out == f"{path}: changed 0 items\n"
    assert rule_rows() == before
    # The existing sensors got no defaults either: FLOW still has no rule.
    assert not AlarmRule.objects.filter(sensor=plant["flow"]).exists()


def test_kinds_not_in_the_file_are_kept_and_reported_and_prune_deletes_them(plant, write):
    sensor = plant["pressure"]
    hi = AlarmRule.objects.create(sensor=sensor, kind="hi", setpoint=12.0, severity="high")
    lo = AlarmRule.objects.create(sensor=sensor, kind="lo", setpoint=1.0)
    AlarmRule.objects.create(sensor=sensor, kind="comm_loss", setpoint=15.0)
    feed(sensor, 1, 0.5)  # the lo rule raises an alarm
    lo_alarm = Alarm.objects.get(rule=lo)

    path = write(fixture_plant("alarms:\n  hi: {setpoint: 12, severity: high}\n"))
    kept = [
        "! alarm PS1/P1_PRESS lo is only in the database (kept; --prune deletes it)",
        "! alarm PS1/P1_PRESS comm_loss is only in the database (kept; --prune deletes it)",
    ]
    assert manage("import", path).out.splitlines() == [*kept, f"{path}: changed 0 items"]
    assert set(AlarmRule.objects.values_list("kind", flat=True)) == {"hi", "lo", "comm_loss"}

    dry = manage("import", "--prune", "--dry-run", path)
    assert dry.out.splitlines() == [
        "- alarm PS1/P1_PRESS lo",
        "- alarm PS1/P1_PRESS comm_loss",
        f"{path}: would change 2 items",
    ]
    assert AlarmRule.objects.count() == 3

    pruned = manage("import", "--prune", path)
    assert pruned.out.splitlines()[-1] == f"{path}: changed 2 items"
    assert list(AlarmRule.objects.values_list("pk", flat=True)) == [hi.pk]
    # The deleted rule's live state goes with it; its alarm stays in the history.
    assert not RuleState.objects.filter(pk=lo.pk).exists()
    lo_alarm.refresh_from_db()
    assert (lo_alarm.rule_id, lo_alarm.kind, lo_alarm.setpoint) == (None, "lo", 1.0)

    # `alarms: {}` means no rules: kept without --prune, deleted with it.
    empty = write(fixture_plant("alarms: {}\n"), "empty.yaml")
    assert manage("import", empty).out.splitlines() == [
        "! alarm PS1/P1_PRESS hi is only in the database (kept; --prune deletes it)",
        f"{empty}: changed 0 items",
    ]
    assert manage("import", "--prune", empty).out.splitlines() == [
        "- alarm PS1/P1_PRESS hi",
        f"{empty}: changed 1 item",
    ]
    assert not AlarmRule.objects.exists()


def test_a_file_with_a_bad_alarm_is_rejected_whole(plant, write):
    AlarmRule.objects.create(sensor=plant["pressure"], kind="hi", setpoint=12.0)
    text = fixture_plant("alarms:\n  hi: {setpoint: 13}\n  comm_loss: {setpoint: 0}\n")
    path = write(text.replace("name: Pumping station 1", "name: Renamed") + NEW_PLANT.split("machines:\n", 1)[1])
    before = rule_rows()
    error, err = plant_fails("import", path)
    assert err == f"{path}:22: 'setpoint' of a comm_loss alarm must be more than 0 (seconds of silence), got 0\n"
    assert str(error) == f"{path} rejected: 1 problem; nothing changed."
    assert rule_rows() == before
    assert Machine.objects.get(code="PS1").name == "Pumping station 1"
    assert not Machine.objects.filter(code="COMP1").exists()


# --- dry run and diff ---------------------------------------------------------------------------


def test_dry_run_and_diff_list_rule_changes_and_change_nothing(plant, write):
    AlarmRule.objects.create(sensor=plant["pressure"], kind="hi", setpoint=14.0, severity="high")
    AlarmRule.objects.create(sensor=plant["pressure"], kind="lo", setpoint=1.0)
    path = write(
        fixture_plant(
            """\
            alarms:
              hi: {setpoint: 15, severity: high, message: "{sensor_name} high: {value} {unit}"}
              lo: {setpoint: 1}
              comm_loss: {setpoint: 20}
            """
        )
    )
    expected = [
        "~ alarm PS1/P1_PRESS hi: setpoint: 14.0 -> 15.0, message: '' -> '{sensor_name} high: {value} {unit}'",
        "+ alarm PS1/P1_PRESS comm_loss",
    ]
    before = rule_rows()
    dry = manage("import", "--dry-run", path)
    assert dry.out.splitlines() == [*expected, f"{path}: would change 2 items"]
    assert rule_rows() == before

    diff = manage("diff", path)
    assert (diff.code, diff.out.splitlines()) == (1, expected)
    assert rule_rows() == before

    assert manage("import", path).out.splitlines() == [*expected, f"{path}: changed 2 items"]
    assert manage("diff", path).out == f"{path}: no differences\n"


# --- export and the round trip ---------------------------------------------------------------------


def test_export_writes_every_sensors_rules_and_the_round_trip_changes_nothing(plant, write, tmp_path):
    sensor = plant["pressure"]
    AlarmRule.objects.create(
        sensor=sensor, kind="hihi", setpoint=15.2, deadband=0.32, on_delay=15, off_delay=2.5, severity="critical",
        latching=True, message="{sensor_name} very high: {value} {unit}",
    )  # fmt: skip
    AlarmRule.objects.create(sensor=sensor, kind="comm_loss", setpoint=15.0, enabled=False)
    AlarmRule.objects.create(sensor=sensor, kind="lo", setpoint=1.6, deadband=0.32, on_delay=15)
    manage("import", write(NEW_PLANT, "new.yaml"))  # rules created by an import, and a sensor with none

    first = tmp_path / "first.yaml"
    manage("export", str(first))
    text = first.read_text(encoding="utf-8")
    assert (
        textwrap.indent(
            textwrap.dedent(
                """\
                plc: PLC-PS1
                alarms:
                  hihi:
                    setpoint: 15.2
                    deadband: 0.32
                    on_delay: 15
                    off_delay: 2.5
                    severity: critical
                    latching: true
                    message: '{sensor_name} very high: {value} {unit}'
                  lo:
                    setpoint: 1.6
                    deadband: 0.32
                    on_delay: 15
                  comm_loss:
                    setpoint: 15
                    enabled: false
                """
            ),
            "    ",
        )
        in text
    )
    # Every sensor has an explicit mapping, `{}` for none (FLOW, STEAM_PRESS, RUNNING).
    assert text.count("alarms: {}\n") == 3
    assert text.count("alarms:") == 5

    diff = manage("diff", str(first))
    assert (diff.code, diff.out) == (0, f"{first}: no differences\n")
    before = rule_rows()
    assert manage("import", "--prune", str(first)).out == f"{first}: changed 0 items\n"
    assert rule_rows() == before
    second = tmp_path / "second.yaml"
    manage("export", str(second))
    assert second.read_bytes() == first.read_bytes()


def test_the_demo_plant_imports_with_default_rules_and_round_trips(db, tmp_path):
    loaded = manage("import", str(DEMO))
    assert loaded.out.splitlines()[-1] == f"{DEMO}: changed 148 items"  # the rules come with their sensors
    assert Sensor.objects.count() == AlarmRule.objects.filter(kind="comm_loss").count() == 126
    # PS1's discharge header: pressure 0..10 bar, 2 decimals, a reading every second.
    assert rules(sensor__machine__code="PS1", sensor__code="HEADER_PRESS") == {
        ("PS1/HEADER_PRESS", "hihi"): (9.5, 0.2, 15.0, 0.0, "critical", False, True, ""),
        ("PS1/HEADER_PRESS", "hi"): (8.5, 0.2, 15.0, 0.0, "high", False, True, ""),
        ("PS1/HEADER_PRESS", "lo"): (1.0, 0.2, 15.0, 0.0, "medium", False, True, ""),
        ("PS1/HEADER_PRESS", "comm_loss"): (10.0, 0.0, 0.0, 0.0, "medium", False, True, ""),
    }
    assert set(rules(sensor__machine__code="PS1", sensor__code="P1_RUN")) == {("PS1/P1_RUN", "comm_loss")}

    # The demo file says nothing about alarms: diffing it against its own import finds nothing.
    assert manage("diff", str(DEMO)).out == f"{DEMO}: no differences\n"
    first = tmp_path / "first.yaml"
    manage("export", str(first))
    before = rule_rows()
    assert manage("import", str(first)).out == f"{first}: changed 0 items\n"
    assert rule_rows() == before
    second = tmp_path / "second.yaml"
    manage("export", str(second))
    assert second.read_bytes() == first.read_bytes()
