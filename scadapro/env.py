"""Typed readers for settings from the environment.

Every reader fails loudly: a malformed value raises ImproperlyConfigured naming the variable,
so a typo in `.env` stops start-up instead of silently running with a default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str | None = None) -> str:
    value = _raw(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"{name} is not set; it is required (see config/.env.example).")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use true or false.")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below its minimum of {minimum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class ServiceUrl:
    """A parsed service URL such as postgres://user:pass@host:5432/db or mqtt://host:1883."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None
    path: str

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"


def env_url(name: str, default: str, schemes: dict[str, int]) -> ServiceUrl:
    """Read a URL whose scheme is one of `schemes` (mapped to its default port)."""
    value = _raw(name) or default
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a valid URL: {exc}.") from None
    if parts.scheme not in schemes:
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise ImproperlyConfigured(f"{name} must start with one of {allowed} (got {parts.scheme or 'no'} scheme).")
    if not parts.hostname:
        raise ImproperlyConfigured(f"{name} has no host name.")
    return ServiceUrl(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or schemes[parts.scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        path=parts.path.lstrip("/"),
    )
