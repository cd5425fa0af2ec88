"""``python -m services.simulators.stripe``: every flag also reads ``STRIPE_SIMULATOR_<FLAG>``."""

from __future__ import annotations

import sys

from ..common import Env, argument_parser, log_to_stderr, serve
from .server import DEFAULT_API_VERSION, Config, Simulator
from .webhooks import Faults, WebhookSettings

_env = Env("STRIPE_SIMULATOR_")

# Fault knobs that count the next N deliveries or calls: (flag, help).
_COUNTED_FAULTS = (
    (
        "fail-deliveries",
        "the next N delivery attempts are not sent and count as failed (then retried)",
    ),
    (
        "lose-responses",
        "the next N deliveries are sent but their answer is discarded (so they are sent again)",
    ),
    ("rate-limit-requests", "answer 429 to the next N API calls"),
    ("error-requests", "answer 500 to the next N API calls"),
)


def parse(argv: list[str]) -> Config:
    parser = argument_parser(
        "stripe",
        "A local Stripe Checkout stand-in (test mode, no real money).",
        _env,
        port=12111,
    )
    add = parser.add_argument
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
    add("--max-attempts", type=int, default=_env.integer("max-attempts", 5))
    add("--retry-base-seconds", type=float, default=_env.number("retry-base-seconds", 1))
    add("--webhook-timeout", type=float, default=_env.number("webhook-timeout", 10))
    add(
        "--async-delay",
        type=float,
        default=_env.number("async-delay", 5),
        help="seconds until a bank debit settles",
    )
    faults = parser.add_argument_group("fault knobs (also settable at runtime: POST /_control)")
    faults.add_argument(
        "--duplicate",
        action="store_true",
        default=_env.flag("duplicate"),
        help="deliver every event twice",
    )
    faults.add_argument(
        "--out-of-order",
        action="store_true",
        default=_env.flag("out-of-order"),
        help="hold each event until the next one has been sent",
    )
    faults.add_argument(
        "--delay-seconds",
        type=float,
        default=_env.number("delay-seconds", 0),
        help="deliver every event this late",
    )
    for name, text in _COUNTED_FAULTS:
        faults.add_argument(f"--{name}", type=int, default=_env.integer(name, 0), help=text)
    add("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    log_to_stderr("stripe-simulator", args.verbose)
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
    target = config.webhook.url or "nowhere (events are only recorded)"
    return serve(
        simulator,
        f"Stripe simulator (test mode, no real money) on {simulator.url}; webhooks to {target}",
    )


if __name__ == "__main__":
    sys.exit(main())
