"""``python -m services.simulators.mtskassa --seed-demo``, as `make run` will start it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from services.simulators.mtskassa.demo import DEMO_TOKEN

ROOT = Path(__file__).resolve().parents[4]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_the_demo_register_closes_shifts_by_itself_and_sigterm_stops_it() -> None:
    port = free_port()
    env = {**os.environ, "MTSKASSA_SIMULATOR_DEMO_SHIFT_SECONDS": "0.2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "services.simulators.mtskassa", "--port", str(port), "--seed-demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "MTS Kassa simulator on" in process.stdout.readline()
        base = f"http://127.0.0.1:{port}/api/v1"
        points = get(base + "/trade-units", DEMO_TOKEN)["data"]
        main = next(p for p in points if p["is_main"])
        deadline = time.monotonic() + 10
        while not (shifts := get(f"{base}/trade-units/{main['id']}/shifts", DEMO_TOKEN)["data"]):
            assert time.monotonic() < deadline, "no demo shift closed"
            time.sleep(0.1)
        detail = get(f"{base}/trade-units/{main['id']}/shifts/{shifts[0]['id']}", DEMO_TOKEN)
        z = detail["data"][0]["z_report"]
        assert z["documents_count"] == len(detail["data"][0]["documents"]) >= 3
        assert float(z["revenue"]) > 0
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
