from django.contrib import admin

from apps.boards.models import Board


@admin.register(Board)
class BoardAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "shared", "updated_at")
    list_filter = ("shared",)
    search_fields = ("name", "owner__username")
    readonly_fields = ("created_at", "updated_at")
