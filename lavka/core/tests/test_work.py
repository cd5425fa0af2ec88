"""The durable work rows of lavka/core/work.py, on a test-only model (work_app.Chore).

Runs on SQLite and on PostgreSQL; the tests that need concurrent transactions (SKIP
LOCKED) run only on PostgreSQL.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from lavka.core import sweeping, work
from lavka.core.tests.work_app.models import Chore, Errand
from lavka.core.work import WorkState

pytestmark = pytest.mark.django_db

NEEDS_POSTGRESQL = (
    "needs concurrent transactions: SQLite serialises writers, so SKIP LOCKED is only "
    "shown on PostgreSQL (DATABASE_URL=postgres://…)"
)


def make(count: int = 1, **fields) -> list[Chore]:
    return Chore.objects.bulk_create(
        [Chore(title=f"chore {index}", **fields) for index in range(count)]
    )


def state_of(chore: Chore) -> str:
    chore.refresh_from_db()
    return chore.state


# --- claiming ----------------------------------------------------------------------------


def test_two_claimers_never_get_the_same_rows():
    ids = [chore.pk for chore in make(10)]

    first = work.claim(Chore.objects.all(), limit=4)
    second = work.claim(Chore.objects.all(), limit=4)
    rest = work.claim(Chore.objects.all())
    nothing = work.claim(Chore.objects.all())

    assert first.ids == ids[:4]
    assert second.ids == ids[4:8]
    assert rest.ids == ids[8:]
    assert not nothing
    assert len({first.token, second.token, rest.token}) == 3
    assert list(Chore.objects.filter(lease_owner=second.token).values_list("pk", flat=True)) == (
        second.ids
    )
    assert set(Chore.objects.values_list("state", flat=True)) == {WorkState.CLAIMED}


def test_a_claim_takes_only_rows_of_its_queryset():
    wanted, other = make(2)

    taken = work.claim(Chore.objects.filter(pk=wanted.pk))

    assert taken.ids == [wanted.pk]
    assert state_of(other) == WorkState.PENDING


def test_a_row_whose_lease_ran_out_is_claimable_again():
    (chore,) = make(1)
    start = timezone.now()

    first = work.claim(Chore.objects.all(), lease=timedelta(seconds=60), now=start)
    during = work.claim(Chore.objects.all(), now=start + timedelta(seconds=59))
    after = work.claim(Chore.objects.all(), now=start + timedelta(seconds=61))

    assert first.ids == [chore.pk]
    assert not during
    assert after.ids == [chore.pk]
    chore.refresh_from_db()
    assert chore.lease_owner == after.token
    assert chore.lease_expires_at == start + timedelta(seconds=61 + Chore.lease_seconds)


def test_a_redelivered_task_takes_over_the_lease_of_its_dead_worker():
    (chore,) = make()
    dead = work.claim(Chore.objects.all(), lease=timedelta(minutes=10))

    duplicate = work.claim_one(Chore.objects.all())
    taken = work.claim_one(Chore.objects.all(), take_over=True)

    assert dead and duplicate is None
    assert taken is not None and taken.pk == chore.pk
    assert taken.lease_owner != dead.token


def test_a_lease_taken_over_counts_the_attempt_its_worker_never_finished():
    (chore,) = make()
    start = timezone.now()
    work.claim(Chore.objects.all(), now=start)

    work.claim(Chore.objects.all(), now=start + timedelta(seconds=61))
    chore.refresh_from_db()
    assert chore.attempts == 1
    assert work.claim_one(Chore.objects.all(), take_over=True) is not None
    chore.refresh_from_db()
    assert chore.attempts == 2


def test_rows_a_batch_claimed_but_never_began_cost_no_attempt_when_taken_over():
    poison, unreached = make(2, attempts=Chore.max_attempts - 1)
    start = timezone.now()
    batch = work.claim(Chore.objects.all(), now=start, started=False)
    assert work.begin(Chore, poison.pk, lease_owner=batch.token)
    # ... and the worker dies while working on `poison`

    later = start + timedelta(seconds=Chore.lease_seconds + 1)
    taken = work.claim(Chore.objects.all(), now=later)

    assert taken.ids == [unreached.pk]
    assert state_of(poison) == WorkState.FAILED
    unreached.refresh_from_db()
    assert unreached.attempts == Chore.max_attempts - 1


def test_begin_refuses_a_row_whose_lease_another_worker_took():
    (chore,) = make()
    start = timezone.now()
    first = work.claim(Chore.objects.all(), now=start, started=False)
    work.claim(Chore.objects.all(), now=start + timedelta(seconds=Chore.lease_seconds + 1))

    assert not work.begin(Chore, chore.pk, lease_owner=first.token)


def test_a_row_that_stops_every_worker_is_given_up_after_its_last_attempt(caplog):
    """A poison row (its worker dies on it every time) fails like one whose every
    attempt raised, and the model's hook brings the app's fields in line."""
    chore, other = make(2)
    at = timezone.now()
    for _ in range(Chore.max_attempts):
        at += timedelta(seconds=Chore.lease_seconds + 1)
        work.claim(Chore.objects.filter(pk=chore.pk), now=at)
    chore.refresh_from_db()
    assert (chore.state, chore.attempts) == (WorkState.CLAIMED, Chore.max_attempts - 1)

    at += timedelta(seconds=Chore.lease_seconds + 1)
    taken = work.claim(Chore.objects.all(), now=at)

    chore.refresh_from_db()
    assert taken.ids == [other.pk]
    assert chore.state == WorkState.FAILED
    assert chore.attempts == Chore.max_attempts
    assert chore.last_error.startswith("Given up: the worker working on it stopped")
    assert chore.title == "given up"  # the model's after_given_up hook ran
    assert chore.lease_owner == ""
    assert "given up" in caplog.text.lower()
    assert work.claim_one(Chore.objects.filter(pk=chore.pk), take_over=True) is None


def test_a_row_on_its_last_attempt_is_given_up_only_once_its_holder_is_gone():
    (chore,) = make(attempts=Chore.max_attempts - 1)
    work.claim(Chore.objects.all())

    assert work.give_up_lost_too_often(Chore.objects.all()) == []  # its lease still runs
    assert state_of(chore) == WorkState.CLAIMED
    assert work.give_up_lost_too_often(Chore.objects.all(), take_over=True) == [chore.pk]
    assert state_of(chore) == WorkState.FAILED
    assert work.give_up_lost_too_often(Chore.objects.all(), take_over=True) == []


def test_a_row_whose_holder_renews_its_lease_meanwhile_is_not_given_up(monkeypatch):
    """Between reading a worn-out row and failing it, its holder (slow, not dead) may
    renew the lease it had let run out: the row is then its holder's again."""
    (chore,) = make(attempts=Chore.max_attempts - 1)
    start = timezone.now()
    holder = work.claim(Chore.objects.all(), now=start)
    later = start + timedelta(seconds=Chore.lease_seconds + 1)
    fields = work.failed_fields

    def renewed_meanwhile(**kwargs):
        Chore.objects.filter(pk=chore.pk, lease_owner=holder.token).update(
            lease_expires_at=later + timedelta(seconds=Chore.lease_seconds)
        )
        return fields(**kwargs)

    monkeypatch.setattr(work, "failed_fields", renewed_meanwhile)

    assert work.give_up_lost_too_often(Chore.objects.all(), now=later) == []
    chore.refresh_from_db()
    assert (chore.state, chore.lease_owner) == (WorkState.CLAIMED, holder.token)


def test_a_pending_row_on_its_last_attempt_is_still_tried():
    (chore,) = make(attempts=Chore.max_attempts - 1)

    assert work.claim(Chore.objects.all()).ids == [chore.pk]
    chore.refresh_from_db()
    assert chore.attempts == Chore.max_attempts - 1


def test_a_done_row_is_never_taken_over():
    make(state=WorkState.DONE)

    assert work.claim_one(Chore.objects.all(), take_over=True) is None


def test_a_row_due_later_is_not_claimable_before_its_time():
    now = timezone.now()
    (chore,) = make(1, not_before=now + timedelta(minutes=5))

    early = work.claim(Chore.objects.all(), now=now)
    on_time = work.claim(Chore.objects.all(), now=now + timedelta(minutes=5))

    assert not early
    assert on_time.ids == [chore.pk]


@pytest.mark.parametrize("state", [WorkState.DONE, WorkState.FAILED, WorkState.ATTENTION])
def test_finished_and_waiting_rows_are_never_claimed(state):
    make(3, state=state)

    assert not work.claim(Chore.objects.all())


def test_a_claim_of_no_rows_takes_nothing():
    make(3)

    assert not work.claim(Chore.objects.all(), limit=0)
    assert set(Chore.objects.values_list("state", flat=True)) == {WorkState.PENDING}


def test_claim_one_returns_the_claimed_row_then_nothing():
    (chore,) = make(1)

    taken = work.claim_one(Chore.objects.filter(pk=chore.pk))
    again = work.claim_one(Chore.objects.filter(pk=chore.pk))

    assert taken is not None
    assert taken.pk == chore.pk
    assert taken.state == WorkState.CLAIMED
    assert taken.lease_owner
    assert again is None


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_claimer_skips_rows_another_holds_instead_of_waiting():
    if connection.vendor != "postgresql":
        pytest.skip(NEEDS_POSTGRESQL)
    ids = [chore.pk for chore in make(10)]
    held, finish = threading.Event(), threading.Event()
    first: list[int] = []

    def hold_a_claim_open() -> None:
        try:
            with transaction.atomic():
                first.extend(work.claim(Chore.objects.all(), limit=4).ids)
                held.set()
                finish.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_a_claim_open)
    holder.start()
    try:
        assert held.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                # waiting for the holder's locks would be the bug: fail fast instead
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            second = work.claim(Chore.objects.all(), limit=4).ids
    finally:
        finish.set()
        holder.join()

    assert first == ids[:4]
    assert second == ids[4:8]


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_concurrent_claimers_share_the_rows_without_overlap():
    if connection.vendor != "postgresql":
        pytest.skip(NEEDS_POSTGRESQL)
    ids = [chore.pk for chore in make(60)]
    start = threading.Barrier(4)
    taken: list[list[int]] = [[] for _ in range(4)]

    def claim_until_empty(mine: list[int]) -> None:
        try:
            start.wait(10)
            while batch := work.claim(Chore.objects.all(), limit=3).ids:
                mine.extend(batch)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim_until_empty, args=(mine,)) for mine in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    everything = [pk for mine in taken for pk in mine]
    assert sorted(everything) == ids
    assert len(set(everything)) == len(ids)


# --- backoff and Retry-After --------------------------------------------------------------


def test_backoff_grows_from_the_base_and_stops_at_the_cap(monkeypatch):
    monkeypatch.setattr(work.random, "uniform", lambda low, high: 1.0)

    delays = [work.backoff(n, base_seconds=30, cap_seconds=600).total_seconds() for n in range(7)]

    assert delays == [30, 30, 60, 120, 240, 480, 600]


def test_backoff_is_bounded_even_after_very_many_attempts():
    for attempts in (10, 100, 10_000):
        delay = work.backoff(attempts, base_seconds=30, cap_seconds=3600)
        assert timedelta(0) < delay <= timedelta(seconds=3600)


def test_backoff_jitter_stays_within_twenty_percent():
    delays = {
        work.backoff(3, base_seconds=10, cap_seconds=3600).total_seconds() for _ in range(200)
    }

    assert all(32 <= delay <= 48 for delay in delays)
    assert len(delays) > 1


def test_backoff_honours_a_longer_retry_after_up_to_a_day():
    longer = work.backoff(1, base_seconds=30, retry_after=timedelta(seconds=900))
    shorter = work.backoff(3, base_seconds=30, retry_after=timedelta(seconds=1))
    huge = work.backoff(1, base_seconds=30, retry_after=timedelta(days=30))

    assert longer == timedelta(seconds=900)
    assert timedelta(seconds=96) <= shorter <= timedelta(seconds=144)
    assert huge == timedelta(days=1)


def test_a_retry_after_header_becomes_the_delay_a_failure_records():
    # the header is read by lavka.core.http.retry_after_seconds (tested there)
    assert work.retry_after_delay("120") == timedelta(seconds=120)
    assert work.retry_after_delay("soon") is None
    assert work.retry_after_delay(None) is None


# --- outcomes ------------------------------------------------------------------------------


def claimed(**fields) -> Chore:
    (chore,) = make(1, **fields)
    taken = work.claim_one(Chore.objects.filter(pk=chore.pk))
    assert taken is not None
    return taken


def test_a_failed_attempt_is_retried_later_with_one_more_attempt():
    chore = claimed()
    before = timezone.now()

    state = work.record_failure(chore, error="SMTP 451 try later")

    chore.refresh_from_db()
    assert state == chore.state == WorkState.PENDING
    assert chore.attempts == 1
    assert chore.last_error == "SMTP 451 try later"
    assert chore.not_before >= before + timedelta(seconds=Chore.retry_base_seconds * 0.8)
    assert (chore.lease_owner, chore.lease_expires_at, chore.queued_at) == ("", None, None)


def test_a_retry_waits_as_long_as_the_server_asked():
    chore = claimed()
    before = timezone.now()

    work.record_failure(chore, error="429", retry_after=timedelta(seconds=500))

    chore.refresh_from_db()
    assert chore.not_before >= before + timedelta(seconds=500)


def test_the_last_attempt_fails_for_good():
    chore = claimed(attempts=Chore.max_attempts - 1)

    state = work.record_failure(chore, error="still down")

    chore.refresh_from_db()
    assert state == chore.state == WorkState.FAILED
    assert chore.attempts == Chore.max_attempts
    assert chore.not_before is None


def test_a_permanent_error_fails_at_once():
    chore = claimed()

    assert work.record_failure(chore, error="550 no such user", permanent=True) == "failed"
    assert state_of(chore) == WorkState.FAILED


def test_an_error_a_person_must_fix_waits_for_attention():
    chore = claimed()

    assert work.record_failure(chore, error="token revoked", needs_attention=True) == "attention"
    assert state_of(chore) == WorkState.ATTENTION


def test_complete_marks_the_row_done_and_releases_it():
    chore = claimed()

    assert work.complete(chore)

    chore.refresh_from_db()
    assert (chore.state, chore.lease_owner, chore.lease_expires_at) == (WorkState.DONE, "", None)


def test_a_worker_that_lost_its_lease_cannot_overwrite_the_new_owners_outcome():
    (chore,) = make(1)
    start = timezone.now()
    slow = work.claim_one(Chore.objects.all(), now=start - timedelta(minutes=5))
    fast = work.claim_one(Chore.objects.all(), now=start)
    assert slow is not None and fast is not None

    assert work.complete(fast)
    assert work.record_failure(slow, error="late and wrong") == WorkState.DONE
    assert not work.complete(slow)

    chore.refresh_from_db()
    # The slow worker's attempt counts: its lease was taken over.
    assert (chore.state, chore.attempts, chore.last_error) == (WorkState.DONE, 1, "")


def test_release_gives_rows_back_without_counting_an_attempt():
    chore = claimed()
    later = timezone.now() + timedelta(seconds=30)

    work.release(Chore.objects.filter(pk=chore.pk), not_before=later)

    chore.refresh_from_db()
    assert (chore.state, chore.attempts, chore.not_before) == (WorkState.PENDING, 0, later)


def test_an_attempt_that_ends_well_leaves_the_row_to_its_caller():
    chore = claimed()

    with work.attempt(chore, what="chore") as attempt:
        Chore.objects.filter(pk=chore.pk).update(title="swept")

    assert attempt.succeeded and not attempt.failed and not attempt.lost
    chore.refresh_from_db()
    assert (chore.state, chore.title, chore.attempts) == (WorkState.CLAIMED, "swept", 0)


def test_an_error_in_an_attempt_is_recorded_on_the_row_and_not_raised():
    chore = claimed()

    with work.attempt(chore, what="chore") as attempt:
        raise ValueError("no broom\nin the cupboard")

    assert attempt.failed and not attempt.succeeded
    chore.refresh_from_db()
    assert (chore.state, chore.attempts) == (WorkState.PENDING, 1)
    assert chore.last_error == "ValueError: no broom\nin the cupboard"
    assert chore.not_before is not None and chore.lease_owner == ""


def test_an_error_the_caller_handles_inside_the_attempt_is_its_own():
    chore = claimed()

    with work.attempt(chore, what="chore") as attempt:
        try:
            raise LookupError("550 refused")
        except LookupError as error:
            work.record_failure(chore, error=str(error), permanent=True)

    assert attempt.succeeded  # nothing reached the attempt; the caller decided
    assert state_of(chore) == WorkState.FAILED


def test_a_transient_database_error_gives_the_row_back_and_propagates():
    chore = claimed()

    with pytest.raises(OperationalError), work.attempt(chore, what="chore"):
        raise OperationalError("database is locked")

    chore.refresh_from_db()
    assert (chore.state, chore.attempts, chore.last_error) == (WorkState.PENDING, 0, "")
    assert (chore.lease_owner, chore.not_before) == ("", None)


def test_a_transient_error_of_a_worker_whose_lease_was_taken_leaves_the_new_owner_alone():
    (chore,) = make(1)
    start = timezone.now()
    slow = work.claim_one(Chore.objects.all(), now=start - timedelta(minutes=5))
    fast = work.claim_one(Chore.objects.all(), now=start)
    assert slow is not None and fast is not None

    with pytest.raises(OperationalError), work.attempt(slow, what="chore"):
        raise OperationalError("server closed the connection")

    chore.refresh_from_db()
    assert (chore.state, chore.lease_owner) == (WorkState.CLAIMED, fast.lease_owner)


@pytest.mark.django_db(transaction=True)
def test_a_lost_lease_ends_the_attempt_quietly_and_undoes_its_writes():
    (chore,) = make(1)
    start = timezone.now()
    slow = work.claim_one(Chore.objects.all(), now=start - timedelta(minutes=5))
    fast = work.claim_one(Chore.objects.all(), now=start)
    assert slow is not None and fast is not None

    with work.attempt(slow, what="chore") as attempt, transaction.atomic():
        Chore.objects.filter(pk=chore.pk).update(title="written by the slow worker")
        if not work.complete(slow):
            raise work.LeaseLost

    assert attempt.lost and not attempt.failed and not attempt.succeeded
    chore.refresh_from_db()
    assert (chore.title, chore.state, chore.attempts) == ("chore 0", WorkState.CLAIMED, 1)
    assert chore.lease_owner == fast.lease_owner


@pytest.mark.django_db(transaction=True)
def test_attempt_to_done_commits_the_writes_with_done_or_undoes_both():
    (chore, other) = make(2)
    start = timezone.now()
    slow = work.claim_one(Chore.objects.filter(pk=chore.pk), now=start - timedelta(minutes=5))
    fast = work.claim_one(Chore.objects.filter(pk=chore.pk), now=start)
    mine = work.claim_one(Chore.objects.filter(pk=other.pk), now=start)
    assert slow is not None and fast is not None and mine is not None

    with work.attempt_to_done(slow, what="chore") as lost:
        Chore.objects.filter(pk=chore.pk).update(title="written by the slow worker")
    with work.attempt_to_done(mine, what="chore") as done:
        Chore.objects.filter(pk=other.pk).update(title="written with done")

    assert lost.lost and not lost.succeeded and done.succeeded
    chore.refresh_from_db()
    other.refresh_from_db()
    assert (chore.title, chore.state, chore.lease_owner) == (
        "chore 0",
        WorkState.CLAIMED,
        fast.lease_owner,
    )
    assert (other.title, other.state) == ("written with done", WorkState.DONE)


def test_the_task_claims_does_and_records_its_chore():
    from lavka.core.tests.work_app.tasks import do_chore

    good, bad = Chore.objects.create(title="sweep"), Chore.objects.create(title="fail once")

    assert do_chore.apply(args=(good.pk,)).get() == WorkState.DONE
    assert do_chore.apply(args=(good.pk,)).get() == "not claimable"
    assert do_chore.apply(args=(bad.pk,)).get() == WorkState.PENDING
    assert (state_of(good), state_of(bad)) == (WorkState.DONE, WorkState.PENDING)


# --- the sweeper ---------------------------------------------------------------------------


def test_the_sweeper_queues_lost_work_again_and_nothing_else(
    published, django_capture_on_commit_callbacks
):
    now = timezone.now()
    long_ago = now - timedelta(hours=1)

    def chore(title: str, **fields) -> Chore:
        return Chore.objects.create(title=title, **fields)

    never_queued = chore("never queued")
    lease_ran_out = chore(
        "worker died",
        state=WorkState.CLAIMED,
        lease_owner="dead",
        lease_expires_at=now - timedelta(seconds=1),
        queued_at=long_ago,
    )
    message_lost = chore("message lost", queued_at=long_ago)
    chore("queued just now", queued_at=now)
    chore("leased", state=WorkState.CLAIMED, lease_expires_at=now + timedelta(seconds=30))
    chore("not due yet", not_before=now + timedelta(minutes=5))
    for state in (WorkState.DONE, WorkState.FAILED, WorkState.ATTENTION):
        chore(state, state=state, queued_at=long_ago)
    Errand.objects.create(title="driven by its parent")

    with django_capture_on_commit_callbacks(execute=True):
        count = sweeping.requeue_lost_work(now=now)

    lost = [never_queued.pk, lease_ran_out.pk, message_lost.pk]
    assert count == 3
    assert published == [("core_tests.do_chore", (pk,)) for pk in lost]
    assert set(Chore.objects.filter(queued_at=now).values_list("pk", flat=True)) >= set(lost)
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeping.requeue_lost_work(now=now + timedelta(seconds=1)) == 0
    assert published == []


def test_rows_held_back_on_purpose_are_neither_swept_nor_stuck(
    published, django_capture_on_commit_callbacks
):
    long_ago = timezone.now() - timedelta(days=1)
    held = Chore.objects.create(title="on hold: run paused", state_changed_at=long_ago)
    moving = Chore.objects.create(title="moving", state_changed_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        sweeping.requeue_lost_work()

    assert published == [("core_tests.do_chore", (moving.pk,))]
    assert list(sweeping.stuck(Chore).values_list("pk", flat=True)) == [moving.pk]
    assert held.pk not in [problem.item.pk for problem in sweeping.problems()]


def test_the_sweeper_publishes_nothing_when_its_transaction_rolls_back(
    published, django_capture_on_commit_callbacks
):
    make(2)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                assert sweeping.requeue_lost_work() == 2
                raise RuntimeError("roll back")
        except RuntimeError:
            pass

    assert callbacks == []
    assert published == []
    assert set(Chore.objects.values_list("queued_at", flat=True)) == {None}


# --- the operator's view: problems, manual retry, discard, counts --------------------------


def test_problems_are_failed_waiting_and_stuck_rows_newest_first():
    now = timezone.now()
    day_ago = now - timedelta(days=1)
    failed = Chore.objects.create(title="failed", state=WorkState.FAILED, state_changed_at=now)
    waiting = Chore.objects.create(
        title="waiting", state=WorkState.ATTENTION, state_changed_at=now - timedelta(minutes=1)
    )
    stuck = Chore.objects.create(title="stuck", state_changed_at=day_ago)
    stuck_lease = Chore.objects.create(
        title="stuck lease",
        state=WorkState.CLAIMED,
        lease_expires_at=day_ago,
        state_changed_at=day_ago - timedelta(minutes=1),
    )
    Chore.objects.create(title="fresh")
    Chore.objects.create(title="done long ago", state=WorkState.DONE, state_changed_at=day_ago)
    errand = Errand.objects.create(title="failed errand", state=WorkState.FAILED)

    found = [(p.label, p.item.pk, p.stuck) for p in sweeping.problems(now=now)]

    assert found[:1] == [("core_tests.errand", errand.pk, False)]
    assert found[1:] == [
        ("core_tests.chore", failed.pk, False),
        ("core_tests.chore", waiting.pk, False),
        ("core_tests.chore", stuck.pk, True),
        ("core_tests.chore", stuck_lease.pk, True),
    ]


def test_a_manual_retry_starts_again_from_the_first_attempt(
    published, django_capture_on_commit_callbacks
):
    failed = Chore.objects.create(
        title="failed", state=WorkState.FAILED, attempts=3, last_error="boom"
    )
    done = Chore.objects.create(title="done", state=WorkState.DONE)
    fresh = Chore.objects.create(title="fresh")

    with django_capture_on_commit_callbacks(execute=True):
        count = sweeping.retry_manually(Chore, [failed.pk, done.pk, fresh.pk])

    failed.refresh_from_db()
    assert count == 1
    assert (failed.state, failed.attempts, failed.not_before) == (WorkState.PENDING, 0, None)
    assert failed.queued_at is not None
    assert published == [("core_tests.do_chore", (failed.pk,))]
    assert (state_of(done), state_of(fresh)) == (WorkState.DONE, WorkState.PENDING)


def test_a_manual_retry_of_stuck_work_and_of_work_without_a_task(
    published, django_capture_on_commit_callbacks
):
    stuck = Chore.objects.create(title="stuck", state_changed_at=timezone.now() - timedelta(days=1))
    errand = Errand.objects.create(title="errand", state=WorkState.ATTENTION)

    with django_capture_on_commit_callbacks(execute=True):
        assert sweeping.retry_manually(Chore, [stuck.pk]) == 1
        assert sweeping.retry_manually(Errand, [errand.pk]) == 1

    assert published == [("core_tests.do_chore", (stuck.pk,))]
    assert errand.__class__.objects.get(pk=errand.pk).state == WorkState.PENDING


def test_discard_gives_up_on_failed_and_waiting_rows_only():
    failed = Chore.objects.create(title="failed", state=WorkState.FAILED)
    waiting = Chore.objects.create(title="waiting", state=WorkState.ATTENTION)
    pending = Chore.objects.create(title="pending")

    count = sweeping.discard(Chore, [failed.pk, waiting.pk, pending.pk], note="given up")

    failed.refresh_from_db()
    assert count == 2
    assert (failed.state, failed.last_error) == (WorkState.DONE, "given up")
    assert (state_of(waiting), state_of(pending)) == (WorkState.DONE, WorkState.PENDING)
    assert [p.item.pk for p in sweeping.problems()] == []


def test_state_counts_cover_every_state_of_every_work_model():
    make(2)
    make(1, state=WorkState.FAILED)

    counts = sweeping.state_counts()

    assert counts["core_tests.chore"] == {
        "pending": 2,
        "claimed": 0,
        "done": 0,
        "failed": 1,
        "attention": 0,
    }
    assert counts["core_tests.errand"] == dict.fromkeys(WorkState.values, 0)


def test_work_models_are_found_by_label():
    assert sweeping.work_model("core_tests.Chore") is Chore
    assert sweeping.work_model("core_tests.nothing") is None
    assert sweeping.work_model("core.outboxmessage") is None
    assert Chore.is_queueable() and not Errand.is_queueable()
