"""`manage.py ingest`: the long-lived MQTT ingest worker (see apps/telemetry/worker.py)."""

from django.core.management.base import BaseCommand, CommandParser

from apps.telemetry.worker import IngestWorker
from scadapro.shutdown import stop_event_on_signals


class Command(BaseCommand):
    help = "Store every reading published on sensors/# in TimescaleDB, until stopped (SIGINT/SIGTERM end it cleanly)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client-id", help="MQTT client id (default MQTT_INGEST_CLIENT_ID); fixed per worker.")
        parser.add_argument("--group", help="Shared-subscription group (default MQTT_INGEST_GROUP); '' for none.")
        parser.add_argument("--batch-size", type=int, help="Messages per batch (default INGEST_BATCH_SIZE).")
        parser.add_argument("--batch-wait-ms", type=int, help="Longest wait of a message for its batch.")
        parser.add_argument(
            "--retire",
            action="store_true",
            help="Retire this client id: leave the group, store what the broker queued for it, then "
            "delete its session. Run it when a worker is removed for good: its persistent session "
            "would otherwise keep receiving its share of the readings.",
        )

    def handle(self, *args, client_id, group, batch_size, batch_wait_ms, retire, **options) -> None:
        stop = stop_event_on_signals()
        worker = IngestWorker(
            stop, client_id=client_id, group=group, batch_size=batch_size, batch_wait_ms=batch_wait_ms, retire=retire
        )
        worker.run()
