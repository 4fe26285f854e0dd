"""Per-batch hooks of the ingest: where alarms and live updates plug in.

Both kinds receive a StoredBatch once per batch, never per reading:
- `in_transaction` hooks run inside the batch's transaction, after its readings are written (the
  alarm evaluation: its transitions commit or roll back with the readings). Each runs in a
  savepoint: a failing hook is logged and its work undone, the readings are still stored.
- `after_commit` hooks run once the batch is durable (MQTT alarm events, live updates to
  browsers). A failure is logged and does not affect the ingest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

log = logging.getLogger("scadapro.ingest")


@dataclass
class StoredBatch:
    """What one committed batch wrote."""

    # (sensor id, epoch seconds, value, quality) in arrival order; hooks sort per sensor as needed.
    readings: list[tuple[int, float, float, int]] = field(default_factory=list)
    # sensor id -> (epoch seconds, value, quality) of its newest reading in the batch
    latest: dict[int, tuple[float, float, int]] = field(default_factory=dict)
    # sensor id -> (epoch seconds, value) of its newest reading before this batch (None, None if it
    # had none); read under the sensor's row lock, which the batch holds until it commits.
    previous: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)
    inserted: int = 0


BatchHook = Callable[[StoredBatch], None]
_in_transaction: list[BatchHook] = []
_after_commit: list[BatchHook] = []


def in_transaction(hook: BatchHook) -> BatchHook:
    """Decorator: run `hook(batch)` inside each batch's transaction."""
    if hook not in _in_transaction:
        _in_transaction.append(hook)
    return hook


def after_commit(hook: BatchHook) -> BatchHook:
    """Decorator: run `hook(batch)` after each batch has committed."""
    if hook not in _after_commit:
        _after_commit.append(hook)
    return hook


def run_in_transaction(batch: StoredBatch) -> None:
    for hook in _in_transaction:
        try:
            with transaction.atomic():
                hook(batch)
        except Exception:
            log.exception("in-transaction batch hook %s failed; its work was undone", hook.__qualname__)


def run_after_commit(batch: StoredBatch) -> None:
    for hook in _after_commit:
        try:
            hook(batch)
        except Exception:
            log.exception("after-commit batch hook %s failed", hook.__qualname__)
