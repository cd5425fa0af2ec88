"""``python -m services.simulators.moedelo``: every flag also reads ``MOEDELO_SIMULATOR_<FLAG>``."""

from __future__ import annotations

import sys

from ..common import Env, argument_parser, log_to_stderr, serve
from .faults import KINDS, Fault
from .server import DEMO_TOKEN, Config, Simulator

_env = Env("MOEDELO_SIMULATOR_")


def parse(argv: list[str]) -> Config:
    parser = argument_parser(
        "moedelo",
        "A local stand-in for the MoeDelo accounting REST API (no real firm).",
        _env,
        port=19700,
    )
    add = parser.add_argument
    add(
        "--seed-demo",
        action="store_true",
        default=_env.flag("seed-demo"),
        help="start with one demo account: a warehouse, a cash desk and five goods",
    )
    add(
        "--demo-token", default=_env("demo-token", DEMO_TOKEN), help="the demo account's md-api-key"
    )
    add(
        "--fault",
        action="append",
        default=[],
        metavar="KIND:RATE",
        help=f"a fault on a fraction of all API calls, e.g. error:0.05 (kinds: {', '.join(KINDS)}); repeatable",
    )
    add("--fault-seed", type=int, default=_env.integer("fault-seed", 0))
    add("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    log_to_stderr("moedelo-simulator", args.verbose)
    specs = args.fault + [s for s in (_env("faults") or "").split(",") if s.strip()]
    faults = []
    for spec in specs:
        kind, _, rate = spec.strip().partition(":")
        try:
            faults.append(Fault(kind=kind, rate=float(rate or "1")))
        except ValueError as error:
            parser.error(f"--fault {spec}: {error}")
    return Config(
        host=args.host,
        port=args.port,
        seed_demo=args.seed_demo,
        demo_token=args.demo_token,
        fault_seed=args.fault_seed,
        faults=faults,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse(sys.argv[1:] if argv is None else argv)
    try:
        simulator = Simulator(config)
    except (ValueError, OSError) as error:
        print(f"moedelo simulator: {error}", file=sys.stderr)
        return 2
    demo = f"; demo account md-api-key {config.demo_token}" if config.seed_demo else ""
    return serve(simulator, f"MoeDelo simulator on {simulator.url}{demo}")


if __name__ == "__main__":
    sys.exit(main())
