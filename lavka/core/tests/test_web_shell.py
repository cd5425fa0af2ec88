from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from lavka.accounts.demo import DEMO_ACCOUNTS
from lavka.core.demo import load_demo_data


@pytest.mark.django_db
def test_landing_page_explains_lavka_and_links_to_sign_up(client):
    response = client.get("/")

    content = response.content.decode()
    assert response.status_code == 200
    assert "Your shop, newsletter and blog in one place" in content
    assert 'href="/accounts/signup/"' in content
    assert 'href="/api/docs/"' in content


@pytest.mark.django_db
def test_navigation_fits_the_role(client, customer, manager, superuser):
    client.force_login(customer)
    as_customer = client.get("/").content.decode()
    client.force_login(manager)
    as_manager = client.get("/").content.decode()
    client.force_login(superuser)
    as_superuser = client.get("/").content.decode()

    assert 'href="/manage/users/"' not in as_customer
    assert 'href="/outbox/"' not in as_customer
    assert 'href="/manage/users/"' in as_manager
    assert 'href="/outbox/"' not in as_manager  # reset links are in it
    assert 'href="/outbox/"' in as_superuser


@pytest.mark.django_db
def test_pages_are_in_russian_after_switching_language(client):
    response = client.post("/language/", {"language": "ru", "next": "/"}, follow=True)

    assert "Ваш магазин, рассылки и блог в одном месте" in response.content.decode()


@pytest.mark.django_db
def test_switching_language_is_remembered_on_the_profile(client, customer):
    client.force_login(customer)

    client.post("/language/", {"language": "ru", "next": "/"})

    customer.refresh_from_db()
    assert customer.language == "ru"


@pytest.mark.django_db
def test_pages_link_only_local_stylesheets(client):
    content = client.get("/accounts/login/").content.decode()

    assert 'href="/static/lavka/lavka.css"' in content
    assert "https://" not in content


@pytest.mark.django_db
def test_every_response_carries_a_request_id_that_reaches_the_logs(client, caplog):
    caplog.set_level(logging.WARNING)

    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="abc12345-trace")

    assert response["X-Request-ID"] == "abc12345-trace"
    assert any(getattr(r, "request_id", None) == "abc12345-trace" for r in caplog.records)


@pytest.mark.django_db
def test_an_unsafe_incoming_request_id_is_replaced(client):
    response = client.get("/", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_demo_data_is_idempotent():
    from lavka.accounts.models import User
    from lavka.marketplace.models import Donation, Invoice, Order

    def counts():
        return [m.objects.count() for m in (Order, Invoice, Donation)]

    load_demo_data()
    first = sorted(User.objects.values_list("email", "groups__name"))
    made = counts()
    load_demo_data()

    assert sorted(User.objects.values_list("email", "groups__name")) == first
    assert User.objects.count() == len(DEMO_ACCOUNTS)
    assert counts() == made and made[0] > 0


@pytest.mark.django_db
def test_demo_data_gives_the_creator_a_list_and_a_message_and_the_blog_a_page(client):
    from lavka.campaigns.models import Message, Recipient, RecipientList
    from lavka.content.models import Page

    load_demo_data()
    load_demo_data()

    assert RecipientList.objects.get(name="Newsletter").recipients.count() == 3
    assert Recipient.objects.count() == 3 and Message.objects.count() == 1
    assert Page.objects.filter(slug="welcome", is_published=True).count() == 1
    assert "Welcome to the Lavka blog" in client.get("/blog/").content.decode()


@pytest.mark.django_db
def test_the_server_error_page_renders_without_the_database_or_a_request_context(client, settings):
    """handler500 must not need what just failed: no context processors, no session."""
    from django.test import RequestFactory

    from lavka.core.views import server_error

    settings.DEBUG = False
    response = server_error(RequestFactory().get("/campaigns/"))

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert 'href="/static/lavka/lavka.css"' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "planned", "working"),
    [("en", "Planned, not built yet.", "Working today"), ("ru", "ещё не сделано", "Уже работают")],
)
def test_the_landing_page_links_what_works_and_calls_only_the_rest_planned(
    client, language, planned, working
):
    from django.utils import translation

    client.cookies["django_language"] = language
    content = client.get("/").content.decode()
    translation.deactivate()  # the request's language stays active in this thread
    cards = {
        card.split("</h2>")[0].split("<h2>")[-1]: card
        for card in content.split('<article class="card area">')[1:]
    }

    assert "Coming soon" not in content and "Скоро." not in content
    assert working in content
    linked = {title for title, card in cards.items() if 'href="' in card}
    labelled = {title for title, card in cards.items() if planned in card}
    assert len(linked) == 4 and len(labelled) == 2 and not linked & labelled
    for path in ("/campaigns/", "/blog/", "/api/docs/", "/shop/"):
        assert f'href="{path}"' in content


def test_no_template_carries_an_inline_script_or_event_handler():
    """The CSP allows scripts from our own static files only, so an inline `<script>`
    body or an `onsubmit=`/`onclick=` attribute would silently do nothing (a confirm
    that never asks); behaviour belongs in lavka/static."""
    handler = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.IGNORECASE)
    offenders = []
    for folder in django_settings.TEMPLATES[0]["DIRS"]:
        for template in Path(folder).rglob("*.html"):
            text = template.read_text(encoding="utf-8")
            if handler.search(text) or inline_script.search(text):
                offenders.append(str(template.relative_to(folder)))
    assert offenders == []
