"""CSV exports of orders and donations: staff lists (with their filters), the admin's
selected rows, and each creator's own sales and donations; streamed when small,
prepared by a worker when large."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from lavka.core.csv_export import BOM
from lavka.core.models import PreparedFile
from lavka.core.work import WorkState
from lavka.marketplace.donations import services as donations
from lavka.marketplace.models import Order, Product
from lavka.marketplace.orders import services as orders
from lavka.marketplace.tests.export_helpers import bulk_orders
from lavka.marketplace.tests.factories import CreatorProfileFactory, ProductFactory
from lavka.marketplace.tests.orders_helpers import checkout, line


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200, response
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body[len(BOM) :])))


def _by_column(rows: list[list[str]]) -> list[dict[str, str]]:
    header, *data = rows
    return [dict(zip(header, row, strict=True)) for row in data]


@pytest.fixture
def shop(creator, user_factory):
    """Two creators' products; an order of both by a customer with a Cyrillic name."""
    mine = CreatorProfileFactory(user=creator, display_name="Мастерская")
    theirs = CreatorProfileFactory()
    mug = ProductFactory(creator=mine, title_en="Mug", price=Decimal("12.50"))
    vase = ProductFactory(creator=theirs, title_en="Vase", price=Decimal("40.00"))
    buyer = user_factory(email="anna@example.com", full_name="Анна Каренина")
    both = checkout(buyer, [line(mug, 2), line(vase)]).order
    return {"mine": mine, "theirs": theirs, "mug": mug, "vase": vase, "buyer": buyer, "both": both}


# --- staff ----------------------------------------------------------------------------------


def test_staff_export_has_one_row_per_order_with_plain_decimals_and_cyrillic(client, manager, shop):
    client.force_login(manager)

    before = timezone.localdate()
    response = client.get("/shop/staff/orders/export/")
    after = timezone.localdate()  # the same day, unless midnight passed during the request

    assert any(
        f'filename="orders-{day.isoformat()}.csv"' in response["Content-Disposition"]
        for day in (before, after)
    )
    (row,) = _by_column(_rows(response))
    assert row["number"] == shop["both"].number
    assert row["customer_name"] == "Анна Каренина"
    assert row["customer_email"] == "anna@example.com"
    assert (row["subtotal"], row["discount"], row["total"]) == ("65.00", "0.00", "65.00")
    assert row["status"] == "awaiting_payment"
    assert row["payment_method"] == "bank_transfer"
    assert row["lines"] == "2 x Mug; 1 x Vase"


def test_staff_export_keeps_the_lists_filters(client, manager, shop):
    paid = checkout(shop["buyer"], [line(shop["mug"])]).order
    orders.mark_paid(order=paid)
    client.force_login(manager)

    listed = client.get("/shop/staff/orders/?status=paid")
    exported = _by_column(_rows(client.get("/shop/staff/orders/export/?status=paid")))
    searched = _by_column(_rows(client.get(f"/shop/staff/orders/export/?q={paid.number}")))

    assert 'href="/shop/staff/orders/export/?status=paid"' in listed.content.decode()
    assert [row["number"] for row in exported] == [paid.number]
    assert [o.number for o in listed.context["page"].object_list] == [paid.number]
    assert [row["number"] for row in searched] == [paid.number]


def test_an_export_with_no_rows_is_a_valid_csv_with_the_header(client, manager, shop):
    client.force_login(manager)

    rows = _rows(client.get("/shop/staff/orders/export/?status=refunded"))
    donation_rows = _rows(client.get("/shop/staff/donations/export/"))

    assert rows == [
        [
            "number",
            "created_at",
            "paid_at",
            "status",
            "customer_email",
            "customer_name",
            "currency",
            "subtotal",
            "discount",
            "total",
            "coupon",
            "payment_method",
            "payment_reference",
            "lines",
        ]
    ]
    assert len(donation_rows) == 1


def test_a_name_that_looks_like_a_formula_is_defused(client, manager, shop):
    Order.objects.filter(pk=shop["both"].pk).update(full_name='=HYPERLINK("http://evil")')
    client.force_login(manager)

    (row,) = _by_column(_rows(client.get("/shop/staff/orders/export/")))

    assert row["customer_name"] == '\'=HYPERLINK("http://evil")'


def test_a_refused_filter_value_is_dropped_as_on_the_list(client, manager, shop):
    client.force_login(manager)

    rows = _by_column(_rows(client.get("/shop/staff/orders/export/?status=%00nonsense")))

    assert [row["number"] for row in rows] == [shop["both"].number]


def test_the_export_streams_without_a_query_per_order(
    client, manager, shop, django_assert_max_num_queries
):
    bulk_orders(300, customer=shop["buyer"], products=[shop["mug"], shop["vase"]])
    client.force_login(manager)

    with django_assert_max_num_queries(12):
        rows = _rows(client.get("/shop/staff/orders/export/"))

    assert len(rows) == 302


# --- creators -------------------------------------------------------------------------------


def test_a_creator_exports_only_their_own_lines_and_their_share(client, creator, shop):
    client.force_login(creator)

    response = client.get("/shop/manage/sales/export/")

    rows = _by_column(_rows(response))
    assert rows == [
        {
            "number": shop["both"].number,
            "created_at": shop["both"].created_at.isoformat(),
            "paid_at": "",
            "status": "awaiting_payment",
            "currency": shop["both"].currency,
            "subtotal": "25.00",
            "discount": "0.00",
            "total": "25.00",
            "lines": "2 x Mug",
        }
    ]


def test_the_other_creator_sees_only_the_vase(client, shop):
    client.force_login(shop["theirs"].user)

    (row,) = _by_column(_rows(client.get("/shop/manage/sales/export/")))

    assert (row["lines"], row["total"]) == ("1 x Vase", "40.00")


def test_a_creator_exports_the_donations_they_received(client, creator, shop):
    given = donations.donate(
        donor=shop["buyer"],
        creator=shop["mine"],
        product=None,
        amount="5.00",
        message="Спасибо!\n=1+1",
        provider_code="bank_transfer",
        checkout_token=uuid.uuid4(),
    ).donation
    donations.mark_paid(donation=given)
    donations.donate(
        donor=shop["buyer"],
        creator=shop["theirs"],
        product=None,
        amount="7.00",
        message="",
        provider_code="bank_transfer",
        checkout_token=uuid.uuid4(),
    )
    client.force_login(creator)

    (row,) = _by_column(_rows(client.get("/shop/manage/donations/export/")))

    assert (row["number"], row["amount"], row["donor_name"]) == (
        given.number,
        "5.00",
        "Анна Каренина",
    )
    assert row["message"] == "Спасибо!\n=1+1"


def test_staff_donation_export_keeps_the_creator_filter(client, manager, shop):
    for profile, amount in ((shop["mine"], "5.00"), (shop["theirs"], "7.00")):
        donations.donate(
            donor=shop["buyer"],
            creator=profile,
            product=None,
            amount=amount,
            message="",
            provider_code="bank_transfer",
            checkout_token=uuid.uuid4(),
        )
    client.force_login(manager)

    rows = _by_column(
        _rows(client.get(f"/shop/staff/donations/export/?creator={shop['mine'].slug}"))
    )

    assert [(row["creator"], row["amount"]) for row in rows] == [("Мастерская", "5.00")]


# --- who may export -------------------------------------------------------------------------


def test_who_may_reach_each_export(client, customer, creator, manager, shop):
    staff = ("/shop/staff/orders/export/", "/shop/staff/donations/export/")
    own = ("/shop/manage/sales/export/", "/shop/manage/donations/export/")
    for path in (*staff, *own):
        assert client.get(path).status_code == 302  # anonymous: to the login page
    client.force_login(customer)
    assert {client.get(path).status_code for path in (*staff, *own)} == {403}
    client.force_login(creator)
    assert {client.get(path).status_code for path in staff} == {403}
    assert {client.get(path).status_code for path in own} == {200}
    client.force_login(manager)
    assert {client.get(path).status_code for path in staff} == {200}
    assert {client.get(path).status_code for path in own} == {403}


# --- the admin --------------------------------------------------------------------------------


def test_the_admin_exports_the_selected_orders(client, superuser, shop):
    other = checkout(shop["buyer"], [line(shop["mug"])]).order
    client.force_login(superuser)

    response = client.post(
        "/admin/marketplace/order/",
        {"action": "export_csv", "_selected_action": [other.pk]},
    )

    assert [row["number"] for row in _by_column(_rows(response))] == [other.number]


def test_the_admin_exports_the_selected_donations(client, superuser, shop):
    given = donations.donate(
        donor=shop["buyer"],
        creator=shop["mine"],
        product=None,
        amount="5.00",
        message="",
        provider_code="bank_transfer",
        checkout_token=uuid.uuid4(),
    ).donation
    client.force_login(superuser)

    response = client.post(
        "/admin/marketplace/donation/",
        {"action": "export_csv", "_selected_action": [given.pk]},
    )

    assert [row["number"] for row in _by_column(_rows(response))] == [given.number]


# --- large exports ------------------------------------------------------------------------------


def test_a_large_export_becomes_a_prepared_file(client, manager, shop, settings, tmp_path):
    settings.EXPORT_STREAM_MAX_ROWS = 0
    settings.PREPARED_FILES_ROOT = tmp_path
    client.force_login(manager)

    response = client.get("/shop/staff/orders/export/?status=awaiting_payment")

    prepared = PreparedFile.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/files/{prepared.pk}/"
    assert prepared.params == {"status": "awaiting_payment"}
    assert (prepared.kind, prepared.rows_total, prepared.requested_by) == (
        "marketplace.staff_orders",
        1,
        manager,
    )


def test_export_clicks_reuse_the_file_under_way_and_stop_at_the_limit(
    client, manager, shop, settings, tmp_path
):
    settings.EXPORT_STREAM_MAX_ROWS = -1  # every export, even an empty one, is prepared
    settings.PREPARED_FILES_ROOT = tmp_path
    settings.PREPARED_FILES_OPEN_PER_USER = 2
    client.force_login(manager)

    clicks = [client.get("/shop/staff/orders/export/?status=paid") for _ in range(3)]
    client.get("/shop/staff/orders/export/?status=awaiting_payment")
    refused = client.get("/shop/staff/orders/export/?status=cancelled")

    assert {r["Location"] for r in clicks} == {
        f"/files/{PreparedFile.objects.order_by('pk').first().pk}/"
    }
    assert PreparedFile.objects.count() == 2
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "You already have 2 files being prepared" in page
    assert page.count('data-testid="busy-file"') == 2


@pytest.mark.parametrize("hostile", ["a\nb", "a\x00b", "=1+1;\r\n", "x" * 100_000, "ё" * 3000])
def test_hostile_filter_values_are_reused_as_given_and_another_managers_files_stay_theirs(
    client, manager, user_factory, shop, settings, tmp_path, hostile
):
    from lavka.core.roles import Role

    settings.EXPORT_STREAM_MAX_ROWS = -1
    settings.PREPARED_FILES_ROOT = tmp_path
    settings.PREPARED_FILES_OPEN_PER_USER = 1
    other = user_factory(email="other-manager@example.com", roles=[Role.MANAGER])
    client.force_login(other)
    theirs = client.get("/shop/staff/orders/export/?status=paid")
    client.force_login(manager)

    first = client.get("/shop/staff/orders/export/", {"q": hostile})
    again = client.get("/shop/staff/orders/export/", {"q": hostile})
    refused = client.get("/shop/staff/orders/export/?status=paid")

    assert theirs.status_code == first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] != theirs["Location"]
    assert PreparedFile.objects.filter(requested_by=manager).count() == 1
    assert refused.status_code == 429
    assert theirs["Location"] not in refused.content.decode()  # only the manager's own files


@pytest.mark.worker
@pytest.mark.slow
def test_a_real_worker_prepares_a_large_export_for_the_requester_alone(
    transactional_db, client, user_factory, tmp_path, settings
):
    from lavka.core.roles import Role
    from lavka.core.tests.support import purge_queues, start_worker, wait_until

    purge_queues()
    settings.EXPORT_STREAM_MAX_ROWS = 100
    settings.PREPARED_FILES_ROOT = tmp_path / "files"
    manager = user_factory(email="boss@example.com", roles=[Role.MANAGER])
    other_manager = user_factory(email="boss2@example.com", roles=[Role.MANAGER])
    buyer = user_factory(email="buyer@example.com", full_name="Пётр")
    product = ProductFactory(kind=Product.Kind.DIGITAL, stock=None)
    bulk_orders(1000, customer=buyer, products=[product])
    worker = start_worker(tmp_path, extra_env={"PREPARED_FILES_ROOT": str(tmp_path / "files")})
    try:
        client.force_login(manager)
        response = client.get("/shop/staff/orders/export/?status=paid")
        assert response.status_code == 302
        prepared = PreparedFile.objects.get()
        done = wait_until(
            lambda: PreparedFile.objects.get(pk=prepared.pk).state == WorkState.DONE,
            timeout=120,
            interval=0.3,
        )
        assert done, worker.log_tail()
    finally:
        worker.stop()

    rows = _by_column(_rows(client.get(f"/files/{prepared.pk}/download/")))
    assert len(rows) == 1000
    assert len({row["number"] for row in rows}) == 1000
    assert {row["customer_name"] for row in rows} == {"Анна Покупатель"}
    assert client.get(f"/files/{prepared.pk}/progress/").json()["rows_done"] == 1000
    client.force_login(other_manager)
    assert client.get(f"/files/{prepared.pk}/download/").status_code == 404
