"""Roles are Django groups. Each role includes the rights of the ones before it."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

VIEWER = "viewer"
OPERATOR = "operator"
ENGINEER = "engineer"
ADMIN = "admin"
ROLES = (VIEWER, OPERATOR, ENGINEER, ADMIN)


def role_of(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The highest role a user holds, or None for a user with no role."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return ADMIN
    names = set(user.groups.values_list("name", flat=True))
    for role in reversed(ROLES):
        if role in names:
            return role
    return None


def has_role(user: AbstractBaseUser | AnonymousUser, minimum: str) -> bool:
    """True when the user holds `minimum` or a higher role."""
    role = role_of(user)
    return role is not None and ROLES.index(role) >= ROLES.index(minimum)
