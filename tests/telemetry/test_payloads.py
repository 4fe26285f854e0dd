"""MQTT payload parsing for the ingest (apps/telemetry/payloads.py): pure functions, no database.

Every bad input must come out as a Rejected with one of the REASONS, never as another exception:
the worker counts and keeps rejects, and an exception of any other kind would stop it.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from apps.telemetry.payloads import (
    BAD_QUALITY,
    BAD_TIMESTAMP,
    EARLIEST,
    FUTURE_TIMESTAMP,
    MALFORMED,
    NON_FINITE,
    REASONS,
    Limits,
    Rejected,
    parse_batch_message,
    parse_number,
    parse_quality,
    parse_time,
    parse_value_message,
    to_datetime,
)

LIMITS = Limits()
# The receive time of every message here, one minute after the readings' usual timestamp.
RECEIVED = datetime(2026, 11, 27, 10, 1, tzinfo=UTC).timestamp()
TS = datetime(2026, 11, 27, 10, 0, tzinfo=UTC).timestamp()
TS_ISO = "2026-11-27T10:00:00Z"

PROPERTY = settings(max_examples=200, deadline=None)


def as_bytes(payload: bytes | str | dict | list) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload).encode()


def value_message(payload, received: float = RECEIVED, limits: Limits = LIMITS) -> tuple[float, float, int]:
    return parse_value_message(as_bytes(payload), received, limits)


def batch_message(payload, received: float = RECEIVED, limits: Limits = LIMITS):
    return parse_batch_message(as_bytes(payload), received, limits)


def rejection(payload, received: float = RECEIVED, limits: Limits = LIMITS) -> Rejected:
    with pytest.raises(Rejected) as info:
        value_message(payload, received, limits)
    assert info.value.reason in REASONS
    assert isinstance(info.value.detail, str)
    assert info.value.detail
    return info.value


def time_rejection(ts: object, received: float = RECEIVED, limits: Limits = LIMITS) -> Rejected:
    with pytest.raises(Rejected) as info:
        parse_time(ts, received, limits)
    return info.value


def reasons(rejected: list[Rejected]) -> list[str]:
    return [exc.reason for exc in rejected]


# --- bare numbers (the receive time is used, quality good) ---------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"12", 12.0),
        (b"0", 0.0),
        (b"12.5", 12.5),
        (b"-3", -3.0),
        (b"-0.25", -0.25),
        (b"+7", 7.0),
        (b".5", 0.5),
        (b"1e3", 1000.0),
        (b"1.5E-2", 0.015),
        (b"-2.5e+2", -250.0),
        (b"  12.5  ", 12.5),
        (b"\t42\n", 42.0),
        (b"\r\n-1e-3 \r\n", -0.001),
        (b"1e308", 1e308),
        (b"5e-324", 5e-324),
    ],
)
def test_a_bare_number_is_read_at_the_receive_time(payload, expected):
    assert value_message(payload) == (RECEIVED, expected, 0)


def test_a_bare_negative_zero_keeps_its_sign():
    t, value, quality = value_message(b"-0")
    assert (t, value, quality) == (RECEIVED, 0.0, 0)
    assert math.copysign(1.0, value) == -1.0


@pytest.mark.parametrize("payload", [b"12abc", b"0x10", b"1,5", b"12 13", b"--1", b"e5", b"one", b"1.2.3"])
def test_text_that_is_neither_a_number_nor_json_is_malformed(payload):
    exc = rejection(payload)
    assert exc.reason == MALFORMED
    assert payload.decode() in exc.detail


# --- JSON numbers, strings holding numbers, booleans ---------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'"12.5"', 12.5),
        (b'" -4 "', -4.0),
        (b'"1e3"', 1000.0),
        ({"value": 12.5}, 12.5),
        ({"value": -3}, -3.0),
        ({"value": 0}, 0.0),
        ({"value": 1.5e3}, 1500.0),
        ({"value": 2**53 + 1}, float(2**53 + 1)),
        ({"value": "12.5"}, 12.5),
        ({"value": " -7.25 "}, -7.25),
        ({"value": "1e-3"}, 0.001),
        (b'{"value": 18446744073709551616}', 18446744073709551616.0),  # beyond 64 bits: a float
    ],
)
def test_json_numbers_and_strings_holding_numbers(payload, expected):
    assert value_message(payload) == (RECEIVED, expected, 0)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [(b"true", 1.0), (b"false", 0.0), ({"value": True}, 1.0), ({"value": False}, 0.0)],
)
def test_true_and_false_are_stored_as_one_and_zero(payload, expected):
    t, value, quality = value_message(payload)
    assert (t, value, quality) == (RECEIVED, expected, 0)
    assert type(value) is float


@pytest.mark.parametrize("payload", [{"value": "abc"}, {"value": ""}, {"value": "0x10"}, {"value": "12 13"}])
def test_a_string_value_that_is_not_a_number_is_malformed(payload):
    exc = rejection(payload)
    assert exc.reason == MALFORMED
    assert "is not a number" in exc.detail


# --- NaN and infinities --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        # bare: Python's float() reads all of these spellings
        b"nan",
        b"NaN",
        b"-nan",
        b"inf",
        b"-inf",
        b"Infinity",
        b"+Infinity",
        b"-Infinity",
        b" infinity\n",
        b"1e400",  # overflows to inf
        b"-1e400",
        # a JSON string holding one
        b'"NaN"',
        b'"Infinity"',
        b'"-Infinity"',
        b'"1e400"',
        {"value": "NaN"},
        {"value": "nan"},
        {"value": "Infinity"},
        {"value": "-Infinity"},
        {"value": "1e400"},
        {"value": "-1e999"},
    ],
)
def test_a_non_finite_value_is_rejected_as_non_finite(payload):
    assert rejection(payload).reason == NON_FINITE


@pytest.mark.parametrize(
    "payload",
    [
        b'{"value": 1e400}',
        b'{"value": -1e400}',
        b'{"value": 1e309}',
        b'{"value": ' + b"1" + b"0" * 400 + b"}",
        b'{"value": NaN}',
        b'{"value": Infinity}',
        b'{"value": -Infinity}',
    ],
)
def test_a_non_finite_json_number_is_non_finite(payload):
    """JSON has no NaN/Infinity tokens and orjson refuses a literal that overflows a double; the
    decoder falls back to the standard parser for those, so they are named for what they are."""
    assert rejection(payload).reason == NON_FINITE


# --- the shape of the JSON -----------------------------------------------------------------------


@pytest.mark.parametrize("payload", [{}, {"ts": TS_ISO}, {"quality": "good"}, {"Value": 1}, {"val": 1}])
def test_an_object_without_value_is_malformed(payload):
    exc = rejection(payload)
    assert exc.reason == MALFORMED
    assert "'value'" in exc.detail


@pytest.mark.parametrize(
    ("payload", "kind"),
    [({"value": None}, "NoneType"), ({"value": [1]}, "list"), ({"value": []}, "list"), ({"value": {"v": 1}}, "dict")],
)
def test_a_value_that_is_a_list_object_or_null_is_malformed(payload, kind):
    exc = rejection(payload)
    assert exc.reason == MALFORMED
    assert kind in exc.detail


@pytest.mark.parametrize("payload", [b"null", b"[]", b"[12.5]", b'[{"value": 1}]'])
def test_a_top_level_null_or_list_is_malformed(payload):
    assert rejection(payload).reason == MALFORMED


# --- undecodable payloads ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"   ",
        b"\x00",
        b"\xff\xfe",
        b"\x80abc",
        b"\xc3\x28",  # an invalid two-byte UTF-8 sequence
        b"12\xff",
        b"\xff12",
        b"\xef\xbb\xbf12",  # a UTF-8 byte order mark before a number
        b'{"value": "\xff"}',  # invalid UTF-8 inside a JSON string
        b'{"value": 1, "ts": "\xc3\x28"}',
        b'{"value": "\\ud800"}',  # a lone surrogate
        b'{"value": 1',
        b'{"value": 1}}',
        b"[" * 2000 + b"]" * 2000,  # deeper than the decoder's recursion limit
        bytes(range(256)),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    ],
)
def test_invalid_utf8_binary_and_broken_json_are_malformed(payload):
    exc = rejection(payload)
    assert exc.reason == MALFORMED
    with pytest.raises(Rejected) as info:
        batch_message(payload)
    assert info.value.reason == MALFORMED


# --- timestamps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2026-11-27T10:00:00Z", datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
        ("2026-11-27T10:00:00.123Z", datetime(2026, 11, 27, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2026-11-27T10:00:00.123456Z", datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-11-27T10:00:00+00:00", datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
        ("2026-11-27T12:00:00+02:00", datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
        ("2026-11-27T12:00:00.5+02:00", datetime(2026, 11, 27, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2026-11-27T04:30:00-05:30", datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
        ("2026-11-27T10:00:00", datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),  # no offset: UTC
        ("2026-11-27T10:00:00.654321", datetime(2026, 11, 27, 10, 0, 0, 654321, tzinfo=UTC)),
        ("2026-11-27 10:00:00Z", datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
        ("2026-11-27T10:00Z", datetime(2026, 11, 27, 10, 0, tzinfo=UTC)),
        ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
    ],
)
def test_iso_timestamps_are_converted_to_utc(ts, expected):
    t, value, quality = value_message({"value": 1, "ts": ts})
    assert t == pytest.approx(expected.timestamp(), abs=1e-6)
    assert to_datetime(t) == expected
    assert to_datetime(t).utcoffset() == timedelta(0)
    assert (value, quality) == (1.0, 0)


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (1795000000, 1795000000.0),  # epoch seconds
        (1795000000.25, 1795000000.25),
        (1795000000123, 1795000000.123),  # epoch milliseconds
        (1795000000123.5, 1795000000.1235),
        (946684800, EARLIEST),  # 2000-01-01T00:00:00Z itself
        (946684800000, EARLIEST),
    ],
)
def test_epoch_seconds_and_milliseconds(ts, expected):
    t, _, _ = value_message({"value": 1, "ts": ts})
    assert t == pytest.approx(expected, abs=1e-6)


def test_a_millisecond_timestamp_lands_on_the_same_instant_as_iso():
    ms = int(TS * 1000) + 123
    from_ms, _, _ = value_message({"value": 1, "ts": ms})
    from_iso, _, _ = value_message({"value": 1, "ts": "2026-11-27T10:00:00.123Z"})
    assert from_ms == pytest.approx(from_iso, abs=1e-6)
    assert to_datetime(from_ms) == datetime(2026, 11, 27, 10, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize("payload", [{"value": 1}, {"value": 1, "ts": None}, {"value": 1, "quality": "bad"}])
def test_without_ts_the_receive_time_is_used(payload):
    assert value_message(payload)[0] == RECEIVED


@pytest.mark.parametrize(
    "ts",
    [
        946684799,  # one second before 2000-01-01
        946684799.999,
        946684799000,  # the same in milliseconds
        0,
        -1,
        -1e11,
        -1e308,
        "1999-12-31T23:59:59Z",
        "2000-01-01T01:00:00+02:00",  # 1999-12-31T23:00Z
        "1970-01-01T00:00:00Z",
        "0001-01-01T00:00:00",
    ],
)
def test_a_timestamp_before_2000_is_a_bad_timestamp(ts):
    exc = rejection({"value": 1, "ts": ts})
    assert exc.reason == BAD_TIMESTAMP
    assert "before the year 2000" in exc.detail


def test_a_timestamp_just_within_max_future_is_accepted():
    assert value_message({"value": 1, "ts": RECEIVED + LIMITS.max_future})[0] == RECEIVED + LIMITS.max_future
    iso = to_datetime(RECEIVED + 299.5).isoformat()
    assert value_message({"value": 1, "ts": iso})[0] == pytest.approx(RECEIVED + 299.5)


@pytest.mark.parametrize(
    "ts",
    [
        RECEIVED + LIMITS.max_future + 1,
        RECEIVED + LIMITS.max_future + 0.001,
        (RECEIVED + LIMITS.max_future + 1) * 1000,  # milliseconds
        "2026-11-27T10:06:01Z",  # 301 s after the receive time
        "2026-11-27T12:06:01+02:00",
        "2027-01-01T00:00:00",
        "9999-12-31T23:59:59-23:59",
        99999999999,  # just under the millisecond threshold: read as seconds, year 5138
        1e308,
    ],
)
def test_a_timestamp_beyond_max_future_is_a_future_timestamp(ts):
    exc = rejection({"value": 1, "ts": ts})
    assert exc.reason == FUTURE_TIMESTAMP
    assert "ahead of the receive time" in exc.detail


def test_max_future_comes_from_the_limits():
    strict = Limits(max_future=0.0)
    assert value_message({"value": 1, "ts": RECEIVED}, limits=strict)[0] == RECEIVED
    assert rejection({"value": 1, "ts": RECEIVED + 1}, limits=strict).reason == FUTURE_TIMESTAMP
    lenient = Limits(max_future=3600.0)
    assert value_message({"value": 1, "ts": RECEIVED + 3000}, limits=lenient)[0] == RECEIVED + 3000


@pytest.mark.parametrize(
    "ts",
    [
        True,
        False,
        [],
        [TS],
        {"seconds": TS},
        "yesterday",
        "",
        "2026-02-30T10:00:00Z",  # no such day
        "2026-11-27T25:00:00Z",
        "2026-11-27T10:00:00+24:00",
        "27/11/2026 10:00",
        "1795000000",  # epoch seconds as a JSON string are not a time
        "١٩٩٩-01-01",  # non-ASCII digits
    ],
)
def test_a_timestamp_that_is_not_a_time_is_a_bad_timestamp(ts):
    exc = rejection({"value": 1, "ts": ts})
    assert exc.reason == BAD_TIMESTAMP


@pytest.mark.parametrize("ts", [math.nan, math.inf, -math.inf])
def test_parse_time_rejects_non_finite_numbers(ts):
    assert time_rejection(ts).reason == BAD_TIMESTAMP


def test_parse_time_garbage_detail_is_truncated():
    exc = time_rejection("x" * 500)
    assert exc.reason == BAD_TIMESTAMP
    assert len(exc.detail) < 200


def test_to_datetime_is_utc():
    moment = to_datetime(TS + 0.25)
    assert moment == datetime(2026, 11, 27, 10, 0, 0, 250000, tzinfo=UTC)
    assert moment.tzinfo is UTC


# --- quality -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("quality", "expected"), [("good", 0), ("uncertain", 1), ("bad", 2)])
def test_quality_names_map_to_codes(quality, expected):
    assert value_message({"value": 1, "quality": quality}) == (RECEIVED, 1.0, expected)
    assert parse_quality(quality) == expected


@pytest.mark.parametrize("payload", [{"value": 1}, {"value": 1, "quality": None}])
def test_absent_quality_is_good(payload):
    assert value_message(payload)[2] == 0


@pytest.mark.parametrize("quality", ["GOOD", "Good", "ok", "", " good", 0, 1, 2, 1.5, True, ["good"], {"q": "good"}])
def test_an_unknown_quality_is_a_bad_quality(quality):
    exc = rejection({"value": 1, "quality": quality})
    assert exc.reason == BAD_QUALITY
    assert repr(quality) in exc.detail


def test_a_full_value_message():
    payload = {"value": 12.5, "ts": "2026-11-27T10:00:00.123Z", "quality": "uncertain"}
    t, value, quality = value_message(payload)
    assert to_datetime(t) == datetime(2026, 11, 27, 10, 0, 0, 123000, tzinfo=UTC)
    assert (value, quality) == (12.5, 1)


def test_parse_number_directly():
    assert parse_number(3) == 3.0
    assert parse_number(True) == 1.0
    assert parse_number("2.5") == 2.5
    with pytest.raises(Rejected) as info:
        parse_number(None)
    assert info.value.reason == MALFORMED
    with pytest.raises(Rejected) as info:
        parse_number(math.inf)
    assert info.value.reason == NON_FINITE


# --- batches -------------------------------------------------------------------------------------


def test_a_batch_object_reads_every_value_at_the_group_time():
    readings, rejected = batch_message({"ts": TS_ISO, "values": {"temp": 12.5, "pressure": 3, "running": True}})
    assert readings == [("temp", TS, 12.5, 0), ("pressure", TS, 3.0, 0), ("running", TS, 1.0, 0)]
    assert rejected == []


def test_a_batch_without_ts_is_read_at_the_receive_time():
    readings, rejected = batch_message({"values": {"temp": 12.5, "pressure": "4"}})
    assert readings == [("temp", RECEIVED, 12.5, 0), ("pressure", RECEIVED, 4.0, 0)]
    assert rejected == []


def test_a_list_of_batch_objects_each_with_its_own_time():
    payload = [
        {"ts": TS, "values": {"temp": 1}},
        {"ts": TS + 1, "values": {"temp": 2, "pressure": 20}},
        {"ts": (TS + 2) * 1000, "values": {"temp": 3}},
        {"values": {"temp": 4}},
    ]
    readings, rejected = batch_message(payload)
    assert readings == [
        ("temp", TS, 1.0, 0),
        ("temp", TS + 1, 2.0, 0),
        ("pressure", TS + 1, 20.0, 0),
        ("temp", TS + 2, 3.0, 0),
        ("temp", RECEIVED, 4.0, 0),
    ]
    assert rejected == []


def test_an_entry_object_has_its_own_value_quality_and_ts_overriding_the_group_ts():
    payload = {
        "ts": TS,
        "values": {
            "plain": 1,
            "own_ts": {"value": 2, "ts": TS - 30},
            "own_iso": {"value": 3, "ts": "2026-11-27T11:59:00+02:00"},
            "own_quality": {"value": 4, "quality": "bad"},
            "all": {"value": "5", "quality": "uncertain", "ts": TS - 10},
        },
    }
    readings, rejected = batch_message(payload)
    assert readings == [
        ("plain", TS, 1.0, 0),
        ("own_ts", TS - 30, 2.0, 0),
        ("own_iso", TS - 60, 3.0, 0),
        ("own_quality", TS, 4.0, 2),
        ("all", TS - 10, 5.0, 1),
    ]
    assert rejected == []


def test_bad_entries_are_rejected_one_by_one_and_their_neighbours_kept():
    payload = {
        "ts": TS,
        "values": {
            "good1": 1,
            "text": "x",
            "null": None,
            "list": [1],
            "no_value": {"quality": "bad"},
            "good2": {"value": 2, "quality": "uncertain"},
            "nan": "NaN",
            "inf": "-Infinity",
            "quality": {"value": 1, "quality": "meh"},
            "future": {"value": 1, "ts": RECEIVED + 3600},
            "old": {"value": 1, "ts": "1999-01-01T00:00:00Z"},
            "bool_ts": {"value": 1, "ts": True},
            "good3": False,
        },
    }
    readings, rejected = batch_message(payload)
    assert readings == [("good1", TS, 1.0, 0), ("good2", TS, 2.0, 1), ("good3", TS, 0.0, 0)]
    expected = {
        "text": MALFORMED,
        "null": MALFORMED,
        "list": MALFORMED,
        "no_value": MALFORMED,
        "nan": NON_FINITE,
        "inf": NON_FINITE,
        "quality": BAD_QUALITY,
        "future": FUTURE_TIMESTAMP,
        "old": BAD_TIMESTAMP,
        "bool_ts": BAD_TIMESTAMP,
    }
    assert reasons(rejected) == list(expected.values())
    for exc, code in zip(rejected, expected, strict=True):
        assert isinstance(exc, Rejected)
        assert exc.detail.startswith(f"{code}: "), exc.detail
        assert str(exc) or exc.detail  # printable either way


def test_an_entry_with_a_null_ts_takes_the_group_ts():
    readings, rejected = batch_message({"ts": TS, "values": {"a": {"value": 1, "ts": None}}})
    assert readings == [("a", TS, 1.0, 0)]
    assert rejected == []


def test_a_bad_group_ts_rejects_its_entries_but_not_those_with_their_own_ts():
    payload = {"ts": "not a time", "values": {"a": 1, "b": {"value": 2}, "c": {"value": 3, "ts": TS}}}
    readings, rejected = batch_message(payload)
    assert readings == [("c", TS, 3.0, 0)]
    assert reasons(rejected) == [BAD_TIMESTAMP, BAD_TIMESTAMP]
    assert [exc.detail.split(":")[0] for exc in rejected] == ["a", "b"]


def test_a_future_group_ts_rejects_each_entry_as_future():
    readings, rejected = batch_message({"ts": RECEIVED + 3600, "values": {"a": 1, "b": 2}})
    assert readings == []
    assert reasons(rejected) == [FUTURE_TIMESTAMP, FUTURE_TIMESTAMP]


@pytest.mark.parametrize(
    "payload",
    [
        {"ts": TS},  # no 'values'
        {"values": None},
        {"values": [1, 2]},
        {"values": 12.5},
        {"values": "temp=1"},
        {"value": 12.5},  # a value message sent to the batch topic
        12.5,
        b'"x"',
        None,
        True,
    ],
)
def test_a_group_that_is_not_an_object_with_values_is_one_malformed_reject(payload):
    readings, rejected = batch_message(payload)
    assert readings == []
    assert reasons(rejected) == [MALFORMED]
    assert "'values'" in rejected[0].detail


def test_bad_groups_in_a_list_do_not_cost_the_good_ones():
    payload = [1, {"ts": TS, "values": {"a": 1}}, None, "x", [], {"ts": TS}, {"values": {"b": 2}}, {"values": []}]
    readings, rejected = batch_message(payload)
    assert readings == [("a", TS, 1.0, 0), ("b", RECEIVED, 2.0, 0)]
    assert reasons(rejected) == [MALFORMED] * 6


@pytest.mark.parametrize("payload", [[], {"values": {}}, [{"values": {}}, {"ts": TS, "values": {}}]])
def test_an_empty_batch_has_no_readings_and_no_rejects(payload):
    assert batch_message(payload) == ([], [])


def test_a_non_finite_json_number_in_a_batch_costs_only_its_own_entry():
    readings, rejected = parse_batch_message(b'{"values": {"a": 1e400, "b": 1}}', RECEIVED, LIMITS)
    assert readings == [("b", RECEIVED, 1.0, 0)]
    assert reasons(rejected) == [NON_FINITE]
    readings, rejected = batch_message({"values": {"a": "1e400", "b": 1}})
    assert readings == [("b", RECEIVED, 1.0, 0)]
    assert reasons(rejected) == [NON_FINITE]


# --- properties ----------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # json.dumps writes NaN/Infinity tokens for the non-finite ones
    st.text(max_size=20),
    st.sampled_from(["12.5", "NaN", "-Infinity", "1e400", " 7 ", "good", "bad", "uncertain", TS_ISO]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
timestamps = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(min_value=-1e13, max_value=1e13),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(min_value=RECEIVED - 1e6, max_value=RECEIVED + 1e3),
    st.floats(min_value=(RECEIVED - 1e6) * 1000, max_value=(RECEIVED + 1e3) * 1000),
    st.datetimes(timezones=st.none() | st.timezones()).map(datetime.isoformat),
    st.text(max_size=30),
    json_values,
)
qualities = st.one_of(st.sampled_from(["good", "uncertain", "bad"]), json_values)
reading_objects = st.fixed_dictionaries(
    {"value": json_values}, optional={"ts": timestamps, "quality": qualities, "extra": json_values}
)


def dumps(obj: object) -> bytes:
    return json.dumps(obj).encode()


value_payloads = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=50).map(str.encode),
    st.floats().map(lambda v: repr(v).encode()),
    st.integers().map(lambda v: str(v).encode()),
    json_values.map(dumps),
    reading_objects.map(dumps),
)
batch_groups = st.one_of(
    st.fixed_dictionaries(
        {"values": st.dictionaries(st.text(max_size=8), json_values | reading_objects, max_size=5)},
        optional={"ts": timestamps},
    ),
    json_values,
)
batch_payloads = st.one_of(
    st.binary(max_size=200),
    json_values.map(dumps),
    batch_groups.map(dumps),
    st.lists(batch_groups, max_size=4).map(dumps),
)


def check_reading(t: float, value: float, quality: int) -> None:
    assert isinstance(t, float)
    assert isinstance(value, float)
    assert math.isfinite(t)
    assert math.isfinite(value)
    assert quality in (0, 1, 2)
    assert EARLIEST <= t <= RECEIVED + LIMITS.max_future


@PROPERTY
@given(value_payloads)
def test_property_a_value_message_is_a_finite_reading_or_a_known_rejection(payload):
    try:
        result = parse_value_message(payload, RECEIVED, LIMITS)
    except Rejected as exc:
        assert exc.reason in REASONS
        assert isinstance(exc.detail, str)
        return
    assert isinstance(result, tuple)
    assert len(result) == 3
    check_reading(*result)


@PROPERTY
@given(batch_payloads)
def test_property_a_batch_message_is_finite_readings_and_known_rejections(payload):
    try:
        readings, rejected = parse_batch_message(payload, RECEIVED, LIMITS)
    except Rejected as exc:
        assert exc.reason in REASONS
        assert isinstance(exc.detail, str)
        return
    assert isinstance(readings, list)
    assert isinstance(rejected, list)
    for code, t, value, quality in readings:
        assert isinstance(code, str)
        check_reading(t, value, quality)
    for exc in rejected:
        assert isinstance(exc, Rejected)
        assert exc.reason in REASONS
        assert isinstance(exc.detail, str)


@PROPERTY
@given(st.lists(batch_groups, max_size=4))
def test_property_every_batch_entry_is_either_read_or_rejected_once(groups):
    try:
        payload = json.dumps(groups, allow_nan=False).encode()
    except ValueError:
        reject()  # NaN/Infinity tokens make the whole message malformed (tested above)
    readings, rejected = parse_batch_message(payload, RECEIVED, LIMITS)
    entries = 0
    for group in groups:
        if isinstance(group, dict) and isinstance(group.get("values"), dict):
            entries += len(group["values"])
        else:
            entries += 1  # the group itself is one malformed reject
    assert len(readings) + len(rejected) == entries


@PROPERTY
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_property_a_bare_finite_float_is_read_exactly(v):
    t, value, quality = parse_value_message(repr(v).encode(), RECEIVED, LIMITS)
    assert (t, value, quality) == (RECEIVED, v, 0)
    assert math.copysign(1.0, value) == math.copysign(1.0, v)


@PROPERTY
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_property_a_finite_json_float_is_read_exactly(v):
    assert parse_value_message(dumps({"value": v}), RECEIVED, LIMITS)[1] == v
    assert parse_value_message(dumps(repr(v)), RECEIVED, LIMITS)[1] == v


fixed_offsets = st.builds(
    timezone,
    # Real offsets are whole minutes (ISO 8601 has no finer ones).
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(lambda m: timedelta(minutes=m)),
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 2),
    max_value=datetime(2099, 12, 30),
    timezones=st.timezones() | fixed_offsets | st.just(UTC),
)
FAR_RECEIVED = datetime(2100, 1, 1, tzinfo=UTC).timestamp()


@PROPERTY
@given(moments)
def test_property_an_iso_timestamp_round_trips_to_the_same_epoch_seconds(moment):
    text = moment.isoformat()
    t = parse_time(text, FAR_RECEIVED, LIMITS)
    assert abs(t - moment.timestamp()) <= 1e-6
    assert abs((to_datetime(t) - moment).total_seconds()) <= 1e-6
    if text.endswith("+00:00"):
        assert parse_time(text[:-6] + "Z", FAR_RECEIVED, LIMITS) == t
    assert parse_time(moment.astimezone(UTC).replace(tzinfo=None).isoformat(), FAR_RECEIVED, LIMITS) == t


@PROPERTY
@given(st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)))
def test_property_epoch_seconds_and_milliseconds_agree(moment):
    seconds = moment.timestamp()
    assert parse_time(seconds, FAR_RECEIVED, LIMITS) == seconds
    millis = round(seconds * 1000)
    assert parse_time(millis, FAR_RECEIVED, LIMITS) == pytest.approx(seconds, abs=1e-3)
