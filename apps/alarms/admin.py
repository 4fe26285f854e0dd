"""Admin for alarms: engineers edit rules and notification routes; alarms and their journal are an
audit trail (read-only), acted on only through the same services as the API."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone

from apps.accounts import roles
from apps.alarms import services
from apps.alarms.choices import EventKind, Kind
from apps.alarms.models import Alarm, AlarmEvent, AlarmRule, Notification, NotificationRoute, RuleState


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RuleStateInline(admin.StackedInline):
    model = RuleState
    can_delete = False
    # One state per rule: Django titles a one-form inline with the singular name.
    verbose_name = verbose_name_plural = "Live state"
    fields = readonly_fields = (
        "active", "since", "open_alarm", "shelved_until", "shelved_by", "shelve_reason",
        "out_of_service", "service_changed_by", "service_note", "updated_at",
    )  # fmt: skip

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AlarmRuleForm(forms.ModelForm):
    class Meta:
        model = AlarmRule
        fields = (
            "sensor", "kind", "setpoint", "deadband", "on_delay", "off_delay", "severity", "latching", "enabled",
            "message",
        )  # fmt: skip

    def clean(self) -> dict:
        cleaned = super().clean()
        # On the change page the sensor is read-only, so Django skips the (sensor, kind) constraint
        # (it only checks constraints whose fields are all on the form) and a duplicate kind would
        # reach the database as an IntegrityError.
        kind = cleaned.get("kind")
        if self.instance.pk and kind:
            other = AlarmRule.objects.filter(sensor_id=self.instance.sensor_id, kind=kind).exclude(pk=self.instance.pk)
            if other.exists():
                label = Kind(kind).label.lower()
                self.add_error("kind", f"Sensor {self.instance.sensor} already has a {label} rule; edit that one.")
        return cleaned


@admin.register(AlarmRule)
class AlarmRuleAdmin(admin.ModelAdmin):
    form = AlarmRuleForm
    list_display = (
        "sensor", "machine", "kind", "setpoint", "deadband", "on_delay", "off_delay", "severity", "latching",
        "enabled", "live_state",
    )  # fmt: skip
    list_filter = ("kind", "severity", "enabled", "latching", "sensor__machine")
    search_fields = ("sensor__code", "sensor__name", "sensor__machine__code", "message")
    list_select_related = ("sensor__machine", "state")
    autocomplete_fields = ("sensor",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [RuleStateInline]
    actions = ["take_out_of_service", "return_to_service"]

    def get_readonly_fields(self, request, obj=None):
        # A rule never moves to another sensor: its live state and alarms belong to this one.
        return (*self.readonly_fields, "sensor") if obj else self.readonly_fields

    @admin.display(ordering="sensor__machine__code")
    def machine(self, rule: AlarmRule) -> str:
        return rule.sensor.machine.code

    @admin.display(description="Live state")
    def live_state(self, rule: AlarmRule) -> str:
        state = getattr(rule, "state", None)
        if state is None:
            return "normal"
        parts = ["in alarm" if state.active else "normal"]
        if state.shelved_until and state.shelved_until > timezone.now():  # an expired one ends at the next timer run
            parts.append(f"shelved until {timezone.localtime(state.shelved_until):%Y-%m-%d %H:%M}")
        if state.out_of_service:
            parts.append("out of service")
        return ", ".join(parts)

    @admin.action(description="Take the selected rules out of service…", permissions=["change"])
    def take_out_of_service(self, request, queryset):
        if not roles.has_role(request.user, roles.ENGINEER):
            self.message_user(request, "Only engineers and admins take alarms out of service.", messages.ERROR)
            return None
        note = request.POST.get("note", "").strip()
        if "apply" in request.POST and note:
            done, refused = 0, []
            for rule in queryset:
                try:
                    services.take_out_of_service(rule, request.user, note)
                    done += 1
                except services.NotAllowed as exc:
                    refused.append(f"{rule}: {exc}")
            self.message_user(request, f"{done} rule(s) taken out of service.", messages.SUCCESS)
            for reason in refused:
                self.message_user(request, reason, messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Take alarm rules out of service",
            "rules": list(queryset),
            "note": note,
            "error": "A reason is required." if "apply" in request.POST else "",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/alarms/take_out_of_service.html", context)

    @admin.action(description="Return the selected rules to service", permissions=["change"])
    def return_to_service(self, request, queryset) -> None:
        if not roles.has_role(request.user, roles.ENGINEER):
            self.message_user(request, "Only engineers and admins return alarms to service.", messages.ERROR)
            return
        done = 0
        for rule in queryset:
            try:
                services.return_to_service(rule, request.user, f"returned to service in admin by {request.user}")
                done += 1
            except services.NotAllowed as exc:
                self.message_user(request, f"{rule}: {exc}", messages.WARNING)
        self.message_user(request, f"{done} rule(s) returned to service.", messages.SUCCESS)


class AlarmEventInline(admin.TabularInline):
    model = AlarmEvent
    fields = readonly_fields = ("at", "kind", "from_state", "to_state", "user", "note", "value", "announced")
    ordering = ("at", "id")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Alarm)
class AlarmAdmin(ReadOnlyAdmin):
    list_display = (
        "id", "message", "machine", "severity", "state", "triggered_at", "acknowledged_at", "acknowledged_by",
        "resolved_at", "closed_at",
    )  # fmt: skip
    list_filter = ("state", "severity", "kind", "latched", "sensor__machine")
    search_fields = ("message", "sensor__code", "sensor__machine__code")
    list_select_related = ("sensor__machine", "acknowledged_by")
    date_hierarchy = "triggered_at"
    inlines = [AlarmEventInline]
    actions = ["acknowledge"]

    @admin.display(ordering="sensor__machine__code")
    def machine(self, alarm: Alarm) -> str:
        return alarm.sensor.machine.code

    @admin.action(description="Acknowledge the selected alarms")
    def acknowledge(self, request, queryset) -> None:
        if not roles.has_role(request.user, roles.OPERATOR):
            self.message_user(request, "Only operators, engineers and admins acknowledge alarms.", messages.ERROR)
            return
        done, refused = services.acknowledge_many(list(queryset.values_list("pk", flat=True)), request.user)
        self.message_user(request, f"{len(done)} alarm(s) acknowledged.", messages.SUCCESS)
        for alarm_id, reason in refused.items():
            self.message_user(request, f"Alarm #{alarm_id}: {reason}", messages.WARNING)


@admin.register(AlarmEvent)
class AlarmEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "kind", "sensor", "alarm", "from_state", "to_state", "user", "note", "announced")
    list_filter = ("kind", "announced", "sensor__machine")
    search_fields = ("note", "sensor__code", "sensor__machine__code", "user__username")
    list_select_related = ("sensor__machine", "user", "alarm")
    date_hierarchy = "at"


class NotificationRouteForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=EventKind.choices, widget=forms.CheckboxSelectMultiple, help_text="Which transitions are sent."
    )

    class Meta:
        model = NotificationRoute
        fields = ("name", "channel", "target", "min_severity", "machines", "events", "secret", "enabled")


@admin.register(NotificationRoute)
class NotificationRouteAdmin(admin.ModelAdmin):
    form = NotificationRouteForm
    list_display = ("name", "channel", "target", "min_severity", "event_list", "enabled")
    list_filter = ("channel", "min_severity", "enabled")
    search_fields = ("name", "target")
    filter_horizontal = ("machines",)
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description="Transitions")
    def event_list(self, route: NotificationRoute) -> str:
        return ", ".join(route.events)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event", "route", "status", "attempts", "last_error", "sent_at")
    list_filter = ("status", "route")
    list_select_related = ("event__sensor__machine", "route")
