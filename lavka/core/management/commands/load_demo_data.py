from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from lavka.core.demo import load_demo_data

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class Command(BaseCommand):
    help = (
        "Create each app's demo data (idempotent). Refused, unless --force, when "
        "LAVKA_SITE_URL is not a loopback address: the demo accounts' password is public."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="allow on a public site")

    def handle(self, *args: Any, force: bool, **options: Any) -> None:
        if urlsplit(settings.SITE_URL).hostname not in LOOPBACK and not force:
            raise CommandError(
                f"Demo accounts have a public password; refusing for {settings.SITE_URL}, "
                "which is not a loopback address (use --force to load them anyway)."
            )
        for line in load_demo_data():
            self.stdout.write(line)
