"""Reads of the content app, scoped to who is looking: only staff see unpublished pages."""

from __future__ import annotations

from typing import Any

from django.db.models import BigIntegerField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from lavka.content.models import Page


def sees_unpublished(user: Any) -> bool:
    """Only staff see pages that are not published yet."""
    return bool(user is not None and user.is_authenticated and user.is_staff)


def visible_pages(*, user: Any) -> QuerySet[Page]:
    pages = Page.objects.all()
    if not sees_unpublished(user):
        pages = pages.filter(is_published=True)
    return pages


def blog_pages() -> QuerySet[Page]:
    """Published pages, newest first, each with `total_views`: the sum of its blocks'."""
    return (
        Page.objects.filter(is_published=True)
        .select_related("cover")
        .annotate(
            total_views=Coalesce(
                Sum("page_blocks__block__views"), Value(0), output_field=BigIntegerField()
            )
        )
        .order_by("-published_at", "-id")
    )
