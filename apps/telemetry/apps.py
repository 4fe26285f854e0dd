from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "apps.telemetry"
    verbose_name = "Telemetry"
