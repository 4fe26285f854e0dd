from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    name = "apps.alarms"
    verbose_name = "Alarms"

    def ready(self) -> None:
        from apps.alarms import evaluation  # noqa: F401  (registers the ingest hook)
