from django.http import HttpRequest

from apps.accounts import roles


def role(request: HttpRequest) -> dict:
    """The user's role for templates: pages show only the controls it allows (the server checks anyway)."""
    user = getattr(request, "user", None)
    return {"role": roles.role_of(user) if user is not None else None}
