"""Times given by people and URLs: ISO 8601, no offset meaning UTC (as for readings)."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(text: str, name: str) -> datetime:
    """Raises ValueError with a reason naming the parameter."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        hint = " (in a URL, write a + offset as %2B)" if " " in text else ""
        raise ValueError(f"{name} {text[:40]!r} is not an ISO 8601 date or time{hint}.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
