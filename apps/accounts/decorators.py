"""Page views' counterpart of apps/accounts/permissions.py."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from apps.accounts import roles


def role_required(minimum: str) -> Callable:
    """Anonymous users go to the login page; users without `minimum` (or a higher role) get 403."""

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not roles.has_role(request.user, minimum):
                raise PermissionDenied("Your account has no role; an admin must give you one.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
