"""Demo data of the shop for `make run`: categories and the demo creator's products."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from lavka.marketplace import services as marketplace
from lavka.marketplace.models import Category, CreatorProfile, Product

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
        12,
        (40, 90, 170),
    ),
    (
        "linen-towel",
        "Linen tea towel",
        "Льняное полотенце",
        "textiles",
        "9.50",
        Product.Kind.PHYSICAL,
        3,
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
    return []  # nothing to print: the logins are the last lines `make run` shows
