"""``python -m services.simulators.mtskassa``: every flag also reads ``MTSKASSA_SIMULATOR_<FLAG>``."""

from __future__ import annotations

import argparse
import sys

from ..common import Env, argument_parser, log_to_stderr, serve
from .demo import DEMO_TOKEN, seed_demo, start_demo_register
from .server import Config, Simulator

_env = Env("MTSKASSA_SIMULATOR_")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argument_parser(
        "mtskassa",
        "A local stand-in for MTS Kassa (cloud cash registers); shapes are inferred.",
        _env,
        port=19800,
    )
    add = parser.add_argument
    add(
        "--fault-seed",
        type=int,
        default=_env.integer("fault-seed", 0),
        help="seed of fractional faults",
    )
    add(
        "--seed-demo",
        action="store_true",
        default=_env.flag("seed-demo"),
        help="one demo account (token --demo-token) whose register closes shifts by itself",
    )
    add("--demo-token", default=_env("demo-token", DEMO_TOKEN))
    add(
        "--demo-shift-seconds",
        type=float,
        default=_env.number("demo-shift-seconds", 30),
        help="the demo register closes a shift this often (0: never)",
    )
    add("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.demo_shift_seconds < 0:
        parser.error("--demo-shift-seconds must be zero or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    log_to_stderr("mtskassa-simulator", args.verbose)
    try:
        simulator = Simulator(Config(args.host, args.port, args.fault_seed))
    except OSError as error:
        print(f"mtskassa simulator: {error}", file=sys.stderr)
        return 2
    demo = ""
    if args.seed_demo:
        try:
            unit = seed_demo(simulator, token=args.demo_token)
        except Exception as error:
            print(f"mtskassa simulator: --demo-token: {error}", file=sys.stderr)
            return 2
        if args.demo_shift_seconds:
            start_demo_register(simulator, unit, args.demo_shift_seconds)
        demo = f"; demo account, trade point {unit.id}, a shift every {args.demo_shift_seconds:g} s"
    return serve(simulator, f"MTS Kassa simulator on {simulator.url}{demo}")


if __name__ == "__main__":
    sys.exit(main())
