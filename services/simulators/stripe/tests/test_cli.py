"""``python -m services.simulators.stripe`` from the repository root, as `make run` will start it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import stripe

from .conftest import Endpoint, new_session, post_form, wait_until

ROOT = Path(__file__).resolve().parents[4]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_cli_serves_with_flags_and_env_and_stops_on_sigterm(endpoint: Endpoint) -> None:
    port = free_port()
    env = {
        **os.environ,
        "STRIPE_SIMULATOR_WEBHOOK_SECRET": "whsec_from_env",
        "STRIPE_SIMULATOR_DUPLICATE": "1",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.simulators.stripe",
            "--port",
            str(port),
            "--webhook-url",
            endpoint.url,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in ready and "test mode" in ready
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_control", timeout=5) as response:
            state = json.loads(response.read())
        assert state["faults"]["duplicate"] is True
        assert state["webhook"]["url"] == endpoint.url
        client = stripe.StripeClient(
            "sk_test_cli", base_addresses={"api": f"http://127.0.0.1:{port}"}, max_network_retries=0
        )

        post_form(new_session(client).url, {"action": "pay"})

        wait_until(lambda: len(endpoint.received) == 2)
        for received in endpoint.received:
            stripe.Webhook.construct_event(
                received.body, received.headers["Stripe-Signature"], "whsec_from_env"
            )
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
