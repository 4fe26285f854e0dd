"""Alarm benchmark: how fast a limit crossing becomes an alarm, and what evaluation costs the ingest.

    .venv/bin/python bench/alarms.py --mode latency     # 10,000 readings/s, a rule on every sensor
    .venv/bin/python bench/alarms.py --mode throughput  # the ingest alone, with and without rules

latency: the plant streams 10,000 readings/s (bench/ingest.py's publishers, 1,000 sensors) with a
quiet high-limit rule and a communication-loss rule on every sensor. A probe sensor with a
high limit at 50 gets 100 and 0 in turn every 0.25 s, each reading stamped with its publish time.
Measured per crossing: publish -> alarm row committed (a NOTIFY from a trigger on the alarm table,
bench database only, delivered at commit) and publish -> the `alarms/PROBE` message received by an
MQTT subscriber. The ceiling it compares to, in the same run: publish -> commit of a plain reading
(bench/ingest.py's probe).

throughput: bench/ingest.py's drain mode (a backlog of per-reading messages queued while the
ingest is down, then committed by the ingest alone, the per-reading path at full speed), run in
turn without rules and with the same two rules on every sensor; the ratio is the cost of
evaluation. The rules stay quiet (no reading crosses them), as on a plant in normal operation;
the transitions of a crossing are measured by the latency mode.

Medians of --runs runs; everything on this machine (broker, database, ingest, publishers).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import ingest as ingest_bench  # noqa: E402  (bench/ingest.py: publishers, database, drain)

ALARM_PROBE_TOPIC = "sensors/PROBE/ALARM/value"


def add_rules(enabled: bool) -> int:
    """A high limit no reading reaches and a communication-loss rule on every bench sensor."""
    from apps.alarms.models import AlarmRule
    from apps.plant.models import Sensor

    AlarmRule.objects.exclude(sensor__machine__code="PROBE").delete()
    if not enabled:
        return 0
    rules = []
    for sensor in Sensor.objects.exclude(machine__code="PROBE"):
        rules.append(AlarmRule(sensor=sensor, kind="hi", setpoint=5000, deadband=10, severity="high"))
        rules.append(AlarmRule(sensor=sensor, kind="comm_loss", setpoint=3600, severity="medium"))
    AlarmRule.objects.bulk_create(rules)
    return len(rules)


def add_alarm_probe() -> None:
    from django.db import connection

    from apps.alarms.models import AlarmRule
    from apps.plant.models import Machine, Sensor

    machine = Machine.objects.get(code="PROBE")
    sensor = Sensor.objects.create(machine=machine, code="ALARM", name="Alarm probe", mqtt_topic=ALARM_PROBE_TOPIC)
    AlarmRule.objects.create(sensor=sensor, kind="hi", setpoint=50, severity="critical")
    with connection.cursor() as cursor:
        # Bench database only: NOTIFY with the alarm's trigger time (the reading's publish time) at commit.
        cursor.execute(
            "CREATE FUNCTION bench_alarm() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " PERFORM pg_notify('bench_alarm', extract(epoch FROM NEW.triggered_at)::text); RETURN NULL; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER bench_alarm AFTER INSERT ON alarms_alarm FOR EACH ROW EXECUTE FUNCTION bench_alarm()"
        )


def alarm_probe_publisher(port: int, duration: float, every: float, out) -> None:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-alarm-probe-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    time.sleep(3)  # the ingest subscribes first
    started, sent = time.time(), 0
    while time.time() - started < duration - 3:
        value = 100 if sent % 2 == 0 else 0
        client.publish(ALARM_PROBE_TOPIC, f'{{"value":{value},"ts":{time.time():.6f}}}', qos=1).wait_for_publish(10)
        sent += 1
        time.sleep(every)
    client.disconnect()
    client.loop_stop()
    out.put(sent)


class AlarmMqttListener:
    """Publish -> `alarms/PROBE` message received, for each raise."""

    def __init__(self, port: int):
        import paho.mqtt.client as mqtt

        from apps.alarms.lifecycle import Event

        self.latencies: list[float] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-alarms-{uuid.uuid4().hex[:8]}")

        def on_message(client, userdata, message) -> None:
            received = time.time()
            event = json.loads(message.payload)
            if event["event"]["kind"] == Event.RAISED:
                alarm = event["alarm"]
                at = datetime.fromisoformat(alarm["triggered_at"].replace("Z", "+00:00")).timestamp()
                self.latencies.append((received - at) * 1000)

        self.client.on_message = on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("alarms/PROBE", qos=1)
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def p(values: list[float], q: int) -> float | None:
    if len(values) < 20:
        return None
    return statistics.quantiles(values, n=100)[q - 1]


def latency(args, broker) -> None:
    rules = add_rules(True)
    add_alarm_probe()
    print(f"alarm latency: {args.rate:,.0f} readings/s for {args.duration:.0f}s, {rules:,} rules, runs={args.runs}")
    runs = []
    for i in range(args.runs):
        commits, mqtt_listener = ingest_bench.ProbeListener("bench_alarm"), AlarmMqttListener(broker.port)
        commits.start()
        out: mp.Queue = mp.Queue()
        probe = mp.Process(target=alarm_probe_publisher, args=(broker.port, args.duration, 0.25, out), daemon=True)
        probe.start()
        result = ingest_bench.run_ingest(broker.url, "value", args.rate, args.duration, args.publishers, None)
        probe.join(timeout=30)
        probes = out.get(timeout=10)
        time.sleep(1)
        commits.stop.set()
        commits.join(timeout=5)
        mqtt_listener.close()
        run = {
            "readings_stored": result["stored"],
            "readings_published": result["published"] + probes,
            "sustained": round(result["sustained"]),
            "reading_commit_p50": result["latency_p50"],
            "reading_commit_p99": result["latency_p99"],
            "alarms": len(commits.latencies),
            "alarm_commit_p50": p(commits.latencies, 50),
            "alarm_commit_p99": p(commits.latencies, 99),
            "alarm_mqtt_p50": p(mqtt_listener.latencies, 50),
            "alarm_mqtt_p99": p(mqtt_listener.latencies, 99),
            "alarm_mqtt_received": len(mqtt_listener.latencies),
        }
        runs.append(run)
        print(f"  run {i + 1}: " + json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in run.items()}))

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs if r[key] is not None)

    print()
    print(f"stream committed, sustained (median)         {med('sustained'):>9,.0f} readings/s")
    print(
        f"ceiling: publish -> reading committed        p50 {med('reading_commit_p50'):6.1f} ms   p99 {med('reading_commit_p99'):6.1f} ms"
    )
    print(
        f"publish -> alarm committed                   p50 {med('alarm_commit_p50'):6.1f} ms   p99 {med('alarm_commit_p99'):6.1f} ms"
    )
    print(
        f"publish -> alarms/PROBE received             p50 {med('alarm_mqtt_p50'):6.1f} ms   p99 {med('alarm_mqtt_p99'):6.1f} ms"
        "   (target p99 < 250 ms)"
    )
    print(f"alarm p99 / reading p99                      {med('alarm_mqtt_p99') / med('reading_commit_p99'):9.2f}")
    print(
        f"alarms raised {sum(r['alarms'] for r in runs):,}, announced on MQTT {sum(r['alarm_mqtt_received'] for r in runs):,}; "
        f"readings published {sum(r['readings_published'] for r in runs):,}, stored {sum(r['readings_stored'] for r in runs):,}"
    )


def throughput(args, broker) -> None:
    print(
        f"alarm evaluation cost: drain of {args.fill:.0f}s of per-reading messages, runs={args.runs} (each with and without rules)"
    )
    without, with_rules = [], []
    for i in range(args.runs):
        for enabled, results in ((False, without), (True, with_rules)):
            rules = add_rules(enabled)
            result = ingest_bench.run_drain(broker.url, args.publishers, args.fill)
            results.append(result)
            print(
                f"  run {i + 1} {'with ' + format(rules, ',') + ' rules' if enabled else 'without rules':>18}: "
                f"{result['sustained']:,.0f} readings/s sustained, {result['published']:,} queued, {result['stored']:,} stored"
            )
    base = statistics.median(r["sustained"] for r in without)
    ruled = statistics.median(r["sustained"] for r in with_rules)
    print()
    print(f"ceiling: ingest without rules (median)       {base:>9,.0f} readings/s")
    print(f"ingest with a rule on every sensor (median)  {ruled:>9,.0f} readings/s")
    print(f"with / without                               {ruled / base:9.2f}   (target >= 0.85)")
    lost = sum(r["published"] - r["stored"] for r in without + with_rules)
    print(f"readings lost {lost:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["latency", "throughput"], default="latency")
    parser.add_argument("--rate", type=float, default=10000, help="latency: readings/s of the plant stream")
    parser.add_argument("--duration", type=float, default=60.0, help="latency: seconds per run")
    parser.add_argument("--fill", type=float, default=30.0, help="throughput: seconds of publishing to queue")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--publishers", type=int, default=2)
    args = parser.parse_args()

    ingest_bench.setup_django()
    from tests.brokers import Broker

    ingest_bench.prepare_database()
    broker = Broker(Path(tempfile.mkdtemp(prefix="bench-broker-")))
    broker.start()
    os.environ["MQTT_URL"] = broker.url
    try:
        (latency if args.mode == "latency" else throughput)(args, broker)
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
