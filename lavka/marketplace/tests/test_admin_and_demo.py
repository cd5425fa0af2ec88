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


def _load_demo_twice() -> dict[str, Any]:
    from lavka.accounts.demo import load_demo_accounts
    from lavka.marketplace.demo import load_demo_marketplace

    context: dict[str, Any] = {}
    load_demo_accounts(context)
    load_demo_marketplace(context)
    load_demo_marketplace(context)
    return context


def test_demo_customer_has_two_months_of_orders_each_paid_one_with_an_invoice() -> None:
    from lavka.marketplace.models import Donation, Invoice, Order

    _load_demo_twice()

    orders = Order.objects.filter(customer__email="customer@lavka.localhost")
    paid = orders.filter(paid_at__isnull=False)
    assert orders.filter(status=Order.Status.PAID).count() == 12
    assert orders.filter(status=Order.Status.REFUNDED).count() == 1
    assert orders.filter(status=Order.Status.AWAITING_PAYMENT).count() == 1
    assert Invoice.objects.filter(order__in=paid).count() == paid.count() == 13
    first, last = (
        min(paid.values_list("paid_at", flat=True)),
        max(paid.values_list("paid_at", flat=True)),
    )
    assert (last - first).days >= 50
    assert all(o.created_at < o.paid_at for o in paid)
    numbers = list(Invoice.objects.order_by("issued_at").values_list("year", "sequence"))
    assert numbers == sorted(numbers)  # numbered in the order they were paid
    assert Donation.objects.filter(status=Donation.Status.PAID).count() == 1


def test_demo_product_page_shows_what_was_bought_together(client: Client) -> None:
    _load_demo_twice()

    page = client.get(reverse("marketplace:product", args=["cleo", "blue-mug"])).content.decode()

    assert "Bought together" in page
    assert "Glazing at home (PDF guide)" in page and "Linen tea towel" in page


def _csv_rows(response: Any) -> list[str]:
    return b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[1:]


def test_demo_exports_have_rows_and_reports_have_bars(client: Client) -> None:
    context = _load_demo_twice()
    manager, creator = (
        context["users"][f"{who}@lavka.localhost"] for who in ("manager", "creator")
    )

    client.force_login(manager)
    staff_rows = _csv_rows(client.get(reverse("marketplace:staff_orders_export")))
    staff_report = client.get(reverse("marketplace:staff_report")).content.decode()
    client.force_login(creator)
    creator_rows = _csv_rows(client.get(reverse("marketplace:sales_export")))
    creator_report = client.get(reverse("marketplace:creator_report")).content.decode()

    assert len(staff_rows) == 14 and len(creator_rows) >= 13
    assert 'class="chart-bar"' in staff_report and 'class="chart-bar"' in creator_report
