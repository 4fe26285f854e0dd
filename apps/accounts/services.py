"""Accounts workflows: token authentication (shared by the API and WebSockets) and role groups."""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from apps.accounts import roles
from apps.accounts.models import ApiToken, hash_token

DEPLOYMENT_USERNAME = "deployment-token"
# Recording every use would write on every request; a minute's precision is enough to audit.
LAST_USED_PRECISION = timedelta(minutes=1)

# Which model permissions each role's group holds, by app. Later apps (alarms, boards) add theirs.
ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    roles.VIEWER: {"plant": ("view",), "telemetry": ("view",), "alarms": ("view",)},
    roles.OPERATOR: {"plant": ("view",), "telemetry": ("view",), "alarms": ("view",)},
    roles.ENGINEER: {
        "plant": ("view", "add", "change", "delete"),
        "telemetry": ("view", "change"),
        "alarms": ("view", "add", "change", "delete"),
    },
    roles.ADMIN: {
        "alarms": ("view", "add", "change", "delete"),
        "plant": ("view", "add", "change", "delete"),
        "telemetry": ("view", "add", "change", "delete"),
        "accounts": ("view", "add", "change", "delete"),
        "auth": ("view", "add", "change", "delete"),
    },
}


class InvalidToken(Exception):
    """The bearer token is not the deployment token nor a usable personal token."""


def authenticate_token(token: str):
    """The user a bearer token stands for; raises InvalidToken otherwise."""
    if hmac.compare_digest(token.encode(), settings.SCADAPRO_API_TOKEN.encode()):
        return deployment_user()
    api_token = ApiToken.objects.usable().select_related("user").filter(token_hash=hash_token(token)).first()
    if api_token is None:
        raise InvalidToken("The token is unknown, revoked or expired.")
    now = timezone.now()
    if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
    return api_token.user


def deployment_user():
    """The service account behind the deployment token: admin role, cannot log in to pages."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=DEPLOYMENT_USERNAME, defaults={"first_name": "Deployment token", "is_active": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=roles.ADMIN)[0])
    return user


def ensure_role_groups() -> None:
    """Create the role groups and give each its permissions (idempotent; runs after migrate)."""
    # post_migrate reaches apps in INSTALLED_APPS order, so later apps may not have their
    # permissions yet; creating them here first is idempotent.
    for app_config in django_apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    for role, per_app in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for app_label, actions in per_app.items():
            if not django_apps.is_installed(f"apps.{app_label}") and app_label not in ("auth",):
                continue
            codenames = [
                f"{action}_{model._meta.model_name}"
                for model in django_apps.get_app_config(app_label).get_models()
                for action in actions
            ]
            wanted += Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        group.permissions.set(wanted)
