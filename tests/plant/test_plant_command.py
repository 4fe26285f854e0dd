"""`manage.py plant validate|import|export|diff` against the real database.

Uses the `plant` fixture of tests/conftest.py where a plant must already exist: machines PS1
(PLC-PS1; sensors P1_PRESS on PLC-PS1 and FLOW) and BLR1 (sensor STEAM_PRESS).
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.plant.models import PLC, Machine, Sensor
from apps.telemetry.models import Reading

DEMO = Path(__file__).resolve().parents[2] / "config" / "plant.demo.yaml"


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
    """Run a `plant` command that must be refused; return the error and what it wrote to stderr."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("plant", *args, stdout=out, stderr=err)
    return caught.value, err.getvalue()


@pytest.fixture
def write(tmp_path):
    """Write a dedented plant file and return its path as a string."""

    def write(text: str, name: str = "plant.yaml") -> str:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return str(path)

    return write


def counts() -> tuple[int, int, int]:
    return Machine.objects.count(), PLC.objects.count(), Sensor.objects.count()


def snapshot() -> dict:
    """Every row of the plant with the fields a file controls, to show that nothing changed."""
    return {
        "machines": list(Machine.objects.order_by("pk").values("pk", "code", "name", "status", "area", "line")),
        "plcs": list(PLC.objects.order_by("pk").values("pk", "machine_id", "name", "protocol", "address")),
        "sensors": list(
            Sensor.objects.order_by("pk").values(
                "pk", "machine_id", "plc_id", "code", "name", "type", "unit", "range_min", "range_max", "mqtt_topic"
            )
        ),
    }


# The conftest `plant` fixture, written as a plant file: importing it changes nothing.
FIXTURE_PLANT = textwrap.dedent(
    """\
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
            expected_interval: 5
            plc: PLC-PS1
          - code: FLOW
            name: Outlet flow
            type: flow
            unit: m³/h
            decimals: 1
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
)

# A plant disjoint from the fixture's: one machine, one PLC, two sensors (one on a custom topic).
NEW_PLANT = textwrap.dedent(
    """\
    version: 1
    machines:
      - code: COMP1
        name: Compressor 1
        area: Utilities
        plcs:
          - name: PLC-COMP1
            protocol: opc-ua
            address: opc.tcp://10.0.5.1:4840
        sensors:
          - code: DISCH_PRESS
            name: Discharge pressure
            type: pressure
            unit: bar
            range_min: 0
            range_max: 12
            decimals: 2
            plc: PLC-COMP1
          - code: AIR_TEMP
            name: Air temperature
            type: temperature
            unit: °C
            mqtt_topic: site/utilities/comp1/air-temp
    """
)
# NEW_PLANT's machines, to append to FIXTURE_PLANT.
NEW_MACHINES = NEW_PLANT.split("machines:\n", 1)[1]


# --- validate -----------------------------------------------------------------------------------


def test_validate_a_good_file(db, write):
    path = write(NEW_PLANT)
    run = manage("validate", path)
    assert run.out == f"{path}: valid (1 machines, 2 sensors)\n"
    assert counts() == (0, 0, 0)  # validating writes nothing


def test_validate_the_demo_plant():
    # Pure validation needs no database.
    assert manage("validate", str(DEMO)).out == f"{DEMO}: valid (9 machines, 126 sensors)\n"


def test_validate_names_every_bad_line_as_file_line_reason(write):
    path = write(
        """\
        version: 1
        machines:
          - code: PS 1
            name: Pump
            sensors:
              - code: 12
                name: Sensor
                type: temprature
                decimals: 7
              - code: S2
                name: Sensor 2
                plc: PLC-X
                mqtt_topic: plant/+
        """
    )
    error, err = plant_fails("validate", path)
    lines = err.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [f"{path}:{n}" for n in (3, 6, 8, 9, 12, 13)]
    assert lines[0].startswith(f"{path}:3: 'code' 'PS 1' is not a valid code")
    assert lines[1] == f"{path}:6: 'code' must be text, got 12; quote it: '12'"
    assert str(error) == f"{path} rejected: 6 problems; nothing changed."


def test_validate_a_yaml_syntax_error(write):
    path = write("version: 1\nmachines:\n  - code: A\n    name: [unclosed, list\n  - code: B\n")
    error, err = plant_fails("validate", path)
    [line] = err.splitlines()
    assert line.startswith(f"{path}:5: YAML syntax error: ")
    assert str(error) == f"{path} rejected: 1 problem; nothing changed."


def test_validate_a_missing_or_undecodable_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    error, err = plant_fails("validate", str(missing))
    assert err.startswith(f"{missing}:1: cannot read the file: ")
    assert "nothing changed" in str(error)

    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("machines:\n  - code: M\n    name: Température\n".encode("latin-1"))
    _, err = plant_fails("validate", str(latin1))
    assert err.startswith(f"{latin1}:1: cannot read the file: ")


# --- A bad file is rejected whole ----------------------------------------------------------------


def test_import_of_a_file_with_one_bad_sensor_changes_nothing(plant, write):
    path = write(
        """\
        version: 1
        machines:
          - code: NEW1
            name: A good new machine
            plcs:
              - name: PLC-NEW1
            sensors:
              - code: GOOD
                name: A good sensor
                plc: PLC-NEW1
          - code: PS1
            name: Renamed pumping station
            area: Somewhere else
            sensors:
              - code: P1_PRESS
                name: Pump 1 pressure
                range_min: 16
                range_max: 0
        """
    )
    before, rows = counts(), snapshot()
    error, err = plant_fails("import", path)
    assert err == f"{path}:18: 'range_max' 0 must be above 'range_min' 16\n"
    assert str(error) == f"{path} rejected: 1 problem; nothing changed."
    assert counts() == before == (2, 1, 3)
    assert snapshot() == rows
    assert not Machine.objects.filter(code="NEW1").exists()
    pump = Machine.objects.get(code="PS1")
    assert (pump.name, pump.area) == ("Pumping station 1", "Intake")


def test_import_with_dry_run_of_a_bad_file_is_rejected_too(plant, write):
    path = write("machines:\n  - code: NEW1\n    name: New\n  - code: BAD/1\n    name: Bad\n")
    before = snapshot()
    _, err = plant_fails("import", "--dry-run", path)
    assert err.startswith(f"{path}:4: 'code' 'BAD/1' is not a valid code")
    assert snapshot() == before


def test_a_topic_of_a_sensor_of_a_machine_not_in_the_file_is_rejected_with_the_line(plant, write):
    """BLR1/STEAM_PRESS is not in the file; the file gives its topic to a new sensor of PS1."""
    path = write(
        """\
        machines:
          - code: PS1
            name: Pumping station 1
            sensors:
              - code: NEW_SENSOR
                name: New sensor
                mqtt_topic: sensors/BLR1/STEAM_PRESS/value
          - code: NEW1
            name: A good new machine
        """
    )
    before = snapshot()
    error, err = plant_fails("import", path)
    assert err == f"{path}:5: MQTT topic 'sensors/BLR1/STEAM_PRESS/value' belongs to sensor BLR1/STEAM_PRESS\n"
    assert str(error) == f"{path} rejected: 1 problem; nothing changed."
    assert snapshot() == before
    # diff refuses it the same way.
    _, err = plant_fails("diff", path)
    assert err.startswith(f"{path}:5: MQTT topic 'sensors/BLR1/STEAM_PRESS/value' belongs to")


def test_a_default_topic_taken_by_a_custom_topic_in_the_database_is_rejected(plant, write):
    """The file's sensor PS1/LEVEL would get sensors/PS1/LEVEL/value, which BLR1/STEAM_PRESS already uses."""
    steam = plant["steam"]
    steam.mqtt_topic = "sensors/PS1/LEVEL/value"
    steam.save()
    path = write(
        """\
        machines:
          - code: PS1
            name: Pumping station 1
            sensors:
              - code: FLOW
                name: Outlet flow
              - code: LEVEL
                name: Level
        """
    )
    before = snapshot()
    _, err = plant_fails("import", path)
    assert err == f"{path}:7: MQTT topic 'sensors/PS1/LEVEL/value' belongs to sensor BLR1/STEAM_PRESS\n"
    assert snapshot() == before


def test_a_nul_character_is_a_problem_on_its_line_not_a_database_crash(db, write):
    path = write('machines:\n  - code: M1\n    name: "Pump\\0"\n')
    _, err = plant_fails("import", path)
    assert err.startswith(f"{path}:3: ")
    assert counts() == (0, 0, 0)


def test_a_custom_topic_can_move_to_another_sensor_in_the_file(plant, write):
    flow = plant["flow"]
    flow.mqtt_topic = "plant/flow"
    flow.save()
    path = write(
        """\
        machines:
          - code: PS1
            name: Pumping station 1
            area: Intake
            sensors:
              - code: FLOW
                name: Outlet flow
              - code: LEVEL
                name: Level
                mqtt_topic: plant/flow
        """
    )
    manage("import", path)
    assert Sensor.objects.get(machine__code="PS1", code="LEVEL").mqtt_topic == "plant/flow"
    assert Sensor.objects.get(pk=flow.pk).mqtt_topic == "sensors/PS1/FLOW/value"


# --- import: create, idempotent, update in place, dry run, keep and prune ---------------------------


def test_import_creates_the_plant_and_a_second_import_changes_nothing(db, write):
    path = write(NEW_PLANT)
    run = manage("import", path)
    assert run.out.splitlines() == [
        "+ machine COMP1",
        "+ plc COMP1/PLC-COMP1",
        "+ sensor COMP1/DISCH_PRESS",
        "+ sensor COMP1/AIR_TEMP",
        f"{path}: changed 4 items",
    ]
    machine = Machine.objects.get(code="COMP1")
    assert (machine.name, machine.status, machine.area, machine.line) == ("Compressor 1", "active", "Utilities", "")
    plc = PLC.objects.get(machine=machine, name="PLC-COMP1")
    assert (plc.protocol, plc.address) == ("opc-ua", "opc.tcp://10.0.5.1:4840")
    press = Sensor.objects.get(machine=machine, code="DISCH_PRESS")
    assert (press.type, press.unit, press.range_min, press.range_max, press.decimals, press.expected_interval) == (
        "pressure",
        "bar",
        0.0,
        12.0,
        2,
        5,
    )
    assert press.plc == plc
    assert press.mqtt_topic == "sensors/COMP1/DISCH_PRESS/value"
    air = Sensor.objects.get(machine=machine, code="AIR_TEMP")
    assert (air.unit, air.plc, air.mqtt_topic) == ("°C", None, "site/utilities/comp1/air-temp")

    rows = snapshot()
    again = manage("import", path)
    assert again.out == f"{path}: changed 0 items\n"
    assert snapshot() == rows


def test_import_of_the_fixture_plant_as_a_file_changes_nothing(plant, write):
    path = write(FIXTURE_PLANT)
    rows = snapshot()
    assert manage("import", path).out == f"{path}: changed 0 items\n"
    assert snapshot() == rows


def test_changing_a_field_updates_the_row_in_place_and_readings_stay_attached(plant, write):
    pressure = plant["pressure"]
    Reading.objects.create(sensor=pressure, time=timezone.now(), value=4.2)
    text = FIXTURE_PLANT.replace("unit: bar\n        range_min: 0", "unit: kPa\n        range_min: 0")
    text = text.replace("name: Pumping station 1", "name: Raw-water pumps")
    assert text.count("kPa") == 1
    path = write(text)
    run = manage("import", path)
    assert run.out.splitlines() == [
        "~ machine PS1: name: 'Pumping station 1' -> 'Raw-water pumps'",
        "~ sensor PS1/P1_PRESS: unit: 'bar' -> 'kPa'",
        f"{path}: changed 2 items",
    ]
    after = Sensor.objects.get(machine__code="PS1", code="P1_PRESS")
    assert after.pk == pressure.pk
    assert after.unit == "kPa"
    assert Machine.objects.get(code="PS1").pk == plant["pump"].pk
    assert Reading.objects.filter(sensor_id=after.pk).count() == 1
    assert counts() == (2, 1, 3)


def test_import_moves_a_sensor_between_plcs_and_custom_and_default_topics(plant, write):
    text = FIXTURE_PLANT.replace("        plc: PLC-PS1\n", "").replace(
        "        decimals: 1\n", "        decimals: 1\n        plc: PLC-PS1\n        mqtt_topic: plant/ps1/flow\n"
    )
    path = write(text)
    run = manage("import", path)
    assert run.out.splitlines() == [
        "~ sensor PS1/P1_PRESS: plc: 'PLC-PS1' -> None",
        "~ sensor PS1/FLOW: mqtt_topic: 'sensors/PS1/FLOW/value' -> 'plant/ps1/flow', plc: None -> 'PLC-PS1'",
        f"{path}: changed 2 items",
    ]
    assert Sensor.objects.get(pk=plant["pressure"].pk).plc is None
    flow = Sensor.objects.get(pk=plant["flow"].pk)
    assert (flow.plc_id, flow.mqtt_topic) == (plant["plc"].pk, "plant/ps1/flow")

    # Leaving mqtt_topic out again puts the sensor back on its default topic.
    back = manage("import", write(FIXTURE_PLANT, "back.yaml"))
    assert "~ sensor PS1/FLOW: mqtt_topic: 'plant/ps1/flow' -> 'sensors/PS1/FLOW/value', plc: 'PLC-PS1' -> None" in (
        back.out
    )
    assert Sensor.objects.get(pk=plant["flow"].pk).mqtt_topic == "sensors/PS1/FLOW/value"


def test_dry_run_prints_the_changes_and_changes_nothing(plant, write):
    text = FIXTURE_PLANT.replace("status: maintenance", "status: active") + NEW_MACHINES
    path = write(text)
    rows = snapshot()
    run = manage("import", "--dry-run", path)
    assert run.out.splitlines() == [
        "~ machine BLR1: status: 'maintenance' -> 'active'",
        "+ machine COMP1",
        "+ plc COMP1/PLC-COMP1",
        "+ sensor COMP1/DISCH_PRESS",
        "+ sensor COMP1/AIR_TEMP",
        f"{path}: would change 5 items",
    ]
    assert snapshot() == rows
    # The same import for real does what the dry run said.
    assert manage("import", path).out.splitlines()[-1] == f"{path}: changed 5 items"
    assert Machine.objects.get(code="BLR1").status == "active"
    assert counts() == (3, 2, 5)


def test_items_only_in_the_database_are_kept_and_reported_and_prune_deletes_them(plant, write):
    # The file has PS1 without its PLC and without FLOW, and no BLR1.
    path = write(
        """\
        machines:
          - code: PS1
            name: Pumping station 1
            area: Intake
            sensors:
              - code: P1_PRESS
                name: Pump 1 pressure
                type: pressure
                unit: bar
                range_min: 0
                range_max: 16
                decimals: 2
        """
    )
    kept = [
        "~ sensor PS1/P1_PRESS: plc: 'PLC-PS1' -> None",
        "! sensor PS1/FLOW is only in the database (kept; --prune deletes it)",
        "! plc PS1/PLC-PS1 is only in the database (kept; --prune deletes it)",
        "! machine BLR1 is only in the database (kept; --prune deletes it)",
    ]
    run = manage("import", path)
    assert run.out.splitlines() == [*kept, f"{path}: changed 1 item"]
    assert counts() == (2, 1, 3)
    assert Sensor.objects.filter(pk=plant["flow"].pk).exists()
    assert Machine.objects.filter(code="BLR1").exists()

    # Kept items are reported again on every import, but are not changes.
    assert manage("import", path).out.splitlines() == [*kept[1:], f"{path}: changed 0 items"]

    dry = manage("import", "--prune", "--dry-run", path)
    assert dry.out.splitlines() == [
        "- sensor PS1/FLOW",
        "- plc PS1/PLC-PS1",
        "- machine BLR1",
        f"{path}: would change 3 items",
    ]
    assert counts() == (2, 1, 3)

    pruned = manage("import", "--prune", path)
    assert pruned.out.splitlines() == [
        "- sensor PS1/FLOW",
        "- plc PS1/PLC-PS1",
        "- machine BLR1",
        f"{path}: changed 3 items",
    ]
    assert counts() == (1, 0, 1)
    assert list(Sensor.objects.values_list("pk", flat=True)) == [plant["pressure"].pk]
    assert manage("import", "--prune", path).out == f"{path}: changed 0 items\n"


def test_prune_with_an_empty_plant_file_deletes_everything(plant, write):
    path = write("version: 1\nmachines: []\n")
    run = manage("import", path)
    assert run.out.splitlines() == [
        "! machine BLR1 is only in the database (kept; --prune deletes it)",
        "! machine PS1 is only in the database (kept; --prune deletes it)",
        f"{path}: changed 0 items",
    ]
    assert counts() == (2, 1, 3)
    manage("import", "--prune", path)
    assert counts() == (0, 0, 0)


# --- diff ---------------------------------------------------------------------------------------


def test_diff_prints_no_differences_when_the_database_matches(plant, write):
    path = write(FIXTURE_PLANT)
    run = manage("diff", path)
    assert (run.code, run.out) == (0, f"{path}: no differences\n")


def test_diff_exits_1_and_prints_the_differences_and_changes_nothing(plant, write):
    text = FIXTURE_PLANT.replace("range_max: 16", "range_max: 25").replace("area: Utilities", "area: Boiler house")
    path = write(text + NEW_MACHINES)
    rows = snapshot()
    run = manage("diff", path)
    assert run.code == 1
    assert run.out.splitlines() == [
        "~ sensor PS1/P1_PRESS: range_max: 16.0 -> 25.0",
        "~ machine BLR1: area: 'Utilities' -> 'Boiler house'",
        "+ machine COMP1",
        "+ plc COMP1/PLC-COMP1",
        "+ sensor COMP1/DISCH_PRESS",
        "+ sensor COMP1/AIR_TEMP",
    ]
    assert snapshot() == rows


def test_diff_of_items_only_in_the_database_and_with_prune(plant, write):
    path = write(FIXTURE_PLANT.split("  - code: BLR1")[0])
    run = manage("diff", path)
    assert (run.code, run.out) == (1, "! machine BLR1 is only in the database (kept; --prune deletes it)\n")
    pruned = manage("diff", "--prune", path)
    assert (pruned.code, pruned.out) == (1, "- machine BLR1\n")
    assert Machine.objects.filter(code="BLR1").exists()


def test_diff_of_a_bad_file_is_refused(plant, write):
    path = write("machines:\n  - code: PS1\n")
    _, err = plant_fails("diff", path)
    assert err == f"{path}:2: machine PS1 has no 'name'\n"


# --- export and the round trip ---------------------------------------------------------------------


def test_export_of_the_fixture_plant(plant, tmp_path):
    run = manage("export")
    assert run.out.startswith("# ScadaPRO plant, exported from the database.\n# Load it with: ")
    assert "version: 1\nmachines:\n- code: BLR1\n" in run.out  # machines in code order
    assert "unit: m³/h" in run.out
    assert "mqtt_topic" not in run.out  # every fixture sensor is on its default topic

    target = tmp_path / "out.yaml"
    to_file = manage("export", str(target))
    assert (to_file.out, to_file.err) == ("", f"plant exported to {target}\n")
    assert target.read_text(encoding="utf-8") == run.out


def test_export_keeps_a_custom_topic(plant):
    flow = plant["flow"]
    flow.mqtt_topic = "site/ps1/flow"
    flow.save()
    assert "mqtt_topic: site/ps1/flow\n" in manage("export").out


def test_export_of_an_empty_database(db):
    out = manage("export").out
    assert out.endswith("version: 1\nmachines: []\n")


def test_demo_plant_export_then_import_changes_nothing(db, tmp_path):
    loaded = manage("import", str(DEMO))
    assert loaded.out.splitlines()[-1] == f"{DEMO}: changed 148 items"  # 9 machines, 13 PLCs, 126 sensors
    assert counts() == (9, 13, 126)

    first = tmp_path / "first.yaml"
    manage("export", str(first))
    diff = manage("diff", str(first))
    assert (diff.code, diff.out) == (0, f"{first}: no differences\n")

    rows = snapshot()
    again = manage("import", str(first))
    assert again.out == f"{first}: changed 0 items\n"
    assert snapshot() == rows

    second = tmp_path / "second.yaml"
    manage("export", str(second))
    assert second.read_bytes() == first.read_bytes()
    # And the export still describes the demo file: diffing the original changes nothing either.
    assert manage("diff", str(DEMO)).out == f"{DEMO}: no differences\n"


def test_export_then_import_keeps_tricky_text_and_custom_topics(db, write, tmp_path):
    path = write(
        """\
        machines:
          - code: 'on'
            name: 'yes'
            area: '1.5'
            line: 'null'
            description: "0x10"
            plcs:
              - name: 'off'
                address: '007'
            sensors:
              - code: '1e3'
                name: 'true'
                unit: m³/h
                plc: 'off'
                mqtt_topic: 'plant/no/12:30'
        """
    )
    assert manage("import", path).out.splitlines()[-1] == f"{path}: changed 3 items"
    machine = Machine.objects.get(code="on")
    assert (machine.name, machine.area, machine.line, machine.description) == ("yes", "1.5", "null", "0x10")
    exported = tmp_path / "export.yaml"
    manage("export", str(exported))
    assert manage("diff", str(exported)).code == 0
    assert manage("import", str(exported)).out == f"{exported}: changed 0 items\n"


# --- Renaming a machine in the database -----------------------------------------------------------


def test_changing_a_machine_code_moves_default_topics_and_leaves_custom_topics(plant):
    flow = plant["flow"]
    flow.mqtt_topic = "site/intake/flow"
    flow.save()
    pump = plant["pump"]
    pump.code = "PS9"
    pump.save()
    pressure = Sensor.objects.get(pk=plant["pressure"].pk)
    assert pressure.mqtt_topic == "sensors/PS9/P1_PRESS/value"
    assert Sensor.objects.get(pk=flow.pk).mqtt_topic == "site/intake/flow"
    assert Sensor.objects.get(pk=plant["steam"].pk).mqtt_topic == "sensors/BLR1/STEAM_PRESS/value"

    # Saving without a code change leaves topics alone.
    pump.name = "Renamed"
    pump.save()
    assert Sensor.objects.get(pk=pressure.pk).mqtt_topic == "sensors/PS9/P1_PRESS/value"


def test_a_renamed_machine_exports_with_default_topics(plant):
    pump = plant["pump"]
    pump.code = "PS9"
    pump.save()
    out = manage("export").out
    assert "- code: PS9\n" in out
    assert "mqtt_topic" not in out
