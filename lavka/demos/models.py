"""Live demos: an analysis service a creator attaches to one of their products, its
sample inputs, and the runs visitors start from the Try page (durable work rows)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lavka.core import background
from lavka.core.validators import HeaderTextValidator, MultilineTextValidator
from lavka.core.work import WorkItem
from lavka.marketplace.models import Product


class DemoKind(models.TextChoices):
    FACES = "faces", _("Faces: sex and age (image)")
    PLATES = "plates", _("Licence plates (image)")
    EXERCISE = "exercise", _("Exercise repetitions (video)")


# The endpoint of each kind on the service, as the reference service names them.
ENDPOINTS = {
    DemoKind.FACES: "/v1/faces",
    DemoKind.PLATES: "/v1/plates",
    DemoKind.EXERCISE: "/v1/exercise",
}
VIDEO_KINDS = frozenset({DemoKind.EXERCISE})


class HealthStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Not checked yet")
    UP = "up", _("Up")
    DOWN = "down", _("Down")


def new_share_token() -> str:
    return secrets.token_urlsafe(24)


def _private_name(folder: str, suffix: str) -> str:
    """Media files of runs get unguessable names: only the run's pages link to them."""
    return f"demos/{folder}/{secrets.token_urlsafe(24)}{suffix}"


def upload_path(instance: object, filename: str) -> str:
    return _private_name("uploads", ".bin")


def result_path(instance: object, filename: str) -> str:
    return _private_name("results", ".img")


class Demo(models.Model):
    """One product's live demo: where its service answers and what it accepts."""

    product = models.OneToOneField(
        Product, on_delete=models.CASCADE, related_name="demo", verbose_name=_("product")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=DemoKind.choices)
    service_url = models.URLField(
        _("service URL"),
        max_length=500,
        help_text=_("The base address of the service, e.g. http://vision.example.com:12120"),
    )
    about = models.TextField(_("about"), blank=True, validators=[MultilineTextValidator()])
    max_bytes = models.PositiveIntegerField(_("largest upload, bytes"))
    max_pixels = models.PositiveIntegerField(_("largest image, pixels"))
    max_video_seconds = models.PositiveIntegerField(_("longest video, seconds"), default=60)
    health_status = models.CharField(
        _("health"), max_length=16, choices=HealthStatus.choices, default=HealthStatus.UNKNOWN
    )
    health_checked_at = models.DateTimeField(_("health checked at"), null=True, blank=True)
    health_reason = models.CharField(_("health reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("demo")
        verbose_name_plural = _("demos")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.product} ({self.get_kind_display()})"

    @property
    def endpoint(self) -> str:
        return ENDPOINTS[DemoKind(self.kind)]

    @property
    def takes_video(self) -> bool:
        return self.kind in VIDEO_KINDS

    @property
    def is_up(self) -> bool:
        return self.health_status == HealthStatus.UP

    @property
    def owner_id(self) -> int:
        return int(self.product.creator.user_id)


class DemoSample(models.Model):
    """A sample input visitors may download and try, with where it comes from."""

    demo = models.ForeignKey(
        Demo, on_delete=models.CASCADE, related_name="samples", verbose_name=_("demo")
    )
    file = models.FileField(_("file"), upload_to="demos/samples/", max_length=300)
    title = models.CharField(_("title"), max_length=120, validators=[HeaderTextValidator()])
    source_note = models.CharField(
        _("source and licence"), max_length=500, validators=[HeaderTextValidator()]
    )

    class Meta:
        verbose_name = _("demo sample")
        verbose_name_plural = _("demo samples")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.title


class DemoRun(WorkItem):
    """One visitor's upload sent to a demo's service; the retry state is the kernel's.

    The visitor is the signed-in user or, for anonymous visitors, the session; the
    share token lets anyone holding the link see the result.
    """

    demo = models.ForeignKey(
        Demo, on_delete=models.CASCADE, related_name="runs", verbose_name=_("demo")
    )
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="demo_runs",
        verbose_name=_("visitor"),
    )
    session_key = models.CharField(_("session"), max_length=64, blank=True, db_index=True)
    upload = models.FileField(_("upload"), upload_to=upload_path, max_length=300)
    upload_name = models.CharField(_("file name"), max_length=200)
    upload_type = models.CharField(_("content type"), max_length=60)
    share_token = models.CharField(
        _("share token"), max_length=64, unique=True, default=new_share_token
    )
    result = models.JSONField(_("result"), null=True, blank=True)
    result_image = models.FileField(
        _("annotated image"), upload_to=result_path, max_length=300, blank=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    max_attempts: ClassVar[int] = 4
    lease_seconds: ClassVar[int] = 180
    retry_base_seconds: ClassVar[int] = 2
    retry_cap_seconds: ClassVar[int] = 60

    class Meta:
        verbose_name = _("demo run")
        verbose_name_plural = _("demo runs")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.demo} #{self.pk}"

    @property
    def work_summary(self) -> str:
        return f"demo {self.demo_id} run {self.pk}"

    @classmethod
    def after_given_up(cls, pks: Sequence[int], *, error: str) -> None:
        """The visitor reads `last_error`: they get what happened, not the operator's
        note (the operator page lists the run as failed all the same)."""
        cls.objects.filter(pk__in=pks).update(
            last_error=str(
                _(
                    "The analysis stopped before it finished, every time it was tried. "
                    "Please try another file."
                )
            )
        )

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        background.start_each("demos.run_demo", [(pk,) for pk in pks])
