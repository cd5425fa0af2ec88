"""The pieces `make run` adds around its processes: the announcement printed last, once
web and worker answer, and demo data only on a site nobody else can reach."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command

from lavka.accounts.demo import DEMO_ACCOUNTS


@pytest.mark.worker
@pytest.mark.slow
def test_the_demo_logins_come_last_once_web_and_worker_answer(
    celery_worker_process, live_server, settings
):
    settings.SITE_URL = live_server.url
    out = io.StringIO()

    call_command(
        "announce_when_up", port=urlsplit(live_server.url).port, timeout=60, exit=True, stdout=out
    )

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Lavka is up: the web server answers")
    assert [line.split()[0] for line in lines[-len(DEMO_ACCOUNTS) :]] == [
        account.email for account in DEMO_ACCOUNTS
    ]


@pytest.mark.django_db
def test_waiting_for_a_worker_that_never_comes_fails_saying_so():
    with pytest.raises(CommandError, match="no Celery worker heartbeat"):
        call_command("announce_when_up", port=9, timeout=1, exit=True, stdout=io.StringIO())


@pytest.mark.django_db
@pytest.mark.parametrize("site", ["https://shop.example.com", "http://192.0.2.10:8000"])
def test_demo_accounts_are_refused_on_a_site_others_can_reach(settings, site):
    from lavka.accounts.models import User

    settings.SITE_URL = site

    with pytest.raises(CommandError, match="public password"):
        call_command("load_demo_data", stdout=io.StringIO())
    assert not User.objects.exists()


@pytest.mark.django_db
def test_demo_accounts_load_on_a_loopback_site_with_debug_off(settings):
    from lavka.accounts.models import User

    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.DEBUG = False

    call_command("load_demo_data", stdout=io.StringIO())

    assert User.objects.count() == len(DEMO_ACCOUNTS)
