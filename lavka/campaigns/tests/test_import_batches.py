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

from lavka.campaigns.models import Recipient

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
