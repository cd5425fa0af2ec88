"""Tasks, the one way (lavka/core/background.py): started after the commit, found by
name, and every Lavka task acknowledged late and routed by settings alone."""

from __future__ import annotations

import subprocess
import sys

import pytest
from celery import current_app
from celery.exceptions import NotRegistered
from django.conf import settings
from django.db import transaction

from lavka.core import background
from lavka.core.background import BackgroundTask
from lavka.core.tests.support import BASE_DIR
from lavka.core.tests.work_app.tasks import do_chore

LAVKA_TASK_PREFIXES = ("accounts.", "campaigns.", "content.", "core.")


def lavka_task_names() -> list[str]:
    current_app.loader.import_default_modules()
    return sorted(name for name in current_app.tasks if name.startswith(LAVKA_TASK_PREFIXES))


@pytest.mark.django_db
def test_start_queues_the_task_only_after_the_commit(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        background.start("core_tests.do_chore", 5)
        background.start_each("core_tests.do_chore", [(6,), (7,)])
        assert published == []

    assert published == [("core_tests.do_chore", (n,)) for n in (5, 6, 7)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("asked", "queued"),
    [(-5, 0.0), (30, 30), (86_400, background.MAX_COUNTDOWN_SECONDS)],
)
def test_a_task_started_later_waits_at_most_what_the_brokers_allow(
    asked, queued, monkeypatch, django_capture_on_commit_callbacks
):
    countdowns: list[float] = []
    monkeypatch.setattr(
        BackgroundTask,
        "apply_async",
        lambda task, args, **options: countdowns.append(options["countdown"]),
    )
    with django_capture_on_commit_callbacks(execute=True):
        background.start_later("core_tests.do_chore", 5, countdown=asked)

    assert countdowns == [queued]
    assert background.MAX_COUNTDOWN_SECONDS < 30 * 60  # RabbitMQ's consumer_timeout


@pytest.mark.django_db
def test_nothing_is_queued_when_the_transaction_rolls_back(
    published, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        background.start("core_tests.do_chore", 5)
        do_chore.after_commit(6)
        raise RuntimeError("roll back")

    assert callbacks == []
    assert published == []


@pytest.mark.django_db
def test_a_task_queues_itself_after_the_commit(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        do_chore.after_commit(1)
        do_chore.after_commit_each([(2,), (3,)])
        do_chore.after_commit_each([])
        background.start_each("core_tests.do_chore", [])
        assert published == []

    assert len(callbacks) == 2
    assert published == [("core_tests.do_chore", (n,)) for n in (1, 2, 3)]


@pytest.mark.django_db
def test_an_unknown_task_name_fails_at_once_not_after_the_commit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(NotRegistered):
            background.start("core_tests.no_such_task", 1)
        with pytest.raises(KeyError):
            background.start_each("core.no_such_task", [(1,)])

    assert callbacks == []


def test_a_web_process_finds_tasks_by_name_without_importing_their_modules():
    """Only a worker imports the apps' tasks modules at start; a web process must still
    find `campaigns.start_run` by name."""
    script = (
        "import django; django.setup();"
        "import sys; from lavka.core import background;"
        "assert 'lavka.campaigns.tasks' not in sys.modules;"
        "print(background.task_named('campaigns.start_run').name)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env={"DJANGO_SETTINGS_MODULE": "lavka.test_settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "campaigns.start_run"


def test_the_kernel_options_of_a_declared_task():
    assert isinstance(do_chore, BackgroundTask)
    assert do_chore.name == "core_tests.do_chore"
    assert do_chore.acks_late and do_chore.reject_on_worker_lost
    assert do_chore.max_retries == 10
    assert do_chore.soft_time_limit < do_chore.time_limit


@pytest.mark.parametrize("name", lavka_task_names())
def test_every_lavka_task_is_acked_late_and_routed_by_settings_alone(name):
    task = current_app.tasks[name]
    route = current_app.amqp.router.route({}, name)

    assert isinstance(task, BackgroundTask), f"{name}: declare it with @background_task"
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True
    assert getattr(task, "queue", None) is None, f"{name}: route it in CELERY_TASK_ROUTES"
    assert route["queue"].name in settings.CELERY_TASK_QUEUES_ALL


def test_lavka_declares_tasks_of_every_app():
    names = lavka_task_names()

    assert {name.split(".", 1)[0] for name in names} == {"accounts", "campaigns", "content", "core"}
    assert {"core.prune_outbox", "core.requeue_lost_work"} <= set(names)


@pytest.mark.parametrize("entry", sorted(settings.CELERY_BEAT_SCHEDULE))
def test_every_beat_entry_names_a_registered_task(entry):
    lavka_task_names()

    assert settings.CELERY_BEAT_SCHEDULE[entry]["task"] in current_app.tasks


def test_the_sweeper_is_a_beat_entry():
    entry = settings.CELERY_BEAT_SCHEDULE["core.requeue_lost_work"]

    assert entry["task"] == "core.requeue_lost_work"
    assert 0 < entry["schedule"] <= 120


@pytest.mark.django_db
def test_the_sweeper_task_queues_lost_work(published, django_capture_on_commit_callbacks):
    from lavka.core.tasks import requeue_lost_work
    from lavka.core.tests.work_app.models import Chore

    chore = Chore.objects.create(title="never queued")

    with django_capture_on_commit_callbacks(execute=True):
        assert requeue_lost_work.apply().get() == 1

    assert published == [("core_tests.do_chore", (chore.pk,))]


@pytest.mark.parametrize(
    ("delivery_info", "expected"),
    [({"redelivered": True}, True), ({"redelivered": False}, False), (None, False)],
)
def test_a_task_knows_when_its_message_was_redelivered(delivery_info, expected):
    do_chore.push_request(delivery_info=delivery_info)
    try:
        redelivered = do_chore.redelivered
    finally:
        do_chore.pop_request()

    assert redelivered is expected
