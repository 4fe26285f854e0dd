from rest_framework import permissions, viewsets
from rest_framework.exceptions import PermissionDenied

from apps.accounts.permissions import AnyRole
from apps.boards import services
from apps.boards.api.serializers import BoardSerializer
from apps.boards.models import Board


class BoardViewSet(viewsets.ModelViewSet):
    """Boards: your own (read and change) and everyone's shared ones (read only)."""

    serializer_class = BoardSerializer
    permission_classes = [AnyRole]
    filterset_fields = ["shared"]
    ordering_fields = ["name", "updated_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema generator has no user
            return Board.objects.none()
        return services.visible_to(self.request.user)

    def check_object_permissions(self, request, obj) -> None:
        super().check_object_permissions(request, obj)
        if request.method not in permissions.SAFE_METHODS and not obj.can_edit(request.user):
            raise PermissionDenied("Only its owner changes a board; a shared board is read-only for others.")

    def perform_create(self, serializer) -> None:
        serializer.save(owner=self.request.user)
