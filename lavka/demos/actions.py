"""What people do with demos: the rule (who may) and the call to the service layer.

Creators attach, change and remove demos on their own products; any visitor tries a
demo whose service is up, within the rate limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from lavka.demos import services
from lavka.demos.models import Demo, DemoRun, DemoSample
from lavka.demos.upload_checks import check_image, check_size, check_video


class RateLimited(Exception):
    """Too many tries from this visitor or address in the window."""


def _require_owner(actor: Any, demo: Demo) -> None:
    if not actor.is_authenticated or demo.product.creator.user_id != actor.pk:
        raise PermissionDenied


@dataclass
class SaveDemo:
    actor: Any
    demo: Demo

    def execute(self) -> Demo:
        _require_owner(self.actor, self.demo)
        return services.save_demo(demo=self.demo)


@dataclass
class DeleteDemo:
    actor: Any
    demo: Demo

    def execute(self) -> None:
        _require_owner(self.actor, self.demo)
        services.delete_demo(demo=self.demo)


@dataclass
class AddSample:
    actor: Any
    demo: Demo
    upload: Any
    title: str
    source_note: str

    def execute(self) -> DemoSample:
        """A sample is what visitors download to try: it must pass the demo's own
        checks (size, then the type read from the content), as their upload will."""
        _require_owner(self.actor, self.demo)
        check_size(self.upload, int(self.upload.size or 0), self.demo.max_bytes)
        if self.demo.takes_video:
            checked = check_video(self.upload)
        else:
            checked = check_image(self.upload, max_pixels=self.demo.max_pixels)
        return services.add_sample(
            demo=self.demo,
            upload=self.upload,
            title=self.title,
            source_note=self.source_note,
            content_type=checked.content_type,
        )


@dataclass
class DeleteSample:
    actor: Any
    sample: DemoSample

    def execute(self) -> None:
        _require_owner(self.actor, self.sample.demo)
        services.delete_sample(sample=self.sample)


@dataclass
class TryDemo:
    """A visitor's upload: refused while the service is down, over a rate limit, or when
    the file is not what the demo takes; otherwise a run queued on the `demos` queue."""

    actor: Any
    demo: Demo
    upload: IO[bytes]
    upload_name: str
    size: int
    session_key: str
    address: str

    def execute(self) -> DemoRun:
        if not self.demo.is_up:
            raise ValidationError(
                _("The demo's service is not available right now; try again later."),
                code="down",
            )
        check_size(self.upload, self.size, self.demo.max_bytes)
        # The slots are taken before the file is decoded: a refused upload counts too, so
        # nobody makes the web process decode large images (or probe videos) for free.
        window = settings.DEMOS_RATE_WINDOW_SECONDS
        who = f"user:{self.actor.pk}" if self.actor.is_authenticated else f"s:{self.session_key}"
        if not services.take_rate_slot(
            key=f"ip:{self.address}", limit=settings.DEMOS_RATE_PER_ADDRESS, window_seconds=window
        ) or not services.take_rate_slot(
            key=who, limit=settings.DEMOS_RATE_PER_VISITOR, window_seconds=window
        ):
            raise RateLimited
        if self.demo.takes_video:
            checked = check_video(self.upload)
        else:
            checked = check_image(self.upload, max_pixels=self.demo.max_pixels)
        return services.start_run(
            demo=self.demo,
            upload=self.upload,
            upload_name=self.upload_name,
            content_type=checked.content_type,
            visitor_id=self.actor.pk if self.actor.is_authenticated else None,
            session_key=self.session_key,
        )
