from rest_framework import serializers

from apps.boards import services
from apps.boards.models import Board
from apps.boards.widgets import WidgetError


class BoardSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    editable = serializers.SerializerMethodField()
    widgets = serializers.JSONField(
        required=False, help_text="Widgets on the 12-column grid (see apps/boards/widgets.py)."
    )

    class Meta:
        model = Board
        fields = ["id", "name", "shared", "widgets", "owner", "editable", "created_at", "updated_at"]
        read_only_fields = ["owner", "editable", "created_at", "updated_at"]

    def get_editable(self, board: Board) -> bool:
        return board.can_edit(self.context["request"].user)

    def validate_name(self, name: str) -> str:
        name = name.strip()
        if not name:
            raise serializers.ValidationError("A board needs a name.")
        owner = self.instance.owner if self.instance else self.context["request"].user
        if services.name_taken(owner, name, exclude=getattr(self.instance, "pk", None)):
            raise serializers.ValidationError(services.NAME_TAKEN)
        return name

    def validate_widgets(self, value):
        try:
            return services.clean_widgets(value)
        except WidgetError as exc:
            raise serializers.ValidationError(str(exc)) from exc
