"""People who use Lavka (customers, creators, managers), their API tokens and their
welcome emails."""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lavka.core import background
from lavka.core.validators import validate_header_text
from lavka.core.work import WorkItem


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def validate_time_zone(value: str) -> None:
    if value not in time_zone_names():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields: Any) -> User:
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        """A superuser made on the server (`createsuperuser`) has its address verified:
        the admin's login is the site's, which asks for a verified address, and on the
        embedded default the verification email would wait in an outbox that only a
        superuser may read."""
        from allauth.account.models import EmailAddress

        fields.update(is_staff=True, is_superuser=True)
        user = self._create(email, password, **fields)
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


def normalize_email(email: str) -> str:
    """Emails are compared and stored lower-cased, so one person has one account."""
    return email.strip().lower()


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(
        _("full name"), max_length=150, blank=True, validators=[validate_header_text]
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    is_staff = models.BooleanField(
        _("staff status"), default=False, help_text=_("Can log into the admin site.")
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Blocked users are not active.")
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    blocked_at = models.DateTimeField(_("blocked at"), null=True, blank=True)
    blocked_reason = models.CharField(_("reason for blocking"), max_length=500, blank=True)
    blocked_by = models.ForeignKey(
        "self",
        verbose_name=_("blocked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    welcome_email_sent_at = models.DateTimeField(_("welcome email sent at"), null=True, blank=True)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]
        permissions = [
            ("block_user", _("Can block and unblock users")),
            ("grant_creator_role", _("Can grant the creator role")),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def is_blocked(self) -> bool:
        return self.blocked_at is not None


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the user sees it once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WelcomeEmail(WorkItem):
    """The one welcome email of a user, as a durable work row.

    Created in the transaction that verifies the address, so a lost task message or a
    killed worker delays the greeting (the kernel's sweeper queues it again) but never
    loses it, and a failure shows on the operator's page instead of in a worker log.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="welcome_email",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    max_attempts = 8
    lease_seconds = 120
    requeue_after_seconds = 600
    retry_base_seconds = 30
    retry_cap_seconds = 3600

    class Meta:
        verbose_name = _("welcome email")
        verbose_name_plural = _("welcome emails")

    def __str__(self) -> str:
        return f"{self.user_id} ({self.state})"

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        background.start_each("accounts.send_welcome_email", [(pk,) for pk in pks])
