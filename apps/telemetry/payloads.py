"""Parsing of sensor payloads and topics (pure: no Django), on the ingest's per-message path.

Accepted on `sensors/{machine}/{sensor}/value`:
    12.5                                  a bare number (the receive time is used)
    {"value": 12.5, "ts": ..., "quality": "good"|"uncertain"|"bad"}   ts and quality optional
Accepted on `sensors/{machine}/batch`:
    {"ts": ..., "values": {"<sensor code>": 12.5, "<code>": {"value": 1, "quality": "bad"}}}
    or a list of such objects.
`ts` is ISO 8601 (a time without offset is UTC) or epoch seconds or milliseconds. `true`/`false`
are stored as 1/0 (state sensors).

Bad input raises Rejected with a reason from REASONS; callers count and keep it, never crash.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

MALFORMED = "malformed"
UNKNOWN_TOPIC = "unknown_topic"
UNKNOWN_MACHINE = "unknown_machine"
UNKNOWN_SENSOR = "unknown_sensor"
NON_FINITE = "non_finite"
BAD_TIMESTAMP = "bad_timestamp"
FUTURE_TIMESTAMP = "future_timestamp"
BAD_QUALITY = "bad_quality"
REASONS = (
    MALFORMED, UNKNOWN_TOPIC, UNKNOWN_MACHINE, UNKNOWN_SENSOR,
    NON_FINITE, BAD_TIMESTAMP, FUTURE_TIMESTAMP, BAD_QUALITY,
)  # fmt: skip

QUALITIES = {"good": 0, "uncertain": 1, "bad": 2}
GOOD = 0
EARLIEST = 946684800.0  # 2000-01-01: anything older is a broken clock, not a backfill
MILLISECONDS_FROM = 1e11  # epoch seconds reach 1e11 in the year 5138; larger numbers are ms


class Rejected(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Limits:
    """How far ahead of the receive time a timestamp may be (clock skew allowance)."""

    max_future: float = 300.0


def parse_time(value: object, received: float, limits: Limits) -> float:
    """Epoch seconds (UTC) of a `ts` field; the receive time when it is absent."""
    if value is None:
        return received
    if isinstance(value, bool):
        raise Rejected(BAD_TIMESTAMP, f"ts {value!r} is not a time")
    if isinstance(value, int | float):
        t = float(value)
        if not math.isfinite(t):
            raise Rejected(BAD_TIMESTAMP, f"ts {value!r} is not a time")
        if abs(t) >= MILLISECONDS_FROM:
            t /= 1000.0
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise Rejected(BAD_TIMESTAMP, f"ts {value[:40]!r} is not ISO 8601 or epoch seconds/milliseconds") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        t = parsed.timestamp()
    else:
        raise Rejected(BAD_TIMESTAMP, f"ts must be a string or a number, got {type(value).__name__}")
    if t < EARLIEST:
        raise Rejected(BAD_TIMESTAMP, f"ts {value!r} is before the year 2000")
    if t > received + limits.max_future:
        raise Rejected(FUTURE_TIMESTAMP, f"ts {value!r} is {t - received:.0f} s ahead of the receive time")
    return t


def parse_number(value: object) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float range
            raise Rejected(NON_FINITE, f"value {str(value)[:20]}... is beyond the range of a float") from None
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise Rejected(MALFORMED, f"value {value[:40]!r} is not a number") from None
    else:
        raise Rejected(MALFORMED, f"value must be a number, got {type(value).__name__}")
    if not math.isfinite(number):
        raise Rejected(NON_FINITE, f"value {value!r} is not finite")
    return number


def parse_quality(value: object) -> int:
    if value is None:
        return GOOD
    quality = QUALITIES.get(value) if isinstance(value, str) else None
    if quality is None:
        raise Rejected(BAD_QUALITY, f"quality {value!r} is not one of good, uncertain, bad")
    return quality


def _decode(payload: bytes) -> object:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        error = exc
    # orjson refuses numbers beyond float range (1e400) and NaN/Infinity tokens as a whole; the
    # standard parser reads them as non-finite floats, which are then rejected one reading at a
    # time, so their good neighbours in a batch are kept.
    if "infinity" in str(error) or b"NaN" in payload or b"Infinity" in payload:
        try:
            return json.loads(payload)
        except (ValueError, RecursionError):
            pass
    text = payload[:60].decode("utf-8", "replace")
    raise Rejected(MALFORMED, f"payload {text!r} is neither a number nor JSON") from None


def _reading(obj: object, received: float, limits: Limits, default_ts: object = None) -> tuple[float, float, int]:
    """(time, value, quality) of a bare number or a {"value", "ts", "quality"} object."""
    if isinstance(obj, dict):
        if "value" not in obj:
            raise Rejected(MALFORMED, "JSON object without 'value'")
        value = parse_number(obj["value"])
        ts = obj.get("ts")
        return parse_time(default_ts if ts is None else ts, received, limits), value, parse_quality(obj.get("quality"))
    if obj is None or isinstance(obj, list):
        raise Rejected(MALFORMED, f"expected a number or an object with 'value', got {type(obj).__name__}")
    return parse_time(default_ts, received, limits), parse_number(obj), GOOD


def parse_value_message(payload: bytes, received: float, limits: Limits) -> tuple[float, float, int]:
    """One reading from a `.../value` message: (epoch seconds, value, quality)."""
    try:
        number = float(payload)  # the common bare-number case, without JSON decoding
    except ValueError:
        return _reading(_decode(payload), received, limits)
    if not math.isfinite(number):
        raise Rejected(NON_FINITE, f"value {payload[:40].decode('utf-8', 'replace')!r} is not finite")
    return received, number, GOOD


def parse_batch_message(
    payload: bytes, received: float, limits: Limits
) -> tuple[list[tuple[str, float, float, int]], list[Rejected]]:
    """Readings of a `.../batch` message as (sensor code, time, value, quality), and the entries
    rejected one by one: a bad entry does not cost its neighbours."""
    data = _decode(payload)
    groups = data if isinstance(data, list) else [data]
    readings: list[tuple[str, float, float, int]] = []
    rejected: list[Rejected] = []
    for group in groups:
        if not isinstance(group, dict) or not isinstance(group.get("values"), dict):
            rejected.append(Rejected(MALFORMED, "a batch entry must be an object with a 'values' object"))
            continue
        ts = group.get("ts")
        for code, item in group["values"].items():
            try:
                t, value, quality = _reading(item, received, limits, default_ts=ts)
            except Rejected as exc:
                exc.detail = f"{code}: {exc.detail}"
                rejected.append(exc)
                continue
            readings.append((code, t, value, quality))
    return readings, rejected


def to_datetime(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)
