"""Seed 004's user flow in Debian's Chromium, sent by a real worker process.

Sign in, add recipients by hand and by CSV import, write a message, create a daily mailing starting in a couple
of minutes, watch the email arrive, unsubscribe from its link, pause (a due firing then
sends nothing), resume (the next run skips the unsubscribed recipient), complete.

Instead of waiting two minutes, the test moves the mailing's first send to the present
and calls `dispatch.dispatch_due_mailings()` — what the beat entry does every few
seconds; later slots are fired by passing their time as `now`. Each run is prepared and
sent by the worker process, from the broker.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from lavka.accounts.tests.factories import DEFAULT_PASSWORD
from lavka.campaigns import dispatch
from lavka.campaigns.models import Mailing, MailingRun, MailingStatus, RunStatus
from lavka.core.roles import Role
from lavka.core.tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow]

UNSUBSCRIBE_LINK = re.compile(r"https?://[^\s()<>]+/campaigns/unsubscribe/[^\s()<>/]+/")


def make_first_send_due(mailing: Mailing) -> None:
    """As if the ten minutes had passed: the daily schedule starts now."""
    now = timezone.now().replace(microsecond=0)
    Mailing.objects.filter(pk=mailing.pk).update(first_send_at=now, next_send_at=now)


def fire_next_slot(mailing: Mailing) -> list[int]:
    """What the dispatcher does once the mailing's next send time has come."""
    mailing.refresh_from_db()
    return dispatch.dispatch_due_mailings(now=mailing.next_send_at)


def wait_for_run(run_id: int, worker) -> MailingRun:
    finished = wait_until(
        lambda: MailingRun.objects.filter(pk=run_id, status=RunStatus.COMPLETED).exists(),
        timeout=60,  # a worker on a CI machine running two suites at once
    )
    assert finished, worker.log_tail()
    return MailingRun.objects.get(pk=run_id)


def add_recipient(page, email: str, name: str) -> None:
    page.goto("/campaigns/recipients/new/")
    page.fill("input[name=email]", email)
    page.fill("input[name=full_name]", name)
    page.click("[data-testid=recipient-save]")
    page.wait_for_url("**/campaigns/recipients/")


def import_recipients_csv(page, csv_text: str) -> None:
    """Upload a CSV, check the preview, confirm, and watch the job page until the worker
    has imported it (the page polls its progress and reloads with the result)."""
    page.goto("/campaigns/recipients/import/")
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "clients.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}],
    )
    page.click("[data-testid=import-preview]")
    page.wait_for_load_state()
    assert page.locator("[data-testid=count-create]").inner_text() == "1"
    assert page.locator("[data-testid=count-reject]").inner_text() == "1"
    page.click("[data-testid=import-confirm]")
    page.wait_for_url("**/campaigns/recipients/imports/*/")
    page.wait_for_selector("[data-testid=import-job][data-status=finished]", timeout=30_000)
    assert page.locator("[data-testid=count-created]").inner_text() == "1"
    assert page.locator("[data-testid=problems-table] tr[data-line='3']").count() == 1
    page.goto("/campaigns/recipients/")


def click_action(page, action: str) -> None:
    page.click(f"[data-testid=action-{action}]")
    page.wait_for_load_state()


def test_seed_004_flow_schedule_receive_unsubscribe_pause_resume_complete(
    browser_page, celery_worker_process, mail_sink, user_factory
):
    page, worker = browser_page, celery_worker_process
    console_errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    user_factory(
        email="shop@example.com",
        full_name="Shop Owner",
        time_zone="Europe/Berlin",
        roles=[Role.CREATOR, Role.CUSTOMER],
    )

    # sign in through the login page and open the campaigns dashboard
    page.goto("/accounts/login/")
    page.fill("input[name=login]", "shop@example.com")
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/profile/")
    page.click("[data-testid=nav-campaigns]")
    page.wait_for_url("**/campaigns/")

    # clients by hand and from a CSV file (its bad line is rejected, not imported)
    add_recipient(page, "ann@example.net", "Ann")
    import_recipients_csv(page, "email,full_name\nbob@example.net,Bob\nnot-an-email,Nobody\n")
    assert "bob@example.net" in page.content()
    page.goto("/campaigns/messages/new/")
    page.fill("input[name=subject]", "Spring news for {{ name }}")
    page.fill(
        "textarea[name=html_body]",
        '<p>Hello {{ name }}!</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    )
    page.click("[data-testid=message-save]")
    page.wait_for_load_state()

    # a daily mailing starting ten minutes from now, in the owner's zone (counted in UTC,
    # so never a wall time that a DST change skips; ten, so the form still takes it as
    # future on a slow machine)
    page.goto("/campaigns/")
    page.click("[data-testid=dashboard-mailings]")
    page.click("[data-testid=mailing-new]")
    assert "Europe/Berlin" in page.locator("[data-testid=form-zone]").inner_text()
    start = (timezone.now() + timedelta(minutes=10)).astimezone(ZoneInfo("Europe/Berlin"))
    page.fill("input[name=name]", "Spring news")
    page.select_option("select[name=message]", label="Spring news for {{ name }}")
    page.select_option(
        "select[name=recipients]", label=["Ann <ann@example.net>", "Bob <bob@example.net>"]
    )
    page.fill("input[name=first_send_at]", start.strftime("%Y-%m-%dT%H:%M"))
    page.select_option("select[name=periodicity]", "daily")
    page.click("[data-testid=save-and-schedule]")
    page.wait_for_url(re.compile(r".*/campaigns/mailings/\d+/$"))
    assert page.locator("[data-testid=mailing-status]").inner_text() == "Scheduled"
    assert "Scheduled. Next send:" in page.locator(".messages").inner_text()
    assert page.locator("progress#next-send-progress").is_visible()
    clock = page.locator("[data-countdown-clock]")
    clock.filter(has_text=re.compile(r"\d\d:\d\d:\d\d")).wait_for()  # the script runs
    mailing = Mailing.objects.get(name="Spring news")
    assert mailing.next_send_at == start.replace(second=0, microsecond=0)

    # the slot comes; the worker sends; the email arrives
    make_first_send_due(mailing)
    (first_run,) = dispatch.dispatch_due_mailings()
    run = wait_for_run(first_run, worker)
    assert (run.sent, run.skipped) == (2, 0)
    received = mail_sink("ann@example.net")
    assert [m.subject for m in received] == ["Spring news for Ann"]
    page.reload()
    assert page.locator(f'[data-run="{first_run}"][data-status="completed"]').is_visible()

    # unsubscribe from the link in the email: GET only asks, the button unsubscribes
    link = UNSUBSCRIBE_LINK.search(received[0].text()).group(0)
    page.goto(urlsplit(link).path)  # the worker's SITE_URL is not the live server's
    assert page.locator("[data-testid=unsubscribe-confirm]").is_visible()
    page.click("[data-testid=unsubscribe-confirm]")
    page.wait_for_load_state()
    assert "ann@example.net" in page.content()

    # pause: a due firing sends nothing
    page.goto(f"/campaigns/mailings/{mailing.pk}/")
    click_action(page, "pause")
    assert page.locator("[data-testid=mailing-status]").inner_text() == "Paused"
    assert fire_next_slot(mailing) == []
    assert MailingRun.objects.filter(mailing=mailing).count() == 1

    # resume: the next run skips the unsubscribed recipient
    click_action(page, "resume")
    assert "Resumed. Next send:" in page.locator(".messages").inner_text()
    assert page.locator("progress#next-send-progress").is_visible()
    mailing.refresh_from_db()
    assert mailing.next_send_at == MailingRun.objects.get(pk=first_run).scheduled_for + timedelta(
        days=1
    )
    (second_run,) = fire_next_slot(mailing)
    run = wait_for_run(second_run, worker)
    assert (run.sent, run.skipped) == (1, 1)
    assert len(mail_sink("bob@example.net")) == 2
    assert len(mail_sink("ann@example.net")) == 1
    page.goto(f"/campaigns/runs/{second_run}/?status=skipped")
    assert "ann@example.net" in page.locator("[data-testid=delivery-table]").inner_text()
    assert "unsubscribed" in page.locator("[data-testid=delivery-table]").inner_text()

    # complete: final, nothing fires any more
    page.goto(f"/campaigns/mailings/{mailing.pk}/")
    click_action(page, "complete")
    assert page.locator("[data-testid=mailing-status]").inner_text() == "Completed"
    mailing.refresh_from_db()
    assert mailing.status == MailingStatus.COMPLETED and mailing.next_send_at is None
    assert dispatch.dispatch_due_mailings(now=timezone.now() + timedelta(days=7)) == []
    assert console_errors == []  # e.g. nothing refused by the Content-Security-Policy
