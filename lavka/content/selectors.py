"""Reads of the content app, scoped to who is looking: only staff see unpublished pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import BigIntegerField, F, OrderBy, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from lavka.content.models import Page

NEWEST_FIRST = ("-published_at", "-id")


def sees_unpublished(user: Any) -> bool:
    """Only staff see pages that are not published yet."""
    return bool(user is not None and user.is_authenticated and user.is_staff)


def visible_pages(*, user: Any) -> QuerySet[Page]:
    pages = Page.objects.all()
    if not sees_unpublished(user):
        pages = pages.filter(is_published=True)
    return pages


def published_pages(*, search: str = "", ordering: Sequence[str] = NEWEST_FIRST) -> QuerySet[Page]:
    """Published pages (the blog, the API's list), each with `total_views`: the sum of
    its blocks' views. `search` matches the start of titles; `ordering` names fields (or
    `total_views`), a leading "-" reversing; empty values sort last either way."""
    pages = (
        Page.objects.filter(is_published=True)
        .select_related("cover")
        .annotate(
            total_views=Coalesce(
                Sum("page_blocks__block__views"), Value(0), output_field=BigIntegerField()
            )
        )
    )
    if search:
        pages = pages.filter(title__istartswith=search)
    return pages.order_by(*(_nulls_last(name) for name in ordering))


def _nulls_last(name: str) -> OrderBy:
    if name.startswith("-"):
        return F(name[1:]).desc(nulls_last=True)
    return F(name).asc(nulls_last=True)
