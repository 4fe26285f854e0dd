"""Alarm rules on sensors, their live state, the alarms they raise and the journal of every transition.

Every change to a rule's state or its alarms happens while holding its sensor's row lock
(`services.lock_sensor`), whoever makes it: the ingest, the timer task or an operator. That one
rule keeps two ingest workers, a timer and an acknowledgement from overwriting one another.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, URLValidator, validate_email
from django.db import models

from apps.alarms import lifecycle, messages
from apps.alarms.choices import Channel, DeliveryStatus, EventKind, Kind, Severity, State


class AlarmRule(models.Model):
    sensor = models.ForeignKey("plant.Sensor", on_delete=models.CASCADE, related_name="alarm_rules")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    setpoint = models.FloatField(
        help_text="Limit in the sensor's unit; for a digital state the alarming value; for rate of change "
        "units per minute; for communication loss seconds of silence."
    )
    deadband = models.FloatField(
        default=0,
        validators=[MinValueValidator(0)],
        help_text="How far back past the limit the value must go before the alarm clears (sensor's unit).",
    )
    on_delay = models.FloatField(
        default=0, validators=[MinValueValidator(0)], help_text="Seconds the condition must hold before the alarm."
    )
    off_delay = models.FloatField(
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Seconds the condition must stay clear before it clears.",
    )
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    latching = models.BooleanField(default=False, help_text="Stays active after the condition clears, until reset.")
    enabled = models.BooleanField(default=True)
    message = models.CharField(
        max_length=300,
        blank=True,
        help_text="Empty uses the default for the kind. Placeholders: "
        + ", ".join(f"{{{p}}}" for p in messages.PLACEHOLDERS),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sensor", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["sensor", "kind"], name="alarm_rule_kind_unique_per_sensor"),
            models.CheckConstraint(
                condition=models.Q(deadband__gte=0) & models.Q(on_delay__gte=0) & models.Q(off_delay__gte=0),
                name="alarm_rule_deadband_and_delays_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sensor} {self.get_kind_display().lower()}"

    def clean(self) -> None:
        errors = {}
        if self.kind in (Kind.RATE, Kind.COMM_LOSS) and self.setpoint is not None and self.setpoint <= 0:
            errors["setpoint"] = "Must be more than 0 for this kind."
        if self.message:
            problem = messages.template_problem(self.message)
            if problem:
                errors["message"] = problem
        if errors:
            raise ValidationError(errors)

    def as_rule(self) -> lifecycle.Rule:
        return lifecycle.Rule(
            lifecycle.Kind(self.kind), self.setpoint, self.deadband, self.on_delay, self.off_delay, self.latching
        )


class RuleState(models.Model):
    """The live state of one rule (the ISA-18.2 'alarm point'): kept apart from the rule so that an
    engineer saving the rule in admin never overwrites what the ingest just decided."""

    rule = models.OneToOneField(AlarmRule, on_delete=models.CASCADE, primary_key=True, related_name="state")
    active = models.BooleanField(default=False, help_text="The condition, after deadband and delays.")
    since = models.DateTimeField(null=True, blank=True, help_text="A delay has been running since then.")
    open_alarm = models.ForeignKey("Alarm", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    shelved_until = models.DateTimeField(null=True, blank=True)
    shelved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    shelve_reason = models.CharField(max_length=300, blank=True)
    out_of_service = models.BooleanField(default=False)
    service_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    service_note = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["since"], name="rulestate_delay_running", condition=models.Q(since__isnull=False)),
            models.Index(
                fields=["shelved_until"], name="rulestate_shelved", condition=models.Q(shelved_until__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"state of {self.rule}"


class Alarm(models.Model):
    """One activation, from raised to closed."""

    rule = models.ForeignKey(AlarmRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="alarms")
    sensor = models.ForeignKey("plant.Sensor", on_delete=models.CASCADE, related_name="alarms")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    message = models.CharField(max_length=500)
    value = models.FloatField(null=True, blank=True, help_text="The value that raised it.")
    setpoint = models.FloatField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.UNACK)
    condition = models.BooleanField(default=True, help_text="The process is still in alarm.")
    latched = models.BooleanField(default=False)
    triggered_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="When the process returned to normal.")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-triggered_at", "-id"]
        indexes = [
            models.Index(fields=["triggered_at"], name="alarm_triggered_at"),
            models.Index(fields=["sensor", "triggered_at"], name="alarm_sensor_triggered_at"),
            models.Index(fields=["state"], name="alarm_open", condition=~models.Q(state=State.CLOSED)),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.message}"

    @property
    def is_open(self) -> bool:
        return self.state != State.CLOSED


class AlarmEvent(models.Model):
    """The journal: every transition of an alarm or its point, with time, user and note."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    rule = models.ForeignKey(AlarmRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    sensor = models.ForeignKey("plant.Sensor", on_delete=models.CASCADE, related_name="alarm_events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    at = models.DateTimeField(help_text="When it happened (reading time for process changes).")
    recorded_at = models.DateTimeField(auto_now_add=True)
    from_state = models.CharField(max_length=16, choices=State.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=State.choices, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    value = models.FloatField(null=True, blank=True)
    announced = models.BooleanField(
        help_text="Published on MQTT and to browsers (not while shelved or out of service)."
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["at"], name="alarmevent_at"),
            models.Index(fields=["kind", "at"], name="alarmevent_kind_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sensor} at {self.at:%Y-%m-%d %H:%M:%S}"


def _is_email(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def default_route_events() -> list[str]:
    return [EventKind.RAISED]


class NotificationRoute(models.Model):
    """Where announced transitions are sent: by severity, machine and kind of transition."""

    name = models.CharField(max_length=100, unique=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    target = models.CharField(
        max_length=500, help_text="E-mail addresses separated by commas, or the webhook's https:// URL."
    )
    min_severity = models.CharField(
        max_length=16, choices=Severity.choices, default=Severity.HIGH, help_text="This severity and more urgent."
    )
    machines = models.ManyToManyField(
        "plant.Machine", blank=True, related_name="+", help_text="None selected: every machine."
    )
    events = ArrayField(
        models.CharField(max_length=16, choices=EventKind.choices),
        default=default_route_events,
        help_text="Which transitions are sent.",
    )
    secret = models.CharField(
        max_length=200, blank=True, help_text="Webhook only: signs each body (HMAC-SHA256, X-ScadaPRO-Signature)."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        unknown = [e for e in self.events or [] if e not in EventKind.values]
        if unknown:
            errors["events"] = f"Unknown transitions: {', '.join(unknown)}."
        if self.channel == Channel.WEBHOOK:
            try:
                URLValidator(schemes=["http", "https"])(self.target)
            except ValidationError:
                errors["target"] = "A webhook needs an http:// or https:// URL."
        elif self.channel == Channel.EMAIL:
            addresses = [a.strip() for a in self.target.split(",") if a.strip()]
            bad = [a for a in addresses if not _is_email(a)]
            if not addresses or bad:
                errors["target"] = (
                    "E-mail addresses separated by commas" + (f"; not valid: {', '.join(bad)}" if bad else "") + "."
                )
        if errors:
            raise ValidationError(errors)


class Notification(models.Model):
    """One transition sent along one route. The unique pair is the idempotency key: a transition is
    sent at most once per route, however often its task runs."""

    event = models.ForeignKey(AlarmEvent, on_delete=models.CASCADE, related_name="notifications")
    route = models.ForeignKey(NotificationRoute, on_delete=models.CASCADE, related_name="notifications")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["event", "route"], name="notification_once_per_event_route")]

    def __str__(self) -> str:
        return f"{self.event} via {self.route}"

    @property
    def idempotency_key(self) -> str:
        return f"scadapro-alarm-event-{self.event_id}-route-{self.route_id}"
