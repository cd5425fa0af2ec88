"""The marketplace's paid orders booked into accounting as the sales of an "Online shop"
trade point, by the same path as a register's shifts: a day is a shift, booked once it
is over, with only the owner's lines; refunds on the day they are made."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from lavka.core.work import WorkState
from lavka.integrations import services
from lavka.integrations.adapters.lavka_shop import (
    DAY_GRACE,
    LavkaShopAdapter,
    shop_trade_point_id,
)
from lavka.integrations.models import (
    Connection,
    ConnectionRole,
    ConnectionStatus,
    ReferenceItem,
    ReferenceKind,
    ShiftSync,
    SyncJob,
    SyncRun,
    SyncRunStatus,
    SyncSchedule,
    TradePointMapping,
)
from lavka.integrations.sync import dispatch, runs, shifts, systems
from lavka.integrations.tests.sync_support import (
    Systems,
    connect_owner,
    money,
    running_systems,
    sale,
)
from lavka.marketplace.models import Order, OrderRefund
from lavka.marketplace.orders import services as orders
from lavka.marketplace.tests.factories import CouponFactory, CreatorProfileFactory, ProductFactory
from lavka.marketplace.tests.orders_helpers import checkout, line

pytestmark = pytest.mark.django_db

ZONE = timezone.get_default_timezone()


@pytest.fixture
def running() -> Iterator[Systems]:
    with running_systems() as both:
        yield both


def accounting_of(owner: Any, running: Systems, token: str = "") -> dict[str, ReferenceItem]:
    """The owner's MoeDelo connection to the simulator, with its cash desk and warehouse."""
    books = Connection.objects.create(
        owner=owner,
        role=ConnectionRole.ACCOUNTING,
        system="moedelo",
        base_url=running.moedelo.url,
        token=token or running.md_token,
        account_external_id=f"firm-{owner.pk}",
    )
    return {
        "cash_desk": ReferenceItem.objects.create(
            connection=books, kind=ReferenceKind.CASH_DESK, external_id=running.cashier_id
        ),
        "warehouse": ReferenceItem.objects.create(
            connection=books, kind=ReferenceKind.WAREHOUSE, external_id=running.stock_id
        ),
    }


def shop_mapping(owner: Any, running: Systems) -> TradePointMapping:
    """Accounting connected (unless it is), shop sales turned on, its trade point mapped,
    and the listing cursor a month back (so past days are new)."""
    if not Connection.objects.filter(owner=owner, role=ConnectionRole.ACCOUNTING).exists():
        items = accounting_of(owner, running)
    else:
        books = Connection.objects.get(owner=owner, role=ConnectionRole.ACCOUNTING)
        items = {
            "cash_desk": books.reference_items.get(kind=ReferenceKind.CASH_DESK),
            "warehouse": books.reference_items.get(kind=ReferenceKind.WAREHOUSE),
        }
    shop = services.turn_on_shop_sales(owner=owner)
    point = shop.reference_items.get(kind=ReferenceKind.TRADE_POINT)
    mapping = services.save_mapping(owner=owner, trade_point=point, **items)
    TradePointMapping.objects.filter(pk=mapping.pk).update(
        sales_cursor=timezone.now() - timedelta(days=30)
    )
    mapping.refresh_from_db()
    return mapping


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZONE)


def days_ago(n: int) -> date:
    """Counted from the last day that is over: minutes after midnight, while the shop
    still waits out DAY_GRACE, "yesterday" is not over yet."""
    last_open = timezone.now() - DAY_GRACE - timedelta(minutes=1)
    return timezone.localdate(last_open, timezone=ZONE) - timedelta(days=n)


def paid_on(moment: datetime, buyer: Any, *lines: Any, coupon: str = "") -> Order:
    """An order placed and paid through the marketplace, its payment dated `moment`."""
    order = orders.mark_paid(order=checkout(buyer, list(lines), coupon=coupon).order)
    Order.objects.filter(pk=order.pk).update(paid_at=moment)
    return order


def refunded_on(moment: datetime, order: Order, staff: Any) -> None:
    orders.request_refund(order=order, requested_by=staff, reason="Broken in the post")
    OrderRefund.objects.filter(order=order).update(refunded_at=moment)


def book_all(owner_id: int) -> list[str]:
    runs.find_shifts(owner_id=owner_id)
    return book_pending()


def book_pending() -> list[str]:
    """Run a task for every pending row, as the queue would (a task books its trade
    point's other due rows too, so later ones may find theirs done), and return the
    rows' states in order."""
    pks = list(
        ShiftSync.objects.filter(state=WorkState.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for pk in pks:
        shifts.sync_shift(shift_sync_id=pk)
    states = dict(ShiftSync.objects.filter(pk__in=pks).values_list("pk", "state"))
    return [states[pk] for pk in pks]


def owners_products(owner: Any, **kw: Any) -> Any:
    profile = CreatorProfileFactory(user=owner)
    return ProductFactory(creator=profile, **kw)


def test_a_paid_order_on_a_past_day_becomes_one_retail_report_with_the_right_total(
    creator: Any, customer: Any, running: Systems
) -> None:
    mug = owners_products(creator, price=Decimal("18.00"))
    elsewhere = ProductFactory(price=Decimal("100.00"))  # another creator's
    CouponFactory(code="TENOFF", kind="percent", value=Decimal(10))
    mapping = shop_mapping(creator, running)
    day = days_ago(2)
    order = paid_on(at(day, 12), customer, line(mug, 2), line(elsewhere), coupon="tenoff")
    paid_on(at(day, 15), customer, line(mug, 1))
    own_lines = order.lines.filter(creator__user=creator)
    expected = sum(
        (row.unit_price * row.quantity - row.discount for row in own_lines), Decimal(0)
    ) + Decimal("18.00")
    assert expected < Decimal("54.00")  # the coupon's share came off the mug's line

    assert book_all(creator.pk) == ["done"]

    row = ShiftSync.objects.get()
    assert (row.mapping_id, row.shift_external_id) == (mapping.pk, day.isoformat())
    assert (row.revenue, row.receipts_count) == (expected, 2)
    [report] = running.reports()
    assert (
        report["Number"]
        == row.report_number
        == f"L{shop_trade_point_id(creator.pk)}-{day.isoformat()}"
    )
    assert report["DocDate"].startswith(day.isoformat())
    assert str(report["Id"]) == row.document_id
    assert [money(r["Sum"]) for r in running.revenues()] == [expected]


def test_the_days_receipts_hold_only_the_owners_lines_and_agree_with_its_z_report(
    creator: Any, customer: Any, user_factory: Any
) -> None:
    mug = owners_products(creator, price=Decimal("18.00"))
    theirs = ProductFactory(price=Decimal("100.00"), title_en="Someone else's vase")
    day = days_ago(1)
    paid_on(at(day, 9), customer, line(mug, 3), line(theirs, 2))
    paid_on(at(day, 10), customer, line(theirs))  # holds none of the owner's products

    shift = LavkaShopAdapter(owner_id=creator.pk).shift(
        shop_trade_point_id(creator.pk), day.isoformat()
    )
    other = LavkaShopAdapter(owner_id=theirs.creator.user_id).shift(
        shop_trade_point_id(theirs.creator.user_id), day.isoformat()
    )

    assert [[(li.name, li.quantity) for li in r.lines] for r in shift.receipts] == [
        [(mug.title, Decimal(3))]
    ]
    assert all(not li.product_external_id for r in shift.receipts for li in r.lines)
    assert shift.z_report.revenue == Decimal("54.00") == shift.receipts[0].total
    assert other.z_report.revenue == Decimal("300.00")
    assert mug.title not in [li.name for r in other.receipts for li in r.lines]


def test_a_refund_on_a_later_day_is_booked_on_that_day(
    creator: Any, customer: Any, manager: Any, running: Systems
) -> None:
    mug = owners_products(creator, price=Decimal("18.00"))
    shop_mapping(creator, running)
    first, second = days_ago(3), days_ago(2)
    returned = paid_on(at(first, 11), customer, line(mug, 2))
    paid_on(at(second, 9), customer, line(mug, 5))
    refunded_on(at(second, 14), returned, manager)

    assert book_all(creator.pk) == ["done", "done"]

    takings = {
        row.shift_external_id: row.revenue for row in ShiftSync.objects.order_by("closed_at")
    }
    assert takings == {
        first.isoformat(): Decimal("36.00"),
        second.isoformat(): Decimal("90.00") - Decimal("36.00"),
    }
    assert sorted(money(r["Sum"]) for r in running.revenues()) == [
        Decimal("36.00"),
        Decimal("54.00"),
    ]
    refund_day = LavkaShopAdapter(owner_id=creator.pk).shift(
        shop_trade_point_id(creator.pk), second.isoformat()
    )
    assert [(r.is_refund, r.total) for r in refund_day.receipts] == [
        (False, Decimal("90.00")),
        (True, Decimal("36.00")),
    ]
    assert refund_day.z_report.refunds == Decimal("36.00")


def test_a_day_of_refunds_only_waits_for_a_person_with_accountings_reason(
    creator: Any, customer: Any, manager: Any, running: Systems
) -> None:
    """Accounting takes no retail report with negative takings (a return is a document
    Lavka does not send yet): the day is not lost, it waits in attention, visibly."""
    mug = owners_products(creator, price=Decimal("18.00"))
    shop_mapping(creator, running)
    returned = paid_on(at(days_ago(3), 11), customer, line(mug, 2))
    refunded_on(at(days_ago(2), 10), returned, manager)

    assert book_all(creator.pk) == ["done", "attention"]

    waiting = ShiftSync.objects.get(state=WorkState.ATTENTION)
    assert waiting.shift_external_id == days_ago(2).isoformat()
    assert "negative takings" in waiting.last_error
    assert len(running.reports()) == 1


def test_a_day_is_booked_once_when_runs_repeat(
    creator: Any, customer: Any, running: Systems
) -> None:
    mug = owners_products(creator, price=Decimal("18.00"))
    shop_mapping(creator, running)
    paid_on(at(days_ago(1), 10), customer, line(mug))

    assert runs.find_shifts(owner_id=creator.pk) == 1
    assert runs.find_shifts(owner_id=creator.pk) == 0
    pk = ShiftSync.objects.get().pk
    assert shifts.sync_shift(shift_sync_id=pk) == "done"
    assert shifts.sync_shift(shift_sync_id=pk) == "skipped"
    ShiftSync.objects.filter(pk=pk).update(state=WorkState.PENDING, document_id="")
    assert shifts.sync_shift(shift_sync_id=pk) == "done"  # finds the report it sent

    assert len(running.reports()) == 1
    assert len(running.revenues()) == 1
    assert runs.find_shifts(owner_id=creator.pk) == 0


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_record_the_day_once(
    creator: Any, customer: Any, running: Systems
) -> None:
    from lavka.integrations.tests.test_sync_concurrency import in_threads

    mug = owners_products(creator, price=Decimal("18.00"))
    shop_mapping(creator, running)
    paid_on(at(days_ago(1), 10), customer, line(mug))
    paid_on(at(days_ago(2), 10), customer, line(mug, 2))

    found = in_threads(
        lambda: runs.find_shifts(owner_id=creator.pk),
        lambda: runs.find_shifts(owner_id=creator.pk),
    )
    assert not [r for r in found if isinstance(r, Exception)], found
    assert ShiftSync.objects.count() == 2
    pks = list(ShiftSync.objects.values_list("pk", flat=True))
    in_threads(*[lambda: [shifts.sync_shift(shift_sync_id=pk) for pk in pks]] * 2)

    assert set(ShiftSync.objects.values_list("state", flat=True)) == {WorkState.DONE}
    numbers = [r["Number"] for r in running.reports()]
    assert len(numbers) == len(set(numbers)) == 2


def test_today_is_not_booked_until_it_is_over(
    creator: Any, customer: Any, running: Systems
) -> None:
    mug = owners_products(creator, price=Decimal("18.00"))
    shop_mapping(creator, running)
    paid_on(timezone.now(), customer, line(mug))

    assert runs.find_shifts(owner_id=creator.pk) == 0
    with pytest.raises(ValueError, match="not over yet"):
        LavkaShopAdapter(owner_id=creator.pk).shift(
            shop_trade_point_id(creator.pk), timezone.localdate(timezone=ZONE).isoformat()
        )
    assert not running.reports()


def test_a_day_without_sales_is_no_shift(creator: Any, running: Systems) -> None:
    owners_products(creator)
    shop_mapping(creator, running)

    assert runs.find_shifts(owner_id=creator.pk) == 0


def test_an_owner_without_a_register_books_shop_sales_and_sends_no_goods(
    creator: Any, customer: Any, running: Systems
) -> None:
    mug = owners_products(creator, price=Decimal("18.00"))
    shop_mapping(creator, running)
    paid_on(at(days_ago(1), 10), customer, line(mug))
    assert not Connection.objects.filter(owner=creator, role=ConnectionRole.POINT_OF_SALE)
    now = timezone.now()
    schedules = SyncSchedule.objects.filter(owner=creator)
    assert set(schedules.values_list("job", flat=True)) == {SyncJob.GOODS, SyncJob.SALES}
    made = [SyncRun.objects.create(schedule=s, trigger="manual", slot=now) for s in schedules]

    assert [runs.execute_run(run_id=run.pk) for run in made] == ["done", "done"]
    assert runs.sync_goods(owner_id=creator.pk).sent == 0

    assert book_all(creator.pk) == ["done"]
    assert len(running.reports()) == 1


def test_a_revoked_register_does_not_stop_the_shops_days(
    creator: Any, customer: Any, running: Systems
) -> None:
    register = connect_owner(creator, running)  # MoeDelo and MTS Kassa, mapped
    runs.sync_goods(owner_id=creator.pk)
    running.close_shift([sale(running.good_ids[0])])
    mug = owners_products(creator, price=Decimal("18.00"))
    shop = shop_mapping(creator, running)
    paid_on(at(days_ago(1), 10), customer, line(mug))
    Connection.objects.filter(pk=register.trade_point.connection_id).update(
        status=ConnectionStatus.REVOKED, status_reason="refused"
    )

    with pytest.raises(systems.NotConnected):
        runs.find_shifts(owner_id=creator.pk)

    assert list(ShiftSync.objects.values_list("mapping_id", flat=True)) == [shop.pk]
    schedule = SyncSchedule.objects.get(owner=creator, job=SyncJob.SALES)
    run = SyncRun.objects.create(schedule=schedule, trigger="manual", slot=timezone.now())
    assert runs.execute_run(run_id=run.pk) == SyncRunStatus.FAILED  # the register's error
    assert "refused" in SyncRun.objects.get(pk=run.pk).last_error
    assert book_pending() == ["done"]
    assert [r["Number"] for r in running.reports()] == [
        f"L{shop_trade_point_id(creator.pk)}-{days_ago(1)}"
    ]


def test_the_shop_connection_needs_no_token_and_two_owners_can_turn_it_on(
    creator: Any, user_factory: Any, running: Systems
) -> None:
    from lavka.core.roles import Role

    other = user_factory(email="other-creator@example.com", roles=[Role.CREATOR])
    accounting_of(creator, running)
    Connection.objects.create(
        owner=other,
        role=ConnectionRole.ACCOUNTING,
        system="moedelo",
        token="another-firms-token-0000000000",
    )

    one = services.turn_on_shop_sales(owner=creator)
    two = services.turn_on_shop_sales(owner=other)
    again = services.turn_on_shop_sales(owner=creator)

    assert one.pk == again.pk != two.pk
    assert (one.token, one.system) == ("", "lavka_shop")
    assert [i.external_id for i in one.reference_items.all()] == [shop_trade_point_id(creator.pk)]
    assert [i.external_id for i in two.reference_items.all()] == [shop_trade_point_id(other.pk)]
    assert Connection.objects.filter(role=ConnectionRole.SHOP).count() == 2


# --- the overview's button --------------------------------------------------------------


def test_an_owner_turns_shop_sales_on_from_the_overview_and_maps_the_shop(
    client: Client, creator: Any, running: Systems
) -> None:
    items = accounting_of(creator, running)
    client.force_login(creator)
    assert 'data-testid="shop-sales-on"' in client.get("/bookkeeping/").content.decode()

    page = client.post("/bookkeeping/shop/", {"enabled": "on"}, follow=True).content.decode()

    point = ReferenceItem.objects.get(connection__role=ConnectionRole.SHOP)
    assert "map the Online shop trade point" in page
    assert f'data-trade-point="{point.pk}"' in page
    assert 'data-testid="shop-sales-off"' in page
    client.post(
        f"/bookkeeping/trade-points/{point.pk}/mapping/",
        {"cash_desk": items["cash_desk"].pk, "warehouse": items["warehouse"].pk},
    )
    assert TradePointMapping.objects.filter(trade_point=point).exists()
    assert SyncSchedule.objects.filter(owner=creator).count() == 2

    client.post("/bookkeeping/shop/", {"enabled": "off"})

    assert not Connection.objects.filter(owner=creator, role=ConnectionRole.SHOP).exists()
    assert not TradePointMapping.objects.exists()
    assert not SyncSchedule.objects.exists()


def test_turning_shop_sales_on_without_accounting_says_what_to_do_first(
    client: Client, creator: Any
) -> None:
    client.force_login(creator)

    page = client.post("/bookkeeping/shop/", {"enabled": "on"}, follow=True).content.decode()

    assert "Connect your accounting system first" in page
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    "value", ["", "yes", "on\n", "on\r\nX-Injected: 1", "o\x00n", "x" * (10 * 1024 * 1024)]
)
def test_a_bad_shop_sales_value_is_refused_and_changes_nothing(
    client: Client, creator: Any, value: str
) -> None:
    client.force_login(creator)

    response = client.post("/bookkeeping/shop/", {"enabled": value})

    assert response.status_code == 400
    assert not Connection.objects.exists()


def test_a_manager_cannot_turn_shop_sales_on_or_off(client: Client, manager: Any) -> None:
    client.force_login(manager)

    assert client.post("/bookkeeping/shop/", {"enabled": "on"}).status_code == 403
    assert client.post("/bookkeeping/shop/", {"enabled": "off"}).status_code == 403
    assert client.get("/bookkeeping/shop/").status_code in (403, 405)


def test_another_owners_shop_trade_point_and_cash_desk_are_out_of_reach(
    client: Client, creator: Any, user_factory: Any, running: Systems
) -> None:
    from lavka.core.roles import Role

    other = user_factory(email="other-creator@example.com", roles=[Role.CREATOR])
    theirs = accounting_of(other, running, token="another-firms-token-0000000000")
    services.turn_on_shop_sales(owner=other)
    their_point = ReferenceItem.objects.get(connection__owner=other, kind="trade_point")
    mine = accounting_of(creator, running)
    services.turn_on_shop_sales(owner=creator)
    my_point = ReferenceItem.objects.get(connection__owner=creator, kind="trade_point")
    client.force_login(creator)

    assert client.get(f"/bookkeeping/trade-points/{their_point.pk}/mapping/").status_code == 404
    form = client.post(
        f"/bookkeeping/trade-points/{my_point.pk}/mapping/",
        {"cash_desk": theirs["cash_desk"].pk, "warehouse": mine["warehouse"].pk},
    )
    assert form.status_code == 200  # the form again, with the error at the field
    assert not TradePointMapping.objects.exists()
    client.post("/bookkeeping/shop/", {"enabled": "off"})
    assert Connection.objects.filter(owner=other, role=ConnectionRole.SHOP).exists()


# --- a real worker --------------------------------------------------------------------------


@pytest.mark.worker
def test_a_real_worker_books_yesterdays_shop_sales_from_the_schedule(
    creator: Any, customer: Any, running: Systems, celery_worker_process: Any
) -> None:
    from lavka.integrations.tests.test_sync_concurrency import wait_for

    mug = owners_products(creator, price=Decimal("18.00"))
    mapping = shop_mapping(creator, running)
    paid_on(at(days_ago(1), 10), customer, line(mug, 2))
    paid_on(at(days_ago(1), 20), customer, line(mug))
    now = timezone.now()
    SyncSchedule.objects.filter(owner=creator).update(next_run_at=now - timedelta(seconds=1))

    assert len(dispatch.dispatch_due_schedules(now=now)) == 2
    booked = wait_for(
        lambda: ShiftSync.objects.filter(mapping=mapping, state=WorkState.DONE).exists(), 90
    )

    assert booked, celery_worker_process.log_tail()
    assert [money(r["Sum"]) for r in running.revenues()] == [Decimal("54.00")]
    run = SyncRun.objects.get(schedule__job=SyncJob.SALES)
    assert (run.status, run.shifts_found) == (SyncRunStatus.DONE, 1)
    assert wait_for(lambda: SyncRun.objects.filter(pk=run.pk, shifts_booked=1).exists(), 90), (
        celery_worker_process.log_tail()
    )
    assert SyncRun.objects.get(schedule__job=SyncJob.GOODS).goods_sent == 0


def test_day_bounds_follow_the_sites_time_zone() -> None:
    from lavka.integrations.adapters.lavka_shop import day_end, day_start

    day = date(2026, 3, 1)
    assert day_start(day, ZONE).tzinfo == UTC
    assert day_end(day, ZONE).astimezone(ZONE).date() == day
    assert day_end(day, ZONE) < day_start(day + timedelta(days=1), ZONE)


def test_the_shop_cannot_be_connected_like_a_system_with_a_token(creator: Any) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.connect(owner=creator, role=ConnectionRole.SHOP, system="lavka_shop", token="x")
    assert not Connection.objects.exists()


def test_a_shop_only_owner_can_sync_sales_now_but_not_goods(
    creator: Any, customer: Any, running: Systems
) -> None:
    from django.core.exceptions import ValidationError

    from lavka.integrations import actions

    mug = owners_products(creator, price=Decimal("18.00"))
    shop_mapping(creator, running)
    paid_on(at(days_ago(1), 10), customer, line(mug))
    sales = SyncSchedule.objects.get(owner=creator, job=SyncJob.SALES)
    goods = SyncSchedule.objects.get(owner=creator, job=SyncJob.GOODS)

    run = actions.RunSyncNow(creator, schedule=sales).execute()
    assert runs.execute_run(run_id=run.pk) == SyncRunStatus.DONE
    assert book_pending() == ["done"]
    with pytest.raises(ValidationError, match="Point of sale"):
        actions.RunSyncNow(creator, schedule=goods).execute()


def test_sync_now_of_sales_runs_with_a_revoked_register_beside_the_shop(
    creator: Any, customer: Any, running: Systems
) -> None:
    from django.core.exceptions import ValidationError

    from lavka.integrations import actions

    register = connect_owner(creator, running)
    mug = owners_products(creator, price=Decimal("18.00"))
    shop_mapping(creator, running)
    paid_on(at(days_ago(1), 10), customer, line(mug))
    Connection.objects.filter(pk=register.trade_point.connection_id).update(
        status=ConnectionStatus.REVOKED, status_reason="refused"
    )
    sales = SyncSchedule.objects.get(owner=creator, job=SyncJob.SALES)
    goods = SyncSchedule.objects.get(owner=creator, job=SyncJob.GOODS)

    run = actions.RunSyncNow(creator, schedule=sales).execute()
    runs.execute_run(run_id=run.pk)  # fails on the register's token, lists the shop
    assert book_pending() == ["done"]
    with pytest.raises(ValidationError, match="refused your token"):
        actions.RunSyncNow(creator, schedule=goods).execute()
    # with the shop off too, no trade point is usable: the register's refusal is said
    services.turn_off_shop_sales(owner=creator)
    with pytest.raises(ValidationError, match="refused your token"):
        actions.RunSyncNow(creator, schedule=sales).execute()


def test_two_owners_whose_keys_reach_one_firm_each_get_their_own_day_report(
    creator: Any, customer: Any, user_factory: Any, running: Systems
) -> None:
    from lavka.core.roles import Role

    other = user_factory(email="partner@example.com", roles=[Role.CREATOR])
    second_key = "a-second-api-key-of-the-same-firm-0000"
    with running.moedelo.store.lock:  # MoeDelo lets a firm issue several API keys
        running.moedelo.store.accounts[second_key] = running.moedelo.store.known(running.md_token)
    accounting_of(other, running, token=second_key)
    mine, theirs = owners_products(creator), owners_products(other)
    shop_mapping(creator, running)
    shop_mapping(other, running)
    day = days_ago(1)
    paid_on(at(day, 10), customer, line(mine))
    paid_on(at(day, 11), customer, line(theirs, 2))

    assert book_all(creator.pk) == ["done"]
    assert book_all(other.pk) == ["done"]

    numbers = sorted(r["Number"] for r in running.reports())
    assert numbers == sorted(
        f"L{shop_trade_point_id(owner.pk)}-{day.isoformat()}" for owner in (creator, other)
    )
    documents = set(ShiftSync.objects.values_list("document_id", flat=True))
    assert documents == {str(r["Id"]) for r in running.reports()}
