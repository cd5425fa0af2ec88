"""``python -m services.simulators.moedelo``: every flag also reads ``MOEDELO_SIMULATOR_<FLAG>``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType

from .faults import KINDS, Fault
from .server import DEMO_TOKEN, Config, Simulator


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get("MOEDELO_SIMULATOR_" + name.upper().replace("-", "_"), default)


def _flag(name: str) -> bool:
    return (_env(name) or "").lower() in ("1", "true", "yes", "on")


def parse(argv: list[str]) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m services.simulators.moedelo",
        description="A local stand-in for the MoeDelo accounting REST API (no real firm).",
    )
    add = parser.add_argument
    add("--host", default=_env("host", "127.0.0.1"))
    add("--port", type=int, default=int(_env("port", "19700") or 19700))
    add(
        "--seed-demo",
        action="store_true",
        default=_flag("seed-demo"),
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
    add("--fault-seed", type=int, default=int(_env("fault-seed", "0") or 0))
    add("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="moedelo-simulator %(levelname)s %(message)s",
    )
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

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    demo = f"; demo account md-api-key {config.demo_token}" if config.seed_demo else ""
    print(f"MoeDelo simulator on {simulator.url}{demo}", flush=True)
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
