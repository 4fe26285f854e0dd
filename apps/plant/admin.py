from django.contrib import admin, messages
from django.db.models import Count

from apps.alarms import services as alarm_services
from apps.alarms.models import AlarmRule
from apps.plant.models import PLC, Machine, Sensor


class AlarmRuleInline(admin.TabularInline):
    model = AlarmRule
    extra = 0
    fields = ("kind", "setpoint", "deadband", "on_delay", "off_delay", "severity", "latching", "enabled", "message")
    show_change_link = True


class PLCInline(admin.TabularInline):
    model = PLC
    extra = 0
    fields = ("name", "protocol", "address", "description")


class SensorInline(admin.TabularInline):
    model = Sensor
    extra = 0
    fields = ("code", "name", "type", "unit", "range_min", "range_max", "decimals", "expected_interval", "plc")
    show_change_link = True

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # Only this machine's PLCs can be chosen for its sensors.
        plc_field = formset.form.base_fields.get("plc")
        if plc_field is not None:
            plc_field.queryset = PLC.objects.filter(machine=obj) if obj else PLC.objects.none()
        return formset


@admin.register(Machine)
class MachineAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "status", "area", "line", "sensor_count", "updated_at")
    list_filter = ("status", "area", "line")
    search_fields = ("code", "name", "description", "area", "line")
    readonly_fields = ("created_at", "updated_at")
    inlines = [PLCInline, SensorInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(sensor_total=Count("sensors"))

    @admin.display(ordering="sensor_total", description="Sensors")
    def sensor_count(self, obj: Machine) -> int:
        return obj.sensor_total


@admin.register(PLC)
class PLCAdmin(admin.ModelAdmin):
    list_display = ("name", "machine", "protocol", "address")
    list_filter = ("protocol", "machine")
    search_fields = ("name", "address", "machine__code", "machine__name")
    list_select_related = ("machine",)
    readonly_fields = ("created_at", "updated_at")


@admin.register(Sensor)
class SensorAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "machine", "type", "unit", "last_value", "last_seen", "mqtt_topic")
    list_filter = ("type", "machine")
    search_fields = ("code", "name", "description", "mqtt_topic", "machine__code", "machine__name")
    list_select_related = ("machine",)
    autocomplete_fields = ("machine",)
    readonly_fields = ("last_value", "last_seen", "created_at", "updated_at")
    inlines = [AlarmRuleInline]
    actions = ["add_default_alarm_rules"]
    fieldsets = (
        (None, {"fields": ("machine", "plc", "code", "name", "description")}),
        ("Measurement", {"fields": ("type", "unit", "range_min", "range_max", "decimals", "expected_interval")}),
        ("MQTT", {"fields": ("mqtt_topic",)}),
        ("Latest reading", {"fields": ("last_value", "last_seen")}),
        ("Audit", {"fields": ("created_at", "updated_at")}),
    )

    @admin.action(description="Create default alarm rules (kinds the sensor has none of)")
    def add_default_alarm_rules(self, request, queryset) -> None:
        if not request.user.has_perm("alarms.add_alarmrule"):
            self.message_user(request, "Only engineers and admins create alarm rules.", messages.ERROR)
            return
        created = sum(alarm_services.add_default_rules(sensor) for sensor in queryset)
        self.message_user(
            request, f"{created} alarm rule(s) created for {queryset.count()} sensor(s).", messages.SUCCESS
        )
