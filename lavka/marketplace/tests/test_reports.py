"""Sales reports: the numbers equal plain SQL sums over the same orders, per currency and
time zone; a creator sees only their own lines; bad ranges are field errors; the charts
are drawn on the server and the CSV holds the page's numbers."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lavka.marketplace.reports import selectors
from lavka.marketplace.tests.factories import ProductFactory
from lavka.marketplace.tests.helpers import approved_creator
from lavka.marketplace.tests.reports_helpers import (
    paid_donation,
    raw_creator_sales,
    raw_donations,
    raw_shop_sales,
    sold_order,
)

pytestmark = pytest.mark.django_db

STAFF_REPORT = "/shop/staff/reports/"
STAFF_CSV = "/shop/staff/reports/csv/"
CREATOR_REPORT = "/shop/manage/reports/"
CREATOR_CSV = "/shop/manage/reports/csv/"
MOSCOW = ZoneInfo("Europe/Moscow")
FIRST_DAY = date(2026, 3, 1)
DAYS = 10


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    return start, start + timedelta(days=1)


@pytest.fixture
def shop(customer: Any) -> dict[str, Any]:
    """Two creators, orders of both (some holding lines of both) over ten days in EUR and
    RUB, with discounts, refunds, archived, cancelled and unpaid orders, and donations."""
    rng = random.Random(12)
    alice, bob = approved_creator(), approved_creator()
    products = [ProductFactory(creator=alice) for _ in range(3)] + [
        ProductFactory(creator=bob) for _ in range(3)
    ]
    for index in range(80):
        paid_at = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC) + timedelta(
            minutes=rng.randrange(DAYS * 24 * 60)
        )
        chosen = rng.sample(products, rng.randint(1, 3))
        lines = []
        for product in chosen:
            price = Decimal(rng.randint(100, 5000)) / 100
            quantity = rng.randint(1, 4)
            share = (price * quantity / 10).quantize(Decimal("0.01")) if index % 4 == 0 else 0
            lines.append((product, quantity, price, Decimal(share)))
        status = rng.choice(["paid", "paid", "paid", "refunded", "archived", "cancelled"])
        sold_order(
            customer,
            lines,
            paid_at=paid_at,
            currency=rng.choice(["EUR", "RUB"]),
            status="awaiting_payment" if index % 13 == 0 else status,
            refunded_at=paid_at + timedelta(days=1) if status == "refunded" else None,
        )
    for index in range(12):
        paid_donation(
            customer,
            alice if index % 2 else bob,
            Decimal(rng.randint(100, 900)),
            paid_at=utc(2026, 3, 1 + index % DAYS, 12),
            currency="EUR" if index % 3 else "RUB",
        )
    return {"alice": alice, "bob": bob, "products": products}


def report_of(
    scope: selectors.Scope,
    grain: selectors.Grain = "day",
    zone: str = "Europe/Moscow",
    *,
    days: int = DAYS,
) -> selectors.Report:
    return selectors.sales_report(
        scope,
        date_from=FIRST_DAY,
        date_to=FIRST_DAY + timedelta(days=days - 1),
        grain=grain,
        time_zone=zone,
    )


# --- the numbers ----------------------------------------------------------------------------


def test_staff_report_equals_plain_sql_sums_per_day_and_currency(shop, manager):
    # given ten days of orders in two currencies; when the whole shop's report is read
    report = report_of(selectors.staff_scope(manager))

    # then every day of every currency matches plain SQL over that day's instants
    assert {section.currency for section in report.currencies} == {"EUR", "RUB"}
    for section in report.currencies:
        assert len(section.periods) == DAYS
        for numbers in section.periods:
            start, end = day_bounds(numbers.start, MOSCOW)
            assert (numbers.revenue, numbers.orders) == raw_shop_sales(
                section.currency, start, end, refunded=False
            )
            assert (numbers.refunded, numbers.refunds) == raw_shop_sales(
                section.currency, start, end, refunded=True
            )
            assert (numbers.donated, numbers.donations) == raw_donations(
                section.currency, start, end
            )
        whole = (
            day_bounds(FIRST_DAY, MOSCOW)[0],
            day_bounds(FIRST_DAY + timedelta(days=DAYS - 1), MOSCOW)[1],
        )
        assert (section.total.revenue, section.total.orders) == raw_shop_sales(
            section.currency, *whole, refunded=False
        )
        assert section.total.orders > 0 and section.total.refunds > 0


def test_creator_report_equals_plain_sql_over_their_own_lines_only(shop):
    # given orders that hold lines of both creators
    alice = shop["alice"]

    # when alice reads her report
    report = report_of(selectors.creator_scope(alice.user))

    # then each day is her line totals less their discounts, and the orders holding them
    for section in report.currencies:
        for numbers in section.periods:
            start, end = day_bounds(numbers.start, MOSCOW)
            assert (numbers.revenue, numbers.orders) == raw_creator_sales(
                alice.pk, section.currency, start, end, refunded=False
            )
            assert (numbers.refunded, numbers.refunds) == raw_creator_sales(
                alice.pk, section.currency, start, end, refunded=True
            )
            assert (numbers.donated, numbers.donations) == raw_donations(
                section.currency, start, end, creator_id=alice.pk
            )


def test_creator_never_sees_another_creators_lines_of_the_same_order(customer):
    # given one order holding a line of alice (10) and a line of bob (90)
    alice, bob = approved_creator(), approved_creator()
    sold_order(
        customer,
        [
            (ProductFactory(creator=alice), 1, Decimal("12.00"), Decimal("2.00")),
            (ProductFactory(creator=bob), 1, Decimal("90.00"), Decimal("0")),
        ],
        paid_at=utc(2026, 3, 2, 10),
    )

    # when each reads their report
    mine = report_of(selectors.creator_scope(alice.user)).currencies[0]
    theirs = report_of(selectors.creator_scope(bob.user)).currencies[0]

    # then alice sees 10.00 of one order, bob 90.00; the order's 100.00 appears for neither
    assert (mine.total.revenue, mine.total.orders) == (Decimal("10.00"), 1)
    assert [p.title for p in mine.top_by_revenue] == [mine.top_by_revenue[0].title]
    assert mine.top_by_revenue[0].revenue == Decimal("10.00")
    assert (theirs.total.revenue, theirs.total.orders) == (Decimal("90.00"), 1)


def test_order_paid_at_2330_utc_lands_on_the_next_day_in_moscow(customer, manager):
    # given an order paid at 23:30 UTC on March 1st (02:30 on March 2nd in Moscow)
    product = ProductFactory()
    sold_order(
        customer, [(product, 1, Decimal("5.00"), Decimal("0"))], paid_at=utc(2026, 3, 1, 23, 30)
    )

    # when the report is read in Moscow and in UTC
    moscow = report_of(selectors.staff_scope(manager), zone="Europe/Moscow").currencies[0]
    in_utc = report_of(selectors.staff_scope(manager), zone="UTC").currencies[0]

    # then Moscow counts it on the 2nd, UTC on the 1st
    assert [(n.start.day, n.orders) for n in moscow.periods[:2]] == [(1, 0), (2, 1)]
    assert [(n.start.day, n.orders) for n in in_utc.periods[:2]] == [(1, 1), (2, 0)]


def test_week_and_month_grains_group_days_into_monday_weeks_and_calendar_months(customer, manager):
    # given orders on Sun 1 March, Mon 2 March, Tue 31 March and Wed 1 April (UTC noon)
    product = ProductFactory()
    for day in (date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 31), date(2026, 4, 1)):
        sold_order(
            customer,
            [(product, 1, Decimal("10.00"), Decimal("0"))],
            paid_at=utc(day.year, day.month, day.day, 12),
        )
    scope = selectors.staff_scope(manager)

    # when read by week and by month over 1 March to 1 April
    weeks = report_of(scope, "week", days=32).currencies[0]
    months = report_of(scope, "month", days=32).currencies[0]

    # then weeks start on Mondays (23 Feb holds the 1st) and months on the 1st
    assert [(n.start, n.orders) for n in weeks.periods if n.orders] == [
        (date(2026, 2, 23), 1),
        (date(2026, 3, 2), 1),
        (date(2026, 3, 30), 2),
    ]
    assert all(n.start.weekday() == 0 for n in weeks.periods)
    assert [(n.start, n.orders, n.revenue) for n in months.periods] == [
        (date(2026, 3, 1), 3, Decimal("30.00")),
        (date(2026, 4, 1), 1, Decimal("10.00")),
    ]


def test_money_is_never_added_across_currencies(customer, manager):
    # given one order in EUR and one in RUB on the same day
    product = ProductFactory()
    sold_order(
        customer,
        [(product, 1, Decimal("10.00"), Decimal("0"))],
        paid_at=utc(2026, 3, 1, 9),
        currency="EUR",
    )
    sold_order(
        customer,
        [(product, 1, Decimal("700.00"), Decimal("0"))],
        paid_at=utc(2026, 3, 1, 9),
        currency="RUB",
    )

    # when the report is read
    report = report_of(selectors.staff_scope(manager))

    # then each currency has its own section with its own sum
    totals = {
        s.currency: (s.total.revenue, s.total.orders, s.total.average_order)
        for s in report.currencies
    }
    assert totals == {
        "EUR": (Decimal("10.00"), 1, Decimal("10.00")),
        "RUB": (Decimal("700.00"), 1, Decimal("700.00")),
    }


def test_refunded_and_archived_orders_count_as_refunds_or_revenue_and_unpaid_ones_not_at_all(
    customer, manager
):
    # given a paid, a refunded, an archived-after-refund, an archived-after-paid, a
    # cancelled and an unpaid order, and a paid donation
    product = ProductFactory()
    when = utc(2026, 3, 3, 10)

    def order(total: str, **kw: Any) -> None:
        sold_order(customer, [(product, 1, Decimal(total), Decimal("0"))], paid_at=when, **kw)

    order("1.00")
    order("2.00", status="refunded", refunded_at=when)
    order("4.00", status="archived", refunded_at=when)
    order("8.00", status="archived")
    order("16.00", status="cancelled")
    order("32.00", status="awaiting_payment")
    paid_donation(customer, product.creator, Decimal("64.00"), paid_at=when)

    # when the report is read
    total = report_of(selectors.staff_scope(manager)).currencies[0].total

    # then
    assert (total.revenue, total.orders) == (Decimal("9.00"), 2)
    assert (total.refunded, total.refunds) == (Decimal("6.00"), 2)
    assert (total.donated, total.donations) == (Decimal("64.00"), 1)


def test_report_takes_three_queries_whatever_the_rows(shop, manager, customer):
    # given the scopes (the permission and profile lookups done)
    staff = selectors.staff_scope(manager)
    alice = selectors.creator_scope(shop["alice"].user)

    # when the reports are read over the shop's eighty orders, then over a hundred more
    def queries(scope: selectors.Scope) -> int:
        with CaptureQueriesContext(connection) as captured:
            report_of(scope)
        return len(captured.captured_queries)

    before = (queries(staff), queries(alice))
    product = shop["products"][0]
    for minute in range(100):
        sold_order(
            customer,
            [(product, 1, Decimal("1.00"), Decimal("0"))],
            paid_at=utc(2026, 3, 4, 8) + timedelta(minutes=minute),
        )

    # then three queries each (orders, donations, products), before
    # and after
    assert before == (3, 3)
    assert (queries(staff), queries(alice)) == (3, 3)


# --- the pages ------------------------------------------------------------------------------


def test_staff_page_shows_charts_tables_and_the_same_numbers(
    client: Client, shop, manager, settings
):
    # given a shop in Moscow and a signed-in manager reading it from elsewhere
    settings.TIME_ZONE = "Europe/Moscow"
    manager.time_zone = "America/New_York"
    manager.save(update_fields=["time_zone"])
    client.force_login(manager)

    # when they open the report for the ten days
    response = client.get(
        STAFF_REPORT, {"date_from": "2026-03-01", "date_to": "2026-03-10", "grain": "day"}
    )

    # then it shows per currency an accessible chart of revenue and of orders, and a table
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="chart"') == 4
    assert html.count('role="img"') == 4
    assert '<title id="revenue-0-title">' in html and '<desc id="revenue-0-desc">' in html
    assert "<script" not in html.split("</header>", 1)[-1].split("<footer", 1)[0]
    report = report_of(selectors.staff_scope(manager))
    for section in report.currencies:
        assert f'data-currency="{section.currency}"' in html
        for numbers in section.periods:
            assert f'data-start="{numbers.start.isoformat()}"' in html
    assert html.count('data-testid="report-period"') == 2 * DAYS


def test_the_shop_report_is_in_the_shops_days_a_creators_in_their_own(
    client: Client, customer, manager, settings
):
    # given a shop in UTC, a manager in Moscow, and an order paid at 23:30 UTC
    settings.TIME_ZONE = "UTC"
    manager.time_zone = "Europe/Moscow"
    manager.save(update_fields=["time_zone"])
    product = ProductFactory()
    creator = product.creator.user
    creator.time_zone = "Europe/Moscow"
    creator.save(update_fields=["time_zone"])
    paid = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    sold_order(customer, [(product, 1, Decimal("3.00"), Decimal("0"))], paid_at=paid)
    wanted = {"date_from": "2026-03-01", "date_to": "2026-03-02", "grain": "day"}

    # when the manager reads the shop's report and the creator their own
    client.force_login(manager)
    shop_page = client.get(STAFF_REPORT, wanted).content.decode()
    client.force_login(creator)
    creator_page = client.get(CREATOR_REPORT, wanted).content.decode()

    # then the shop counts it on March 1st (UTC), the creator on March 2nd (Moscow)
    assert _orders_on(shop_page) == {"2026-03-01": "1", "2026-03-02": "0"}
    assert _orders_on(creator_page) == {"2026-03-01": "0", "2026-03-02": "1"}


def _orders_on(html: str) -> dict[str, str]:
    import re

    # a period's row: its start, its label, the revenue, then the orders
    rows = re.findall(
        r'data-testid="report-period" data-start="([0-9-]+)"><th[^>]*>.*?</th>'
        r"<td>[^<]*</td><td>([0-9]+)</td>",
        html,
    )
    return dict(rows)


def test_page_defaults_to_the_last_thirty_days_by_day(client: Client, manager, customer):
    # given an order paid today
    product = ProductFactory()
    sold_order(customer, [(product, 1, Decimal("3.00"), Decimal("0"))], paid_at=datetime.now(UTC))
    client.force_login(manager)

    # when the report is opened with no parameters
    response = client.get(STAFF_REPORT)

    # then it covers 30 days, by day, with today's order in it
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="report-period"') == 30
    assert response.context["report"].grain == "day"
    assert response.context["report"].currencies[0].total.orders == 1


def test_csv_holds_the_same_numbers_as_the_page(client: Client, shop):
    # given alice signed in
    client.force_login(shop["alice"].user)
    query = {"date_from": "2026-03-01", "date_to": "2026-03-10", "grain": "day"}

    # when she downloads the CSV of her report
    page = client.get(CREATOR_REPORT, query)
    response = client.get(CREATOR_CSV, query)
    body = b"".join(response.streaming_content).decode("utf-8")

    # then it is UTF-8 with BOM, and row for row the page's periods with plain decimals
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Currency", "Period", "Revenue"]
    expected = [
        [
            section.currency,
            numbers.start.isoformat(),
            f"{numbers.revenue:.2f}",
            str(numbers.orders),
            "" if numbers.average_order is None else f"{numbers.average_order:.2f}",
            str(numbers.refunds),
            f"{numbers.refunded:.2f}",
            str(numbers.donations),
            f"{numbers.donated:.2f}",
        ]
        for section in page.context["report"].currencies
        for numbers in section.periods
    ]
    assert rows[1:] == expected
    assert len(expected) == 2 * DAYS


def test_csv_guards_cells_that_spreadsheets_would_run(customer, manager, client: Client):
    # given an order in a "currency" a spreadsheet would read as a formula
    product = ProductFactory()
    sold_order(
        customer,
        [(product, 1, Decimal("1.00"), Decimal("0"))],
        paid_at=utc(2026, 3, 1, 9),
        currency="=1+",
    )
    client.force_login(manager)

    # when the CSV is downloaded
    response = client.get(STAFF_CSV, {"date_from": "2026-03-01", "date_to": "2026-03-01"})
    rows = list(
        csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff")))
    )

    # then the cell starts with an apostrophe
    assert rows[1][0] == "'=1+"


def test_empty_range_gives_a_page_without_sections_and_a_csv_with_headers_only(
    client: Client, manager
):
    client.force_login(manager)
    query = {"date_from": "2026-03-01", "date_to": "2026-03-10"}

    page = client.get(STAFF_REPORT, query)
    response = client.get(STAFF_CSV, query)

    assert 'data-testid="report-empty"' in page.content.decode()
    rows = list(
        csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff")))
    )
    assert len(rows) == 1


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "date_to", "before the start"),
        (
            {"date_from": "2025-01-01", "date_to": "2026-03-01", "grain": "day"},
            "date_to",
            "at most 366 days",
        ),
        (
            {"date_from": "2020-01-01", "date_to": "2026-03-01", "grain": "week"},
            "date_to",
            "five years",
        ),
        (
            {"date_from": "2020-01-01", "date_to": "2026-03-01", "grain": "month"},
            "date_to",
            "five years",
        ),
        ({"date_from": "0000-00-00"}, "date_from", "valid date"),
        ({"date_from": "0001-01-01"}, "date_from", "between 2000-01-01"),
        ({"date_to": "2026-03-01\x00"}, "date_to", "valid date"),
        ({"date_to": "2026-03-01\n"}, "date_to", "valid date"),
        ({"date_from": "2" * 10_000_000}, "date_from", "valid date"),
        ({"date_from": ""}, "date_from", "required"),
        ({"grain": "year"}, "grain", "valid choice"),
        ({"grain": "day\x00"}, "grain", "valid choice"),
    ],
)
def test_bad_ranges_and_garbage_are_field_errors_not_reports(
    client: Client, manager, query, field, words
):
    # given a manager; when the report is asked for with a bad value
    client.force_login(manager)
    response = client.get(STAFF_REPORT, query)
    csv_response = client.get(STAFF_CSV, query)

    # then the page shows the error at the field and no report; the CSV is a 400
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert words in " ".join(errors[field])
    assert response.context["sections"] is None
    assert f'id="id_{field}_errors"' in response.content.decode()
    assert csv_response.status_code == 400


def test_range_at_the_limit_is_accepted(client: Client, manager):
    client.force_login(manager)
    response = client.get(STAFF_REPORT, {"date_from": "2025-03-02", "date_to": "2026-03-02"})
    assert response.context["form"].errors == {}


# --- access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [STAFF_REPORT, STAFF_CSV, CREATOR_REPORT, CREATOR_CSV])
def test_anonymous_visitors_are_sent_to_log_in(client: Client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("url", [STAFF_REPORT, STAFF_CSV, CREATOR_REPORT, CREATOR_CSV])
def test_customers_are_forbidden_every_report(client: Client, customer, url):
    client.force_login(customer)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [STAFF_REPORT, STAFF_CSV])
def test_creators_are_forbidden_the_staff_report(client: Client, shop, url):
    client.force_login(shop["alice"].user)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [CREATOR_REPORT, CREATOR_CSV])
def test_managers_read_the_staff_report_not_a_creators(client: Client, manager, url):
    client.force_login(manager)
    assert client.get(url).status_code == 403
    assert client.get(STAFF_REPORT).status_code == 200


def test_superuser_reads_the_whole_shop_and_an_empty_creator_report(
    client: Client, shop, superuser
):
    client.force_login(superuser)
    query = {"date_from": "2026-03-01", "date_to": "2026-03-10"}
    staff = client.get(STAFF_REPORT, query)
    own = client.get(CREATOR_REPORT, query)
    assert staff.status_code == 200 and len(staff.context["report"].currencies) == 2
    assert own.status_code == 200 and own.context["report"].currencies == []


def test_orders_and_sales_pages_link_to_the_reports(client: Client, manager, shop):
    client.force_login(manager)
    assert reverse("marketplace:staff_report") in client.get("/shop/staff/orders/").content.decode()
    client.force_login(shop["alice"].user)
    assert (
        reverse("marketplace:creator_report") in client.get("/shop/manage/sales/").content.decode()
    )


def test_report_speaks_russian(client: Client, manager):
    # given a manager who reads Russian
    manager.language = "ru"
    manager.save(update_fields=["language"])
    client.force_login(manager)

    # when they ask for a reversed range
    response = client.get(
        STAFF_REPORT,
        {"date_from": "2026-03-10", "date_to": "2026-03-01"},
        headers={"accept-language": "ru"},
    )

    # then the page and the error are in Russian
    html = response.content.decode()
    assert "Отчёт о продажах" in html  # noqa: RUF001
    assert "Конец раньше начала" in html


@pytest.mark.parametrize("language", ["en", "ru"])
def test_report_amounts_are_written_as_the_shop_writes_prices(language):
    from django.utils import translation

    from lavka.marketplace.rendering import format_price
    from lavka.marketplace.reports.views import money_formatter

    with translation.override(language):
        money = money_formatter()
        for amount in (Decimal("0.00"), Decimal("12.5"), Decimal("1234567.89")):
            assert money(amount, "RUB") == format_price(amount, "RUB")


@pytest.mark.parametrize(
    "zone", ["Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe"]
)
def test_days_follow_the_zone_across_daylight_saving_changes(customer, manager, zone):
    # given orders every 97 minutes across the spring and autumn changes of 2026
    product = ProductFactory()
    local = ZoneInfo(zone)
    paid = []
    for first in (utc(2026, 3, 26), utc(2026, 10, 1), utc(2026, 3, 6), utc(2026, 4, 2)):
        for step in range(90):
            paid.append(first + timedelta(minutes=97 * step))
    for instant in paid:
        sold_order(customer, [(product, 1, Decimal("1.00"), Decimal("0"))], paid_at=instant)

    # when the year is read by day in that zone
    report = selectors.sales_report(
        selectors.staff_scope(manager),
        date_from=date(2026, 1, 1),
        date_to=date(2026, 12, 31),
        grain="day",
        time_zone=zone,
    )

    # then each day holds exactly the orders whose local date it is
    expected: dict[date, int] = {}
    for instant in paid:
        day = instant.astimezone(local).date()
        expected[day] = expected.get(day, 0) + 1
    found = {n.start: n.orders for n in report.currencies[0].periods if n.orders}
    assert found == expected
