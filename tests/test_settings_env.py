"""Settings come from the environment; a malformed value stops start-up naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean"),
        ("DATABASE_URL", "mysql://root@localhost/scada", "DATABASE_URL must start with one of postgres://"),
        ("DATABASE_URL", "postgres://127.0.0.1:5432", "DATABASE_URL names no database"),
        ("REDIS_URL", "http://127.0.0.1:6379", "REDIS_URL must start with one of redis://"),
        ("MQTT_URL", "mqtt://127.0.0.1:notaport", "MQTT_URL is not a valid URL"),
        ("DATABASE_CONN_MAX_AGE", "forever", "DATABASE_CONN_MAX_AGE='forever' is not an integer"),
        ("SCADAPRO_API_TOKEN", "short", "SCADAPRO_API_TOKEN must be at least 32 characters"),
    ],
)
def test_malformed_value_stops_start_up_naming_it(name, value, message):
    result = manage("check", **{name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="false")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_development_settings_are_flagged_by_the_deploy_check():
    """The check is real: DEBUG on is reported, so the test above would notice a regression."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="true")
    assert result.returncode != 0
    assert "security.W018" in result.stderr
