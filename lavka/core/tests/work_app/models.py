from __future__ import annotations

from collections.abc import Sequence

from django.db import models
from django.db.models import QuerySet

from lavka.core import background
from lavka.core.secrets import EncryptedTextField
from lavka.core.work import WorkItem


class Chore(WorkItem):
    """A piece of work with a title; no migrations: the test runner creates its table."""

    title = models.CharField(max_length=100)

    max_attempts = 3
    lease_seconds = 60
    requeue_after_seconds = 120
    retry_base_seconds = 10
    retry_cap_seconds = 600

    class Meta:
        verbose_name = "chore"
        verbose_name_plural = "chores"

    def __str__(self) -> str:
        return self.title

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        background.start_each("core_tests.do_chore", [(pk,) for pk in pks])

    @classmethod
    def in_motion(cls, queryset: QuerySet[Chore]) -> QuerySet[Chore]:
        return queryset.exclude(title__startswith="on hold")

    @classmethod
    def after_given_up(cls, pks: Sequence[int], *, error: str) -> None:
        cls.objects.filter(pk__in=pks).update(title="given up")


class Errand(WorkItem):
    """Work driven by a parent row: no task of its own, so the sweeper leaves it alone."""

    title = models.CharField(max_length=100)

    class Meta:
        verbose_name = "errand"
        verbose_name_plural = "errands"

    def __str__(self) -> str:
        return self.title


class Credential(models.Model):
    """An owner's API token kept encrypted, unique across owners through its digest."""

    owner = models.CharField(max_length=100)
    token = EncryptedTextField(digest_field="token_digest")
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    note = EncryptedTextField(blank=True, null=True)

    class Meta:
        verbose_name = "credential"
        verbose_name_plural = "credentials"

    def __str__(self) -> str:
        return self.owner
