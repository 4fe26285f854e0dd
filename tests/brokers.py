"""A private Mosquitto for tests that stop and restart the ingest.

The machine's broker runs with Mosquitto's defaults (1,000 queued messages per client, 20 in
flight), which drop messages during an ingest restart. This one takes the queue and in-flight
limits from config/mosquitto.conf, the production configuration, so the fault tests check the
settings that production runs with; only listener, authentication and paths differ.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEPT = {
    "persistence", "persistence_file", "autosave_interval", "persistent_client_expiration",
    "max_queued_messages", "max_queued_bytes", "max_inflight_messages", "max_inflight_bytes",
    "max_packet_size", "message_size_limit",
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        lines = []
        for line in (ROOT / "config/mosquitto.conf").read_text().splitlines():
            words = line.split()
            if words and words[0] in KEPT:
                lines.append(line)
        lines += [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"persistence_location {workdir}/",
            f"user {getpass.getuser()}",
            f"log_dest file {workdir}/mosquitto.log",
        ]
        self.config = workdir / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen(
            [binary, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"mosquitto exited: {self.process.stderr.read().decode()}") from None
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
