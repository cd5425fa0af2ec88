"""The sync page, the run page and what their buttons do: who sees and presses what,
"sync now" started once and refused with the reason, shifts retried only when they wait
for a person, stale runs failed, and a reconnect after a refused token sends the shifts
that waited for it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from lavka.core import work
from lavka.core.roles import Role
from lavka.core.work import WorkState
from lavka.integrations import tasks
from lavka.integrations.models import (
    Connection,
    ConnectionRole,
    ConnectionStatus,
    ShiftSync,
    SyncJob,
    SyncRun,
    SyncRunStatus,
    SyncSchedule,
    SyncTrigger,
)
from lavka.integrations.sync import dispatch, runs, shifts
from lavka.integrations.tests.factories import mapping_of, run_of, shift_sync_of
from lavka.integrations.tests.sync_support import connect_owner, running_systems, sale

pytestmark = pytest.mark.django_db


def schedule_of(owner: Any, job: str = SyncJob.SALES) -> SyncSchedule:
    return SyncSchedule.objects.get(owner=owner, job=job)


def sync_url(mapping: Any) -> str:
    return reverse("integrations:sync", args=[mapping.cash_desk.connection_id])


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_sync_page_shows_mappings_schedules_runs_and_waiting_shifts(client, creator):
    mapping = mapping_of(creator)
    sales = schedule_of(creator)
    run = run_of(sales, shifts_found=3, shifts_booked=2, errors=1, last_error="boom <b>")
    SyncRun.objects.filter(pk=run.pk).update(started_at=run.finished_at - timedelta(seconds=65))
    shift_sync_of(mapping, run=run)
    waiting = shift_sync_of(mapping, state=WorkState.ATTENTION, attempts=8, last_error="Kaput\nNUL")
    client.force_login(creator)

    page = client.get(sync_url(mapping))

    html = page.content.decode()
    assert page.status_code == 200
    assert mapping.trade_point.name in html
    assert mapping.cash_desk.name in html
    assert f'data-run="{run.pk}"' in html
    assert "boom &lt;b&gt;" in html
    assert "1 min 5 s" in html
    assert f'data-testid="retry-{waiting.pk}"' in html
    assert waiting.report_number in html
    assert 'data-testid="retry-all"' in html
    assert 'data-testid="sync-now-sales"' in html
    assert page.context["counts"]["attention"] == 1
    assert page.context["counts"]["done"] == 1
    # the same page through the other connection
    other = client.get(reverse("integrations:sync", args=[mapping.trade_point.connection_id]))
    assert f'data-run="{run.pk}"' in other.content.decode()


def test_the_sync_page_reads_in_a_bounded_number_of_queries(
    client, creator, django_assert_max_num_queries
):
    mapping = mapping_of(creator)
    sales = schedule_of(creator)
    for _ in range(30):
        run_of(sales)
        shift_sync_of(mapping, state=WorkState.ATTENTION)
    client.force_login(creator)
    with django_assert_max_num_queries(25):
        page = client.get(sync_url(mapping))
    assert page.status_code == 200
    assert len(page.context["runs"]) == 20
    assert page.context["runs"].has_next()


def test_a_manager_reads_the_sync_page_without_buttons_and_may_press_none(client, creator, manager):
    mapping = mapping_of(creator)
    schedule = schedule_of(creator)
    waiting = shift_sync_of(mapping, state=WorkState.ATTENTION)
    run = run_of(schedule)
    client.force_login(manager)

    page = client.get(sync_url(mapping))
    run_page = client.get(reverse("integrations:run_detail", args=[run.pk]))
    sync_now = client.post(reverse("integrations:schedule_run", args=[schedule.pk]))
    retry = client.post(reverse("integrations:shift_retry", args=[waiting.pk]))
    retry_all = client.post(
        reverse("integrations:sync_retry_all", args=[mapping.cash_desk.connection_id])
    )
    discard = client.post(reverse("integrations:shift_discard", args=[waiting.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert creator.email in html
    assert "retry-" not in html
    assert "discard-" not in html
    assert "sync-now-" not in html
    assert run_page.status_code == 200
    assert (sync_now.status_code, retry.status_code, retry_all.status_code) == (403, 403, 403)
    assert discard.status_code == 403
    assert SyncRun.objects.count() == 1
    waiting.refresh_from_db()
    assert waiting.state == WorkState.ATTENTION


def test_another_owner_gets_not_found_for_every_id_of_someone_elses_sync(
    client, creator, user_factory
):
    mapping = mapping_of(creator)
    schedule = schedule_of(creator)
    waiting = shift_sync_of(mapping, state=WorkState.ATTENTION)
    run = run_of(schedule)
    other = user_factory(email="other-owner@example.com", roles=[Role.CREATOR])
    mapping_of(other)
    client.force_login(other)
    connection_id = mapping.cash_desk.connection_id

    answers = [
        client.get(reverse("integrations:sync", args=[connection_id])).status_code,
        client.get(reverse("integrations:run_detail", args=[run.pk])).status_code,
        client.get(reverse("integrations:run_progress", args=[run.pk])).status_code,
        client.post(reverse("integrations:schedule_run", args=[schedule.pk])).status_code,
        client.post(reverse("integrations:shift_retry", args=[waiting.pk])).status_code,
        client.post(reverse("integrations:sync_retry_all", args=[connection_id])).status_code,
        client.post(reverse("integrations:shift_discard", args=[waiting.pk])).status_code,
    ]

    assert answers == [404] * 7
    assert SyncRun.objects.filter(schedule=schedule).count() == 1
    waiting.refresh_from_db()
    assert waiting.state == WorkState.ATTENTION


@pytest.mark.parametrize(
    "path",
    [
        "/bookkeeping/connections/0/sync/",
        "/bookkeeping/connections/-1/sync/",
        "/bookkeeping/connections/99999999999999999999/sync/",
        "/bookkeeping/runs/9223372036854775808/",
        "/bookkeeping/runs/1%0A/progress/",
        "/bookkeeping/runs/1%00/",
        "/bookkeeping/runs/abc/",
    ],
)
def test_hostile_ids_are_not_found(client, creator, path):
    mapping_of(creator)
    client.force_login(creator)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/bookkeeping/schedules/0/run/",
        "/bookkeeping/schedules/99999999999999999999/run/",
        "/bookkeeping/shifts/-5/retry/",
        "/bookkeeping/shifts/1%0A/retry/",
        "/bookkeeping/connections/9223372036854775808/sync/retry-all/",
    ],
)
def test_hostile_ids_posted_are_not_found(client, creator, path):
    mapping_of(creator)
    client.force_login(creator)
    assert client.post(path).status_code == 404
    assert SyncRun.objects.count() == 0


def test_anonymous_visitors_are_sent_to_log_in(client, creator):
    mapping = mapping_of(creator)
    run = run_of(schedule_of(creator))
    for response in (
        client.get(sync_url(mapping)),
        client.get(reverse("integrations:run_progress", args=[run.pk])),
        client.post(reverse("integrations:schedule_run", args=[run.schedule_id])),
    ):
        assert response.status_code == 302, response.content.decode()[-3000:]
        assert "/accounts/login/" in response["Location"]
    assert SyncRun.objects.count() == 1


def test_sync_now_starts_one_run_and_a_second_press_shows_it(client, creator):
    mapping_of(creator)
    schedule = schedule_of(creator)
    client.force_login(creator)
    url = reverse("integrations:schedule_run", args=[schedule.pk])

    first = client.post(url)
    second = client.post(url, follow=True)

    (run,) = SyncRun.objects.filter(schedule=schedule)
    assert run.trigger == SyncTrigger.MANUAL
    assert run.status == SyncRunStatus.RUNNING
    assert first["Location"] == reverse("integrations:run_detail", args=[run.pk])
    assert second.redirect_chain[-1][0] == reverse("integrations:run_detail", args=[run.pk])
    assert "already under way" in " ".join(messages_of(second))
    page = client.get(reverse("integrations:run_detail", args=[run.pk])).content.decode()
    assert reverse("integrations:run_progress", args=[run.pk]) in page
    assert "sync-run-progress.js" in page
    assert 'http-equiv="refresh"' in page  # the no-script fallback


def test_sync_now_is_refused_on_a_paused_schedule(client, creator):
    mapping_of(creator)
    schedule = schedule_of(creator, SyncJob.GOODS)
    SyncSchedule.objects.filter(pk=schedule.pk).update(paused_at=timezone.now())
    client.force_login(creator)

    response = client.post(reverse("integrations:schedule_run", args=[schedule.pk]), follow=True)

    assert "paused" in " ".join(messages_of(response))
    assert SyncRun.objects.count() == 0


def test_sync_now_is_refused_with_the_reason_when_a_token_was_refused(client, creator):
    mapping = mapping_of(creator)
    Connection.objects.filter(pk=mapping.cash_desk.connection_id).update(
        status=ConnectionStatus.REVOKED, status_reason="MoeDelo refused the token (401)."
    )
    client.force_login(creator)

    response = client.post(
        reverse("integrations:schedule_run", args=[schedule_of(creator).pk]), follow=True
    )

    said = " ".join(messages_of(response))
    assert "MoeDelo refused the token (401)." in said
    assert "connect it again" in said
    assert SyncRun.objects.count() == 0


def test_a_run_left_running_by_a_dead_worker_is_failed_and_sync_now_works_again(client, creator):
    mapping_of(creator)
    SyncSchedule.objects.update(next_run_at=timezone.now() + timedelta(hours=1))  # none due
    schedule = schedule_of(creator)
    long_ago = timezone.now() - timedelta(seconds=dispatch.RUN_TIME_LIMIT_SECONDS + 400)
    stale = run_of(schedule, status=SyncRunStatus.RUNNING, finished_at=None)
    SyncRun.objects.filter(pk=stale.pk).update(started_at=long_ago)
    recent = run_of(schedule, status=SyncRunStatus.RUNNING, finished_at=None)
    assert dispatch.run_under_way(schedule) == recent

    tasks.dispatch_due_syncs()  # the beat entry's task, run here in the test's process

    stale.refresh_from_db()
    recent.refresh_from_db()
    assert stale.status == SyncRunStatus.FAILED
    assert stale.last_error == dispatch.STALE_RUN_ERROR
    assert stale.finished_at is not None
    assert recent.status == SyncRunStatus.RUNNING  # within the time limit: left alone
    assert runs.execute_run(run_id=stale.pk) == "skipped"  # a late redelivery does nothing

    SyncRun.objects.filter(pk=recent.pk).update(started_at=long_ago)
    client.force_login(creator)
    client.post(reverse("integrations:schedule_run", args=[schedule.pk]))
    assert SyncRun.objects.filter(schedule=schedule, status=SyncRunStatus.RUNNING).count() == 1
    recent.refresh_from_db()
    assert recent.status == SyncRunStatus.FAILED  # failed by "sync now" itself


def test_a_shift_not_waiting_is_not_queued_again(client, creator):
    mapping = mapping_of(creator)
    booked = shift_sync_of(mapping)
    sending = shift_sync_of(mapping, state=WorkState.PENDING, attempts=2)
    client.force_login(creator)

    for shift in (booked, sending):
        response = client.post(reverse("integrations:shift_retry", args=[shift.pk]), follow=True)
        assert "not waiting for a retry" in " ".join(messages_of(response))

    booked.refresh_from_db()
    sending.refresh_from_db()
    assert booked.state == WorkState.DONE
    assert (sending.state, sending.attempts) == (WorkState.PENDING, 2)


def test_a_waiting_shift_is_retried_once_and_retry_all_takes_the_rest(client, creator):
    mapping = mapping_of(creator)
    first = shift_sync_of(mapping, state=WorkState.ATTENTION, attempts=8, last_error="x")
    others = [shift_sync_of(mapping, state=WorkState.ATTENTION, attempts=1) for _ in range(2)]
    client.force_login(creator)
    url = reverse("integrations:shift_retry", args=[first.pk])

    client.post(url)
    again = client.post(url, follow=True)

    first.refresh_from_db()
    assert (first.state, first.attempts) == (WorkState.PENDING, 0)
    assert "not waiting for a retry" in " ".join(messages_of(again))

    response = client.post(
        reverse("integrations:sync_retry_all", args=[mapping.cash_desk.connection_id]),
        follow=True,
    )
    assert "2 shifts are being sent again." in messages_of(response)
    assert not ShiftSync.objects.filter(state=WorkState.ATTENTION).exists()
    assert {row.attempts for row in ShiftSync.objects.filter(pk__in=[o.pk for o in others])} == {0}
    nothing = client.post(
        reverse("integrations:sync_retry_all", args=[mapping.cash_desk.connection_id]),
        follow=True,
    )
    assert "No shift is waiting for a retry." in messages_of(nothing)


def test_run_progress_counts_the_runs_shifts_and_says_when_it_is_over(client, creator):
    mapping = mapping_of(creator)
    run = run_of(schedule_of(creator), status=SyncRunStatus.DONE, shifts_found=3, shifts_booked=1)
    shift_sync_of(mapping, run=run)
    pending = shift_sync_of(mapping, run=run, state=WorkState.PENDING)
    shift_sync_of(mapping, run=run, state=WorkState.ATTENTION)
    client.force_login(creator)
    url = reverse("integrations:run_progress", args=[run.pk])

    during = client.get(url)
    ShiftSync.objects.filter(pk=pending.pk).update(state=WorkState.DONE)
    after = client.get(url).json()

    assert during["Cache-Control"] == "no-store"
    progress = during.json()
    assert (progress["shifts_found"], progress["shifts_booked"]) == (3, 1)
    assert (progress["shifts_pending"], progress["shifts_done"], progress["shifts_waiting"]) == (
        1,
        1,
        1,
    )
    assert progress["finished"] is False
    assert after["finished"] is True
    page = client.get(reverse("integrations:run_detail", args=[run.pk])).content.decode()
    assert "sync-run-progress.js" not in page
    assert page.count("data-shift=") == 3


def test_run_progress_is_polled_less_often_while_its_shifts_only_wait_out_a_backoff(
    client, creator
):
    from datetime import timedelta

    from django.utils import timezone

    mapping = mapping_of(creator)
    schedule = schedule_of(creator)
    running = run_of(schedule, status=SyncRunStatus.RUNNING, finished_at=None)
    run = run_of(schedule)
    later = shift_sync_of(
        mapping,
        run=run,
        state=WorkState.PENDING,
        not_before=timezone.now() + timedelta(hours=1),
    )
    client.force_login(creator)

    def poll(of):
        return client.get(reverse("integrations:run_progress", args=[of.pk])).json()

    assert poll(running)["poll_seconds"] == 1  # still listing
    waiting = poll(run)
    assert (waiting["finished"], waiting["poll_seconds"]) == (False, 10)
    ShiftSync.objects.filter(pk=later.pk).update(not_before=None)
    assert poll(run)["poll_seconds"] == 1  # due now: being sent
    ShiftSync.objects.filter(pk=later.pk).update(state=WorkState.CLAIMED)
    assert poll(run)["poll_seconds"] == 1


def test_reconnecting_after_a_refused_token_sends_the_shifts_that_waited(
    client, creator, settings, django_capture_on_commit_callbacks
):
    with running_systems() as systems:
        settings.LAVKA_MOEDELO_URL = systems.moedelo.url
        connect_owner(creator, systems)
        firm = systems.accounting().account()  # as connecting would have recorded it
        Connection.objects.filter(role=ConnectionRole.ACCOUNTING).update(
            account_external_id=firm.external_id, account_name=firm.name
        )
        runs.sync_goods(owner_id=creator.pk)
        systems.close_shift([sale(systems.good_ids[0])])
        runs.find_shifts(owner_id=creator.pk)
        systems.moedelo.set_revoked(systems.md_token, True)
        row = ShiftSync.objects.get()
        assert shifts.sync_shift(shift_sync_id=row.pk) == WorkState.ATTENTION
        books = Connection.objects.get(owner=creator, role=ConnectionRole.ACCOUNTING)
        assert books.status == ConnectionStatus.REVOKED
        client.force_login(creator)
        page = client.get(reverse("integrations:sync", args=[books.pk])).content.decode()
        assert f'data-testid="retry-{row.pk}"' in page
        assert "RejectedCredentials" in page

        systems.moedelo.set_revoked(systems.md_token, False)  # the owner's token works again
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("integrations:connect_accounting"),
                {"system": "moedelo", "token": systems.md_token},
            )
        assert response.status_code == 302, response.content.decode()[-3000:]

        row.refresh_from_db()
        assert (row.state, row.attempts) == (WorkState.PENDING, 0)
        assert shifts.sync_shift(shift_sync_id=row.pk) == WorkState.DONE
        assert len(systems.reports()) == 1


@pytest.mark.django_db(transaction=True)
def test_two_presses_of_sync_now_at_once_start_one_run(creator):
    from lavka.integrations import actions
    from lavka.integrations.tests.test_sync_concurrency import in_threads

    mapping_of(creator)
    schedule = schedule_of(creator, SyncJob.GOODS)

    def press() -> Any:
        return actions.RunSyncNow(creator, schedule=schedule).execute()

    results = in_threads(press, press, press)

    started = [r for r in results if isinstance(r, SyncRun)]
    refused = [r for r in results if isinstance(r, actions.AlreadyRunning)]
    assert len(started) == 1, results
    assert len(refused) == 2, results
    assert {r.run.pk for r in refused} == {started[0].pk}
    assert SyncRun.objects.filter(schedule=schedule).count() == 1


def test_the_overview_and_the_connection_page_link_to_the_sync_page(client, creator):
    mapping = mapping_of(creator)
    client.force_login(creator)
    url = sync_url(mapping)

    overview = client.get(reverse("integrations:overview")).content.decode()
    detail = client.get(
        reverse("integrations:connection_detail", args=[mapping.cash_desk.connection_id])
    ).content.decode()

    assert f'href="{url}"' in overview
    assert f'href="{url}"' in detail


def test_a_shift_given_up_by_the_kernel_waits_for_its_owner_who_can_retry_it(client, creator):
    """A shift whose worker died on every attempt is given up when its last lease runs
    out: it must wait for a person like every shift's dead letter (the sync page lists,
    retries and discards only those), and its run counts the error."""
    mapping = mapping_of(creator)
    run = run_of(schedule_of(creator), status=SyncRunStatus.RUNNING, finished_at=None)
    lost = shift_sync_of(
        mapping,
        run=run,
        state=WorkState.CLAIMED,
        attempts=ShiftSync.max_attempts - 1,
        lease_owner="dead-worker",
        started_by="dead-worker",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )

    assert shifts.sync_shift(shift_sync_id=lost.pk) == "skipped"

    lost.refresh_from_db()
    run.refresh_from_db()
    assert lost.state == WorkState.ATTENTION
    assert lost.last_error == work.GIVEN_UP
    assert run.errors == 1 and lost.report_number in run.last_error
    client.force_login(creator)
    assert f'data-testid="retry-{lost.pk}"' in client.get(sync_url(mapping)).content.decode()
    client.post(reverse("integrations:shift_retry", args=[lost.pk]))
    lost.refresh_from_db()
    assert (lost.state, lost.attempts) == (WorkState.PENDING, 0)
