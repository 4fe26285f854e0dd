"""The plant as a YAML file: parsing with line numbers, validation, and dumping.

Pure module (no Django), so it is fast to test. `parse_plant` returns either a complete PlantSpec or
every problem found, each with the line it is on; callers reject a file with any problem whole.

File shape (config/plant.demo.yaml is a full example):

    version: 1
    machines:
      - code: PS1                      # unique; used in MQTT topics
        name: Pumping station 1
        status: active                 # active | inactive | maintenance
        area: Water intake
        line: Intake
        description: ...
        plcs:
          - name: PLC-PS1              # unique within the machine
            protocol: modbus-tcp
            address: 10.0.1.10:502
        sensors:
          - code: P1_DISCH_PRESS       # unique within the machine
            name: Pump 1 discharge pressure
            type: pressure
            unit: bar
            range_min: 0
            range_max: 16
            decimals: 2
            expected_interval: 5       # seconds
            plc: PLC-PS1               # optional, a PLC of this machine
            mqtt_topic: ...            # optional, default sensors/{machine}/{sensor}/value
            alarms:                    # optional, see "Alarm rules" below
              hihi: {setpoint: 15.2, deadband: 0.32, on_delay: 15, severity: critical}
              hi:
                setpoint: 13.6
                deadband: 0.32         # sensor's unit, >= 0; default 0
                on_delay: 15           # seconds, >= 0; default 0
                off_delay: 0           # seconds, >= 0; default 0
                severity: high         # critical | high | medium | low; default medium
                latching: false        # default false: stays active until reset
                enabled: true          # default true
                message: "{sensor_name} high: {value} {unit}"   # default: the kind's message
              comm_loss: {setpoint: 15}

Alarm rules (`alarms:`), one per kind: hihi, hi, lo, lolo (limits in the sensor's unit), state
(alarm while the value equals the setpoint), rate (units per minute, more than 0) and comm_loss
(seconds of silence, more than 0). `setpoint` is required; message placeholders are those of
apps.alarms.messages. A rule is identified by its sensor and kind.

- `alarms:` given: the rules of those kinds are created or updated to match. Rules of other kinds
  on that sensor in the database are reported and kept; `--prune` deletes them. `alarms: {}`
  means "no rules" (with `--prune` it deletes the sensor's rules). A bare `alarms:` (null) is a
  problem, so that a mapping emptied by accident is never taken for either meaning.
- `alarms:` left out: the sensor's rules in the database are left as they are, and a sensor that
  the import creates gets the default rules for its type and range (apps.alarms.defaults); they
  come with the sensor and are not listed as changes of their own.
- Export always writes `alarms:` (`{}` for none), so export -> import changes nothing. An import
  changes rules only, never their live state or alarms (deleting a rule deletes its state; its
  alarms stay in the history).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from apps.alarms.lifecycle import Kind as AlarmKind
from apps.alarms.messages import template_problem
from apps.plant.topics import CODE_HELP, CODE_RE, default_sensor_topic, topic_problem

FORMAT_VERSION = 1
MACHINE_STATUSES = ("active", "inactive", "maintenance")
PLC_PROTOCOLS = ("modbus-tcp", "modbus-rtu", "opc-ua", "s7", "ethernet-ip", "profinet", "mqtt", "other")
SENSOR_TYPES = (
    "temperature", "pressure", "flow", "level", "vibration", "speed",
    "power", "current", "voltage", "humidity", "state", "other",
)  # fmt: skip
MAX_DECIMALS = 6
# The pure lifecycle's kinds, in the order export writes them; severities as apps.alarms.choices.Severity
# (a Django module, so the list is repeated here; a test checks that the two agree).
ALARM_KINDS = tuple(kind.value for kind in AlarmKind)
ALARM_SEVERITIES = ("critical", "high", "medium", "low")
POSITIVE_SETPOINT_KINDS = {"rate": "units per minute", "comm_loss": "seconds of silence"}
MAX_ALARM_MESSAGE = 300


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def format(self, filename: str) -> str:
        return f"{filename}:{self.line}: {self.message}"


class PlantFileError(Exception):
    """A plant file with problems; it is rejected whole."""

    def __init__(self, filename: str, problems: list[Problem]):
        self.filename = filename
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(p.format(filename) for p in self.problems))


@dataclass
class PlcSpec:
    name: str
    protocol: str = "modbus-tcp"
    address: str = ""
    description: str = ""
    lineno: int = field(default=0, compare=False)


@dataclass
class AlarmSpec:
    """One alarm rule of a sensor; the defaults are AlarmRule's."""

    kind: str
    setpoint: float
    deadband: float = 0.0
    on_delay: float = 0.0
    off_delay: float = 0.0
    severity: str = "medium"
    latching: bool = False
    enabled: bool = True
    message: str = ""  # empty: the kind's default message
    lineno: int = field(default=0, compare=False)


@dataclass
class SensorSpec:
    code: str
    name: str
    type: str = "other"
    unit: str = ""
    description: str = ""
    range_min: float | None = None
    range_max: float | None = None
    decimals: int = 1
    expected_interval: int = 5
    plc: str | None = None
    mqtt_topic: str | None = None  # None means the default topic
    # None: the file says nothing about alarms (keep the database's; defaults for a new sensor).
    alarms: dict[str, AlarmSpec] | None = None
    lineno: int = field(default=0, compare=False)


@dataclass
class MachineSpec:
    code: str
    name: str
    description: str = ""
    status: str = "active"
    area: str = ""
    line: str = ""
    plcs: list[PlcSpec] = field(default_factory=list)
    sensors: list[SensorSpec] = field(default_factory=list)
    lineno: int = field(default=0, compare=False)


@dataclass
class PlantSpec:
    machines: list[MachineSpec] = field(default_factory=list)

    def sensor_topic(self, machine: MachineSpec, sensor: SensorSpec) -> str:
        return sensor.mqtt_topic or default_sensor_topic(machine.code, sensor.code)


# --- YAML loading with line numbers -----------------------------------------------------------


class _Mapping(dict):
    """A YAML mapping that remembers its own line, the line of each key (1-based) and the text
    each scalar value was written as (so messages quote what the user wrote, not what YAML made
    of it: `0x10` rather than 16)."""

    lineno: int
    key_lines: dict[Any, int]
    raw: dict[Any, str]


class _Sequence(list):
    """A YAML list that remembers the line of each item."""

    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicate_keys: list[Problem] = []


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    mapping = _Mapping()
    mapping.lineno = node.start_mark.line + 1
    mapping.key_lines = {}
    mapping.raw = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(None, None, "a key must be plain text", key_node.start_mark)
        if key in mapping:
            first = mapping.key_lines[key]
            loader.duplicate_keys.append(Problem(line, f"duplicate key '{key}' (first given on line {first})"))
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = line
        if isinstance(value_node, yaml.ScalarNode):
            mapping.raw[key] = value_node.value
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _Sequence:
    sequence = _Sequence(loader.construct_object(child, deep=True) for child in node.value)
    sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
    return sequence


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _load_yaml(text: str) -> tuple[Any, list[Problem]]:
    loader = _LineLoader(text)
    try:
        return loader.get_single_data(), loader.duplicate_keys
    except yaml.MarkedYAMLError as exc:
        reason = exc.problem or exc.context or "invalid YAML"
        if exc.context_mark is not None and exc.context and "end of stream" in (exc.problem or ""):
            # e.g. an unclosed quote: the problem is found at the end of the file, the cause is
            # where the quote opened, so name that line.
            line = exc.context_mark.line + 1
            where = f" (found on line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
            reason = f"{exc.context}: {exc.problem}{where}"
        else:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
        return None, [Problem(line, f"YAML syntax error: {reason}")]
    except yaml.YAMLError as exc:
        return None, [Problem(1, f"YAML error: {exc}")]
    finally:
        loader.dispose()


# --- Validation -------------------------------------------------------------------------------


class _Checker:
    """Reads typed fields out of a mapping, recording a Problem for each bad one."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(line, message))

    def mapping(self, value: Any, line: int, what: str) -> _Mapping | None:
        if not isinstance(value, _Mapping):
            self.problem(line, f"{what} must be a mapping of keys to values")
            return None
        return value

    def unknown_keys(self, m: _Mapping, allowed: tuple[str, ...], what: str) -> None:
        for key in m:
            if key not in allowed:
                self.problem(m.key_lines[key], f"unknown key '{key}' in {what}; allowed: {', '.join(allowed)}")

    def text(self, m: _Mapping, key: str, what: str, *, required: bool = False, max_len: int = 200) -> str:
        if key not in m or m[key] is None:
            if required:
                self.problem(m.lineno, f"{what} has no '{key}'")
            return ""
        value, line = m[key], m.key_lines[key]
        if not isinstance(value, str):
            written = m.raw.get(key, str(value))
            self.problem(line, f"'{key}' must be text, got {written}; quote it: '{written}'")
            return ""
        if any(ch in value for ch in "\x00\x85\u2028\u2029"):
            self.problem(line, f"'{key}' contains a control character (NUL or a line separator)")
            return ""
        value = value.strip()
        if required and not value:
            self.problem(line, f"'{key}' is empty")
        if len(value) > max_len:
            self.problem(line, f"'{key}' is longer than {max_len} characters")
        return value

    def code(self, m: _Mapping, key: str, what: str) -> str:
        value = self.text(m, key, what, required=True, max_len=64)
        if value and not CODE_RE.match(value):
            self.problem(m.key_lines[key], f"'{key}' {value!r} is not a valid code: {CODE_HELP}")
        return value

    def choice(self, m: _Mapping, key: str, choices: tuple[str, ...], default: str) -> str:
        if key not in m or m[key] is None:
            return default
        value = m[key]
        if value not in choices:
            self.problem(m.key_lines[key], f"'{key}' {value!r} is not one of: {', '.join(choices)}")
            return default
        return value

    def number(self, m: _Mapping, key: str) -> float | None:
        if key not in m or m[key] is None:
            return None
        value = m[key]
        try:
            number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
        except OverflowError:
            number = math.nan
        if not math.isfinite(number):
            shown = repr(value) if isinstance(value, str) else m.raw.get(key, repr(value))
            self.problem(m.key_lines[key], f"'{key}' must be a finite number, got {shown:.40}")
            return None
        return number

    def integer(self, m: _Mapping, key: str, default: int, low: int, high: int) -> int:
        if key not in m or m[key] is None:
            return default
        value = m[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(m.key_lines[key], f"'{key}' must be a whole number from {low} to {high}, got {value!r}")
            return default
        return value

    def boolean(self, m: _Mapping, key: str, default: bool) -> bool:
        if key not in m or m[key] is None:
            return default
        value = m[key]
        if not isinstance(value, bool):
            shown = repr(value) if isinstance(value, str) else m.raw.get(key, repr(value))
            self.problem(m.key_lines[key], f"'{key}' must be true or false, got {shown:.40}")
            return default
        return value

    def sequence(self, m: _Mapping, key: str, what: str) -> list[tuple[Any, int]]:
        """The items of a list with the line of each."""
        if key not in m or m[key] is None:
            return []
        if not isinstance(m[key], _Sequence):
            self.problem(m.key_lines[key], f"'{key}' of {what} must be a list")
            return []
        return list(zip(m[key], m[key].item_lines, strict=True))


_TOP_KEYS = ("version", "machines")
_MACHINE_KEYS = ("code", "name", "description", "status", "area", "line", "plcs", "sensors")
_PLC_KEYS = ("name", "protocol", "address", "description")
_SENSOR_KEYS = (
    "code", "name", "description", "type", "unit", "range_min", "range_max",
    "decimals", "expected_interval", "plc", "mqtt_topic", "alarms",
)  # fmt: skip
_ALARM_KEYS = ("setpoint", "deadband", "on_delay", "off_delay", "severity", "latching", "enabled", "message")


def _parse_plc(c: _Checker, m: _Mapping, machine_code: str) -> PlcSpec:
    what = f"a PLC of machine {machine_code}"
    c.unknown_keys(m, _PLC_KEYS, what)
    return PlcSpec(
        name=c.text(m, "name", what, required=True, max_len=100),
        protocol=c.choice(m, "protocol", PLC_PROTOCOLS, "modbus-tcp"),
        address=c.text(m, "address", what),
        description=c.text(m, "description", what, max_len=2000),
        lineno=m.lineno,
    )


def _parse_alarm(c: _Checker, m: _Mapping, kind: str, line: int, sensor: str) -> AlarmSpec:
    what = f"alarm {kind} of sensor {sensor}"
    c.unknown_keys(m, _ALARM_KEYS, what)
    setpoint = c.number(m, "setpoint")
    if "setpoint" not in m or m["setpoint"] is None:
        c.problem(line, f"{what} has no 'setpoint'")
    elif setpoint is not None and kind in POSITIVE_SETPOINT_KINDS and setpoint <= 0:
        unit = POSITIVE_SETPOINT_KINDS[kind]
        c.problem(
            m.key_lines["setpoint"], f"'setpoint' of a {kind} alarm must be more than 0 ({unit}), got {setpoint:g}"
        )
    spec = AlarmSpec(
        kind=kind,
        setpoint=setpoint if setpoint is not None else 0.0,
        severity=c.choice(m, "severity", ALARM_SEVERITIES, "medium"),
        latching=c.boolean(m, "latching", False),
        enabled=c.boolean(m, "enabled", True),
        message=c.text(m, "message", what, max_len=MAX_ALARM_MESSAGE),
        lineno=line,
    )
    for key in ("deadband", "on_delay", "off_delay"):
        value = c.number(m, key)
        if value is not None and value < 0:
            c.problem(m.key_lines[key], f"'{key}' must be 0 or more, got {value:g}")
        elif value is not None:
            setattr(spec, key, value)
    if spec.message and (why := template_problem(spec.message)):
        c.problem(m.key_lines["message"], f"'message' {why[0].lower()}{why[1:].rstrip('.')}")
    return spec


def _parse_alarms(c: _Checker, m: _Mapping, sensor: str) -> dict[str, AlarmSpec] | None:
    """The `alarms` mapping of a sensor: None when the key is absent, else kind -> rule."""
    if "alarms" not in m:
        return None
    line = m.key_lines["alarms"]
    if m["alarms"] is None:
        c.problem(
            line,
            "'alarms' is empty: write 'alarms: {}' for no rules, or leave the key out to keep the rules "
            "in the database",
        )
        return None
    rules = c.mapping(m["alarms"], line, f"'alarms' of sensor {sensor}")
    if rules is None:
        return None
    alarms: dict[str, AlarmSpec] = {}
    for kind, value in rules.items():
        kind_line = rules.key_lines[kind]
        if kind not in ALARM_KINDS:
            c.problem(kind_line, f"unknown alarm kind '{kind}' of sensor {sensor}; allowed: {', '.join(ALARM_KINDS)}")
            continue
        rule = c.mapping(value, kind_line, f"alarm {kind} of sensor {sensor}")
        if rule is not None:
            alarms[kind] = _parse_alarm(c, rule, kind, kind_line, sensor)
    return alarms


def _parse_sensor(c: _Checker, m: _Mapping, machine_code: str) -> SensorSpec:
    what = f"a sensor of machine {machine_code}"
    c.unknown_keys(m, _SENSOR_KEYS, what)
    spec = SensorSpec(
        code=c.code(m, "code", what),
        name=c.text(m, "name", what, required=True),
        description=c.text(m, "description", what, max_len=2000),
        type=c.choice(m, "type", SENSOR_TYPES, "other"),
        unit=c.text(m, "unit", what, max_len=20),
        range_min=c.number(m, "range_min"),
        range_max=c.number(m, "range_max"),
        decimals=c.integer(m, "decimals", 1, 0, MAX_DECIMALS),
        expected_interval=c.integer(m, "expected_interval", 5, 1, 7 * 24 * 3600),
        plc=c.text(m, "plc", what, max_len=100) or None,
        mqtt_topic=c.text(m, "mqtt_topic", what, max_len=255) or None,
        lineno=m.lineno,
    )
    spec.alarms = _parse_alarms(c, m, f"{machine_code}/{spec.code or '(no code)'}")
    if spec.range_min is not None and spec.range_max is not None and spec.range_min >= spec.range_max:
        c.problem(
            m.key_lines["range_max"], f"'range_max' {spec.range_max:g} must be above 'range_min' {spec.range_min:g}"
        )
    if spec.mqtt_topic and (why := topic_problem(spec.mqtt_topic)):
        c.problem(m.key_lines["mqtt_topic"], f"'mqtt_topic' {why}")
    return spec


def _parse_machine(c: _Checker, m: _Mapping) -> MachineSpec:
    c.unknown_keys(m, _MACHINE_KEYS, "a machine")
    code = c.code(m, "code", "a machine")
    what = f"machine {code or '(no code)'}"
    machine = MachineSpec(
        code=code,
        name=c.text(m, "name", what, required=True),
        description=c.text(m, "description", what, max_len=2000),
        status=c.choice(m, "status", MACHINE_STATUSES, "active"),
        area=c.text(m, "area", what, max_len=100),
        line=c.text(m, "line", what, max_len=100),
        lineno=m.lineno,
    )
    plc_lines: dict[str, int] = {}
    for item, item_line in c.sequence(m, "plcs", what):
        pm = c.mapping(item, item_line, f"each PLC of {what}")
        if pm is None:
            continue
        plc = _parse_plc(c, pm, code)
        if plc.name in plc_lines:
            c.problem(pm.lineno, f"PLC '{plc.name}' appears twice in {what} (first on line {plc_lines[plc.name]})")
        plc_lines.setdefault(plc.name, pm.lineno)
        machine.plcs.append(plc)
    sensor_lines: dict[str, int] = {}
    for item, item_line in c.sequence(m, "sensors", what):
        sm = c.mapping(item, item_line, f"each sensor of {what}")
        if sm is None:
            continue
        sensor = _parse_sensor(c, sm, code)
        if sensor.code and sensor.code in sensor_lines:
            first = sensor_lines[sensor.code]
            c.problem(sm.lineno, f"sensor code '{sensor.code}' appears twice in {what} (first on line {first})")
        sensor_lines.setdefault(sensor.code, sm.lineno)
        if sensor.plc and sensor.plc not in plc_lines:
            c.problem(sm.key_lines["plc"], f"'plc' {sensor.plc!r} is not a PLC of {what}")
        machine.sensors.append(sensor)
    return machine


def parse_plant(text: str) -> tuple[PlantSpec | None, list[Problem]]:
    """Parse and validate a plant file. Returns (spec, []) or (None, problems)."""
    data, problems = _load_yaml(text)
    if problems and data is None:
        return None, problems
    c = _Checker()
    c.problems.extend(problems)
    if not isinstance(data, _Mapping):
        c.problem(1, "the file must be a mapping with a 'machines' list")
        return None, c.problems
    c.unknown_keys(data, _TOP_KEYS, "the file")
    if "version" in data and (type(data["version"]) is not int or data["version"] != FORMAT_VERSION):
        c.problem(data.key_lines["version"], f"'version' must be {FORMAT_VERSION}, got {data['version']!r}")
    if "machines" not in data:
        c.problem(data.lineno, "the file has no 'machines' list")
    spec = PlantSpec()
    machine_lines: dict[str, int] = {}
    topic_lines: dict[str, int] = {}
    for item, item_line in c.sequence(data, "machines", "the file"):
        mm = c.mapping(item, item_line, "each machine")
        if mm is None:
            continue
        machine = _parse_machine(c, mm)
        if machine.code and machine.code in machine_lines:
            first = machine_lines[machine.code]
            c.problem(mm.lineno, f"machine code '{machine.code}' appears twice (first on line {first})")
        machine_lines.setdefault(machine.code, mm.lineno)
        for sensor in machine.sensors:
            topic = spec.sensor_topic(machine, sensor)
            if topic in topic_lines:
                c.problem(
                    sensor.lineno, f"MQTT topic '{topic}' is already used by the sensor on line {topic_lines[topic]}"
                )
            topic_lines.setdefault(topic, sensor.lineno)
        spec.machines.append(machine)
    if c.problems:
        return None, c.problems
    return spec, []


def load_plant(text: str, filename: str = "<plant>") -> PlantSpec:
    """Parse a plant file or raise PlantFileError listing every problem."""
    spec, problems = parse_plant(text)
    if problems or spec is None:
        raise PlantFileError(filename, problems)
    return spec


# --- Dumping ----------------------------------------------------------------------------------

_ALWAYS = {"code", "name", "status", "type", "decimals", "expected_interval", "protocol"}


def _compact(obj: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """The fields of a spec worth writing: identity and core fields always, others when set."""
    out: dict[str, Any] = {}
    for key in keys:
        value = getattr(obj, key)
        if key in _ALWAYS or value not in (None, "", []):
            out[key] = _number(value)
    return out


_ALARM_DEFAULTS = AlarmSpec(kind="", setpoint=0.0)


def _number(value: Any) -> Any:
    """Whole floats as ints, so that 16.0 is written 16."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _dump_alarm(alarm: AlarmSpec) -> dict[str, Any]:
    """setpoint always, the other keys when they differ from AlarmRule's defaults."""
    out: dict[str, Any] = {}
    for key in _ALARM_KEYS:
        value = getattr(alarm, key)
        if key == "setpoint" or value != getattr(_ALARM_DEFAULTS, key):
            out[key] = _number(value)
    return out


def _dump_sensor(sensor: SensorSpec) -> dict[str, Any]:
    out = _compact(sensor, _SENSOR_KEYS[:-1])
    if sensor.alarms is not None:  # `{}` is written: it says "no rules", unlike a missing key
        order = {kind: i for i, kind in enumerate(ALARM_KINDS)}
        kinds = sorted(sensor.alarms, key=lambda kind: (order.get(kind, len(order)), kind))
        out["alarms"] = {kind: _dump_alarm(sensor.alarms[kind]) for kind in kinds}
    return out


def dump_plant(spec: PlantSpec, header: str = "") -> str:
    """Write a spec as YAML that `parse_plant` reads back to an equal spec."""
    machines = []
    for machine in spec.machines:
        m = _compact(machine, _MACHINE_KEYS[:6])
        if machine.plcs:
            m["plcs"] = [_compact(p, _PLC_KEYS) for p in machine.plcs]
        if machine.sensors:
            m["sensors"] = [_dump_sensor(s) for s in machine.sensors]
        machines.append(m)
    body = yaml.safe_dump(
        {"version": FORMAT_VERSION, "machines": machines}, sort_keys=False, allow_unicode=True, width=100
    )
    prefix = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return prefix + body
