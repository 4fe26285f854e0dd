"""MQTT clients configured from MQTT_URL (shared by the ingest, the simulator, tasks and health)."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time

import paho.mqtt.client as mqtt
from django.conf import settings


def make_client(client_id: str, *, clean_session: bool = True, manual_ack: bool = False) -> mqtt.Client:
    """A paho 2.x client with credentials and TLS taken from MQTT_URL; not yet connected."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=mqtt.MQTTv311,
        manual_ack=manual_ack,
    )
    if settings.MQTT.username:
        client.username_pw_set(settings.MQTT.username, settings.MQTT.password)
    if settings.MQTT.scheme == "mqtts":
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def connect_blocking(client: mqtt.Client, timeout: float = 5.0, keepalive: int = 30) -> None:
    """Connect and run the network loop in a thread; raise ConnectionError if no CONNACK in time."""
    connected = threading.Event()
    refused: list[str] = []
    previous = client.on_connect

    def on_connect(c, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            refused.append(str(reason_code))
        connected.set()
        if previous is not None:
            previous(c, userdata, flags, reason_code, properties)

    client.on_connect = on_connect
    client.connect(settings.MQTT.host, settings.MQTT.port, keepalive=keepalive)
    client.loop_start()
    if not connected.wait(timeout):
        client.loop_stop()
        raise ConnectionError(f"no answer from the MQTT broker at {settings.MQTT.netloc} within {timeout:g} s")
    if refused:
        client.loop_stop()
        raise ConnectionError(f"the MQTT broker refused the connection: {refused[0]}")


def publish_once(topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = False, timeout: float = 5.0) -> None:
    """Connect, publish one message, wait until the broker has it, disconnect (for periodic tasks)."""
    client = make_client(f"scadapro-publisher-{threading.get_ident()}-{time.monotonic_ns()}")
    connect_blocking(client, timeout=timeout)
    try:
        info = client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise ConnectionError(f"the MQTT broker did not confirm the message on {topic}")
    finally:
        client.disconnect()
        client.loop_stop()


_shared: tuple[int, mqtt.Client] | None = None
_shared_lock = threading.Lock()


def shared_publisher() -> mqtt.Client:
    """This process's long-lived publishing client (alarm events): connected in the background,
    reconnecting by itself; QoS 1 messages published while it is away wait in its queue."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid():  # a forked child needs its own
            client = make_client(f"scadapro-events-{socket.gethostname()}-{os.getpid()}-{time.monotonic_ns()}")
            client.max_inflight_messages_set(0)  # unlimited: see the ingest notes on paho's queue scan
            client.connect_async(settings.MQTT.host, settings.MQTT.port, keepalive=30)
            client.loop_start()
            _shared = (os.getpid(), client)
        return _shared[1]
