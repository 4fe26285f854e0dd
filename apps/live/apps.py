from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "apps.live"
    verbose_name = "Live updates"

    def ready(self) -> None:
        from apps.live import fanout, signals  # noqa: F401  (the ingest's after-commit hook, signals)
