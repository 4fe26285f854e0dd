"""Board widgets: what each type needs, checked before a board is saved (pure: ids are checked
against the plant by the caller)."""

from __future__ import annotations

COLUMNS = 12
MAX_ROWS = 200
MAX_HEIGHT = 20
MAX_WIDGETS = 60
MAX_CHART_SENSORS = 8

GAUGE, KPI, STATUS, LINE_CHART, ALARMS = "gauge", "kpi", "status", "linechart", "alarms"
TYPES = {
    GAUGE: "Gauge",
    KPI: "KPI",
    STATUS: "Status",
    LINE_CHART: "Line chart",
    ALARMS: "Alarms",
}


class WidgetError(ValueError):
    pass


def _int(config: dict, key: str, low: int, high: int, where: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise WidgetError(f"{where}: {key} must be a whole number from {low} to {high}")
    return value


def _ids(config: dict, key: str, where: str, low: int, high: int) -> list[int]:
    value = config.get(key, [])
    if not isinstance(value, list) or not low <= len(value) <= high:
        raise WidgetError(f"{where}: {key} must be a list of {low} to {high} ids")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise WidgetError(f"{where}: {key} must hold ids (whole numbers)")
    return value


def _number(config: dict, key: str, where: str) -> float | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value != value:
        raise WidgetError(f"{where}: {key} must be a number")
    return float(value)


def clean(widgets: object) -> tuple[list[dict], set[int], set[int]]:
    """The widgets in a canonical form, plus the sensor and machine ids they refer to.
    Raises WidgetError naming the widget and the problem."""
    if not isinstance(widgets, list):
        raise WidgetError("widgets must be a list")
    if len(widgets) > MAX_WIDGETS:
        raise WidgetError(f"a board holds at most {MAX_WIDGETS} widgets")
    cleaned, sensors, machines, seen = [], set(), set(), set()
    for n, widget in enumerate(widgets, start=1):
        where = f"widget {n}"
        if not isinstance(widget, dict):
            raise WidgetError(f"{where}: must be an object")
        kind = widget.get("type")
        if kind not in TYPES:
            raise WidgetError(f"{where}: type must be one of {', '.join(TYPES)}")
        key = widget.get("id")
        if not isinstance(key, str) or not 1 <= len(key) <= 40 or key in seen:
            raise WidgetError(f"{where}: id must be a unique text of 1 to 40 characters")
        seen.add(key)
        w = _int(widget, "w", 1, COLUMNS, where)
        x = _int(widget, "x", 0, COLUMNS - w, where)
        out = {
            "id": key, "type": kind, "x": x, "y": _int(widget, "y", 0, MAX_ROWS, where), "w": w,
            "h": _int(widget, "h", 1, MAX_HEIGHT, where),
        }  # fmt: skip
        title = widget.get("title", "")
        if not isinstance(title, str) or len(title) > 100:
            raise WidgetError(f"{where}: title must be text of at most 100 characters")
        out["title"] = title
        if kind in (GAUGE, KPI):
            out["sensor"] = _ids({"s": [widget.get("sensor")]}, "s", where, 1, 1)[0]
            sensors.add(out["sensor"])
            low, high = _number(widget, "min", where), _number(widget, "max", where)
            if low is not None and high is not None and low >= high:
                raise WidgetError(f"{where}: min must be below max")
            out["min"], out["max"] = low, high
        elif kind == STATUS:
            has_machine, has_sensor = widget.get("machine") is not None, widget.get("sensor") is not None
            if has_machine == has_sensor:
                raise WidgetError(f"{where}: a status lamp shows either a machine or a (state) sensor")
            if has_machine:
                out["machine"] = _ids({"m": [widget["machine"]]}, "m", where, 1, 1)[0]
                machines.add(out["machine"])
            else:
                out["sensor"] = _ids({"s": [widget["sensor"]]}, "s", where, 1, 1)[0]
                sensors.add(out["sensor"])
        elif kind == LINE_CHART:
            out["sensors"] = _ids(widget, "sensors", where, 1, MAX_CHART_SENSORS)
            out["minutes"] = _int(widget, "minutes", 1, 7 * 24 * 60, where, default=60)
            sensors.update(out["sensors"])
        elif kind == ALARMS:
            out["machines"] = _ids(widget, "machines", where, 0, 200)  # empty: the whole plant
            machines.update(out["machines"])
        cleaned.append(out)
    return cleaned, sensors, machines
