from django.contrib import admin, messages
from django.utils import timezone

from apps.accounts.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "hint", "created_at", "expires_at", "last_used_at", "state")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "hint")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    fields = ("user", "name", "expires_at", "hint", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("hint", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    @admin.display(description="State")
    def state(self, obj: ApiToken) -> str:
        if obj.revoked_at:
            return "revoked"
        if obj.expires_at and obj.expires_at <= timezone.now():
            return "expired"
        return "active"

    def get_readonly_fields(self, request, obj=None):
        # A token's owner never changes; a new owner needs a new token.
        return (*self.readonly_fields, "user") if obj else self.readonly_fields

    def save_model(self, request, obj: ApiToken, form, change: bool) -> None:
        if not change:
            plain = obj.set_new_secret()
            super().save_model(request, obj, form, change)
            messages.warning(
                request,
                f"API token for {obj.user}: {plain} — copy it now; it is stored hashed and will not be shown again.",
            )
            return
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} token(s) revoked.")
