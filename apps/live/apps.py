from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "apps.live"
    verbose_name = "Live updates"

    def ready(self) -> None:
        from apps.live import fanout  # noqa: F401  (registers the ingest's after-commit hook)
