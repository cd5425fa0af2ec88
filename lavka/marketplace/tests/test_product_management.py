"""A creator's own products: create, edit with images, archive; seed 003's rules (only
their own; only superusers delete); bad input refused with nothing half-written."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from lavka.marketplace import actions
from lavka.marketplace.models import Product, ProductImage
from lavka.marketplace.tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    image_upload,
)
from lavka.marketplace.tests.helpers import approved_creator, user_of_role

pytestmark = pytest.mark.django_db

CREATE = reverse("marketplace:product_create")


def _form(**changes: Any) -> dict[str, Any]:
    return {
        "title_en": "Blue mug",
        "title_ru": "Синяя кружка",
        "slug": "blue-mug",
        "description_en": "A mug.",
        "description_ru": "",
        "category": "",
        "price": "18.00",
        "kind": "physical",
        "stock": "4",
        "is_active": "on",
        "alt_text": "",
        **changes,
    }


def _files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


@pytest.fixture
def seller(client: Client) -> Any:
    profile = approved_creator(slug="seller")
    client.force_login(profile.user)
    return profile


def test_a_creator_adds_a_product_with_images(client: Client, seller: Any) -> None:
    category = CategoryFactory()

    response = client.post(
        CREATE,
        _form(
            category=str(category.pk),
            alt_text="A mug",
            new_images=[image_upload("a.png"), image_upload("b.jpg", "JPEG")],
        ),
    )

    assert response.status_code == 302
    product = Product.objects.get()
    assert product.creator == seller
    assert product.price == Decimal("18.00")
    assert product.category == category
    images = list(product.images.order_by("position"))
    assert [image.position for image in images] == [0, 1]
    assert images[1].image.name.endswith(".jpg")
    assert all(image.alt_text == "A mug" for image in images)
    public = reverse("marketplace:product", args=["seller", "blue-mug"])
    assert client.get(public).status_code == 200


def test_a_digital_product_keeps_its_file_private(
    client: Client, seller: Any, marketplace_files: dict[str, Path]
) -> None:
    book = SimpleUploadedFile("guide.pdf", b"%PDF-1.4 the guide", content_type="application/pdf")

    response = client.post(CREATE, _form(kind="digital", stock="", digital_file=book))

    assert response.status_code == 302
    product = Product.objects.get()
    assert product.stock is None and product.digital_file_name == "guide.pdf"
    assert [p.read_bytes() for p in _files(marketplace_files["private"])] == [b"%PDF-1.4 the guide"]
    assert not _files(marketplace_files["media"])
    page = client.get(reverse("marketplace:product", args=["seller", "blue-mug"]))
    assert "Unlimited" in page.content.decode()
    assert "guide" not in page.content.decode().split("<main", 1)[1].split("Digital", 1)[0]


def test_a_digital_product_on_sale_needs_its_file(client: Client, seller: Any) -> None:
    response = client.post(CREATE, _form(kind="digital", stock=""))

    assert response.status_code == 400
    assert "needs its file" in " ".join(response.context["form"].errors["digital_file"])
    assert not Product.objects.exists()


def test_a_creator_edits_their_product_and_removes_an_image(client: Client, seller: Any) -> None:
    product = ProductFactory(creator=seller, slug="mug", price=Decimal("5.00"))
    image = ProductImageFactory(product=product)

    edited = client.post(
        reverse("marketplace:product_edit", args=[product.pk]),
        _form(slug="mug", price="7.25", title_en="Renamed"),
    )
    removed = client.post(reverse("marketplace:product_image_remove", args=[image.pk]))

    assert edited.status_code == 302 and removed.status_code == 302
    product.refresh_from_db()
    assert (product.title_en, product.price) == ("Renamed", Decimal("7.25"))
    assert not ProductImage.objects.filter(pk=image.pk).exists()


def test_archive_takes_a_product_out_of_the_shop_and_unarchive_brings_it_back(
    client: Client, seller: Any
) -> None:
    product = ProductFactory(creator=seller, slug="mug")
    public = reverse("marketplace:product", args=["seller", "mug"])

    client.post(reverse("marketplace:product_archive", args=[product.pk]))
    archived = client.get(public).status_code
    listed = client.get(reverse("marketplace:my_products")).content.decode()
    client.post(reverse("marketplace:product_unarchive", args=[product.pk]))

    assert archived == 404
    assert "archived" in listed
    assert client.get(public).status_code == 200


def test_another_creators_product_is_not_found_on_every_page(client: Client, seller: Any) -> None:
    theirs = ProductFactory(title_en="Theirs", price=Decimal("9.00"))
    image = ProductImageFactory(product=theirs)

    responses = [
        client.get(reverse("marketplace:product_edit", args=[theirs.pk])),
        client.post(reverse("marketplace:product_edit", args=[theirs.pk]), _form(price="0.01")),
        client.post(reverse("marketplace:product_archive", args=[theirs.pk])),
        client.post(reverse("marketplace:product_image_remove", args=[image.pk])),
    ]

    assert [response.status_code for response in responses] == [404] * 4
    theirs.refresh_from_db()
    assert theirs.price == Decimal("9.00") and theirs.archived_at is None
    assert ProductImage.objects.filter(pk=image.pk).exists()
    assert "Theirs" not in client.get(reverse("marketplace:my_products")).content.decode()


def test_an_id_too_large_for_the_database_is_not_found(client: Client, seller: Any) -> None:
    response = client.get(reverse("marketplace:product_edit", args=[2**64]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("role", "status"),
    [("customer", 403), ("manager", 403), ("superuser", 404), ("other", 404), ("owner", 200)],
)
def test_who_may_open_a_creators_edit_page(client: Client, role: str, status: int) -> None:
    product = ProductFactory()
    actor = {"owner": product.creator.user, "other": approved_creator().user}.get(role)
    client.force_login(actor or user_of_role(role))

    response = client.get(reverse("marketplace:product_edit", args=[product.pk]))

    assert response.status_code == status


def test_seed_003_matrix_in_the_actions() -> None:
    product = ProductFactory()
    owner = product.creator.user
    other = approved_creator().user
    superuser = user_of_role("superuser")
    manager = user_of_role("manager")

    # update and archive: the product's creator (superusers too, in the admin)
    for actor in (other, manager, user_of_role("customer")):
        with pytest.raises(PermissionDenied):
            actions.ArchiveProduct(actor, product=product).execute()
    actions.ArchiveProduct(owner, product=product).execute()
    actions.UnarchiveProduct(superuser, product=product).execute()
    # delete: superusers only, the product's creator included in "not allowed"
    for actor in (owner, other, manager):
        with pytest.raises(PermissionDenied):
            actions.DeleteProduct(actor, product=product).execute()
    actions.DeleteProduct(superuser, product=product).execute()
    assert not Product.objects.exists()
    # create: creators with an approved profile
    with pytest.raises(PermissionDenied):
        actions.CreateProduct(manager, product=Product(title_en="x")).execute()


def test_categories_are_managed_by_superusers_only() -> None:
    from lavka.marketplace.models import Category

    for role in ("customer", "creator", "manager"):
        with pytest.raises(PermissionDenied):
            actions.SaveCategory(
                user_of_role(role), category=Category(name_en="Toys", slug="toys")
            ).execute()
    category = actions.SaveCategory(
        user_of_role("superuser"), category=Category(name_en="Toys", slug="toys")
    ).execute()
    with pytest.raises(PermissionDenied):
        actions.DeleteCategory(user_of_role("manager"), category=category).execute()
    actions.DeleteCategory(user_of_role("superuser"), category=category).execute()
    assert not Category.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"price": "-1"}, "price", "above zero"),
        ({"price": "0"}, "price", "above zero"),
        ({"price": "abc"}, "price", "number"),
        ({"price": "1.999"}, "price", "2 decimal places"),
        ({"price": "99999999999"}, "price", "less than or equal"),
        ({"price": "NaN"}, "price", "number"),
        ({"stock": "-3"}, "stock", "greater than or equal to 0"),
        ({"stock": "two"}, "stock", "whole number"),
        ({"stock": ""}, "stock", "needs a stock count"),
        ({"title_en": "", "title_ru": ""}, "title_en", "English, Russian or both"),
        ({"title_en": "x" * 201}, "title_en", "at most 200"),
        ({"title_en": "Mug\x00"}, "title_en", "Null characters"),
        ({"title_en": "Mug\nBcc: x@example.com"}, "title_en", "line breaks"),
        ({"title_ru": "Кружка\x1b[31m"}, "title_ru", "control characters"),
        ({"slug": "../../etc"}, "slug", "valid"),
        ({"category": "999999"}, "category", "valid choice"),
        ({"kind": "service"}, "kind", "valid choice"),
        ({"alt_text": "a\r\nb"}, "alt_text", "line breaks"),
        (
            {"new_images": [SimpleUploadedFile("evil.png", b"<svg onload=alert(1)>")]},
            "new_images",
            "evil.png",
        ),
        (
            {"digital_file": SimpleUploadedFile("book.pdf", b"%PDF")},
            "digital_file",
            "Only digital products",
        ),
    ],
)
def test_bad_input_is_refused_at_its_field_and_nothing_is_written(
    client: Client,
    seller: Any,
    marketplace_files: dict[str, Path],
    changes: dict[str, Any],
    field: str,
    words: str,
) -> None:
    response = client.post(CREATE, _form(**{"new_images": [image_upload()], **changes}))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert words in " ".join(errors[field]), errors[field]
    assert not Product.objects.exists()
    assert not ProductImage.objects.exists()
    assert not _files(marketplace_files["media"])
    assert not _files(marketplace_files["private"])


def test_an_image_above_the_size_limit_is_refused_and_the_product_unchanged(
    client: Client, seller: Any, settings: Any, marketplace_files: dict[str, Path]
) -> None:
    product = ProductFactory(creator=seller, slug="mug", title_en="Before")
    settings.MARKETPLACE_MAX_IMAGE_BYTES = 200

    response = client.post(
        reverse("marketplace:product_edit", args=[product.pk]),
        _form(slug="mug", title_en="After", new_images=[image_upload(size=(300, 300))]),
    )

    assert response.status_code == 400
    assert "larger than" in " ".join(response.context["form"].errors["new_images"])
    product.refresh_from_db()
    assert product.title_en == "Before"
    assert not _files(marketplace_files["media"])


def test_a_10_mb_title_is_refused_whole(client: Client, seller: Any) -> None:
    response = client.post(CREATE, _form(title_en="x" * 10 * 1024 * 1024))

    assert response.status_code == 400
    assert not Product.objects.exists()


def test_a_slug_taken_by_the_same_creator_is_refused_but_another_creators_is_fine(
    client: Client, seller: Any
) -> None:
    ProductFactory(creator=seller, slug="mug")
    ProductFactory(slug="cup")  # another creator's

    taken = client.post(CREATE, _form(slug="mug"))
    free = client.post(CREATE, _form(slug="cup"))

    assert taken.status_code == 400
    assert "slug" in taken.context["form"].errors
    assert free.status_code == 302
    assert Product.objects.filter(creator=seller).count() == 2


def test_a_customer_cannot_post_a_product(client: Client, customer: Any) -> None:
    client.force_login(customer)

    response = client.post(CREATE, _form())

    assert response.status_code == 403
    assert not Product.objects.exists()
