"""Large sales reports go to the background: over REPORT_SYNC_MAX_ORDERS sold orders the
page and the CSV are prepared by a worker (core's prepared files) and equal what the
request would have counted; the worker checks again what the requester may see; a
prepared report is its requester's alone."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from lavka.accounts import services as account_services
from lavka.core import prepared_files
from lavka.core.models import PreparedFile
from lavka.core.roles import Role
from lavka.core.work import WorkState
from lavka.marketplace.reports import actions
from lavka.marketplace.tests.factories import ProductFactory
from lavka.marketplace.tests.helpers import approved_creator
from lavka.marketplace.tests.reports_helpers import paid_donation, sold_order

pytestmark = pytest.mark.django_db

STAFF_REPORT = "/shop/staff/reports/"
STAFF_CSV = "/shop/staff/reports/csv/"
CREATOR_REPORT = "/shop/manage/reports/"
CREATOR_CSV = "/shop/manage/reports/csv/"
QUERY = {"date_from": "2026-03-01", "date_to": "2026-03-07", "grain": "day"}


@pytest.fixture
def files_root(settings, tmp_path):
    settings.PREPARED_FILES_ROOT = tmp_path / "files"
    return settings.PREPARED_FILES_ROOT


@pytest.fixture
def shop(customer: Any) -> dict[str, Any]:
    """Two creators with orders over a week in EUR and RUB, some holding lines of both,
    a refund and donations; bob's products are named so a file shows whether they leak."""
    alice, bob = approved_creator(), approved_creator()
    mug = ProductFactory(creator=alice, title_en="Alice mug")
    book = ProductFactory(creator=alice, title_en="Alice book")
    secret = ProductFactory(creator=bob, title_en="Bob secret")
    for index in range(14):
        paid_at = datetime(2026, 3, 1 + index % 7, 9 + index, tzinfo=UTC)
        lines = [(mug if index % 2 else book, 1 + index % 3, Decimal("12.50"), Decimal("0"))]
        if index % 3 == 0:
            lines.append((secret, 2, Decimal("99.00"), Decimal("1.00")))
        sold_order(
            customer,
            lines,
            paid_at=paid_at,
            currency="RUB" if index % 4 == 0 else "EUR",
            status="refunded" if index == 5 else "paid",
            refunded_at=paid_at + timedelta(hours=2) if index == 5 else None,
        )
    paid_donation(customer, alice, Decimal("5.00"), paid_at=datetime(2026, 3, 2, 12, tzinfo=UTC))
    paid_donation(customer, bob, Decimal("7.00"), paid_at=datetime(2026, 3, 3, 12, tzinfo=UTC))
    return {"alice": alice, "bob": bob}


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def _after_form(html: str) -> str:
    """The page from its CSV link on: the report itself, without the form or notes."""
    return html.split('data-testid="report-csv"', 1)[1]


def _prepared_id(response: Any, path: str) -> int:
    assert response.status_code == 302
    prefix = f"{path}?prepared="
    assert response["Location"].startswith(prefix)
    return int(response["Location"][len(prefix) :])


# --- small ranges, as before ------------------------------------------------------------


def test_a_small_range_is_counted_in_the_request(client: Client, shop, manager, files_root):
    # given the default threshold, far above a week's orders
    client.force_login(manager)

    # when the page and the CSV are asked for
    page = client.get(STAFF_REPORT, QUERY)
    download = client.get(STAFF_CSV, QUERY)

    # then both come at once and no job is queued
    assert page.status_code == 200
    assert page.context["report"].currencies
    assert download.status_code == 200
    assert len(_csv(download)) == 1 + 2 * 7
    assert not PreparedFile.objects.exists()


# --- large ranges go to the background ---------------------------------------------------


def test_a_large_range_page_is_prepared_and_shows_its_progress(
    client: Client, shop, manager, settings, files_root
):
    # given a threshold below the week's orders
    settings.REPORT_SYNC_MAX_ORDERS = 3
    client.force_login(manager)

    # when the page is asked for, twice (a reload)
    first = client.get(STAFF_REPORT, QUERY)
    second = client.get(STAFF_REPORT, QUERY)

    # then the user lands on the page of one job, which shows progress, not numbers
    pk = _prepared_id(first, STAFF_REPORT)
    assert _prepared_id(second, STAFF_REPORT) == pk
    prepared = PreparedFile.objects.get()
    assert prepared.kind == actions.REPORT_PAGE
    assert prepared.params == {**QUERY, "audience": "staff", "time_zone": manager.time_zone}
    waiting = client.get(STAFF_REPORT, {"prepared": pk})
    html = waiting.content.decode()
    assert waiting.status_code == 200
    assert 'data-testid="report-preparing"' in html
    assert f'data-report-progress-url="/files/{pk}/progress/"' in html
    assert "report-progress.js" in html
    assert waiting.context["sections"] is None


def test_the_prepared_page_equals_the_one_counted_in_the_request(
    client: Client, shop, manager, settings, files_root
):
    # given the page counted directly, and the same page prepared by a worker
    client.force_login(manager)
    direct = client.get(STAFF_REPORT, QUERY)
    settings.REPORT_SYNC_MAX_ORDERS = 0
    pk = _prepared_id(client.get(STAFF_REPORT, QUERY), STAFF_REPORT)

    assert prepared_files.prepare(pk) == WorkState.DONE

    # when the prepared page is opened
    prepared = client.get(STAFF_REPORT, {"prepared": pk})

    # then it holds the same report, charts and tables
    assert prepared.status_code == 200
    assert prepared.context["report"] == direct.context["report"]
    assert 'data-testid="report-prepared-at"' in prepared.content.decode()
    assert _after_form(prepared.content.decode()) == _after_form(direct.content.decode())


def test_a_large_csv_is_prepared_and_equals_the_one_streamed(
    client: Client, shop, manager, settings, files_root
):
    # given the CSV streamed at once
    client.force_login(manager)
    streamed = _csv(client.get(STAFF_CSV, QUERY))
    settings.REPORT_SYNC_MAX_ORDERS = 0

    # when a large one is asked for
    response = client.get(STAFF_CSV, QUERY)

    # then the user lands on the file's progress page, and the file equals the stream
    prepared = PreparedFile.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/files/{prepared.pk}/"
    assert (prepared.kind, prepared.rows_total) == (actions.REPORT_CSV, 7)
    assert prepared_files.prepare(prepared.pk) == WorkState.DONE
    download = client.get(f"/files/{prepared.pk}/download/")
    assert download["Content-Type"].startswith("text/csv")
    assert "sales-report-2026-03-01-2026-03-07-day.csv" in download["Content-Disposition"]
    assert _csv(download) == streamed


def test_report_jobs_over_the_users_limit_are_refused_with_the_files_under_way(
    client: Client, shop, manager, settings, files_root
):
    settings.REPORT_SYNC_MAX_ORDERS = 0
    settings.PREPARED_FILES_OPEN_PER_USER = 1
    client.force_login(manager)
    first = client.get(STAFF_REPORT, QUERY)

    page_again = client.get(STAFF_REPORT, QUERY)
    csv_too = client.get(STAFF_CSV, QUERY)

    assert page_again["Location"] == first["Location"]  # the same job, not a second one
    assert csv_too.status_code == 429
    assert 'data-testid="busy-file"' in csv_too.content.decode()
    assert PreparedFile.objects.count() == 1


def test_a_creators_prepared_files_hold_only_their_own_sales(
    client: Client, shop, settings, files_root
):
    # given alice's report counted directly
    alice = shop["alice"].user
    client.force_login(alice)
    direct_page = client.get(CREATOR_REPORT, QUERY)
    direct_csv = _csv(client.get(CREATOR_CSV, QUERY))
    settings.REPORT_SYNC_MAX_ORDERS = 0

    # when her page and CSV are prepared by a worker
    pk = _prepared_id(client.get(CREATOR_REPORT, QUERY), CREATOR_REPORT)
    client.get(CREATOR_CSV, QUERY)
    for prepared in PreparedFile.objects.all():
        assert prepared_files.prepare(prepared.pk) == WorkState.DONE

    # then both hold her numbers alone: bob's product, lines and donation are absent
    page = client.get(CREATOR_REPORT, {"prepared": pk})
    assert page.context["report"] == direct_page.context["report"]
    assert "Bob secret" not in page.content.decode()
    titles = {
        product.title
        for section in page.context["report"].currencies
        for product in section.top_by_revenue
    }
    assert titles == {"Alice mug", "Alice book"}
    donated = sum(s.total.donated for s in page.context["report"].currencies)
    assert donated == Decimal("5.00")
    csv_file = PreparedFile.objects.get(kind=actions.REPORT_CSV)
    assert _csv(client.get(f"/files/{csv_file.pk}/download/")) == direct_csv


def test_a_manager_who_lost_the_role_gets_a_failed_job_not_the_numbers(
    client: Client, shop, manager, settings, files_root
):
    # given a report a manager asked for
    settings.REPORT_SYNC_MAX_ORDERS = 0
    client.force_login(manager)
    pk = _prepared_id(client.get(STAFF_REPORT, QUERY), STAFF_REPORT)

    # when they lose the role before a worker takes it
    account_services.set_role(user=manager, role=Role.MANAGER, enabled=False)
    outcome = prepared_files.prepare(pk)

    # then the job fails for good and no file is written
    prepared = PreparedFile.objects.get(pk=pk)
    assert outcome == WorkState.FAILED
    assert prepared.stored_name == ""
    assert not files_root.exists() or not any(files_root.iterdir())


def test_a_manager_who_lost_the_role_no_longer_downloads_what_they_prepared(
    client: Client, shop, manager, settings, files_root
):
    # given a report CSV a manager had prepared while they were one
    settings.REPORT_SYNC_MAX_ORDERS = 0
    client.force_login(manager)
    client.get(STAFF_CSV, QUERY)
    prepared = PreparedFile.objects.get(kind=actions.REPORT_CSV)
    prepared_files.prepare(prepared.pk)
    assert client.get(f"/files/{prepared.pk}/download/").status_code == 200

    # when they lose the role
    account_services.set_role(user=manager, role=Role.MANAGER, enabled=False)

    # then the file is not theirs to download any more
    assert client.get(f"/files/{prepared.pk}/download/").status_code == 404


def test_a_done_job_whose_file_is_not_on_this_server_says_it_failed(
    client: Client, shop, manager, settings, files_root
):
    # given a report page prepared by a worker whose files this web server cannot see
    settings.REPORT_SYNC_MAX_ORDERS = 0
    client.force_login(manager)
    pk = _prepared_id(client.get(STAFF_REPORT, QUERY), STAFF_REPORT)
    prepared_files.prepare(pk)
    for path in files_root.iterdir():
        path.unlink()

    # when the page and its progress are asked for
    page = client.get(STAFF_REPORT, {"prepared": pk}).content.decode()
    progress = client.get(f"/files/{pk}/progress/").json()

    # then both say it failed, and the page does not reload itself forever
    assert 'data-testid="report-failed"' in page and "report-progress.js" not in page
    assert (progress["ready"], progress["failed"], progress["download_url"]) == (False, True, "")


def test_a_failed_job_says_so_on_the_page(client: Client, shop, manager, settings, files_root):
    settings.REPORT_SYNC_MAX_ORDERS = 0
    client.force_login(manager)
    pk = _prepared_id(client.get(STAFF_REPORT, QUERY), STAFF_REPORT)
    PreparedFile.objects.filter(pk=pk).update(state=WorkState.FAILED)

    page = client.get(STAFF_REPORT, {"prepared": pk})

    assert page.status_code == 200
    assert 'data-testid="report-failed"' in page.content.decode()
    assert "report-progress.js" not in page.content.decode()


def test_the_progress_of_a_report_speaks_russian(
    client: Client, shop, manager, settings, files_root
):
    settings.REPORT_SYNC_MAX_ORDERS = 0
    manager.language = "ru"
    manager.save(update_fields=["language"])
    client.force_login(manager)
    pk = _prepared_id(client.get(STAFF_REPORT, QUERY), STAFF_REPORT)

    page = client.get(STAFF_REPORT, {"prepared": pk}, headers={"accept-language": "ru"})

    assert "Отчёт готовится" in page.content.decode()
    assert "считается в фоне" in page.content.decode()


# --- only the requester -----------------------------------------------------------------


def test_another_users_prepared_report_is_not_found(
    client: Client, shop, manager, user_factory, superuser, settings, files_root
):
    # given a page prepared for a manager and one for alice
    settings.REPORT_SYNC_MAX_ORDERS = 0
    client.force_login(manager)
    staff_pk = _prepared_id(client.get(STAFF_REPORT, QUERY), STAFF_REPORT)
    alice = shop["alice"].user
    client.force_login(alice)
    alice_pk = _prepared_id(client.get(CREATOR_REPORT, QUERY), CREATOR_REPORT)
    for pk in (staff_pk, alice_pk):
        prepared_files.prepare(pk)
    other_manager = user_factory(email="boss2@example.com", roles=[Role.MANAGER])

    # then nobody else opens them: another manager, a superuser, another creator
    for someone in (other_manager, superuser):
        client.force_login(someone)
        assert client.get(STAFF_REPORT, {"prepared": staff_pk}).status_code == 404
    client.force_login(superuser)
    assert client.get(CREATOR_REPORT, {"prepared": alice_pk}).status_code == 404
    client.force_login(shop["bob"].user)
    assert client.get(CREATOR_REPORT, {"prepared": alice_pk}).status_code == 404
    # and the requester opens each only under its own audience
    client.force_login(alice)
    assert client.get(CREATOR_REPORT, {"prepared": alice_pk}).status_code == 200


@pytest.mark.parametrize(
    "value", ["", "abc", "-1", "0", "1.5", "99999999999999999999999", "1\x00", "\uff11", "1 "]
)
def test_a_bad_prepared_id_is_not_found(client: Client, manager, value, files_root):
    client.force_login(manager)

    assert client.get(STAFF_REPORT, {"prepared": value}).status_code == 404


def test_a_prepared_csv_is_not_a_page(client: Client, shop, manager, settings, files_root):
    settings.REPORT_SYNC_MAX_ORDERS = 0
    client.force_login(manager)
    client.get(STAFF_CSV, QUERY)
    prepared = PreparedFile.objects.get()

    assert client.get(STAFF_REPORT, {"prepared": prepared.pk}).status_code == 404


def test_bad_range_in_a_large_shop_is_a_field_error_not_a_job(
    client: Client, shop, manager, settings, files_root
):
    settings.REPORT_SYNC_MAX_ORDERS = 0
    client.force_login(manager)

    reversed_page = client.get(STAFF_REPORT, {**QUERY, "date_from": "2026-03-09"})
    too_long_csv = client.get(STAFF_CSV, {**QUERY, "date_from": "2024-01-01"})

    assert reversed_page.status_code == 200
    assert reversed_page.context["form"].errors
    assert too_long_csv.status_code == 400
    assert not PreparedFile.objects.exists()


GOOD = {**QUERY, "audience": "staff", "time_zone": "Europe/Moscow"}


@pytest.mark.parametrize(
    "params",
    [
        {**GOOD, "date_from": "2026-03-08"},  # reversed
        {**GOOD, "date_from": "2024-01-01"},  # too long by day
        {**GOOD, "date_from": "2026-03-01\x00"},
        {**GOOD, "date_from": "x" * 10_000_000},
        {**GOOD, "date_to": 20260307},
        {**GOOD, "grain": "hour"},
        {**GOOD, "time_zone": "Mars/Olympus"},
        {**GOOD, "time_zone": "../../etc/passwd"},
        {**GOOD, "time_zone": ""},
        {**GOOD, "audience": "everyone"},
        {key: value for key, value in GOOD.items() if key != "date_to"},
    ],
)
def test_bad_parameters_are_refused_before_a_job_is_written(manager, params, files_root):
    for kind in (actions.REPORT_PAGE, actions.REPORT_CSV):
        with pytest.raises(ValidationError):
            prepared_files.request_file(user=manager, kind=kind, params=params, filename="r.csv")

    assert not PreparedFile.objects.exists()


def test_a_job_for_a_report_one_may_not_read_is_refused(customer, shop, files_root):
    for audience in ("staff", "creator"):
        with pytest.raises(PermissionDenied):
            prepared_files.request_file(
                user=customer,
                kind=actions.REPORT_PAGE,
                params={**GOOD, "audience": audience},
                filename="r.json",
            )
    with pytest.raises(PermissionDenied):
        prepared_files.request_file(
            user=shop["alice"].user, kind=actions.REPORT_CSV, params=GOOD, filename="r.csv"
        )

    assert not PreparedFile.objects.exists()


# --- a real worker ------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.slow
def test_a_real_worker_prepares_a_large_report_page_and_csv(
    transactional_db, client: Client, customer, tmp_path, settings
):
    # given a shop whose week is over the threshold, and a worker
    from lavka.core.tests.support import purge_queues, start_worker, wait_until

    purge_queues()
    settings.PREPARED_FILES_ROOT = tmp_path / "files"
    alice = approved_creator()
    mug = ProductFactory(creator=alice, title_en="Кружка")
    for day in range(7):
        sold_order(
            customer,
            [(mug, 1 + day, Decimal("3.50"), Decimal("0"))],
            paid_at=datetime(2026, 3, 1 + day, 10, tzinfo=UTC),
        )
    client.force_login(alice.user)
    direct_page = client.get(CREATOR_REPORT, QUERY)
    direct_csv = _csv(client.get(CREATOR_CSV, QUERY))
    settings.REPORT_SYNC_MAX_ORDERS = 5
    worker = start_worker(tmp_path, extra_env={"PREPARED_FILES_ROOT": str(tmp_path / "files")})
    try:
        # when the page and the CSV are asked for
        pk = _prepared_id(client.get(CREATOR_REPORT, QUERY), CREATOR_REPORT)
        assert client.get(CREATOR_CSV, QUERY).status_code == 302
        done = wait_until(
            lambda: set(PreparedFile.objects.values_list("state", flat=True)) == {"done"},
            timeout=120,
            interval=0.3,
        )
        assert done, worker.log_tail()
    finally:
        worker.stop()

    # then the page shows the report and the file downloads, both as counted directly
    progress = client.get(f"/files/{pk}/progress/").json()
    assert progress["ready"] and progress["finished"]
    page = client.get(CREATOR_REPORT, {"prepared": pk})
    assert page.context["report"] == direct_page.context["report"]
    assert page.context["report"].currencies[0].top_by_revenue[0].title == "Кружка"
    csv_file = PreparedFile.objects.get(kind=actions.REPORT_CSV)
    assert _csv(client.get(f"/files/{csv_file.pk}/download/")) == direct_csv
    assert date(2026, 3, 7).isoformat() in {row[1] for row in direct_csv}
