"""Choice sets of the alarm system. The values are the pure lifecycle's (apps.alarms.lifecycle)."""

from django.db import models

from apps.alarms import lifecycle


class Kind(models.TextChoices):
    HIHI = lifecycle.Kind.HIHI, "High-high limit"
    HI = lifecycle.Kind.HI, "High limit"
    LO = lifecycle.Kind.LO, "Low limit"
    LOLO = lifecycle.Kind.LOLO, "Low-low limit"
    STATE = lifecycle.Kind.STATE, "Digital state"
    RATE = lifecycle.Kind.RATE, "Rate of change"
    COMM_LOSS = lifecycle.Kind.COMM_LOSS, "Communication loss"


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# Most urgent first: sorting and "at least this severe" routing use the rank.
SEVERITY_RANK = {Severity.CRITICAL: 1, Severity.HIGH: 2, Severity.MEDIUM: 3, Severity.LOW: 4}


class State(models.TextChoices):
    UNACK = lifecycle.State.UNACK, "Active, unacknowledged"
    ACKED = lifecycle.State.ACKED, "Active, acknowledged"
    RTN_UNACK = lifecycle.State.RTN_UNACK, "Returned to normal, unacknowledged"
    CLOSED = lifecycle.State.CLOSED, "Closed"


class EventKind(models.TextChoices):
    RAISED = lifecycle.Event.RAISED, "Raised"
    CLEARED = lifecycle.Event.CLEARED, "Returned to normal"
    ACKNOWLEDGED = lifecycle.Event.ACKNOWLEDGED, "Acknowledged"
    RESET = lifecycle.Event.RESET, "Reset"
    SUPERSEDED = lifecycle.Event.SUPERSEDED, "Closed by a new activation"
    SHELVED = lifecycle.Event.SHELVED, "Shelved"
    UNSHELVED = lifecycle.Event.UNSHELVED, "Unshelved"
    SHELVE_EXPIRED = lifecycle.Event.SHELVE_EXPIRED, "Shelving expired"
    OUT_OF_SERVICE = lifecycle.Event.OUT_OF_SERVICE, "Taken out of service"
    IN_SERVICE = lifecycle.Event.IN_SERVICE, "Returned to service"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
