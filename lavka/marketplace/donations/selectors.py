"""Reads of donations: a donor's own, a creator's received ones, and the staff's list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from lavka.core.converters import parse_id
from lavka.marketplace.models import CreatorProfile, Donation


def _with_parts(donations: QuerySet[Donation]) -> QuerySet[Donation]:
    return donations.select_related("donor", "creator", "product")


def donations_of(donor: Any) -> QuerySet[Donation]:
    return _with_parts(Donation.objects.filter(donor_id=donor.pk))


def own_donation(donor: Any, pk: int) -> Donation | None:
    return donations_of(donor).filter(pk=pk).first()


def creator_of(user: Any) -> CreatorProfile | None:
    return CreatorProfile.objects.filter(user_id=user.pk).first()


def donations_received(creator: CreatorProfile) -> QuerySet[Donation]:
    """What the creator was given: paid donations only (an unpaid one is a promise),
    archived ones included (archiving tidies the staff's list, the money stays)."""
    return _with_parts(Donation.objects.filter(creator=creator, paid_at__isnull=False))


@dataclass(frozen=True)
class StaffFilter:
    status: str = ""
    creator: str = ""
    query: str = ""


def staff_donations(wanted: StaffFilter) -> QuerySet[Donation]:
    donations = _with_parts(Donation.objects.all())
    if wanted.status:
        donations = donations.filter(status=wanted.status)
    else:
        donations = donations.exclude(status=Donation.Status.ARCHIVED)
    if wanted.creator:
        donations = donations.filter(creator__slug=wanted.creator)
    query = wanted.query.strip()
    if query:
        match = Q(donor__email__icontains=query) | Q(creator__display_name__icontains=query)
        number = parse_id(query.upper().removeprefix("D-").lstrip("0"))
        if number is not None:
            match |= Q(pk=number)
        donations = donations.filter(match)
    return donations


def staff_donation(pk: int) -> Donation | None:
    return _with_parts(Donation.objects.filter(pk=pk)).first()
