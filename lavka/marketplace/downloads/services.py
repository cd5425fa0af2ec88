"""Download links of digital items: a TimestampSigner token naming an order and one of
its lines, valid LAVKA_DOWNLOAD_LINK_DAYS after it was made. A link is made whenever the
paid order's page or email shows it; it is a bearer link (it works without signing in,
like any emailed link), so it says nothing but the two ids and is refused once the order
is no longer paid (refunded) or the line is not the order's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from lavka.core.converters import parse_id
from lavka.marketplace.models import Order, OrderLine, Product

SALT = "lavka.marketplace.download"


class LinkInvalid(Exception):
    """Tampered, unknown, or naming a line that is not delivered: a 404."""


class LinkExpired(Exception):
    """A genuine link whose time ran out: a 410 saying to take a fresh one."""


@dataclass(frozen=True)
class DownloadLink:
    line: OrderLine
    path: str
    expires_at: datetime

    @property
    def url(self) -> str:
        return f"{settings.SITE_URL}{self.path}"


def _max_age() -> timedelta:
    return timedelta(days=int(settings.LAVKA_DOWNLOAD_LINK_DAYS))


def is_delivered(order: Order) -> bool:
    """Paid (archiving a paid order keeps it delivered; a refund takes it back)."""
    return order.paid_at is not None and order.status in (
        Order.Status.PAID,
        Order.Status.ARCHIVED,
    )


def _has_file(line: OrderLine) -> bool:
    product = line.product
    return (
        product is not None and product.kind == Product.Kind.DIGITAL and bool(product.digital_file)
    )


def links_for(order: Order) -> list[DownloadLink]:
    """A fresh link per digital line of a delivered order (none for an unpaid one)."""
    if not is_delivered(order):
        return []
    signer = signing.TimestampSigner(salt=SALT)
    expires_at = timezone.now() + _max_age()
    lines = order.lines.select_related("product").order_by("id")
    return [
        DownloadLink(
            line=line,
            path=reverse("marketplace:download", args=[signer.sign(f"{order.pk}.{line.pk}")]),
            expires_at=expires_at,
        )
        for line in lines
        if _has_file(line)
    ]


def line_of(token: str) -> OrderLine:
    """The delivered digital line a token names; LinkInvalid or LinkExpired otherwise."""
    signer = signing.TimestampSigner(salt=SALT)
    try:
        value = signer.unsign(token[:300], max_age=_max_age())
    except signing.SignatureExpired:
        raise LinkExpired from None
    except signing.BadSignature:
        raise LinkInvalid from None
    order_pk, _dot, line_pk = value.partition(".")
    order_id, line_id = parse_id(order_pk), parse_id(line_pk)
    if order_id is None or line_id is None:
        raise LinkInvalid
    line = (
        OrderLine.objects.select_related("order", "product")
        .filter(pk=line_id, order_id=order_id)
        .first()
    )
    if line is None or not is_delivered(line.order) or not _has_file(line):
        raise LinkInvalid
    return line
