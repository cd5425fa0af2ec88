"""The shop's admin (superusers, through actions) and its demo data."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from lavka.core.roles import Role, has_role
from lavka.marketplace.models import Category, CreatorProfile, Product
from lavka.marketplace.tests.factories import CreatorProfileFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["category", "creatorprofile", "product"])
def test_changelists_and_change_pages_open_for_superusers(admin_client: Client, model: str) -> None:
    product = ProductFactory()
    pk = {"category": product.category_id, "creatorprofile": product.creator_id}.get(
        model, product.pk
    )

    assert admin_client.get(reverse(f"admin:marketplace_{model}_changelist")).status_code == 200
    assert (
        admin_client.get(reverse(f"admin:marketplace_{model}_change", args=[pk])).status_code == 200
    )


def test_a_superuser_deletes_a_product_and_archives_through_the_actions(
    admin_client: Client,
) -> None:
    keep, gone = ProductFactory(), ProductFactory()

    admin_client.post(
        reverse("admin:marketplace_product_changelist"),
        {"action": "archive", "_selected_action": [keep.pk]},
    )
    admin_client.post(reverse("admin:marketplace_product_delete", args=[gone.pk]), {"post": "yes"})

    keep.refresh_from_db()
    assert keep.archived_at is not None
    assert not Product.objects.filter(pk=gone.pk).exists()


def test_approving_in_the_admin_grants_the_creator_role(
    admin_client: Client, customer: Any
) -> None:
    profile = CreatorProfileFactory(user=customer, status=CreatorProfile.Status.PENDING)

    admin_client.post(
        reverse("admin:marketplace_creatorprofile_changelist"),
        {"action": "approve", "_selected_action": [profile.pk]},
    )

    profile.refresh_from_db()
    assert profile.status == CreatorProfile.Status.APPROVED
    assert has_role(type(customer).objects.get(pk=customer.pk), Role.CREATOR)


def test_a_manager_cannot_use_the_admin(client: Client, manager: Any) -> None:
    client.force_login(manager)

    response = client.get(reverse("admin:marketplace_product_changelist"))

    assert response.status_code in {302, 403}


def test_demo_data_is_made_once() -> None:
    from lavka.accounts.demo import load_demo_accounts
    from lavka.marketplace.demo import load_demo_marketplace

    context: dict[str, Any] = {}
    load_demo_accounts(context)
    load_demo_marketplace(context)
    load_demo_marketplace(context)

    assert Category.objects.filter(parent__isnull=False).exists()
    products = Product.objects.on_sale()
    assert products.count() == 4
    digital = products.get(kind=Product.Kind.DIGITAL)
    assert digital.stock is None and digital.digital_file
    assert all(product.images.exists() for product in products)
