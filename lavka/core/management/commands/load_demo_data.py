from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from lavka.core.demo import load_demo_data


class Command(BaseCommand):
    help = "Create each app's demo data (idempotent). Refused in production unless --force."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="allow with DJANGO_DEBUG=false")

    def handle(self, *args: Any, force: bool, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("Demo accounts have a public password; refusing in production.")
        for line in load_demo_data():
            self.stdout.write(line)
