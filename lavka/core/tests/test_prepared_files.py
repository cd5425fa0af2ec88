"""The CSV writer every export uses, and files prepared in the background: who may see
them, how a worker writes them (and survives being killed), and their expiry."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from lavka.core import prepared_files, tasks
from lavka.core.csv_export import BOM, csv_chunks, safe_filename
from lavka.core.models import PreparedFile
from lavka.core.work import WorkState


def _parse(text: str) -> list[list[str]]:
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM) :])))


@pytest.fixture
def files_root(settings, tmp_path: Path) -> Path:
    root = tmp_path / "files"
    settings.PREPARED_FILES_ROOT = root
    return root


def _ask(user, rows: int = 3, **params) -> PreparedFile:
    return prepared_files.request_file(
        user=user,
        kind="core_tests.numbers",
        params={"rows": rows, **params},
        filename="numbers.csv",
    )


# --- the writer -------------------------------------------------------------------------


def test_csv_starts_with_a_bom_and_cyrillic_reads_back_unchanged():
    text = "".join(csv_chunks([("name",), ("Анна Каренина",), ("Ёжик, «в тумане»",)]))

    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")
    assert _parse(text) == [["name"], ["Анна Каренина"], ["Ёжик, «в тумане»"]]


@pytest.mark.parametrize("value", ["=1+1", "+7 999", "-2", "@SUM(A1)", "\tx", "\r=1"])
def test_text_that_a_spreadsheet_would_run_gets_an_apostrophe(value):
    (row,) = _parse("".join(csv_chunks([(value, "plain")])))

    assert row == ["'" + value, "plain"]


def test_money_is_a_plain_decimal_and_none_is_empty():
    (row,) = _parse("".join(csv_chunks([(Decimal("1234.50"), Decimal("-3.00"), None, 7)])))

    assert row == ["1234.50", "-3.00", "", "7"]


def test_a_float_is_refused_rather_than_rounded():
    with pytest.raises(TypeError):
        "".join(csv_chunks([(0.1,)]))


def test_an_export_without_rows_is_the_bom_and_the_header():
    assert _parse("".join(csv_chunks([("a", "b")]))) == [["a", "b"]]


def test_download_names_lose_path_parts_and_quotes():
    assert safe_filename('../../etc/"passwd"\r\n.csv') == "..-..-etc-passwd.csv"
    assert safe_filename("") == "export.csv"


# --- asking for a file --------------------------------------------------------------------


def test_bad_parameters_are_refused_and_nothing_is_written(customer, files_root):
    with pytest.raises(ValidationError):
        _ask(customer, rows="ten")
    with pytest.raises(ValidationError):
        prepared_files.request_file(user=customer, kind="nobody.knows", params={}, filename="x")

    assert not PreparedFile.objects.exists()


def test_a_prepared_file_holds_every_row_once_and_only_its_requester_downloads_it(
    client, customer, other_customer, manager, superuser, files_root
):
    prepared = _ask(customer, rows=1234)
    assert prepared.rows_total == 1234

    assert prepared_files.prepare(prepared.pk) == WorkState.DONE

    prepared.refresh_from_db()
    assert (prepared.state, prepared.rows_done, prepared.rows_total) == ("done", 1234, 1234)
    assert [p.name for p in files_root.iterdir()] == [f"{prepared.pk}.csv"]
    client.force_login(customer)
    response = client.get(f"/files/{prepared.pk}/download/")
    assert response.status_code == 200
    assert 'filename="numbers.csv"' in response["Content-Disposition"]
    rows = _parse(b"".join(response.streaming_content).decode("utf-8"))
    assert rows[0] == ["n", "price", "note"]
    assert rows[1] == ["0", "0.00", "строка 0"]
    assert [row[0] for row in rows[1:]] == [str(n) for n in range(1234)]
    for someone in (other_customer, manager, superuser):
        client.force_login(someone)
        for suffix in ("", "progress/", "download/"):
            assert client.get(f"/files/{prepared.pk}/{suffix}").status_code == 404
    client.logout()
    assert client.get(f"/files/{prepared.pk}/download/").status_code == 302


def test_the_page_shows_progress_and_a_download_link_once_ready(client, customer, files_root):
    prepared = _ask(customer, rows=10)
    client.force_login(customer)

    waiting = client.get(f"/files/{prepared.pk}/progress/").json()
    early_download = client.get(f"/files/{prepared.pk}/download/")
    prepared_files.prepare(prepared.pk)
    page = client.get(f"/files/{prepared.pk}/")
    ready = client.get(f"/files/{prepared.pk}/progress/").json()

    assert (waiting["ready"], waiting["rows_total"], waiting["download_url"]) == (False, 10, "")
    assert early_download.status_code == 302
    assert early_download["Location"] == f"/files/{prepared.pk}/"
    assert ready["ready"] and ready["percent"] == 100
    assert ready["download_url"] == f"/files/{prepared.pk}/download/"
    assert f'href="/files/{prepared.pk}/download/"' in page.content.decode()


def test_a_half_written_file_of_a_dead_worker_is_never_served_and_the_retry_completes_it(
    client, customer, files_root
):
    prepared = _ask(customer, rows=700)
    # a worker claimed it, wrote part of the file and was killed: its lease ran out
    files_root.mkdir(parents=True)
    (files_root / f"{prepared.pk}.deadbeef.part").write_text(BOM + "n,price,note\n0,0.00,x\n")
    PreparedFile.objects.filter(pk=prepared.pk).update(
        state=WorkState.CLAIMED,
        lease_owner="deadbeef",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
        rows_done=1,
    )
    client.force_login(customer)
    assert client.get(f"/files/{prepared.pk}/download/").status_code == 302

    assert prepared_files.prepare(prepared.pk) == WorkState.DONE

    assert sorted(p.name for p in files_root.iterdir()) == [f"{prepared.pk}.csv"]
    response = client.get(f"/files/{prepared.pk}/download/")
    rows = _parse(b"".join(response.streaming_content).decode("utf-8"))
    assert len(rows) == 701


def test_asking_again_for_a_file_under_way_returns_it(customer, files_root):
    first = _ask(customer, rows=5)

    again = _ask(customer, rows=5)
    other = _ask(customer, rows=6)

    assert again.pk == first.pk
    assert other.pk != first.pk
    assert PreparedFile.objects.count() == 2


def test_a_user_with_their_limit_of_files_under_way_is_refused_until_one_is_done(
    client, customer, creator, files_root, settings
):
    settings.PREPARED_FILES_OPEN_PER_USER = 2
    first, _second = _ask(customer, rows=1), _ask(customer, rows=2)

    with pytest.raises(prepared_files.TooManyFiles):
        _ask(customer, rows=3)
    assert _ask(creator, rows=3).requested_by == creator  # the limit is per user
    assert _ask(customer, rows=2).pk == _second.pk  # the same file is still returned

    assert prepared_files.prepare(first.pk) == WorkState.DONE
    assert _ask(customer, rows=3).rows_total == 3
    assert PreparedFile.objects.filter(requested_by=customer).count() == 3


def test_two_requests_at_once_cannot_pass_the_limit_or_make_the_same_file_twice(
    customer, files_root, settings, monkeypatch
):
    """The open files are read again where the row is written: a request that lands
    while another counts its rows (a COUNT over a large table takes a while) must not
    let the user past the limit, nor queue the same file twice."""
    settings.PREPARED_FILES_OPEN_PER_USER = 1
    numbers = prepared_files.producer_named("core_tests.numbers")
    landed: list[PreparedFile] = []

    def request_landing_meanwhile(rows: int):
        def count(user, params):
            monkeypatch.setitem(prepared_files._producers, numbers.name, numbers)
            landed.append(_ask(customer, rows=rows))
            return int(params["rows"])

        monkeypatch.setitem(
            prepared_files._producers, numbers.name, dataclasses.replace(numbers, count=count)
        )

    request_landing_meanwhile(rows=5)  # another file
    with pytest.raises(prepared_files.TooManyFiles):
        _ask(customer, rows=4)
    assert PreparedFile.objects.filter(requested_by=customer).count() == 1

    PreparedFile.objects.all().delete()
    request_landing_meanwhile(rows=4)  # the same file
    assert _ask(customer, rows=4).pk == landed[-1].pk
    assert PreparedFile.objects.filter(requested_by=customer).count() == 1


def test_a_file_held_by_a_live_lease_is_left_to_its_worker(customer, files_root):
    prepared = _ask(customer, rows=5)
    PreparedFile.objects.filter(pk=prepared.pk).update(
        state=WorkState.CLAIMED,
        lease_owner="alive",
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )

    assert prepared_files.prepare(prepared.pk) == ""
    assert not files_root.exists() or not any(files_root.iterdir())


def test_the_periodic_sweep_deletes_expired_files_and_their_rows(client, customer, files_root):
    old, fresh = _ask(customer, rows=2), _ask(customer, rows=3)
    prepared_files.prepare(old.pk)
    prepared_files.prepare(fresh.pk)
    PreparedFile.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client.force_login(customer)
    assert client.get(f"/files/{old.pk}/download/").status_code == 404  # expired: gone at once

    tasks.requeue_lost_work()

    assert list(PreparedFile.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert sorted(p.name for p in files_root.iterdir()) == [f"{fresh.pk}.csv"]


def test_a_file_whose_row_went_with_its_requester_is_swept_by_the_folder(
    customer, user_factory, files_root
):
    leaver = user_factory(email="leaver@example.com")
    gone, kept = _ask(leaver, rows=2), _ask(customer, rows=2)
    prepared_files.prepare(gone.pk)
    prepared_files.prepare(kept.pk)
    leaver.delete()  # the row goes with its user; the file stays behind
    stray = files_root / "notes.txt"
    stray.write_text("not a prepared file: left alone")
    day_ago = (timezone.now() - timedelta(days=2)).timestamp()
    for path in files_root.iterdir():
        os.utime(path, (day_ago, day_ago))

    prepared_files.delete_expired(now=timezone.now())

    assert sorted(p.name for p in files_root.iterdir()) == [f"{kept.pk}.csv", "notes.txt"]


def test_a_prepared_file_is_readable_by_lavkas_own_user_only(customer, files_root):
    prepared = _ask(customer, rows=2)
    prepared_files.prepare(prepared.pk)

    mode = (files_root / f"{prepared.pk}.csv").stat().st_mode & 0o777

    assert mode == 0o600


def test_expiry_follows_the_setting(customer, files_root, settings):
    settings.PREPARED_FILE_HOURS = 2

    prepared = _ask(customer)

    left = prepared.expires_at - timezone.now()
    assert timedelta(hours=1, minutes=59) < left <= timedelta(hours=2)


# --- a real worker --------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.slow
def test_a_worker_killed_mid_file_leaves_no_file_and_the_retry_completes_it(
    transactional_db, client, user_factory, tmp_path
):
    from lavka.core.tests.support import purge_queues, start_beat, start_worker, wait_until

    purge_queues()
    root = tmp_path / "files"
    env = {
        "PREPARED_FILES_ROOT": str(root),
        "PREPARED_FILE_LEASE_SECONDS": "3",
        "WORK_REQUEUE_INTERVAL_SECONDS": "1",
    }
    from django.conf import settings

    settings.PREPARED_FILES_ROOT = root
    owner = user_factory(email="exporter@example.com")
    processes = [start_beat(tmp_path, extra_env=env)]
    worker = start_worker(tmp_path, extra_env=env)
    processes.append(worker)
    try:
        prepared = _ask(owner, rows=6000, pause_ms=50)

        def midway() -> bool:
            return 1000 <= PreparedFile.objects.get(pk=prepared.pk).rows_done < 4000

        assert wait_until(midway, timeout=90, interval=0.05), worker.log_tail()
        worker.kill()
        assert not (root / f"{prepared.pk}.csv").exists()
        assert list(root.glob("*.part")), "the killed worker left its half file"
        client.force_login(owner)
        assert client.get(f"/files/{prepared.pk}/download/").status_code == 302
        worker = start_worker(tmp_path, extra_env=env)
        processes.append(worker)

        done = wait_until(
            lambda: PreparedFile.objects.get(pk=prepared.pk).state == WorkState.DONE,
            timeout=120,
            interval=0.5,
        )
        assert done, f"{PreparedFile.objects.values()}\n{worker.log_tail()}"
    finally:
        for process in processes:
            process.stop()

    assert sorted(p.name for p in root.iterdir()) == [f"{prepared.pk}.csv"]
    response = client.get(f"/files/{prepared.pk}/download/")
    rows = _parse(b"".join(response.streaming_content).decode("utf-8"))
    assert [row[0] for row in rows[1:]] == [str(n) for n in range(6000)], "every row once"


def test_a_file_whose_parameters_no_longer_pass_fails_at_once_and_shows_it(
    client, customer, files_root
):
    prepared = _ask(customer, rows=3)
    PreparedFile.objects.filter(pk=prepared.pk).update(params={"rows": -1})

    assert prepared_files.prepare(prepared.pk) == WorkState.FAILED

    prepared.refresh_from_db()
    assert (prepared.state, prepared.attempts) == (WorkState.FAILED, 1)
    client.force_login(customer)
    assert client.get(f"/files/{prepared.pk}/progress/").json()["failed"] is True
    assert 'data-testid="file-failed"' in client.get(f"/files/{prepared.pk}/").content.decode()


def test_a_producer_that_computes_before_writing_holds_its_row_for_its_own_lease(
    client, customer, files_root
):
    prepared = prepared_files.request_file(
        user=customer, kind="core_tests.long_lease", params={}, filename="lease.csv"
    )

    prepared_files.prepare(prepared.pk)

    client.force_login(customer)
    rows = _parse(
        b"".join(client.get(f"/files/{prepared.pk}/download/").streaming_content).decode()
    )
    assert rows[0] == ["lease seconds"] and 3500 < int(rows[1][0]) <= 3600
