"""MQTT topic naming of the plant (no Django imports: shared by models, YAML validation, ingest)."""

import re

# Codes appear as MQTT topic levels, so they may not contain '/', '+', '#' or spaces.
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
CODE_RE = re.compile(CODE_PATTERN)
CODE_HELP = "1-64 characters: letters, digits, '_', '-', '.', starting with a letter or digit."


def default_sensor_topic(machine_code: str, sensor_code: str) -> str:
    return f"sensors/{machine_code}/{sensor_code}/value"


def topic_problem(topic: str) -> str | None:
    """Why `topic` cannot be a sensor's publish topic, or None when it can."""
    if not topic or len(topic) > 255:
        return "must be 1-255 characters"
    if any(ch in topic for ch in "+#\x00") or topic.startswith("$"):
        return "may not contain MQTT wildcards ('+', '#') or start with '$'"
    parts = topic.split("/")
    if len(parts) == 3 and parts[0] == "sensors" and parts[2] == "batch":
        return "may not be a machine's batch topic (sensors/{machine}/batch)"
    return None
