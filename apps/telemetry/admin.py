from django.contrib import admin, messages

from apps.telemetry import services
from apps.telemetry.models import RejectCount, RejectedMessage


@admin.register(RejectedMessage)
class RejectedMessageAdmin(admin.ModelAdmin):
    """What the ingest could not store. Unknown topics become sensors in one action."""

    list_display = ("received_at", "reason", "topic", "short_payload", "detail")
    list_filter = ("reason",)
    search_fields = ("topic", "payload", "detail")
    date_hierarchy = "received_at"
    readonly_fields = ("received_at", "topic", "payload", "reason", "detail")
    actions = ["create_sensors", "replay"]

    @admin.display(description="Payload")
    def short_payload(self, obj: RejectedMessage) -> str:
        return obj.payload if len(obj.payload) <= 60 else obj.payload[:57] + "…"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Create sensors for the selected unknown topics (and store their readings)")
    def create_sensors(self, request, queryset) -> None:
        if not request.user.has_perm("plant.add_sensor"):
            self.message_user(request, "Only engineers and admins may create sensors.", messages.ERROR)
            return
        created, recovered = services.create_sensors_for_rejected(list(queryset))
        if not created:
            self.message_user(
                request,
                "No sensor created: select messages of unknown sensors/{machine}/{sensor}/value topics.",
                messages.WARNING,
            )
            return
        names = ", ".join(str(sensor) for sensor in created)
        self.message_user(
            request,
            f"Created {len(created)} sensor(s): {names}; {recovered} kept reading(s) stored. "
            "Set their type, unit and range in the sensor admin.",
        )

    @admin.action(description="Store the selected again (after fixing the plant)")
    def replay(self, request, queryset) -> None:
        if not request.user.has_perm("telemetry.delete_rejectedmessage"):
            self.message_user(request, "Only admins may replay rejected messages.", messages.ERROR)
            return
        count = queryset.count()
        stored = services.replay_rejected(queryset.order_by("id"))
        self.message_user(request, f"{stored} reading(s) stored from {count} message(s); the rest are still rejected.")


@admin.register(RejectCount)
class RejectCountAdmin(admin.ModelAdmin):
    list_display = ("reason", "count", "last_at")
    readonly_fields = ("reason", "count", "last_at")

    def has_add_permission(self, request) -> bool:
        return False
