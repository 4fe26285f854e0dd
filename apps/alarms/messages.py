"""Alarm message templates: `str.format` placeholders from a fixed list, checked when saved."""

from __future__ import annotations

import string

PLACEHOLDERS = ("machine", "machine_name", "sensor", "sensor_name", "value", "setpoint", "unit", "kind", "severity")

DEFAULTS = {
    "hihi": "{sensor_name} high-high: {value} {unit} (limit {setpoint} {unit})",
    "hi": "{sensor_name} high: {value} {unit} (limit {setpoint} {unit})",
    "lo": "{sensor_name} low: {value} {unit} (limit {setpoint} {unit})",
    "lolo": "{sensor_name} low-low: {value} {unit} (limit {setpoint} {unit})",
    "state": "{sensor_name} in alarm state {value}",
    "rate": "{sensor_name} changing fast: {value} {unit}/min (limit {setpoint} {unit}/min)",
    "comm_loss": "{sensor_name}: no data for {value} s (allowed {setpoint} s)",
}


def template_problem(template: str) -> str | None:
    """Why a template cannot be used, or None."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        return f"Not a valid template: {exc}."
    for name in fields:
        if name not in PLACEHOLDERS:
            return f"Unknown placeholder {{{name}}}; use one of " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS) + "."
    try:
        template.format_map(dict.fromkeys(PLACEHOLDERS, "1.0"))
    except (ValueError, IndexError) as exc:  # e.g. a number format: values arrive already formatted
        return f"Not a valid template: {exc}."
    return None


def render(template: str, kind: str, context: dict[str, str]) -> str:
    """The message for one activation; values in `context` are already formatted strings."""
    values = {p: context.get(p, "") for p in PLACEHOLDERS}
    try:
        text = (template or DEFAULTS[kind]).format_map(values)
    except (KeyError, ValueError, IndexError, AttributeError):  # a template that slipped past validation
        text = DEFAULTS[kind].format_map(values)
    return " ".join(text.split())[:500]


def number(value: float | None, decimals: int) -> str:
    return "" if value is None else f"{value:.{decimals}f}"
