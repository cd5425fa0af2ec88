"""manage.py rebuild_recommendations: the "bought together" counts made again from every
paid order, in the configured store (or both)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lavka.marketplace.recommendations import services
from lavka.marketplace.recommendations.stores import configured_store


class Command(BaseCommand):
    help = (
        'Count the "bought together" of every paid order again, from scratch, in the '
        "store in use (Redis when configured, else the database). Safe while workers "
        "record new orders: each order counts once, and pages show the old counts until "
        "the new ones replace them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--catch-up-only",
            action="store_true",
            help="only record the recently paid orders not recorded yet (what beat runs)",
        )

    def handle(self, *args: Any, catch_up_only: bool, **options: Any) -> None:
        store = configured_store()
        started = time.monotonic()
        if catch_up_only:
            count = services.catch_up(store=store)
            self.stdout.write(f"{count} paid orders caught up ({store.name} store).")
            return
        try:
            count = services.rebuild(store=store)
        except services.RebuildRunning as error:
            raise CommandError(str(error)) from error
        seconds = time.monotonic() - started
        self.stdout.write(
            f"{count} paid orders recorded in the {store.name} store in {seconds:.1f} s."
        )
