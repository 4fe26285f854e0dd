"""Alarm-system KPIs after EEMUA 191 (apps/alarms/kpis.py): activations are the journal's `raised`
events, made here the real way (readings through the ingest) except where many rules are needed;
the API at /api/alarms/kpis and the page at /alarms/kpis."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.alarms import services
from apps.alarms.kpis import alarm_kpis, rate_label
from apps.alarms.models import Alarm, AlarmEvent, AlarmRule
from apps.telemetry.ingest import Decoded, store_batch
from tests.conftest import client_for

# On an hour boundary, so epoch-aligned 10-minute and hourly buckets start at T0.
T0 = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
MIN = 60


def feed(*rows: tuple[object, datetime, float]) -> None:
    """One ingest batch of (sensor, time, value) readings of good quality."""
    store_batch(Decoded(rows=[(s.pk, t.timestamp(), float(v), 0) for s, t, v in rows], rejected=Counter(), kept=[]))


def activate(rule: AlarmRule, *seconds: float, base: datetime = T0) -> None:
    """Raise the rule's alarm at each of these seconds after `base`; back to normal 1 s later."""
    high = rule.kind in ("hi", "hihi")
    alarm, normal = (rule.setpoint + 1, rule.setpoint - 1) if high else (rule.setpoint - 1, rule.setpoint + 1)
    for s in seconds:
        at = base + timedelta(seconds=s)
        feed((rule.sensor, at, alarm), (rule.sensor, at + timedelta(seconds=1), normal))


def rule(sensor, kind: str = "hi", setpoint: float = 10.0, severity: str = "high", **extra) -> AlarmRule:
    return AlarmRule.objects.create(sensor=sensor, kind=kind, setpoint=setpoint, severity=severity, **extra)


def kpis(minutes: float = 60, start: datetime = T0) -> dict:
    return alarm_kpis(start, start + timedelta(minutes=minutes))


def by_severity(figures: dict) -> dict[str, int]:
    return {row["severity"]: row["activations"] for row in figures["totals"]["by_severity"]}


@pytest.mark.django_db
def test_activations_are_counted_per_severity_and_a_latched_alarm_raised_again_counts_twice(plant):
    activate(rule(plant["pressure"], severity="high"), 0, 120, 240)
    activate(rule(plant["flow"], setpoint=100.0, severity="medium"), 60, 300)
    trip = rule(plant["steam"], severity="critical", latching=True)
    activate(trip, 10, 20)  # comes back before anyone resets it: the same row raises again
    assert Alarm.objects.filter(rule=trip).count() == 1
    activate(rule(plant["pressure"], kind="lo", setpoint=2.0, severity="low"), 3600)  # at the end: not in it

    figures = kpis(60)
    assert figures["totals"]["activations"] == 7
    assert by_severity(figures) == {"critical": 2, "high": 3, "medium": 2, "low": 0}  # most urgent first
    shares = {row["severity"]: row["share"] for row in figures["totals"]["by_severity"]}
    assert shares == {"critical": 28.6, "high": 42.9, "medium": 28.6, "low": 0.0}
    # [start, end): the flow alarm at 60 s is in, the low alarm at 3600 s is not.
    assert kpis(59, start=T0 + timedelta(seconds=60))["totals"]["activations"] == 4


@pytest.mark.django_db
def test_rates_per_10_minutes_and_per_hour_use_epoch_aligned_buckets(plant):
    pressure, flow = rule(plant["pressure"]), rule(plant["flow"], setpoint=100.0)
    activate(pressure, 0, 100, 200, 300, 400)  # 5 in the first 10 minutes
    activate(flow, 0, 100, 200)
    activate(pressure, 65 * MIN, 75 * MIN)  # second hour, two different 10-minute buckets

    figures = kpis(120)
    ten, hour = figures["rate"]["per_10_minutes"], figures["rate"]["per_hour"]
    assert (ten["average"], ten["max"], ten["benchmark"]) == (0.83, 8, "very likely acceptable")  # 10 / 12 buckets
    assert (hour["average"], hour["max"]) == (5.0, 8)
    assert [(b["start"], b["count"]) for b in hour["buckets"]] == [(T0, 8), (T0 + timedelta(hours=1), 2)]

    # A period that starts mid-bucket keeps the buckets on the clock: 65 and 75 minutes are apart.
    shifted = kpis(60, start=T0 + timedelta(minutes=62))
    assert (shifted["rate"]["per_10_minutes"]["max"], shifted["rate"]["per_hour"]["max"]) == (1, 2)
    assert [b["start"] for b in shifted["rate"]["per_hour"]["buckets"]] == [
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=2),
    ]

    busy = kpis(10)  # 8 in one 10-minute period
    assert (busy["rate"]["per_10_minutes"]["average"], busy["rate"]["per_10_minutes"]["benchmark"]) == (
        8.0,
        "over-demanding",
    )


def test_eemua_191_benchmark_labels_for_the_average_per_10_minutes():
    assert [rate_label(r) for r in (0, 1.0, 1.01, 2.0, 2.01, 30)] == [
        "very likely acceptable",
        "very likely acceptable",
        "manageable",
        "manageable",
        "over-demanding",
        "over-demanding",
    ]


def journal_raise(alarm_rule: AlarmRule, at: datetime, *, announced: bool = True) -> None:
    """An activation written straight into the journal (one alarm row each), for figures over many rules."""
    alarm = Alarm.objects.create(
        rule=alarm_rule, sensor=alarm_rule.sensor, kind=alarm_rule.kind, severity=alarm_rule.severity,
        message=f"{alarm_rule.sensor.code} {alarm_rule.kind}", setpoint=alarm_rule.setpoint, triggered_at=at,
    )  # fmt: skip
    AlarmEvent.objects.create(
        alarm=alarm, rule=alarm_rule, sensor=alarm_rule.sensor, kind="raised", at=at, to_state="unack",
        announced=announced,
    )  # fmt: skip


@pytest.mark.django_db
def test_a_flood_is_more_than_10_activations_in_10_minutes(plant):
    rules = [
        rule(plant["pressure"]),
        rule(plant["flow"], setpoint=100.0),
        rule(plant["steam"]),
        rule(plant["pressure"], kind="lo", setpoint=2.0),
    ]
    # From 4 to 8 minutes into 10-minute buckets: exactly 10 (no flood); then 11, and 12 later (floods).
    for minute, count in ((0, 10), (20, 11), (40, 12)):
        for i in range(count):
            activate(rules[i % len(rules)], (minute + 4) * MIN + (i // len(rules)) * 100 + (i % len(rules)) * 10)

    figures = kpis(60)
    assert figures["rate"]["per_10_minutes"]["max"] == 12
    floods = figures["floods"]
    assert floods["count"] == 2
    assert floods["buckets"] == [  # newest first
        {"start": T0 + timedelta(minutes=40), "count": 12},
        {"start": T0 + timedelta(minutes=20), "count": 11},
    ]
    assert floods["time_percent"] == 33.3  # 20 of 60 minutes

    # Only the part of an edge bucket inside the period is time in flood: (8 + 10) of 40 minutes.
    late = kpis(40, start=T0 + timedelta(minutes=22))
    assert (late["floods"]["count"], late["floods"]["time_percent"]) == (2, 45.0)
    assert kpis(10)["floods"] == {"count": 0, "time_percent": 0.0, "buckets": []}


@pytest.mark.django_db
def test_chattering_is_3_activations_within_60_seconds(plant):
    chatters = rule(plant["pressure"])
    activate(chatters, 0, 30, 60, 1000)  # raise/clear/raise/clear/raise within 60 s, and once more later
    activate(rule(plant["flow"], setpoint=100.0), 0, 30, 61)  # 3 over 61 s
    activate(rule(plant["steam"]), 0, 150, 300)  # 3 over 5 minutes

    figures = kpis(60)
    assert figures["chattering"] == [
        {
            "rule": chatters.pk,
            "sensor": plant["pressure"].pk,
            "sensor_code": "P1_PRESS",
            "machine_code": "PS1",
            "kind": "hi",
            "severity": "high",
            "message": "Pump 1 pressure high: 11.00 bar (limit 10.00 bar)",
            "activations": 4,
        }
    ]
    assert kpis(10, start=T0 + timedelta(seconds=1))["chattering"] == []  # only 2 of them in that period


@pytest.mark.django_db
def test_top_10_most_frequent_alarms_with_their_share(plant):
    rules = [
        rule(plant[sensor], kind=kind, setpoint=1.0) for sensor in ("pressure", "flow", "steam")
        for kind in ("hihi", "hi", "lo", "lolo")
    ]  # fmt: skip
    for n, alarm_rule in enumerate(rules, start=1):  # 1 to 12 activations: 78 in all
        for i in range(n):
            journal_raise(alarm_rule, T0 + timedelta(minutes=i))

    top = kpis(60)["top"]
    assert [(a["rule"], a["activations"]) for a in top["alarms"]] == [
        (r.pk, n) for n, r in reversed(list(enumerate(rules, 1)))
    ][:10]
    assert [a["share"] for a in top["alarms"][:3]] == [15.4, 14.1, 12.8]  # 12, 11 and 10 of 78
    assert top["share"] == 96.2  # all but the 1 + 2 of the two least frequent


@pytest.mark.django_db
def test_activations_while_out_of_service_are_counted_apart_as_suppressed(plant, operator):
    silenced = rule(plant["pressure"], severity="critical")
    services.take_out_of_service(silenced, operator, "transmitter being calibrated")
    activate(silenced, 0, 20, 40)  # would chatter
    shown = rule(plant["flow"], setpoint=100.0, severity="low")
    activate(shown, 100)
    assert AlarmEvent.objects.filter(kind="raised", announced=False).count() == 3

    figures = kpis(60)
    assert (figures["totals"]["activations"], figures["totals"]["suppressed"]) == (1, 3)
    rows = {row["severity"]: (row["activations"], row["suppressed"]) for row in figures["totals"]["by_severity"]}
    assert rows["critical"] == (0, 3)
    assert rows["low"] == (1, 0)
    assert figures["rate"]["per_10_minutes"]["max"] == 1
    assert figures["chattering"] == []
    assert [a["rule"] for a in figures["top"]["alarms"]] == [shown.pk]


@pytest.mark.django_db
def test_stale_alarms_are_open_and_active_longer_than_the_setting(plant, settings):
    settings.ALARM_STALE_HOURS = 2
    now = timezone.now().replace(microsecond=0)

    def ago(hours: float) -> datetime:
        return now - timedelta(hours=hours)

    pressure, flow, steam = plant["pressure"], plant["flow"], plant["steam"]
    rule(pressure)
    feed((pressure, ago(3), 11))  # active for 3 h: stale
    rule(flow, kind="lo", setpoint=2.0)
    rule(flow, setpoint=100.0)
    feed((flow, ago(5), 1), (flow, ago(4), 50), (flow, ago(1), 150))  # lo back to normal; hi for 1 h
    rule(steam, latching=True)
    feed((steam, ago(5), 15), (steam, ago(4), 5), (steam, ago(1), 15))  # raised again 1 h ago, on its 5 h old row

    stale = alarm_kpis(ago(24), now, now=now)["stale"]
    pressure_alarm = Alarm.objects.get(sensor=pressure)
    assert stale["count"] == 1
    assert stale["alarms"] == [
        {
            "id": pressure_alarm.pk,
            "message": pressure_alarm.message,
            "severity": "high",
            "sensor_code": "P1_PRESS",
            "machine_code": "PS1",
            "triggered_at": ago(3),
            "active_since": ago(3),
            "age_hours": 3.0,
            "suppressed": False,
        }
    ]
    settings.ALARM_STALE_HOURS = 4
    assert alarm_kpis(ago(24), now, now=now)["stale"] == {"as_of": now, "count": 0, "alarms": []}
    services.acknowledge(pressure_alarm, None)
    settings.ALARM_STALE_HOURS = 2
    assert alarm_kpis(ago(24), now, now=now)["stale"]["count"] == 1  # acknowledged but still standing


# -- the API and the page ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_any_role_reads_the_figures_as_json(plant, viewer):
    activate(rule(plant["pressure"]), 0, 30, 60)
    response = client_for(viewer).get("/api/alarms/kpis", {"start": "2026-11-27T06:00:00Z", "end": "2026-11-27T07:00"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["period"] == {"start": "2026-11-27T06:00:00Z", "end": "2026-11-27T07:00:00Z", "hours": 1.0}
    assert body["totals"]["activations"] == 3
    assert body["chattering"][0]["activations"] == 3
    assert body["definitions"]["flood"] == {"bucket_minutes": 10, "more_than": 10}

    default = client_for(viewer).get("/api/alarms/kpis").json()  # the last 24 hours
    assert default["period"]["hours"] == 24.0
    assert default["totals"]["activations"] == 0


@pytest.mark.django_db
def test_the_api_needs_an_account_with_a_role(anon_client, nobody):
    assert anon_client.get("/api/alarms/kpis").status_code == 401
    assert client_for(nobody).get("/api/alarms/kpis").status_code == 403


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"start": "yesterday"}, "start 'yesterday' is not an ISO 8601 date or time."),
        ({"end": "2026-13-01"}, "end '2026-13-01' is not an ISO 8601 date or time."),
        ({"start": "2026-11-27T06:00:00 01:00"}, "(in a URL, write a + offset as %2B)"),  # an unescaped +
        ({"start": "2026-11-27T07:00Z", "end": "2026-11-27T06:00Z"}, "end must be after start."),
        ({"start": "2026-11-27T06:00Z", "end": "2026-11-27T06:00Z"}, "end must be after start."),
        ({"start": "2025-11-26T05:59Z", "end": "2026-11-27T06:00Z"}, "The period may be at most 366 days."),
    ],
)
@pytest.mark.django_db
def test_bad_periods_are_refused_with_a_reason(viewer, params, reason):
    response = client_for(viewer).get("/api/alarms/kpis", params)
    assert response.status_code == 400
    assert reason in response.json()["detail"]


@pytest.mark.django_db
def test_a_period_of_366_days_is_accepted(viewer):
    response = client_for(viewer).get("/api/alarms/kpis", {"start": "2025-11-26T06:00Z", "end": "2026-11-27T06:00Z"})
    assert response.status_code == 200
    assert len(response.json()["rate"]["per_hour"]["buckets"]) == 366 * 24


@pytest.mark.django_db
def test_the_page_shows_the_figures_for_a_preset_period(plant, viewer):
    recently = timezone.now() - timedelta(hours=2)
    activate(rule(plant["pressure"], severity="critical"), 0, 20, 40, base=recently)
    client = client_for(viewer)

    response = client.get(reverse("alarms:kpis"))
    assert response.status_code == 200
    assert response.context["kpis"]["totals"]["activations"] == 3
    assert response.context["kpis"]["period"]["hours"] == 24.0
    page = response.content.decode()
    assert "Alarm system performance" in page
    assert "Pump 1 pressure high: 11.00 bar (limit 10.00 bar)" in page  # chattering and top 10
    assert 'class="sev-critical"' in page

    week = client.get(reverse("alarms:kpis"), {"period": "7d"})
    assert week.context["kpis"]["period"]["hours"] == 168.0
    assert '<a href="?period=7d" aria-current="page">' in week.content.decode()
    assert client.get(reverse("alarms:kpis"), {"period": "nonsense"}).context["kpis"]["period"]["hours"] == 24.0


@pytest.mark.django_db
def test_the_page_needs_a_login_and_a_role(client, nobody):
    response = client.get(reverse("alarms:kpis"))
    assert response.status_code == 302
    assert response.url == "/login/?next=/alarms/kpis"
    client.force_login(nobody)
    assert client.get(reverse("alarms:kpis")).status_code == 403
