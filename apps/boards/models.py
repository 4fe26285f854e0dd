from django.conf import settings
from django.db import models


class Board(models.Model):
    """A user's dashboard: widgets on a 12-column grid (apps/boards/widgets.py). Its owner edits
    it; when shared, every user with a role can open it read-only."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="boards")
    name = models.CharField(max_length=100)
    shared = models.BooleanField(default=False, help_text="Every user can open it (read-only).")
    widgets = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="board_name_unique_per_owner")]

    def __str__(self) -> str:
        return self.name

    def can_edit(self, user) -> bool:
        return user.is_authenticated and self.owner_id == user.pk
