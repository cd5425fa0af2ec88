"""``python -m services.simulators.moedelo`` from the repository root, as `make run` starts it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[4]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_cli_serves_the_demo_account_with_faults_from_env_and_stops_on_sigterm() -> None:
    port = free_port()
    env = {
        **os.environ,
        "MOEDELO_SIMULATOR_DEMO_TOKEN": "demo-key-from-env",
        "MOEDELO_SIMULATOR_FAULTS": "error:1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.simulators.moedelo", "--port", str(port), "--seed-demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in ready and "demo-key-from-env" in ready
        url = f"http://127.0.0.1:{port}"
        headers = {"md-api-key": "demo-key-from-env"}
        assert (
            requests.get(url + "/stock/api/v1/good", headers=headers, timeout=5).status_code == 500
        )
        requests.delete(url + "/_control/faults", timeout=5)
        goods = requests.get(url + "/stock/api/v1/good", headers=headers, timeout=5).json()
        assert goods["TotalCount"] == 5
        cashiers = requests.get(
            url + "/accounting/api/v1/cashier", headers=headers, timeout=5
        ).json()
        assert cashiers["ResourceList"][0]["IsMain"] is True
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_the_cli_refuses_an_unknown_fault_kind() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.simulators.moedelo",
            "--port",
            "0",
            "--fault",
            "explode:0.1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2 and "unknown fault kind" in result.stderr
