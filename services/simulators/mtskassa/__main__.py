"""``python -m services.simulators.mtskassa``: every flag also reads ``MTSKASSA_SIMULATOR_<FLAG>``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType

from .demo import DEMO_TOKEN, seed_demo, start_demo_register
from .server import Config, Simulator


def _env(name: str, default: str) -> str:
    return os.environ.get("MTSKASSA_SIMULATOR_" + name.upper().replace("-", "_"), default)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.simulators.mtskassa",
        description="A local stand-in for MTS Kassa (cloud cash registers); shapes are inferred.",
    )
    add = parser.add_argument
    add("--host", default=_env("host", "127.0.0.1"))
    add("--port", type=int, default=int(_env("port", "19800")))
    add(
        "--fault-seed",
        type=int,
        default=int(_env("fault-seed", "0")),
        help="seed of fractional faults",
    )
    add(
        "--seed-demo",
        action="store_true",
        default=_env("seed-demo", "").lower() in ("1", "true", "yes", "on"),
        help="one demo account (token --demo-token) whose register closes shifts by itself",
    )
    add("--demo-token", default=_env("demo-token", DEMO_TOKEN))
    add(
        "--demo-shift-seconds",
        type=float,
        default=float(_env("demo-shift-seconds", "30")),
        help="the demo register closes a shift this often (0: never)",
    )
    add("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.demo_shift_seconds < 0:
        parser.error("--demo-shift-seconds must be zero or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="mtskassa-simulator %(levelname)s %(message)s",
    )
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

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"MTS Kassa simulator on {simulator.url}{demo}", flush=True)
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
