from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from lavka.accounts.actions import CreateApiToken
from lavka.accounts.models import User, normalize_email
from lavka.core.actions import SYSTEM


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it (shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="command line")

    def handle(self, *args: Any, email: str, name: str, **options: Any) -> None:
        user = User.objects.filter(email=normalize_email(email)).first()
        if user is None:
            raise CommandError(f"No user with email {email!r}.")
        try:
            issued = CreateApiToken(SYSTEM, user=user, name=name).execute()
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(issued.raw)
