"""Goods from accounting → products on the registers: which to send, which to archive.

A good is sent to a trade point when it was never sent there, or when what the register
shows of it (name, price, unit, VAT, barcode) changed since: a content hash of that
product, kept per (mapping, good) in `GoodLink`, tells. A good accounting archived or no
longer lists is archived on the register once. Nothing else is sent: a catalogue of
10,000 goods that did not change costs a listing and no register call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from lavka.integrations.adapters.base import Good, RegisterProduct

T = TypeVar("T")


def register_product(good: Good) -> RegisterProduct:
    return RegisterProduct(
        external_id=good.external_id,
        name=good.name,
        price=good.price,
        unit=good.unit,
        vat_rate=good.vat_rate,
        barcode=good.barcode,
    )


def _amount(value: Decimal) -> str:
    """100, 100.0 and 100.00 are one price (the register keeps kopecks)."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def content_hash(product: RegisterProduct) -> str:
    """What the register shows of a product, hashed: stable across runs and processes,
    different when the name, price, unit, VAT rate or barcode changes."""
    shown = [
        product.external_id,
        product.name,
        _amount(product.price),
        product.unit,
        product.vat_rate,
        product.barcode,
    ]
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode()).hexdigest()[:40]


@dataclass(frozen=True)
class LinkState:
    """What Lavka last sent of a good to a trade point (a `GoodLink` row)."""

    good_external_id: str
    content_hash: str
    archived: bool = False


@dataclass(frozen=True)
class ProductToSend:
    product: RegisterProduct
    content_hash: str


@dataclass
class GoodsPlan:
    to_send: list[ProductToSend] = field(default_factory=list)
    to_archive: list[str] = field(default_factory=list)  # good external ids
    unchanged: int = 0


def plan_goods(goods: Iterable[Good], links: Iterable[LinkState]) -> GoodsPlan:
    """Compare accounting's whole listing with what was sent.

    `goods` must be the complete listing (the adapters raise rather than yield a partial
    one), since a good missing from it is archived on the register. A good listed twice
    counts once. An archived product that comes back on sale is sent again (the
    register's upsert puts it back on sale).
    """
    sent = {link.good_external_id: link for link in links}
    plan = GoodsPlan()
    listed: set[str] = set()
    for good in goods:
        if good.external_id in listed:
            continue
        listed.add(good.external_id)
        link = sent.get(good.external_id)
        if good.archived:
            if link is not None and not link.archived:
                plan.to_archive.append(good.external_id)
            continue
        product = register_product(good)
        digest = content_hash(product)
        if link is not None and not link.archived and link.content_hash == digest:
            plan.unchanged += 1
        else:
            plan.to_send.append(ProductToSend(product, digest))
    plan.to_archive.extend(
        external_id
        for external_id, link in sent.items()
        if external_id not in listed and not link.archived
    )
    return plan


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size` (the register's bulk limit)."""
    if size < 1:
        raise ValueError("a batch holds at least one item")
    for start in range(0, len(items), size):
        yield items[start : start + size]
