"""`python -m services.vision.check`: load every model once, offline, and say how long
it took; exits non-zero when one is missing (run by `make vision-env`)."""

from __future__ import annotations

import dataclasses
import time

from .app import Models
from .config import Limits


def main() -> None:
    limits = Limits.from_env()
    models = Models(dataclasses.replace(limits, concurrency=1))
    started = time.monotonic()
    models.load()
    print(f"vision: faces, plates and pose models loaded in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
