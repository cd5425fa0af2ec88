"""``python -m services.simulators.stripe``: every flag also reads ``STRIPE_SIMULATOR_<FLAG>``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType

from .server import DEFAULT_API_VERSION, Config, Simulator
from .webhooks import Faults, WebhookSettings


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get("STRIPE_SIMULATOR_" + name.upper().replace("-", "_"), default)


def _flag(name: str) -> bool:
    return (_env(name) or "").lower() in ("1", "true", "yes", "on")


def parse(argv: list[str]) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m services.simulators.stripe",
        description="A local Stripe Checkout stand-in (test mode, no real money).",
    )
    add = parser.add_argument
    add("--host", default=_env("host", "127.0.0.1"))
    add("--port", type=int, default=int(_env("port", "12111") or 12111))
    add(
        "--public-url",
        default=_env("public-url"),
        help="base of the payment page URLs, if the browser reaches the simulator under another address",
    )
    add(
        "--api-key",
        default=_env("api-key"),
        help="accept only this sk_test_ key (default: any sk_test_ key)",
    )
    add("--api-version", default=_env("api-version", DEFAULT_API_VERSION))
    add(
        "--webhook-url",
        default=_env("webhook-url"),
        help="where events are POSTed (none: events are only recorded)",
    )
    add("--webhook-secret", default=_env("webhook-secret", "whsec_simulator"))
    add(
        "--enabled-events",
        default=_env("enabled-events", "*"),
        help="comma-separated event types or patterns",
    )
    add("--max-attempts", type=int, default=int(_env("max-attempts", "5") or 5))
    add("--retry-base-seconds", type=float, default=float(_env("retry-base-seconds", "1") or 1))
    add("--webhook-timeout", type=float, default=float(_env("webhook-timeout", "10") or 10))
    add(
        "--async-delay",
        type=float,
        default=float(_env("async-delay", "5") or 5),
        help="seconds until a bank debit settles",
    )
    faults = parser.add_argument_group("fault knobs (also settable at runtime: POST /_control)")
    faults.add_argument(
        "--duplicate",
        action="store_true",
        default=_flag("duplicate"),
        help="deliver every event twice",
    )
    faults.add_argument(
        "--out-of-order",
        action="store_true",
        default=_flag("out-of-order"),
        help="hold each event until the next one has been sent",
    )
    faults.add_argument(
        "--delay-seconds",
        type=float,
        default=float(_env("delay-seconds", "0") or 0),
        help="deliver every event this late",
    )
    faults.add_argument(
        "--fail-deliveries",
        type=int,
        default=int(_env("fail-deliveries", "0") or 0),
        help="the next N delivery attempts are not sent and count as failed (then retried)",
    )
    faults.add_argument(
        "--lose-responses",
        type=int,
        default=int(_env("lose-responses", "0") or 0),
        help="the next N deliveries are sent but their answer is discarded (so they are sent again)",
    )
    faults.add_argument(
        "--rate-limit-requests",
        type=int,
        default=int(_env("rate-limit-requests", "0") or 0),
        help="answer 429 to the next N API calls",
    )
    faults.add_argument(
        "--error-requests",
        type=int,
        default=int(_env("error-requests", "0") or 0),
        help="answer 500 to the next N API calls",
    )
    add("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="stripe-simulator %(levelname)s %(message)s",
    )
    return Config(
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        api_key=args.api_key,
        api_version=args.api_version,
        async_delay_seconds=args.async_delay,
        webhook=WebhookSettings(
            url=args.webhook_url or None,
            secret=args.webhook_secret,
            enabled_events=[e.strip() for e in args.enabled_events.split(",") if e.strip()],
            max_attempts=args.max_attempts,
            retry_base_seconds=args.retry_base_seconds,
            timeout_seconds=args.webhook_timeout,
        ),
        faults=Faults(
            duplicate=args.duplicate,
            out_of_order=args.out_of_order,
            delay_seconds=args.delay_seconds,
            fail_deliveries=args.fail_deliveries,
            lose_responses=args.lose_responses,
            rate_limit_requests=args.rate_limit_requests,
            error_requests=args.error_requests,
        ),
    )


def main(argv: list[str] | None = None) -> int:
    config = parse(sys.argv[1:] if argv is None else argv)
    try:
        simulator = Simulator(config)
    except (ValueError, OSError) as error:
        print(f"stripe simulator: {error}", file=sys.stderr)
        return 2

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    target = config.webhook.url or "nowhere (events are only recorded)"
    print(
        f"Stripe simulator (test mode, no real money) on {simulator.url}; webhooks to {target}",
        flush=True,
    )
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
