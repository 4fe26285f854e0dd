from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


class HistoryConfig(AppConfig):
    name = "apps.history"
    verbose_name = "History"

    def ready(self) -> None:
        from apps.history import rollups  # noqa: F401  (registers the ingest hook)

        post_migrate.connect(ensure_rollup_backend, sender=self)


def ensure_rollup_backend(sender, using: str = "default", **kwargs) -> None:
    """Community edition: continuous aggregates and policies that follow the settings."""
    from apps.history import continuous

    with connections[using].cursor() as cursor:
        cursor.execute("SHOW timescaledb.license")
        if cursor.fetchone()[0] == "timescale":
            continuous.ensure(cursor)
