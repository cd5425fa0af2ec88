"""A person's language: taken from the sign-up, kept on the profile, used for the pages
after login and for every email Lavka writes to them (issue 8, finding 8)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext

from lavka.accounts.models import User
from lavka.accounts.tests.factories import DEFAULT_PASSWORD

STRONG = "a-long-and-unusual-passphrase"
CYRILLIC = "[\u0400-\u04ff]"


def in_russian(text: str) -> str:
    with translation.override("ru"):
        return gettext(text)


def sign_up(client, email="new@example.com", **headers):
    return client.post(
        "/accounts/signup/", {"email": email, "password1": STRONG, "password2": STRONG}, **headers
    )


def verify(client, message):
    key = re.search(r"/accounts/confirm-email/(\S+)/", message.body).group(1)
    return client.post(f"/accounts/confirm-email/{key}/")


def log_in(client, email, password=STRONG, **headers):
    return client.post("/accounts/login/", {"login": email, "password": password}, **headers)


def page_language(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


@pytest.mark.django_db
def test_a_russian_sign_up_gets_russian_pages_after_login_and_a_russian_welcome(client):
    from lavka.accounts.models import WelcomeEmail
    from lavka.accounts.tasks import send_welcome_email

    sign_up(client, HTTP_ACCEPT_LANGUAGE="ru")
    verify(client, mail.outbox[0])
    log_in(client, "new@example.com", HTTP_ACCEPT_LANGUAGE="ru")
    profile = client.get("/accounts/profile/", HTTP_ACCEPT_LANGUAGE="ru")
    send_welcome_email.apply(args=[WelcomeEmail.objects.get().pk])

    assert User.objects.get().language == "ru"
    assert page_language(profile) == "ru"
    assert profile["Content-Language"] == "ru"
    assert mail.outbox[-1].subject == "[Lavka] Добро пожаловать в Lavka"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "cookie", "saved"),
    [
        ({"HTTP_ACCEPT_LANGUAGE": "ru-RU,ru;q=0.9,en;q=0.5"}, None, "ru"),
        ({"HTTP_ACCEPT_LANGUAGE": "de-DE,ru;q=0.5"}, None, "ru"),
        ({"HTTP_ACCEPT_LANGUAGE": "en-US"}, "ru", "ru"),
        ({"HTTP_ACCEPT_LANGUAGE": "ru"}, "en", "en"),
        ({"HTTP_ACCEPT_LANGUAGE": "de, fr"}, None, "en"),
        ({}, None, "en"),
        ({"HTTP_ACCEPT_LANGUAGE": "ru"}, "xx\x00", "ru"),
    ],
)
def test_sign_up_saves_the_language_the_visitor_was_using(client, headers, cookie, saved):
    if cookie is not None:
        client.cookies["django_language"] = cookie

    sign_up(client, **headers)

    assert User.objects.get().language == saved


@pytest.mark.django_db
def test_sign_up_after_choosing_russian_with_the_switcher_saves_russian(client):
    client.post("/language/", {"language": "ru", "next": "/"}, HTTP_ACCEPT_LANGUAGE="en")

    sign_up(client, HTTP_ACCEPT_LANGUAGE="en")

    assert User.objects.get().language == "ru"
    assert mail.outbox[0].subject == "[Lavka] Пожалуйста, подтвердите Ваш адрес электронной почты"


@pytest.mark.django_db
def test_after_login_the_saved_language_wins_over_the_browser_and_an_old_choice(
    client, user_factory
):
    russian = user_factory(email="ru@example.com", language="ru")
    client.post("/language/", {"language": "en", "next": "/"})  # before logging in

    log_in(client, russian.email, DEFAULT_PASSWORD, HTTP_ACCEPT_LANGUAGE="en")
    page = client.get("/accounts/profile/", HTTP_ACCEPT_LANGUAGE="en")

    assert page_language(page) == "ru"


@pytest.mark.django_db
def test_switching_language_while_signed_in_changes_the_pages_and_the_profile(client, user_factory):
    russian = user_factory(email="ru@example.com", language="ru")
    client.force_login(russian)

    client.post("/language/", {"language": "en", "next": "/"})
    page = client.get("/accounts/profile/", HTTP_ACCEPT_LANGUAGE="ru")

    russian.refresh_from_db()
    assert russian.language == "en"
    assert page_language(page) == "en"


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["xx", "", "ru\x00", "r" * 10_000])
def test_switching_to_an_unknown_language_changes_nothing(client, user_factory, language):
    russian = user_factory(email="ru@example.com", language="ru")
    client.force_login(russian)

    response = client.post("/language/", {"language": language, "next": "/"})

    russian.refresh_from_db()
    assert response.status_code in {302, 400}
    assert russian.language == "ru"


@pytest.mark.django_db
def test_a_password_reset_email_is_in_the_users_language_whoever_asks(client, user_factory):
    user_factory(email="ru@example.com", language="ru")

    client.post("/accounts/password/reset/", {"email": "ru@example.com"}, HTTP_ACCEPT_LANGUAGE="en")
    page = client.get("/accounts/password/reset/done/", HTTP_ACCEPT_LANGUAGE="en")

    assert mail.outbox[0].subject == "[Lavka] " + in_russian("Password Reset Email")
    assert page_language(page) == "en"  # the visitor's page stays in the visitor's language


@pytest.mark.django_db
def test_a_password_reset_for_an_unknown_address_speaks_the_visitors_language(client):
    client.post(
        "/accounts/password/reset/", {"email": "nobody@example.com"}, HTTP_ACCEPT_LANGUAGE="ru"
    )

    assert mail.outbox[0].to == ["nobody@example.com"]
    assert re.search(CYRILLIC, mail.outbox[0].subject), mail.outbox[0].subject


@pytest.mark.django_db
def test_the_already_registered_warning_is_in_the_owners_language(client, user_factory):
    user_factory(email="ru@example.com", language="ru")

    sign_up(client, email="ru@example.com", HTTP_ACCEPT_LANGUAGE="en")

    assert mail.outbox[0].to == ["ru@example.com"]
    assert mail.outbox[0].subject.startswith("[Lavka] ")
    assert re.search(CYRILLIC, mail.outbox[0].subject), mail.outbox[0].subject


@pytest.mark.django_db
def test_a_new_verification_email_is_in_the_users_language(client, user_factory):
    from allauth.account.models import EmailAddress

    russian = user_factory(email="ru@example.com", language="ru", verified=False)
    EmailAddress.objects.create(user=russian, email=russian.email, primary=True, verified=False)

    log_in(client, russian.email, DEFAULT_PASSWORD, HTTP_ACCEPT_LANGUAGE="en")

    assert mail.outbox[0].subject == "[Lavka] Пожалуйста, подтвердите Ваш адрес электронной почты"


@pytest.mark.django_db
def test_the_api_says_which_language_is_saved(client, user_factory):
    russian = user_factory(email="ru@example.com", language="ru")
    client.force_login(russian)

    assert client.get("/api/v1/me/").json()["language"] == "ru"
