"""What the staff pages of orders and donations share when staff change a status (mark
paid, cancel, archive): the action run, and its outcome said on the next page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from lavka.core.actions import Action


def run_staff_change(
    request: HttpRequest, action: Action[Any], *, refused: type[Exception], done: str
) -> None:
    """Run the `action`; a refusal (a ValidationError, or `refused` with its `message`)
    becomes an error message, success the `done` message, formatted with the changed
    row's `number` and `status`."""
    try:
        changed = action.execute()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except refused as refusal:
        messages.error(request, getattr(refusal, "message", str(refusal)))
    else:
        messages.success(
            request, done % {"number": changed.number, "status": changed.get_status_display()}
        )
