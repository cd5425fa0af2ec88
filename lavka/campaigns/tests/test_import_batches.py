"""Finding 7: a large CSV import must not hold the database's write lock for its whole
length. It runs as a background job in transactions of at most 1,000 rows each.

These tests drive the job in this process (Celery's eager mode for the one task, or the
service called directly); the kill -9 test with a real worker is in
`test_import_worker.py`.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections

from lavka.campaigns.models import (
    ImportStatus,
    Recipient,
    RecipientImport,
    RecipientImportFile,
)
from lavka.core.work import WorkState

IMPORT_URL = "/campaigns/recipients/import/"
CONFIRM_URL = "/campaigns/recipients/import/confirm/"
RECIPIENT_WRITE = re.compile(r'\s*(INSERT INTO|UPDATE) "campaigns_recipient"[ (]', re.IGNORECASE)


def csv_of(count: int, *, start: int = 0) -> bytes:
    return b"email,full_name\n" + b"".join(
        f"r{i:05d}@example.net,Reader {i}\n".encode() for i in range(start, start + count)
    )


def upload(client: Any, content: bytes, **data: Any) -> Any:
    return client.post(
        IMPORT_URL, {"file": SimpleUploadedFile("clients.csv", content, "text/csv"), **data}
    )


def confirm(client: Any, preview: Any) -> Any:
    return client.post(CONFIRM_URL, {"token": preview.context["confirm_form"].initial["token"]})


@contextlib.contextmanager
def eager_tasks() -> Iterator[None]:
    """Tasks published after a commit run at once in this thread (one task at a time)."""
    from lavka.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = before


def committed_recipients() -> int:
    """The recipients another connection sees: only what has been committed."""
    found: list[int] = []

    def count() -> None:
        try:
            found.append(Recipient.objects.count())
        finally:
            connections.close_all()

    reader = threading.Thread(target=count)
    reader.start()
    reader.join()
    return found[0]


class UncommittedRecipients:
    """An execute wrapper: after every statement that writes the recipients table,
    how many recipients this connection sees that no other connection does yet, i.e.
    written inside a transaction that is still open (and holds the write lock)."""

    def __init__(self) -> None:
        self.statements = 0
        self.most = 0
        self._busy = False

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        if RECIPIENT_WRITE.match(sql) and not self._busy:
            self._busy = True
            try:
                with context["connection"].cursor() as cursor:
                    cursor.execute("SELECT COUNT(*) FROM campaigns_recipient")
                    here = cursor.fetchone()[0]
                self.statements += 1
                self.most = max(self.most, here - committed_recipients())
            finally:
                self._busy = False
        return result


@pytest.mark.django_db(transaction=True)
def test_a_large_import_is_written_in_transactions_of_at_most_1000_rows(client, owner, settings):
    settings.CAMPAIGNS_IMPORT_PAUSE_MS = 0
    client.force_login(owner)
    preview = upload(client, csv_of(3000))
    watch = UncommittedRecipients()

    with eager_tasks(), connection.execute_wrapper(watch):
        confirm(client, preview)

    assert Recipient.objects.filter(owner=owner).count() == 3000
    assert watch.statements > 0
    assert watch.most <= 1000, f"{watch.most} rows were written inside one open transaction"


# --- in this process: progress, resuming, conflicts ------------------------------------


def run_imports() -> None:
    from lavka.campaigns import import_batches

    for pk in RecipientImport.objects.order_by("pk").values_list("pk", flat=True):
        import_batches.run_import(job_id=pk)


@pytest.fixture
def quick(settings):
    settings.CAMPAIGNS_IMPORT_PAUSE_MS = 0


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


class FailOnce:
    """An execute wrapper that fails the first statement matching `pattern` once
    `after` has been executed: a batch dying half-written, as a crash would leave it."""

    def __init__(self, after: str, pattern: str) -> None:
        self.after, self.pattern = re.compile(after), re.compile(pattern)
        self.armed = self.fired = False

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.armed and not self.fired and self.pattern.match(sql):
            self.fired = True
            raise RuntimeError("the worker died here")
        result = execute(sql, params, many, context)
        statement = sql % tuple(params) if params and not many else sql
        if self.after.search(statement):
            self.armed = True
        return result


@pytest.mark.django_db
def test_progress_is_recorded_with_every_batch(signed_in, owner, quick):
    confirm(signed_in, upload(signed_in, csv_of(2500) + b"not-an-email,Bad\n"))
    job = RecipientImport.objects.get()
    assert (job.status, job.state, job.rows_done) == (ImportStatus.WAITING, WorkState.PENDING, 0)
    seen: list[int] = []

    def progress(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith('UPDATE "campaigns_recipientimport" SET "rows_done"'):
            seen.append(params[0])
        return result

    with connection.execute_wrapper(progress):
        run_imports()

    job.refresh_from_db()
    assert seen == [1000, 2000, 2501]
    assert (job.status, job.state, job.rows_done, job.total_rows) == (
        ImportStatus.FINISHED,
        WorkState.DONE,
        2501,
        2501,
    )
    assert (job.created, job.updated, job.skipped, job.rejected, job.conflicts) == (
        2500,
        0,
        0,
        1,
        0,
    )
    assert list(job.problems.values_list("line", flat=True)) == [2502]
    assert not RecipientImportFile.objects.exists(), "the file is dropped once imported"


@pytest.mark.django_db
def test_a_batch_that_dies_half_written_leaves_nothing_and_the_job_resumes_without_doubles(
    signed_in, owner, quick, list_factory
):
    news = list_factory(owner=owner, name="News")
    confirm(signed_in, upload(signed_in, csv_of(3000), target_list=news.pk))
    crash = FailOnce(after=r'SET "rows_done" = 2000', pattern=r'INSERT INTO "campaigns_recipient"')

    with connection.execute_wrapper(crash):
        run_imports()

    job = RecipientImport.objects.get()
    assert crash.fired
    assert (job.state, job.rows_done, job.created, job.attempts) == (
        WorkState.PENDING,
        1000,
        1000,
        1,
    )
    assert "the worker died here" in job.last_error
    assert Recipient.objects.filter(owner=owner).count() == 1000

    RecipientImport.objects.update(not_before=None)  # its retry is due
    run_imports()

    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created, job.skipped) == (
        ImportStatus.FINISHED,
        3000,
        3000,
        0,
    )
    assert Recipient.objects.filter(owner=owner).count() == 3000
    assert news.recipients.count() == 3000
    assert not job.problems.exists()


@pytest.mark.django_db
def test_a_job_someone_else_holds_is_left_alone(signed_in, owner, quick):
    from lavka.core import work

    confirm(signed_in, upload(signed_in, csv_of(10)))
    held = work.claim_one(RecipientImport.objects.all())

    run_imports()  # a duplicate message while another worker holds the lease

    assert RecipientImport.objects.get().lease_owner == held.lease_owner
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_a_line_whose_email_was_added_during_the_import_is_not_written_and_is_reported(
    signed_in, owner, quick, recipient_factory
):
    confirm(signed_in, upload(signed_in, csv_of(2500)))
    meanwhile = "r02400@example.net"  # on line 2402, in the third batch

    def another_user_adds_it(execute, sql, params, many, context):
        if (
            sql.startswith('UPDATE "campaigns_recipientimport" SET "rows_done"')
            and params[0] == 2500
        ):
            recipient_factory(owner=owner, email=meanwhile, full_name="Added by hand")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(another_user_adds_it):
        run_imports()

    job = RecipientImport.objects.get()
    assert (job.status, job.created, job.conflicts) == (ImportStatus.FINISHED, 2499, 1)
    problem = job.problems.get()
    assert (problem.line, problem.email) == (2402, meanwhile)
    assert "added to your recipients after the preview" in problem.reason
    assert Recipient.objects.get(email=meanwhile).full_name == "Added by hand"


@pytest.mark.django_db
def test_an_import_whose_preview_went_stale_before_it_started_writes_nothing(
    signed_in, owner, quick, recipient_factory
):
    confirm(signed_in, upload(signed_in, csv_of(1500)))
    recipient_factory(owner=owner, email="r01200@example.net", full_name="Meanwhile")

    run_imports()

    job = RecipientImport.objects.get()
    assert (job.status, job.state, job.rows_done, job.created) == (
        ImportStatus.REFUSED,
        WorkState.DONE,
        0,
        0,
    )
    assert Recipient.objects.filter(owner=owner).count() == 1


# --- confirming: double clicks, other owners, a changed file ----------------------------


@pytest.mark.django_db
def test_confirm_answers_at_once_and_a_double_click_starts_one_import(signed_in, owner):
    preview = upload(signed_in, csv_of(5))

    first, second = confirm(signed_in, preview), confirm(signed_in, preview)

    job = RecipientImport.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/campaigns/recipients/imports/{job.pk}/"
    assert not Recipient.objects.exists(), "nothing is written in the request"
    assert (job.owner, job.filename, job.state) == (owner, "clients.csv", WorkState.PENDING)


@pytest.mark.django_db
def test_another_owner_cannot_confirm_or_see_an_import(signed_in, owner, other_customer):
    preview = upload(signed_in, csv_of(5))
    token = preview.context["confirm_form"].initial["token"]
    confirm(signed_in, preview)
    job = RecipientImport.objects.get()
    intruder = signed_in.__class__()
    intruder.force_login(other_customer)

    again = intruder.post(CONFIRM_URL, {"token": token})
    page = intruder.get(f"/campaigns/recipients/imports/{job.pk}/")
    progress = intruder.get(f"/campaigns/recipients/imports/{job.pk}/progress.json")

    assert again.status_code == 400
    assert (page.status_code, progress.status_code) == (404, 404)
    assert RecipientImport.objects.count() == 1


@pytest.mark.django_db
def test_a_preview_replaced_in_another_tab_cannot_be_confirmed(signed_in, owner, quick):
    first = upload(signed_in, csv_of(5))
    second = upload(signed_in, csv_of(3, start=100))

    stale = confirm(signed_in, first)

    assert stale.status_code == 400
    assert "no previewed import" in stale.content.decode()
    assert confirm(signed_in, second).status_code == 302
    run_imports()
    assert sorted(Recipient.objects.values_list("email", flat=True)) == [
        "r00100@example.net",
        "r00101@example.net",
        "r00102@example.net",
    ]


@pytest.mark.django_db
def test_a_stashed_file_that_changed_before_the_confirm_is_refused(signed_in, owner):
    from django.core.cache import cache

    preview = upload(signed_in, csv_of(5))
    pending = signed_in.session["campaigns:import"]
    cache.set(f"campaigns:import:{owner.pk}:{pending['token']}", "email\nevil@example.net\n", 60)

    response = confirm(signed_in, preview)

    assert response.status_code == 400
    assert not RecipientImport.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content",
    [b"", b"   \n", b"email\n\x98\x98@example.net\n", b"\x89PNG\r\n\x1a\n\x00\x00"],
    ids=["empty", "blank", "wrong-encoding", "binary"],
)
def test_a_file_refused_at_the_preview_can_start_no_import(signed_in, content):
    refused = upload(signed_in, content)

    response = signed_in.post(CONFIRM_URL, {"token": "anything"})

    assert refused.status_code == response.status_code == 400
    assert not RecipientImport.objects.exists()


@pytest.mark.django_db
def test_a_file_over_the_limit_can_start_no_import(signed_in, settings):
    settings.CAMPAIGNS_IMPORT_MAX_BYTES = 10 * 1024

    refused = upload(signed_in, csv_of(1000))

    assert refused.status_code == 400
    assert "larger than 10 KB" in " ".join(refused.context["form"].errors["file"])
    assert not RecipientImport.objects.exists()


# --- the job's pages ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_sees_a_progress_bar_then_the_result_line_by_line(signed_in, owner, quick):
    confirm(signed_in, upload(signed_in, csv_of(3) + b"bad@@example.net,Bad\n"))
    job = RecipientImport.objects.get()
    page_url = f"/campaigns/recipients/imports/{job.pk}/"

    running = signed_in.get(page_url)
    polled = signed_in.get(f"{page_url}progress.json").json()
    run_imports()
    done = signed_in.get(page_url)
    polled_done = signed_in.get(f"{page_url}progress.json").json()

    html = running.content.decode()
    assert 'data-testid="import-progress"' in html and "import-progress.js" in html
    assert "<script>" not in html, "no inline script: the CSP forbids it"
    assert polled["finished"] is False and polled["status"] == "waiting"
    result = done.content.decode()
    assert "import-progress.js" not in result
    assert 'data-line="5"' in result and "bad@@example.net" in result
    assert polled_done == {
        "status": "finished",
        "label": "Finished",
        "finished": True,
        "rows_done": 4,
        "total": 4,
        "percent": 100,
        "created": 3,
        "updated": 0,
        "skipped": 0,
        "rejected": 1,
        "conflicts": 0,
    }
    assert signed_in.get("/campaigns/recipients/import/").context["recent_imports"][0] == job


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["manager", "superuser", "creator", "other_customer"])
def test_no_one_but_the_owner_sees_an_import(client, request, owner, who):
    job = RecipientImport.objects.create(owner=owner, filename="anna@example.net.csv")
    client.force_login(request.getfixturevalue(who))

    for url in (
        f"/campaigns/recipients/imports/{job.pk}/",
        f"/campaigns/recipients/imports/{job.pk}/progress.json",
    ):
        assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client, owner):
    job = RecipientImport.objects.create(owner=owner, filename="clients.csv")

    response = client.get(f"/campaigns/recipients/imports/{job.pk}/progress.json")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_a_failed_import_is_listed_for_operators_without_personal_data(
    signed_in, client, owner, manager
):
    confirm(signed_in, upload(signed_in, csv_of(5)))
    job = RecipientImport.objects.get()
    RecipientImport.objects.update(filename="anna.smith@example.net.csv", attempts=4)
    RecipientImportFile.objects.all().delete()  # the file was lost: nothing can run

    run_imports()

    job.refresh_from_db()
    assert job.state == WorkState.FAILED
    owner_page = signed_in.get(f"/campaigns/recipients/imports/{job.pk}/").content.decode()
    assert "Stopped by an error" in owner_page
    client.force_login(manager)
    operator_page = client.get("/operations/work/").content.decode()
    assert f"CSV import {job.pk} of user {owner.pk}" in operator_page
    assert "anna.smith" not in operator_page


@pytest.mark.django_db
def test_a_huge_cell_is_reported_briefly_and_the_rest_imported(signed_in, owner, quick):
    huge = "x" * 1_000_000 + "@example.net"
    content = b"email,full_name\nok@example.net,Ok\n" + f"{huge},Huge\n".encode()

    confirm(signed_in, upload(signed_in, content))
    run_imports()

    job = RecipientImport.objects.get()
    problem = job.problems.get()
    assert (job.created, job.rejected, problem.line) == (1, 1, 3)
    assert len(problem.email) <= 254 and len(problem.reason) <= 1000
    assert list(Recipient.objects.values_list("email", flat=True)) == ["ok@example.net"]
