from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lavka.core.secrets import encrypted_fields, rotate_field


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column with the first key of LAVKA_ENCRYPTION_KEYS and "
        "recompute digest columns (after DJANGO_SECRET_KEY changed). Safe to run again; "
        "run it before removing an old key (docs/secrets.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=200, help="rows read at a time")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        unreadable = []
        for model, field in encrypted_fields():
            rotation = rotate_field(model, field, batch_size=max(batch_size, 1))
            self.stdout.write(str(rotation))
            if rotation.unreadable:
                shown = ", ".join(str(pk) for pk in rotation.unreadable[:20])
                more = "…" if len(rotation.unreadable) > 20 else ""
                unreadable.append(f"{rotation.label} (primary keys {shown}{more})")
        if unreadable:
            raise CommandError(
                "Some secrets open with none of the keys in LAVKA_ENCRYPTION_KEYS and were "
                "left as they are: " + "; ".join(unreadable) + ". Put back the key they were "
                "saved with (after the first one) and run this again, or enter them anew."
            )
