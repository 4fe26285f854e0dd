"""Live-update benchmark: MQTT publish -> WebSocket message, with many clients, over minutes.

    .venv/bin/python bench/live.py                       # 50 clients, 2,000 readings/s, 10 minutes
    .venv/bin/python bench/live.py --duration 120        # quicker

The plant of bench/ingest.py (10 machines x 100 sensors) streams --rate readings/s through a
private Mosquitto (production's queue limits) into `manage.py ingest`; Daphne serves
/ws/realtime on the bench database; --clients WebSocket clients (bearer token, in two processes)
subscribe to the whole plant and acknowledge every update, as the pages do. One more client
subscribes and never reads: the server must hold it to LIVE_CLIENT_WINDOW messages.

A probe sensor on a machine of its own gets a reading every 0.5 s stamped with its publish time:
- publish -> WebSocket message received, per client (the figure the issue sets: p99 < 100 ms);
- the ceiling it compares to, in the same run: publish -> reading committed (bench/ingest.py's
  probe: a NOTIFY from a trigger on the bench database).
Also: the age of every plant reading when its update arrives (this includes the per-machine
coalescing, at most LIVE_MACHINE_INTERVAL_MS), messages per client per second, and the memory
(RSS) of Daphne and the ingest sampled every 5 s: the first minute against the last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import ingest as ingest_bench  # noqa: E402  (bench/ingest.py: plant, publishers, probe listener)

LIVE_PROBE_TOPIC = "sensors/LIVEPROBE/VALUE/value"


def p(values: list[float], q: int) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=100)[q - 1]


# --- WebSocket clients (separate processes) -------------------------------------------------------


def clients_process(url: str, token: str, count: int, duration: float, probe_id: str, out) -> None:
    import orjson
    import websockets

    async def client(stats: dict) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with websockets.connect(url, additional_headers=headers, origin="http://localhost", max_size=None) as ws:
            await ws.send(json.dumps({"action": "subscribe", "machines": "*", "alarms": True}))
            ends = time.time() + duration
            while time.time() < ends:
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=1)
                except TimeoutError:
                    continue
                now = time.time()
                message = orjson.loads(raw)
                if message["type"] != "update":
                    continue
                stats["messages"] += 1
                for sensor_id, (ts, _, _) in message["readings"].items():
                    if sensor_id == probe_id:
                        stats["probe"].append((now - ts) * 1000)
                    elif stats["messages"] % 10 == 0:  # a sample of the plant readings' ages
                        stats["age"].append((now - ts) * 1000)
                await ws.send(json.dumps({"action": "ack", "seq": message["seq"]}))

    async def main() -> list[dict]:
        stats = [{"messages": 0, "probe": [], "age": []} for _ in range(count)]
        await asyncio.gather(*(client(s) for s in stats))
        return stats

    out.put(asyncio.run(main()))


def silent_client(url: str, token: str, duration: float, out) -> None:
    """Subscribes to the whole plant, then never reads a frame."""
    import websockets

    async def main() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with websockets.connect(
            url, additional_headers=headers, origin="http://localhost", max_size=None, ping_interval=None
        ) as ws:
            await ws.send(json.dumps({"action": "subscribe", "machines": "*"}))
            ws.transport.pause_reading()  # the kernel buffers fill, then TCP pushes back
            await asyncio.sleep(duration)
            ws.transport.resume_reading()
            held = 0
            try:
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=2))
                    held += message["type"] == "update"
            except TimeoutError:
                out.put(f"{held} updates")
            except websockets.ConnectionClosed as closed:  # e.g. Daphne's keepalive gave up on it
                out.put(
                    f"{held} updates, then the server closed it ({closed.rcvd.code if closed.rcvd else 'no close frame'})"
                )

    asyncio.run(main())


# --- the run ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=2000, help="plant readings/s")
    parser.add_argument("--duration", type=float, default=600, help="seconds (default 600: ten minutes)")
    parser.add_argument("--publishers", type=int, default=1)
    args = parser.parse_args()

    ingest_bench.setup_django()
    from django.conf import settings

    from apps.plant.models import Machine, Sensor
    from apps.telemetry import stats as ingest_stats
    from tests.brokers import Broker, free_port

    ingest_bench.prepare_database()
    probe = Sensor.objects.create(
        machine=Machine.objects.create(code="LIVEPROBE", name="Live probe"), code="VALUE", name="Live probe"
    )
    broker = Broker(Path(tempfile.mkdtemp(prefix="bench-broker-")))
    broker.start()
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "MQTT_URL": broker.url,
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
    }
    port = free_port()
    client_id = f"bench-ingest-{uuid.uuid4().hex[:6]}"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "scadapro.asgi:application"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [sys.executable, "manage.py", "ingest", "--client-id", client_id, "--group", client_id], cwd=ROOT, env=env
        ),
    ]  # fmt: skip
    daphne, ingest = processes
    try:
        deadline = time.time() + 30
        while not any(w["client_id"] == client_id for w in ingest_stats.read_all()):
            if time.time() > deadline:
                raise RuntimeError("the ingest did not start")
            time.sleep(0.2)
        time.sleep(2)  # Daphne
        url = f"ws://127.0.0.1:{port}/ws/realtime"
        token = settings.SCADAPRO_API_TOKEN
        print(
            f"live benchmark: {args.clients} clients + 1 that never reads, {args.rate:,.0f} readings/s on "
            f"1,000 sensors of 10 machines, {args.duration:.0f} s, LIVE_MACHINE_INTERVAL_MS="
            f"{settings.LIVE_MACHINE_INTERVAL_MS}, LIVE_CLIENT_WINDOW={settings.LIVE_CLIENT_WINDOW}, cpus={os.cpu_count()}"
        )
        out: mp.Queue = mp.Queue()
        halves = [args.clients // 2, args.clients - args.clients // 2]
        workers = [
            mp.Process(target=clients_process, args=(url, token, n, args.duration, str(probe.pk), out))
            for n in halves
            if n
        ]
        silent_out: mp.Queue = mp.Queue()
        silent = mp.Process(target=silent_client, args=(url, token, args.duration, silent_out))
        for worker in [*workers, silent]:
            worker.start()
        time.sleep(3)  # every client subscribed
        commits = ingest_bench.ProbeListener()
        commits.start()
        probe_out: mp.Queue = mp.Queue()
        prober = mp.Process(
            target=ingest_bench.probe_publisher, args=(broker.port, args.duration - 5, 0.5, probe_out, LIVE_PROBE_TOPIC)
        )
        prober.start()
        plant_probe_out: mp.Queue = mp.Queue()  # bench/ingest.py's probe: publish -> commit
        plant_probe = mp.Process(
            target=ingest_bench.probe_publisher, args=(broker.port, args.duration - 5, 0.5, plant_probe_out)
        )
        plant_probe.start()
        publishers, published = ingest_bench.start_publishers(
            broker.port, "value", args.rate, args.duration - 5, args.publishers
        )
        began, memory = time.time(), []
        while time.time() - began < args.duration - 4:
            time.sleep(5)
            memory.append((ingest_bench.rss_mb(daphne.pid), ingest_bench.rss_mb(ingest.pid)))
        results = [out.get(timeout=120) for _ in workers]
        held = silent_out.get(timeout=120)
        ingest_bench.collect(publishers, published)
        prober.join(timeout=10)
        plant_probe.join(timeout=10)
        commits.stop.set()
        commits.join(timeout=5)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.stop()

    clients = [c for batch in results for c in batch]
    probe_latency = [v for c in clients for v in c["probe"]]
    ages = [v for c in clients for v in c["age"]]
    per_client = [c["messages"] / args.duration for c in clients]
    minute = max(1, min(12, len(memory) // 4))  # 12 samples of 5 s
    first = [statistics.median(m[i] for m in memory[:minute]) for i in (0, 1)]
    last = [statistics.median(m[i] for m in memory[-minute:]) for i in (0, 1)]
    print()
    print(
        f"ceiling: publish -> reading committed         p50 {p(commits.latencies, 50):6.1f} ms   p99 {p(commits.latencies, 99):6.1f} ms"
        f"   ({len(commits.latencies)} probes)"
    )
    print(
        f"publish -> WebSocket message (probe)         p50 {p(probe_latency, 50):6.1f} ms   p99 {p(probe_latency, 99):6.1f} ms"
        f"   ({len(probe_latency):,} deliveries to {len(clients)} clients; target p99 < 100 ms)"
    )
    print(f"WebSocket p99 - commit p99 (the live hop)    {p(probe_latency, 99) - p(commits.latencies, 99):6.1f} ms")
    print(
        f"age of plant readings on arrival             p50 {p(ages, 50):6.1f} ms   p99 {p(ages, 99):6.1f} ms"
        f"   (coalesced per machine, {len(ages):,} sampled)"
    )
    print(
        f"updates per client                           {statistics.median(per_client):6.1f}/s"
        f"   (min {min(per_client):.1f}, max {max(per_client):.1f}; 11 machines)"
    )
    print(f"the client that never read got               {held} (LIVE_CLIENT_WINDOW {settings.LIVE_CLIENT_WINDOW})")
    print(
        f"memory (RSS), first vs last minute           Daphne {first[0]:.1f} -> {last[0]:.1f} MB ({last[0] / first[0] - 1:+.1%}),"
        f" ingest {first[1]:.1f} -> {last[1]:.1f} MB ({last[1] / first[1] - 1:+.1%})"
    )
    by_minute = [statistics.median(m[0] for m in memory[i : i + 12]) for i in range(0, len(memory), 12)]
    print(f"Daphne RSS per minute (MB)                   {' '.join(f'{v:.1f}' for v in by_minute)}")


if __name__ == "__main__":
    main()
