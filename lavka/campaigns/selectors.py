"""Reads, already scoped to what the acting user may see.

Owners see only their own objects; managers see every mailing (and its runs) but
no one else's recipients, lists or messages. Objects outside the scope are simply not
in the queryset, so a direct URL to them is a 404 that reveals nothing.
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Sum

from lavka.accounts.models import User
from lavka.campaigns.models import (
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingRun,
    MailingStatus,
    Message,
    Recipient,
    RecipientList,
)
from lavka.campaigns.stats import Dashboard
from lavka.core.roles import Role, has_role


def recipients_of(*, actor: User, search: str = "", state: str = "") -> QuerySet[Recipient]:
    recipients = Recipient.objects.filter(owner=actor).order_by("email")
    if search:
        recipients = recipients.filter(
            Q(email__icontains=search)
            | Q(full_name__icontains=search)
            | Q(comment__icontains=search)
        )
    if state == "active":
        recipients = recipients.filter(
            is_active=True, unsubscribed_at__isnull=True, suppressed_at__isnull=True
        )
    elif state == "inactive":
        recipients = recipients.filter(is_active=False)
    elif state == "unsubscribed":
        recipients = recipients.filter(unsubscribed_at__isnull=False)
    elif state == "suppressed":
        recipients = recipients.filter(suppressed_at__isnull=False)
    return recipients


def lists_of(*, actor: User) -> QuerySet[RecipientList]:
    return (
        RecipientList.objects.filter(owner=actor)
        .annotate(size=Count("recipients"))
        .order_by("name")
    )


def messages_of(*, actor: User) -> QuerySet[Message]:
    return Message.objects.filter(owner=actor).order_by("-created_at")


def can_see_all_mailings(actor: User) -> bool:
    return has_role(actor, Role.MANAGER)


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


def deliveries_visible_to(*, actor: User, run: MailingRun) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(run=run).order_by("pk")
        if runs_visible_to(actor=actor).filter(pk=run.pk).exists()
        else Delivery.objects.none()
    )


def compute_dashboard(*, owner_id: int) -> Dashboard:
    mailings = Mailing.objects.filter(owner_id=owner_id).aggregate(
        total=Count("pk"),
        active=Count("pk", filter=Q(status__in=[MailingStatus.SCHEDULED, MailingStatus.RUNNING])),
    )
    recipients = Recipient.objects.filter(owner_id=owner_id).aggregate(
        distinct=Count("pk"),
        reachable=Count(
            "pk",
            filter=Q(is_active=True, unsubscribed_at__isnull=True, suppressed_at__isnull=True),
        ),
    )
    deliveries = Delivery.objects.filter(owner_id=owner_id).aggregate(
        sent=Count("pk", filter=Q(status=DeliveryStatus.SENT)),
        failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
    )
    return Dashboard(
        mailings_total=mailings["total"],
        mailings_active=mailings["active"],
        recipients_distinct=recipients["distinct"],
        recipients_reachable=recipients["reachable"],
        sent_total=deliveries["sent"],
        failed_total=deliveries["failed"],
    )


def recent_runs_of(*, actor: User, limit: int = 10) -> QuerySet[MailingRun]:
    """The actor's own latest runs (the dashboard shows an owner's own work)."""
    return runs_visible_to(actor=actor).filter(mailing__owner=actor)[:limit]


def run_totals_of(*, mailing: Mailing) -> dict[str, int]:
    """Sent / failed / skipped over all of a mailing's runs, and how many runs."""
    totals = mailing.runs.aggregate(
        runs=Count("pk"), sent=Sum("sent"), failed=Sum("failed"), skipped=Sum("skipped")
    )
    return {name: value or 0 for name, value in totals.items()}
