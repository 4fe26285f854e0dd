"""Celery tasks of the history app: thin wrappers over apps.history.rollups.

On the Community edition TimescaleDB's own policies refresh and drop (apps/history/continuous.py),
so both tasks return at once there."""

from celery import shared_task

from apps.history import rollups


@shared_task(ignore_result=True)
def refresh_rollups() -> str | None:
    """Beat, every ROLLUP_REFRESH_INTERVAL: bring the 1m/1h/1d rollups up to date."""
    if rollups.uses_continuous_aggregates():
        return None
    watermark = rollups.refresh()
    return watermark.isoformat() if watermark else None


@shared_task(ignore_result=True)
def apply_retention() -> dict[str, int]:
    """Beat, daily: drop raw and rollup chunks past HISTORY_*_RETENTION_DAYS."""
    return rollups.apply_retention()
