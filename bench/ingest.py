"""Ingest benchmark: readings committed per second end to end, against this machine's ceilings.

    .venv/bin/python bench/ingest.py --mode value            # per-reading topics, QoS 1, max rate
    .venv/bin/python bench/ingest.py --mode batch            # sensors/{machine}/batch messages
    .venv/bin/python bench/ingest.py --mode steady --rate 10000 --duration 600
                                                             # latency publish -> commit, memory
    .venv/bin/python bench/ingest.py --mode drain            # per-reading topics, the ingest alone:
                                                             # a backlog queued while it was down

On two cores the publisher processes and the broker take much of the CPU, so `value` at full
speed is bounded by what the publishers can push. `drain` measures the ingest without them: the
readings are queued by the broker for the ingest's persistent session first, then the ingest is
started and the time to commit them all is measured (its ceiling: an empty-callback subscriber
draining the same backlog).

Everything runs on this machine: a private Mosquitto with config/mosquitto.conf's queue limits,
the `scadapro_bench` database (recreated), `manage.py ingest` as its own process, and publisher
processes. In the same run it measures the ceilings the ingest is compared with: the raw paho
receive rate (a subscriber with an empty callback, same publishers) and the raw COPY rate into
the same hypertable. Each figure is the median of --runs runs.

Latency is measured on a probe sensor: a trigger on `readings` (bench database only) sends
NOTIFY for each probe row, delivered at commit; the probe readings carry their publish time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "scadapro_bench"
MACHINES = 10
SENSORS_PER_MACHINE = 100
PROBE_TOPIC = "sensors/PROBE/LATENCY/value"


def setup_django() -> None:
    from dotenv import load_dotenv

    load_dotenv(ROOT / ".env", override=False)
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/scadapro")
    os.environ["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + BENCH_DB
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scadapro.settings")
    import django

    django.setup()


# --- Publishers (separate processes) ------------------------------------------------------------


def publisher(port: int, topics: list[str], mode: str, rate: float, duration: float, codes: list[str], out) -> None:
    """Publish for `duration` seconds at `rate` messages/s (0: as fast as the broker takes them)."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    pending: deque = deque()
    sent = readings = 0
    started = time.time()
    n_topics = len(topics)
    while True:
        now = time.time()
        if now - started >= duration:
            break
        if rate and sent >= (now - started) * rate:
            time.sleep(0.001)
            continue
        topic = topics[sent % n_topics]
        if mode == "batch":
            values = ",".join(f'"{code}":{(sent + i) % 1000}' for i, code in enumerate(codes))
            payload = f'{{"ts":{now:.6f},"values":{{{values}}}}}'
            readings += len(codes)
        else:
            payload = f'{{"value":{sent % 1000},"ts":{now:.6f}}}'
            readings += 1
        pending.append(client.publish(topic, payload, qos=1))
        sent += 1
        if len(pending) > 20000:  # bound what waits in this process's memory
            pending.popleft().wait_for_publish(60)
    for info in pending:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    out.put((sent, readings))


def probe_publisher(port: int, duration: float, every: float, out, topic: str = PROBE_TOPIC) -> None:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-probe-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.time()
    sent = 0
    while time.time() - started < duration:
        client.publish(topic, f'{{"value":{sent},"ts":{time.time():.6f}}}', qos=1).wait_for_publish(10)
        sent += 1
        time.sleep(every)
    client.disconnect()
    client.loop_stop()
    out.put((sent, sent))


def start_publishers(port: int, mode: str, rate: float, duration: float, count: int) -> tuple[list, mp.Queue]:
    out: mp.Queue = mp.Queue()
    procs = []
    machines = [f"M{m:02d}" for m in range(MACHINES)]
    codes = [f"S{s:03d}" for s in range(SENSORS_PER_MACHINE)]
    for k in range(count):
        mine = machines[k::count]
        if mode == "batch":
            topics = [f"sensors/{m}/batch" for m in mine]
        else:
            topics = [f"sensors/{m}/{c}/value" for m in mine for c in codes]
        args = (port, topics, mode, rate / count, duration, codes, out)
        procs.append(mp.Process(target=publisher, args=args, daemon=True))
    for proc in procs:
        proc.start()
    return procs, out


def collect(procs: list, out: mp.Queue) -> tuple[int, int]:
    results = [out.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    return sum(r[0] for r in results), sum(r[1] for r in results)


# --- Ceilings -----------------------------------------------------------------------------------


def subscriber(port: int, ready, out, duration: float) -> None:
    import paho.mqtt.client as mqtt

    count = [0]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{uuid.uuid4().hex[:8]}")
    client.on_connect = lambda c, *a: c.subscribe("sensors/#", qos=1)
    client.on_subscribe = lambda *a: ready.set()

    def on_message(c, u, m):
        count[0] += 1

    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    ready.wait(10)
    time.sleep(duration)
    first = count[0]
    time.sleep(duration)
    out.put(count[0] - first)  # the second half only: a steady state
    client.disconnect()
    client.loop_stop()


def paho_ceiling(port: int, mode: str, publishers: int, seconds: float) -> float:
    """Readings/s one paho subscriber receives at QoS 1 with an empty callback."""
    ready, out = mp.Event(), mp.Queue()
    sub = mp.Process(target=subscriber, args=(port, ready, out, seconds / 2), daemon=True)
    sub.start()
    ready.wait(10)
    procs, pub_out = start_publishers(port, mode, 0, seconds + 2, publishers)
    received = out.get(timeout=120)
    collect(procs, pub_out)
    sub.join(timeout=10)
    per_message = SENSORS_PER_MACHINE if mode == "batch" else 1
    return received * per_message / (seconds / 2)


def drain_subscriber(port: int, client_id: str, expected: int, out) -> None:
    """Reconnect a persistent session and time the receipt of its backlog (empty callback)."""
    import paho.mqtt.client as mqtt

    count = [0]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)

    def on_message(c, u, m):
        count[0] += 1

    client.on_message = on_message
    began = time.time()
    client.connect("127.0.0.1", port)
    client.loop_start()
    while count[0] < expected and time.time() - began < 600:
        time.sleep(0.01)
    out.put(count[0] / (time.time() - began))
    client.disconnect()
    client.loop_stop()


def forget_session(port: int, client_id: str) -> None:
    """Delete a finished run's persistent session, or the broker keeps queueing every later run's
    readings for it (each run subscribes in a group of its own)."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.connect("127.0.0.1", port)
    client.loop_start()
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()


def open_session(port: int, client_id: str, subscription: str) -> None:
    """Create a persistent session with a subscription, then leave: the broker queues for it."""
    import paho.mqtt.client as mqtt

    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    client.on_connect = lambda c, *a: c.subscribe(subscription, qos=1)
    client.on_subscribe = lambda *a: done.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    done.wait(10)
    client.disconnect()
    client.loop_stop()


def fill_backlog(port: int, publishers: int, seconds: float) -> int:
    procs, out = start_publishers(port, "value", 0, seconds, publishers)
    return collect(procs, out)[1]


def drain_ceiling(port: int, publishers: int, seconds: float) -> float:
    client_id = f"bench-drain-{uuid.uuid4().hex[:6]}"
    open_session(port, client_id, f"$share/{client_id}/sensors/#")
    queued = fill_backlog(port, publishers, seconds)
    out: mp.Queue = mp.Queue()
    proc = mp.Process(target=drain_subscriber, args=(port, client_id, queued, out), daemon=True)
    proc.start()
    rate = out.get(timeout=700)
    proc.join(timeout=10)
    forget_session(port, client_id)
    return rate


def copy_ceiling(sensor_ids: list[int], rows: int = 1_000_000, per_txn: int = 10_000) -> float:
    """Rows/s of a plain COPY into the readings hypertable, 10k-row transactions (then removed)."""
    from django.db import connection, transaction

    start = datetime(2020, 1, 1, tzinfo=UTC)
    n = len(sensor_ids)
    began = time.perf_counter()
    for offset in range(0, rows, per_txn):
        with transaction.atomic(), connection.cursor() as cursor:
            with cursor.copy("COPY readings (sensor_id, time, value, quality) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "timestamptz", "float8", "int2"])
                for i in range(offset, offset + per_txn):
                    copy.write_row((sensor_ids[i % n], start + timedelta(seconds=i // n), float(i), 0))
    rate = rows / (time.perf_counter() - began)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM readings WHERE time < '2021-01-01'")
    return rate


# --- The system under test ----------------------------------------------------------------------


def prepare_database() -> tuple[list[int], int]:
    import psycopg
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    db = settings.DATABASES["default"]
    with psycopg.connect(dbname="postgres", host=db["HOST"], port=db["PORT"], user=db["USER"], autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    call_command("migrate", verbosity=0)
    from apps.plant.models import Machine, Sensor

    sensors = []
    for m in range(MACHINES):
        machine = Machine.objects.create(code=f"M{m:02d}", name=f"Bench machine {m}")
        sensors += [
            Sensor(
                machine=machine,
                code=f"S{s:03d}",
                name=f"Sensor {s}",
                mqtt_topic=f"sensors/{machine.code}/S{s:03d}/value",
            )
            for s in range(SENSORS_PER_MACHINE)
        ]
    Sensor.objects.bulk_create(sensors)
    probe = Sensor.objects.create(
        machine=Machine.objects.create(code="PROBE", name="Probe"), code="LATENCY", name="Latency"
    )
    with connection.cursor() as cursor:
        # Bench database only: NOTIFY with the probe reading's time, delivered when its batch commits.
        cursor.execute(
            "CREATE FUNCTION bench_probe() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " PERFORM pg_notify('bench_probe', extract(epoch FROM NEW.time)::text); RETURN NULL; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER bench_probe AFTER INSERT ON readings FOR EACH ROW"
            f" WHEN (NEW.sensor_id = {probe.pk}) EXECUTE FUNCTION bench_probe()"
        )
    return list(Sensor.objects.exclude(pk=probe.pk).values_list("pk", flat=True)), probe.pk


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class ProbeListener(threading.Thread):
    """Publish -> commit latency, from the NOTIFY (payload: publish time) a bench trigger sends at commit."""

    def __init__(self, channel: str = "bench_probe"):
        super().__init__(daemon=True)
        self.channel = channel
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg
        from django.conf import settings

        db = settings.DATABASES["default"]
        with psycopg.connect(
            dbname=db["NAME"], host=db["HOST"], port=db["PORT"], user=db["USER"], autocommit=True
        ) as conn:
            conn.execute(f"LISTEN {self.channel}")
            while not self.stop.is_set():
                for notify in conn.notifies(timeout=0.5):
                    self.latencies.append((time.time() - float(notify.payload)) * 1000)


def run_ingest(broker_url: str, mode: str, rate: float, duration: float, publishers: int, profile: Path | None) -> dict:
    from django.db import connection

    from apps.telemetry import stats

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE readings")
    env = {**os.environ, "MQTT_URL": broker_url, "LOG_LEVEL": "WARNING"}
    client_id = f"bench-ingest-{uuid.uuid4().hex[:6]}"
    cmd = [sys.executable]
    if profile:
        cmd += ["-m", "cProfile", "-o", str(profile)]
    # A group of its own per run: an earlier run's persistent session would stay a member of a
    # shared group and keep receiving its share.
    cmd += [str(ROOT / "manage.py"), "ingest", "--client-id", client_id, "--group", client_id]
    ingest = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.time() + 30
    while not any(w["client_id"] == client_id for w in stats.read_all()):
        if time.time() > deadline or ingest.poll() is not None:
            raise RuntimeError("the ingest did not start")
        time.sleep(0.2)
    listener = ProbeListener()
    listener.start()
    probe_out: mp.Queue = mp.Queue()
    probe = mp.Process(target=probe_publisher, args=(int(broker_url.rsplit(":", 1)[1]), duration, 0.05, probe_out))
    probe.start()
    procs, out = start_publishers(int(broker_url.rsplit(":", 1)[1]), mode, rate, duration, publishers)
    began = time.time()
    samples = []  # (seconds since start, readings stored, ingest RSS MB)
    while any(p.is_alive() for p in procs) or time.time() - began < duration:
        time.sleep(1)
        mine = [w for w in stats.read_all() if w["client_id"] == client_id]
        samples.append((time.time() - began, mine[0]["readings_total"] if mine else 0, rss_mb(ingest.pid)))
    messages, readings = collect(procs, out)
    probe.join(timeout=30)
    readings += probe_out.get(timeout=10)[1]
    with connection.cursor() as cursor:  # wait for the tail to be committed
        for _ in range(600):
            cursor.execute("SELECT count(*) FROM readings")
            stored = cursor.fetchone()[0]
            if stored >= readings:
                break
            time.sleep(0.5)
    drained = time.time() - began
    ingest.terminate()
    ingest.wait(timeout=60)
    forget_session(int(broker_url.rsplit(":", 1)[1]), client_id)
    listener.stop.set()
    listener.join(timeout=5)
    # Sustained rate: the publishing window without its first 5 s of warm-up.
    window = [s for s in samples if 5 <= s[0] <= duration]
    sustained = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0]) if len(window) > 1 else 0.0
    # Memory: after the first minute of warm-up (imports, caches, the first full batches) on runs
    # of 3 minutes or more, the second minute against the last; on shorter runs the quarters.
    rss = [s[2] for s in samples if s[0] <= duration]
    if duration >= 180:
        rss = rss[60:]
    minute = max(1, min(60, len(rss) // 4))
    return {
        "published": readings,
        "messages": messages,
        "stored": stored,
        "sustained": sustained,
        "overall": stored / drained,
        "latency_p50": statistics.median(listener.latencies) if listener.latencies else None,
        "latency_p99": statistics.quantiles(listener.latencies, n=100)[98] if len(listener.latencies) > 100 else None,
        "probes": len(listener.latencies),
        "rss_first": statistics.median(rss[:minute]) if rss else 0.0,
        "rss_last": statistics.median(rss[-minute:]) if rss else 0.0,
    }


def run_drain(broker_url: str, publishers: int, fill_seconds: float) -> dict:
    """Queue a backlog for the ingest's session while it is down, then time its commit."""
    from django.db import connection

    from apps.telemetry import stats

    port = int(broker_url.rsplit(":", 1)[1])
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE readings")
    client_id = f"bench-ingest-{uuid.uuid4().hex[:6]}"
    open_session(port, client_id, f"$share/{client_id}/sensors/#")
    queued = fill_backlog(port, publishers, fill_seconds)
    env = {**os.environ, "MQTT_URL": broker_url, "LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, str(ROOT / "manage.py"), "ingest", "--client-id", client_id, "--group", client_id]
    began = time.time()
    ingest = subprocess.Popen(cmd, cwd=ROOT, env=env)
    samples = []
    stored = 0
    while time.time() - began < 900:
        time.sleep(1)
        mine = [w for w in stats.read_all() if w["client_id"] == client_id]
        samples.append((time.time() - began, mine[0]["readings_total"] if mine else 0, rss_mb(ingest.pid)))
        if samples[-1][1] >= queued:
            break
    elapsed = time.time() - began
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM readings")
        stored = cursor.fetchone()[0]
    ingest.terminate()
    ingest.wait(timeout=60)
    forget_session(port, client_id)
    # Sustained: from the first commit to the last sample before the backlog ran out.
    busy = [s for s in samples if 0 < s[1] < queued] or samples
    sustained = (busy[-1][1] - busy[0][1]) / (busy[-1][0] - busy[0][0]) if len(busy) > 1 else 0.0
    rss = [s[2] for s in samples]
    return {
        "published": queued,
        "messages": queued,
        "stored": stored,
        "sustained": sustained,
        "overall": stored / elapsed,
        "drain_seconds": elapsed,
        "latency_p50": None,
        "latency_p99": None,
        "probes": 0,
        "rss_first": rss[0] if rss else 0.0,
        "rss_last": rss[-1] if rss else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["value", "batch", "steady", "drain"], default="value")
    parser.add_argument("--fill", type=float, default=90.0, help="drain: seconds of publishing to queue (default 90)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of publishing per run (default 60)")
    parser.add_argument("--rate", type=float, default=0, help="messages/s in total (0: as fast as possible)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--publishers", type=int, default=2, help="publisher processes")
    parser.add_argument("--profile", action="store_true", help="profile the ingest (cProfile) in the last run")
    args = parser.parse_args()
    if args.mode == "steady" and not args.rate:
        args.rate = 10000
    publish_mode = "batch" if args.mode == "batch" else "value"

    setup_django()
    from tests.brokers import Broker

    sensor_ids, _ = prepare_database()
    broker = Broker(Path(tempfile.mkdtemp(prefix="bench-broker-")))
    broker.start()
    try:
        print(
            f"ingest benchmark: mode={args.mode} duration={args.duration:.0f}s runs={args.runs} "
            f"rate={'max' if not args.rate else args.rate} publishers={args.publishers} cpus={os.cpu_count()}"
        )
        if args.mode == "drain":
            paho = [drain_ceiling(broker.port, args.publishers, args.fill) for _ in range(args.runs)]
        else:
            paho = [paho_ceiling(broker.port, publish_mode, args.publishers, 20) for _ in range(args.runs)]
        copy = [copy_ceiling(sensor_ids) for _ in range(args.runs)]
        runs = []
        for i in range(args.runs):
            profile = ROOT / "bench" / "ingest.prof" if args.profile and i == args.runs - 1 else None
            if args.mode == "drain":
                result = run_drain(broker.url, args.publishers, args.fill)
            else:
                result = run_ingest(broker.url, publish_mode, args.rate, args.duration, args.publishers, profile)
            runs.append(result)
            print(
                f"  run {i + 1}: "
                + json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()})
            )
    finally:
        broker.stop()

    def med(key: str) -> float | None:
        values = [r[key] for r in runs if r[key] is not None]
        return statistics.median(values) if values else None

    ceiling_paho, ceiling_copy = statistics.median(paho), statistics.median(copy)
    sustained = med("sustained")
    lost = sum(r["published"] - r["stored"] for r in runs)
    print()
    print(
        f"ceiling: paho QoS 1 receive, empty callback  {ceiling_paho:>10,.0f} readings/s  (runs: {', '.join(f'{p:,.0f}' for p in paho)})"
    )
    print(
        f"ceiling: COPY into readings, 10k-row txns    {ceiling_copy:>10,.0f} rows/s      (runs: {', '.join(f'{c:,.0f}' for c in copy)})"
    )
    print(
        f"ingest: committed, sustained (median)        {sustained:>10,.0f} readings/s  (runs: {', '.join(format(r['sustained'], ',.0f') for r in runs)})"
    )
    print(f"ingest / paho ceiling                        {sustained / ceiling_paho:>10.2f}")
    print(f"ingest / COPY ceiling                        {sustained / ceiling_copy:>10.2f}")
    if med("latency_p99") is not None:
        print(
            f"publish -> commit latency p50 / p99          {med('latency_p50'):>7.1f} / {med('latency_p99'):.1f} ms ({int(med('probes'))} probes per run)"
        )
    print(
        f"ingest memory (RSS) early / late             {med('rss_first'):>7.1f} / {med('rss_last'):.1f} MB ({med('rss_last') / med('rss_first') - 1:+.1%})"
    )
    print(
        f"readings published {sum(r['published'] for r in runs):,}, stored {sum(r['stored'] for r in runs):,}, lost {lost:,}"
    )
    if args.profile:
        import pstats

        print("\nprofile of the ingest process (last run), by cumulative time:")
        pstats.Stats(str(ROOT / "bench" / "ingest.prof")).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
