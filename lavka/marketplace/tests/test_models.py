"""The catalogue's tables refuse what no code path may write (database constraints), and
uploads are checked before they are stored."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import translation

from lavka.marketplace.models import Category, Product, ProductImage, in_language
from lavka.marketplace.tests.factories import (
    CategoryFactory,
    CreatorProfileFactory,
    ProductFactory,
    image_bytes,
    image_upload,
)

pytestmark = pytest.mark.django_db


def _refused_by_database(**changes: object) -> None:
    product = ProductFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(**changes)


def test_database_refuses_a_negative_price() -> None:
    _refused_by_database(price=Decimal("-0.01"))


def test_database_refuses_negative_stock() -> None:
    _refused_by_database(stock=-1)


def test_database_refuses_a_physical_product_without_stock() -> None:
    _refused_by_database(stock=None)


def test_database_refuses_a_product_without_any_title() -> None:
    _refused_by_database(title_en="", title_ru="")


def test_digital_product_may_have_unlimited_stock() -> None:
    product = ProductFactory(kind=Product.Kind.DIGITAL, stock=None)
    assert product.is_unlimited and not product.is_sold_out


def test_slug_is_unique_per_creator_not_globally() -> None:
    first = ProductFactory(slug="mug")
    ProductFactory(slug="mug")  # another creator's mug
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(slug="mug", creator=first.creator)


def test_price_keeps_two_decimal_places_exactly() -> None:
    product = ProductFactory(price=Decimal("0.10"))
    product.refresh_from_db()
    assert product.price == Decimal("0.10") and isinstance(product.price, Decimal)


def test_title_in_the_visitors_language_falls_back_to_the_other() -> None:
    product = ProductFactory(title_en="Mug", title_ru="")
    with translation.override("ru"):
        assert product.title == "Mug"
    product.title_ru = "Кружка"
    with translation.override("ru"):
        assert product.title == "Кружка"
    with translation.override("en"):
        assert product.title == "Mug"
    assert in_language("", "Только по-русски", "en") == "Только по-русски"


def test_categories_nest_one_level_only() -> None:
    top = CategoryFactory()
    child = CategoryFactory(parent=top)
    grandchild = Category(name_en="Too deep", slug="too-deep", parent=child)
    with pytest.raises(ValidationError) as refused:
        grandchild.full_clean()
    assert "parent" in refused.value.message_dict
    top.parent = CategoryFactory()
    with pytest.raises(ValidationError) as has_children:
        top.full_clean()
    assert "subcategories" in str(has_children.value)


def test_category_needs_a_name_in_some_language() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.create(name_en="", name_ru="", slug="nameless")


def test_control_characters_in_a_title_are_refused() -> None:
    product = ProductFactory.build(
        creator=CreatorProfileFactory(), category=None, title_en="Mug\r\nBcc: x@example.com"
    )
    with pytest.raises(ValidationError) as refused:
        product.full_clean()
    assert "title_en" in refused.value.message_dict


def test_image_is_stored_under_a_random_name_with_the_detected_extension(
    marketplace_files: dict[str, Path],
) -> None:
    # a real GIF named like a web page: kept as .gif, never as .html
    upload = SimpleUploadedFile("page.html", image_bytes("GIF"), content_type="text/html")
    image = ProductImage(product=ProductFactory(), image=upload)
    image.full_clean()
    image.save()
    assert image.image.name.startswith("marketplace/products/")
    assert image.image.name.endswith(".gif")
    assert "page" not in image.image.name
    assert (marketplace_files["media"] / image.image.name).exists()


def test_a_file_that_is_not_an_image_is_refused() -> None:
    upload = SimpleUploadedFile("photo.png", b"<script>alert(1)</script>", content_type="image/png")
    image = ProductImage(product=ProductFactory(), image=upload)
    with pytest.raises(ValidationError) as refused:
        image.full_clean()
    assert "image" in refused.value.message_dict


def test_an_image_above_the_size_limit_is_refused(settings: object) -> None:
    settings.MARKETPLACE_MAX_IMAGE_BYTES = 100  # type: ignore[attr-defined]
    image = ProductImage(product=ProductFactory(), image=image_upload(size=(64, 64)))
    with pytest.raises(ValidationError) as refused:
        image.full_clean()
    assert "larger than" in str(refused.value)


def test_digital_file_is_kept_outside_media(marketplace_files: dict[str, Path]) -> None:
    product = ProductFactory(kind=Product.Kind.DIGITAL, stock=None)
    product.digital_file.save("../../etc/passwd.pdf", ContentFile(b"%PDF-1.4 book"))
    on_disk = Path(product.digital_file.path)
    assert on_disk.is_relative_to(marketplace_files["private"])
    assert not any(marketplace_files["media"].rglob("*.pdf"))
    assert "passwd" not in product.digital_file.name
    with pytest.raises(ValueError):
        _ = product.digital_file.url


def test_a_physical_product_with_a_file_is_refused() -> None:
    product = ProductFactory.build(
        creator=CreatorProfileFactory(),
        category=None,
        digital_file=SimpleUploadedFile("book.pdf", b"%PDF"),
    )
    with pytest.raises(ValidationError) as refused:
        product.full_clean()
    assert "digital_file" in refused.value.message_dict
