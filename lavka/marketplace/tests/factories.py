"""factory_boy factories and small file makers for the marketplace's tests."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from lavka.accounts.tests.factories import CreatorFactory
from lavka.marketplace.models import Category, Coupon, CreatorProfile, Product, ProductImage


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, format=fmt)
    return buffer.getvalue()


def image_upload(name: str = "photo.png", fmt: str = "PNG", **kwargs: Any) -> SimpleUploadedFile:
    content_type = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}.get(
        fmt, "application/octet-stream"
    )
    return SimpleUploadedFile(name, image_bytes(fmt, **kwargs), content_type=content_type)


class CreatorProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreatorProfile

    user = factory.SubFactory(CreatorFactory)
    display_name = factory.Sequence(lambda n: f"Studio {n}")
    slug = factory.Sequence(lambda n: f"studio-{n}")
    bio = "Handmade things."
    status = CreatorProfile.Status.APPROVED


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name_en = factory.Sequence(lambda n: f"Category {n}")
    name_ru = factory.Sequence(lambda n: f"Категория {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    creator = factory.SubFactory(CreatorProfileFactory)
    title_en = factory.Sequence(lambda n: f"Product {n}")
    title_ru = factory.Sequence(lambda n: f"Товар {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description_en = "A *fine* thing."
    description_ru = "Хорошая *вещь*."
    category = factory.SubFactory(CategoryFactory)
    price = Decimal("12.50")
    kind = Product.Kind.PHYSICAL
    stock = 10


class ProductImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    image = factory.LazyFunction(image_upload)
    alt_text = "A photo"


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    code = factory.Sequence(lambda n: f"SAVE{n}")
    kind = Coupon.Kind.PERCENT
    value = Decimal("10")
