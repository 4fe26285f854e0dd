from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    name = "apps.alarms"
    verbose_name = "Alarms"

    def ready(self) -> None:
        from apps.alarms import evaluation, signals  # noqa: F401  (register the ingest hook, signals)
