"""Reads, already scoped to what the acting user may see.

Owners see only their own objects; moderators (`campaigns.moderate_mailing`) see every
mailing (and its runs) but no one else's recipients, lists or messages. Objects outside
the scope are simply not in the queryset, so a direct URL to them is a 404 that reveals
nothing.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from lavka.accounts.models import User
from lavka.campaigns import stats
from lavka.campaigns.models import (
    ACTIVE_STATUSES,
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingRun,
    Message,
    Recipient,
    RecipientImport,
    RecipientList,
)
from lavka.campaigns.stats import Dashboard


def recipients_of(*, actor: User, search: str = "", state: str = "") -> QuerySet[Recipient]:
    recipients = Recipient.objects.filter(owner=actor).order_by("email")
    if search:
        recipients = recipients.filter(
            Q(email__icontains=search)
            | Q(full_name__icontains=search)
            | Q(comment__icontains=search)
        )
    if state == "active":
        recipients = recipients.reachable()
    elif state == "inactive":
        recipients = recipients.filter(is_active=False)
    elif state == "unsubscribed":
        recipients = recipients.filter(unsubscribed_at__isnull=False)
    elif state == "suppressed":
        recipients = recipients.filter(suppressed_at__isnull=False)
    return recipients


def imports_of(*, actor: User) -> QuerySet[RecipientImport]:
    """An owner's CSV imports, newest first. Imports write recipients, which are their
    owner's alone, so no one else sees them (managers see failed ones, masked, on the
    operator page)."""
    return RecipientImport.objects.filter(owner=actor).order_by("-created_at", "-id")


def lists_of(*, actor: User) -> QuerySet[RecipientList]:
    return (
        RecipientList.objects.filter(owner=actor)
        .annotate(size=Count("recipients"))
        .order_by("name")
    )


def messages_of(*, actor: User) -> QuerySet[Message]:
    return Message.objects.filter(owner=actor).order_by("-created_at")


def can_see_all_mailings(actor: User) -> bool:
    """Moderators see every mailing and its runs (not the audiences behind them)."""
    return bool(actor.has_perm("campaigns.moderate_mailing"))


def mailings_visible_to(*, actor: User) -> QuerySet[Mailing]:
    mailings = Mailing.objects.select_related("message", "owner").order_by("-created_at")
    if can_see_all_mailings(actor):
        return mailings
    return mailings.filter(owner=actor)


def mailings_owned_by(*, actor: User) -> QuerySet[Mailing]:
    return Mailing.objects.filter(owner=actor).select_related("message").order_by("-created_at")


def runs_visible_to(*, actor: User) -> QuerySet[MailingRun]:
    runs = MailingRun.objects.select_related("mailing").order_by("-scheduled_for")
    if can_see_all_mailings(actor):
        return runs
    return runs.filter(mailing__owner=actor)


def deliveries_of(*, run: MailingRun) -> QuerySet[Delivery]:
    """A run's deliveries; the caller found `run` through `runs_visible_to`."""
    return Delivery.objects.filter(run=run).order_by("pk")


def dashboard(*, owner_id: int) -> Dashboard:
    """The owner's numbers, from the cache when nothing changed since (see `stats`)."""
    cached = cache.get(stats.cache_key(owner_id))
    if cached is not None:
        return Dashboard(**cached)
    fresh = compute_dashboard(owner_id=owner_id)
    cache.set(stats.cache_key(owner_id), asdict(fresh), stats.CACHE_SECONDS)
    return fresh


def compute_dashboard(*, owner_id: int) -> Dashboard:
    mailings = Mailing.objects.filter(owner_id=owner_id).aggregate(
        total=Count("pk"),
        active=Count("pk", filter=Q(status__in=ACTIVE_STATUSES)),
    )
    recipients = Recipient.objects.filter(owner_id=owner_id)
    deliveries = Delivery.objects.filter(owner_id=owner_id).aggregate(
        sent=Count("pk", filter=Q(status=DeliveryStatus.SENT)),
        failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
    )
    return Dashboard(
        mailings_total=mailings["total"],
        mailings_active=mailings["active"],
        recipients_distinct=recipients.count(),
        recipients_reachable=recipients.reachable().count(),
        sent_total=deliveries["sent"],
        failed_total=deliveries["failed"],
    )


def recent_runs_of(*, actor: User, limit: int = 10) -> QuerySet[MailingRun]:
    """The actor's own latest runs (the dashboard shows an owner's own work)."""
    return runs_visible_to(actor=actor).filter(mailing__owner=actor)[:limit]


def _run_totals() -> dict[str, Any]:
    """Sent / failed / skipped over all of a mailing's runs, and how many runs."""
    return {
        "stat_runs": Count("runs"),
        "stat_sent": Coalesce(Sum("runs__sent"), 0),
        "stat_failed": Coalesce(Sum("runs__failed"), 0),
        "stat_skipped": Coalesce(Sum("runs__skipped"), 0),
    }


def run_totals_of(*, mailing: Mailing) -> dict[str, int]:
    totals = Mailing.objects.filter(pk=mailing.pk).aggregate(**_run_totals())
    return {name.removeprefix("stat_"): value for name, value in totals.items()}


def with_details(mailings: QuerySet[Mailing]) -> QuerySet[Mailing]:
    """What a mailing's full description shows: its run totals (`stat_*`), its owner and
    the ids of its lists and single recipients."""
    return (
        mailings.select_related("owner")
        .annotate(**_run_totals())
        .prefetch_related(
            Prefetch("lists", queryset=RecipientList.objects.only("pk", "owner")),
            Prefetch("recipients", queryset=Recipient.objects.only("pk", "owner")),
        )
    )
