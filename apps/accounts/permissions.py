from rest_framework.permissions import SAFE_METHODS, BasePermission

from apps.accounts import roles


class ReadAnyRoleWriteEngineer(BasePermission):
    """Any role reads; only engineers and admins change (plant data and the like)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if request.method in SAFE_METHODS:
            self.message = "Your account has no role; an admin must make you a viewer, operator, engineer or admin."
            return roles.has_role(user, roles.VIEWER)
        self.message = "Only engineers and admins may change this."
        return roles.has_role(user, roles.ENGINEER)


class ReadAnyRoleActOperator(BasePermission):
    """Any role reads; operators, engineers and admins act (acknowledge, shelve, reset alarms)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if request.method in SAFE_METHODS:
            self.message = "Your account has no role; an admin must make you a viewer, operator, engineer or admin."
            return roles.has_role(user, roles.VIEWER)
        self.message = "Only operators, engineers and admins may act on alarms."
        return roles.has_role(user, roles.OPERATOR)


class AnyRole(BasePermission):
    """Any role, for any method: what users keep for themselves (their boards)."""

    message = "Your account has no role; an admin must make you a viewer, operator, engineer or admin."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and roles.has_role(request.user, roles.VIEWER))
