"""Demo data of the shop for `make run`: categories, the demo creator's products, and the
demo customer's orders of them over the last two months (paid ones with invoices, one
unpaid, one refunded) and a paid donation, so the back office has something to show:
"Bought together" on product pages, bars in the sales reports, rows in the exports."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import QuerySet
from django.utils import timezone
from PIL import Image

from lavka.marketplace import services as marketplace
from lavka.marketplace.donations import services as donations
from lavka.marketplace.models import (
    Category,
    CreatorProfile,
    Donation,
    Order,
    OrderPaymentDetails,
    OrderRefund,
    Product,
    StockReservation,
)
from lavka.marketplace.orders import services as orders
from lavka.marketplace.recommendations import services as recommendations

DEMO_CATEGORIES = (
    # slug, English, Russian, parent slug
    ("home", "Home", "Дом", None),
    ("ceramics", "Ceramics", "Керамика", "home"),
    ("textiles", "Textiles", "Текстиль", "home"),
    ("books", "Books and guides", "Книги и руководства", None),
)

DEMO_PRODUCTS = (
    # slug, English title, Russian title, category, price, kind, stock, colour
    (
        "blue-mug",
        "Blue glazed mug",
        "Синяя глазурованная кружка",
        "ceramics",
        "18.00",
        Product.Kind.PHYSICAL,
        30,  # the demo orders take about 12, the bookkeeping demo's up to 6
        (40, 90, 170),
    ),
    (
        "linen-towel",
        "Linen tea towel",
        "Льняное полотенце",
        "textiles",
        "9.50",
        Product.Kind.PHYSICAL,
        9,  # the demo orders take 6: "only 3 left" on the shop
        (200, 190, 160),
    ),
    (
        "clay-bowl",
        "Clay bowl",
        "Глиняная миска",
        "ceramics",
        "24.00",
        Product.Kind.PHYSICAL,
        0,
        (170, 100, 60),
    ),
    (
        "glazing-guide",
        "Glazing at home (PDF guide)",
        "Глазурь дома (руководство PDF)",
        "books",
        "7.00",
        Product.Kind.DIGITAL,
        None,
        (90, 140, 90),
    ),
)


def _picture(colour: tuple[int, int, int], name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (480, 360), colour).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def load_demo_marketplace(context: dict[str, Any]) -> list[str]:
    """Idempotent: categories by slug, the creator's profile once, products by slug."""
    owner = context["users"]["creator@lavka.localhost"]
    by_slug: dict[str, Category] = {}
    for slug, english, russian, parent in DEMO_CATEGORIES:
        category = Category.objects.filter(slug=slug).first()
        if category is None:
            category = marketplace.save_category(
                category=Category(
                    slug=slug, name_en=english, name_ru=russian, parent=by_slug.get(parent or "")
                )
            )
        by_slug[slug] = category
    profile = CreatorProfile.objects.filter(user=owner).first()
    if profile is None:
        profile = marketplace.become_creator(
            user=owner,
            display_name="Cleo's Workshop",
            slug="cleo",
            bio="Ceramics and textiles, made by hand in small batches.",
            approval_required=False,
        )
    for slug, english, russian, category_slug, price, kind, stock, colour in DEMO_PRODUCTS:
        if Product.objects.filter(creator=profile, slug=slug).exists():
            continue
        product = Product(
            creator=profile,
            slug=slug,
            title_en=english,
            title_ru=russian,
            description_en=f"**{english}**, made in Cleo's workshop.\n\n- handmade\n- one of a kind",
            description_ru=f"**{russian}** из мастерской Клео.\n\n- ручная работа\n- в единственном экземпляре",
            category=by_slug[category_slug],
            price=Decimal(price),
            kind=kind,
            stock=stock,
        )
        digital = None
        if kind == Product.Kind.DIGITAL:
            digital = SimpleUploadedFile(
                "glazing-guide.pdf", b"%PDF-1.4\n% a demo file\n", content_type="application/pdf"
            )
        marketplace.save_product(
            product=product,
            new_images=[_picture(colour, f"{slug}.png")],
            alt_text=english,
            digital_file=digital,
        )
    _demo_orders(context, profile)
    return []  # nothing to print: the logins are the last lines `make run` shows


# The demo customer's orders: (days ago, hour, product slugs, what became of it). Pairs
# and triples of the same few products, so "Bought together" has counts to rank. None is
# paid in the last two days: those are the bookkeeping demo's (lavka/integrations/demo.py),
# whose first sales run books exactly its own orders.
DEMO_ORDERS = (
    (58, 10, ("blue-mug", "glazing-guide"), "paid"),
    (52, 15, ("blue-mug", "linen-towel"), "paid"),
    (47, 11, ("blue-mug", "glazing-guide"), "paid"),
    (41, 18, ("blue-mug", "linen-towel", "glazing-guide"), "paid"),
    (35, 9, ("glazing-guide", "linen-towel"), "paid"),
    (29, 14, ("blue-mug", "glazing-guide"), "paid"),
    (24, 16, ("blue-mug", "glazing-guide"), "paid"),
    (19, 12, ("blue-mug", "linen-towel"), "paid"),
    (14, 15, ("blue-mug", "glazing-guide"), "refunded"),
    (13, 10, ("blue-mug", "glazing-guide", "linen-towel"), "paid"),
    (8, 17, ("blue-mug", "glazing-guide"), "paid"),
    (4, 13, ("blue-mug", "glazing-guide"), "paid"),
    (3, 11, ("blue-mug", "linen-towel", "glazing-guide"), "paid"),
    # Placed at load time: its stock hold runs out a day later, as any unpaid order's.
    (0, -1, ("blue-mug", "glazing-guide"), "unpaid"),
)
DEMO_DONATION = (20, 12, "15.00", "Thank you for the glazing guide!")
# Fixed checkout tokens make a second load find what the first one made.
DEMO_NAMESPACE = uuid.UUID("0b7f3a52-6d1e-4c8a-9a55-1f4e2d6c9b30")


@dataclass(frozen=True)
class _DemoLine:
    """A cart line as the checkout takes it."""

    product_id: int
    quantity: int
    unit_price: Decimal


def _moment(days_ago: int, hour: int) -> datetime:
    zone = timezone.get_default_timezone()
    day = timezone.localdate(timezone=zone) - timedelta(days=days_ago)
    return datetime.combine(day, time(hour), tzinfo=zone)


def _demo_orders(context: dict[str, Any], creator: CreatorProfile) -> None:
    """Placed, paid and refunded through the shop's services, once each (fixed tokens).

    The services are given the past moment where they take one (`now`), so the
    invoices carry the day of payment; what they stamp with the clock (created_at,
    the payment's and refund's times) is then moved back by hand. That rewriting of
    history is for demo data only. "Bought together" is rebuilt from the paid orders
    at the end, so the pages show it at once; the tasks queued after each commit find
    the orders paid too long ago and count nothing."""
    buyer = context["users"].get("customer@lavka.localhost")
    if buyer is None:
        return
    products = {p.slug: p for p in Product.objects.filter(creator=creator)}
    paid_now = False
    for index, (days_ago, hour, slugs, outcome) in enumerate(DEMO_ORDERS):
        token = uuid.uuid5(DEMO_NAMESPACE, f"order-{index}")
        if Order.objects.filter(checkout_token=token).exists():
            continue
        if any(slug not in products for slug in slugs):
            continue
        at = timezone.now() if hour < 0 else _moment(days_ago, hour)
        placed_at = at - timedelta(minutes=25)
        try:
            order = orders.place_order(
                customer=buyer,
                lines=[_DemoLine(products[slug].pk, 1, products[slug].price) for slug in slugs],
                details=orders.CustomerDetails(
                    email=buyer.email, full_name=buyer.full_name, address="1 Demo Street, Demoville"
                ),
                provider_code="bank_transfer",
                checkout_token=token,
                now=placed_at,
            ).order
        except orders.CheckoutRefused:
            continue  # an older demo database with less stock: leave this one out
        _backdate(Order.objects.filter(pk=order.pk), created_at=placed_at)
        _backdate(StockReservation.objects.filter(order=order), created_at=placed_at)
        if outcome == "unpaid":
            continue
        orders.mark_paid(order=order, now=at)
        _backdate(OrderPaymentDetails.objects.filter(order=order), paid_at=at)
        paid_now = True
        if outcome == "refunded":
            orders.request_refund(
                order=order, requested_by=None, reason="Demo: arrived broken", reference="DEMO-RF-1"
            )
            refunded_at = at + timedelta(days=1)
            _backdate(
                OrderRefund.objects.filter(order=order),
                requested_at=refunded_at,
                refunded_at=refunded_at,
            )
    if paid_now:
        # dated weeks back, older than what the recording task accepts: counted by a
        # rebuild, and only when this load paid some (a big shop's `make run` rebuilds
        # nothing)
        recommendations.rebuild()
    _demo_donation(buyer, creator)


def _demo_donation(donor: Any, creator: CreatorProfile) -> None:
    token = uuid.uuid5(DEMO_NAMESPACE, "donation-0")
    if Donation.objects.filter(checkout_token=token).exists():
        return
    days_ago, hour, amount, message = DEMO_DONATION
    try:
        given = donations.donate(
            donor=donor,
            creator=creator,
            product=None,
            amount=amount,
            message=message,
            provider_code="bank_transfer",
            checkout_token=token,
        )
        donations.mark_paid(donation=given.donation)
    except donations.DonationRefused:
        return  # bank transfer is not among LAVKA_DONATION_PROVIDERS
    at = _moment(days_ago, hour)
    _backdate(
        Donation.objects.filter(pk=given.donation.pk),
        created_at=at - timedelta(minutes=5),
        paid_at=at,
    )


def _backdate(rows: QuerySet[Any], **moments: datetime) -> None:
    """Demo data only: move the clock's stamps back to when the demo says it happened."""
    rows.update(**moments)
