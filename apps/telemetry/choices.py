from django.db import models


class Quality(models.IntegerChoices):
    """Quality of a reading, stored as a small integer to keep the hypertable narrow."""

    GOOD = 0, "good"
    UNCERTAIN = 1, "uncertain"
    BAD = 2, "bad"


class RejectReason(models.TextChoices):
    """Why the ingest refused a message or a reading (apps/telemetry/payloads.py REASONS)."""

    MALFORMED = "malformed", "Malformed payload"
    UNKNOWN_TOPIC = "unknown_topic", "Topic outside sensors/{machine}/{sensor}/value"
    UNKNOWN_MACHINE = "unknown_machine", "Unknown machine"
    UNKNOWN_SENSOR = "unknown_sensor", "Unknown sensor"
    NON_FINITE = "non_finite", "Value not finite (NaN, infinity)"
    BAD_TIMESTAMP = "bad_timestamp", "Unreadable or implausible timestamp"
    FUTURE_TIMESTAMP = "future_timestamp", "Timestamp too far in the future"
    BAD_QUALITY = "bad_quality", "Unknown quality"
