"""/ws/realtime through the real ASGI application and the real Redis channel layer: who may
connect, what a subscription delivers, flow control for a client that stops reading, and alarm
events. The ingest's side (apps/live/fanout.py) is the real one, fed by store_batch."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from apps.alarms.announce import BROWSER_GROUP
from apps.live import fanout
from apps.telemetry import hooks
from apps.telemetry.ingest import Decoded, store_batch
from scadapro.asgi import application
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://localhost")


def session_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


def store(*rows: tuple[int, float, float]) -> None:
    """What the ingest worker does with a batch: store it, then run the after-commit hooks."""
    hooks.run_after_commit(store_batch(Decoded(rows=[(s, t, v, 0) for s, t, v in rows], rejected=Counter(), kept=[])))


async def attempt(headers) -> tuple[bool, int | None]:
    """(connected, close code) of a connection attempt."""
    return await WebsocketCommunicator(application, "/ws/realtime", headers=headers).connect(timeout=5)


async def opened(headers) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, "/ws/realtime", headers=headers)
    connected, code = await socket.connect(timeout=5)
    assert connected, code
    return socket


async def receive_update(socket, timeout: float = 3.0) -> dict:
    while True:
        message = await socket.receive_json_from(timeout=timeout)
        if message["type"] == "update":
            return message


@pytest.fixture(autouse=True)
def quick_fanout(settings):
    """A fresh fan-out per test (its thread and loop), with the default coalescing interval."""
    fanout._fanout = None
    yield
    fanout._fanout = None


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ([ORIGIN], 4401),  # no session, no token
        ([ORIGIN, (b"authorization", b"Bearer wrong-token")], 4401),
    ],
)
def test_strangers_are_turned_away(headers, code):
    async def run():
        assert await attempt(headers) == (False, code)

    async_to_sync(run)()


def test_a_user_without_a_role_is_turned_away(db):
    headers = session_headers(make_user("norole", None))

    async def run():
        assert await attempt(headers) == (False, 4403)

    async_to_sync(run)()


def test_another_sites_page_cannot_open_the_socket(viewer):
    headers = [(b"origin", b"http://evil.example"), *session_headers(viewer)[1:]]

    async def run():
        connected, _ = await attempt(headers)
        assert not connected

    async_to_sync(run)()


def test_a_subscription_gets_current_values_then_coalesced_updates(plant, viewer):
    pump, pressure, flow, steam = plant["pump"], plant["pressure"], plant["flow"], plant["steam"]
    now = time.time()
    store((pressure.pk, now - 5, 4.0), (steam.pk, now - 5, 9.0))
    headers = session_headers(viewer)

    async def run():
        socket = await opened(headers)
        await socket.send_json_to({"action": "subscribe", "machines": [pump.pk], "alarms": False})
        answer = await socket.receive_json_from(timeout=3)
        assert answer == {"type": "subscribed", "machines": [pump.pk], "sensors": 1, "alarms": False}
        snapshot = await receive_update(socket)
        assert snapshot["readings"] == {str(pressure.pk): [pytest.approx(now - 5), 4.0, 0]}
        await socket.send_json_to({"action": "ack", "seq": snapshot["seq"]})

        # Three batches in quick succession: the first goes out at once, the rest merge.
        for i in range(3):
            await asyncio.to_thread(
                store, (pressure.pk, now + i, 5.0 + i), (flow.pk, now + i, 50.0 + i), (steam.pk, now + i, 1.0)
            )
        first = await receive_update(socket)
        await socket.send_json_to({"action": "ack", "seq": first["seq"]})
        latest = dict(first["readings"])
        if latest[str(pressure.pk)][1] != 7.0:
            latest.update((await receive_update(socket))["readings"])
        assert latest == {
            str(pressure.pk): [pytest.approx(now + 2), 7.0, 0],
            str(flow.pk): [pytest.approx(now + 2), 52.0, 0],
        }
        assert await socket.receive_nothing(timeout=0.5)  # the boiler's sensor was not asked for
        await socket.disconnect()

    async_to_sync(run)()
    assert fanout.fanout().sent <= 3 * 2  # at most one message per machine and batch


def test_single_sensors_of_other_machines_are_filtered(plant, viewer):
    pressure, flow = plant["pressure"], plant["flow"]
    headers = session_headers(viewer)

    async def run():
        socket = await opened(headers)
        await socket.send_json_to({"action": "subscribe", "sensors": [flow.pk]})
        await socket.receive_json_from(timeout=3)
        now = time.time()
        await asyncio.to_thread(store, (pressure.pk, now, 1.0), (flow.pk, now, 2.0))
        update = await receive_update(socket)
        assert update["readings"] == {str(flow.pk): [pytest.approx(now), 2.0, 0]}
        await socket.disconnect()

    async_to_sync(run)()


def test_a_client_that_stops_reading_holds_only_the_newest_values(plant, viewer, settings):
    settings.LIVE_CLIENT_WINDOW = 2
    pressure = plant["pressure"]
    headers = session_headers(viewer)
    fanout._fanout = fanout.Fanout(interval=0.0)  # every batch is a message

    async def run():
        socket = await opened(headers)
        await socket.send_json_to({"action": "subscribe", "machines": "*"})
        await socket.receive_json_from(timeout=3)
        now = time.time()
        for i in range(20):
            await asyncio.to_thread(store, (pressure.pk, now + i, float(i)))
            await asyncio.sleep(0.02)
        first, second = await receive_update(socket), await receive_update(socket)
        assert (first["seq"], second["seq"]) == (1, 2)
        assert await socket.receive_nothing(timeout=0.5)  # window full: the server holds and merges
        await socket.send_json_to({"action": "ack", "seq": 2})
        third = await receive_update(socket)
        assert third["seq"] == 3 and third["readings"] == {str(pressure.pk): [pytest.approx(now + 19), 19.0, 0]}
        await socket.disconnect()

    async_to_sync(run)()


def test_alarm_events_reach_subscribers_of_alarms_only(plant, viewer):
    headers = session_headers(viewer)

    async def run():
        listening, deaf = await opened(headers), await opened(headers)
        await listening.send_json_to({"action": "subscribe", "alarms": True})
        await deaf.send_json_to({"action": "subscribe", "machines": "*"})
        await listening.receive_json_from(timeout=3)
        await deaf.receive_json_from(timeout=3)
        event = {"event": {"kind": "raised"}, "machine": "PS1", "sensor": "P1_PRESS", "alarm": None}
        await get_channel_layer().group_send(BROWSER_GROUP, {"type": "alarm.event", "message": event})
        assert (await receive_update(listening))["alarms"] == [event]
        assert await deaf.receive_nothing(timeout=0.5)
        await listening.disconnect()
        await deaf.disconnect()

    async_to_sync(run)()


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"action": "dance"}, 'action must be "subscribe" or "ack"'),
        ({"action": "subscribe", "machines": ["PS1"]}, "machines must hold whole numbers"),
        ({"action": "subscribe", "machines": [999999]}, "no such machine: 999999"),
        ({"action": "subscribe", "sensors": [999999]}, "no such sensor: 999999"),
        ({"action": "subscribe", "alarms": "yes"}, "alarms must be true or false"),
        ({"action": "ack"}, "ack needs the seq"),
    ],
)
def test_bad_requests_get_a_reason_and_the_socket_stays_open(plant, viewer, message, reason):
    headers = session_headers(viewer)

    async def run():
        socket = await opened(headers)
        await socket.send_json_to(message)
        answer = await socket.receive_json_from(timeout=3)
        assert answer["type"] == "error" and reason in answer["reason"]
        await socket.send_json_to({"action": "subscribe", "machines": []})
        assert (await socket.receive_json_from(timeout=3))["type"] == "subscribed"
        await socket.disconnect()

    async_to_sync(run)()


def test_api_clients_connect_with_a_bearer_token(plant):
    headers = [ORIGIN, (b"authorization", f"Bearer {settings.SCADAPRO_API_TOKEN}".encode())]

    async def run():
        socket = await opened(headers)
        await socket.send_json_to({"action": "subscribe", "machines": "*", "alarms": True})
        answer = await socket.receive_json_from(timeout=3)
        assert answer["type"] == "subscribed" and len(answer["machines"]) == 2
        await socket.disconnect()

    async_to_sync(run)()


def test_a_machine_status_change_reaches_its_subscribers(plant, viewer):
    pump = plant["pump"]
    headers = session_headers(viewer)

    def set_maintenance() -> None:
        pump.status = "maintenance"
        pump.save()

    async def run():
        socket = await opened(headers)
        await socket.send_json_to({"action": "subscribe", "machines": [pump.pk]})
        await socket.receive_json_from(timeout=3)
        await asyncio.to_thread(set_maintenance)
        update = await receive_update(socket)
        assert update["machines"] == {str(pump.pk): "maintenance"}
        await socket.disconnect()

    async_to_sync(run)()
