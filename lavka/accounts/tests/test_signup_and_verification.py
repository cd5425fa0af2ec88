from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.core import mail

from lavka.accounts.models import User

STRONG = "a-long-and-unusual-passphrase"


def sign_up(client, email="new@example.com", password=STRONG, password2=None):
    return client.post(
        "/accounts/signup/",
        {"email": email, "password1": password, "password2": password2 or password},
    )


def confirmation_link(message) -> str:
    return re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)


@pytest.mark.django_db
def test_sign_up_creates_a_customer_and_sends_a_verification_link(client):
    response = sign_up(client)

    user = User.objects.get(email="new@example.com")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert list(user.groups.values_list("name", flat=True)) == ["customer"]
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == 1
    assert "/accounts/confirm-email/" in mail.outbox[0].body


@pytest.mark.django_db
def test_sign_up_lowercases_the_email(client):
    sign_up(client, email="Mixed.Case@Example.COM")

    assert User.objects.filter(email="mixed.case@example.com").exists()


@pytest.mark.django_db
def test_unverified_user_cannot_log_in(client):
    sign_up(client)
    client.logout()

    response = client.post("/accounts/login/", {"login": "new@example.com", "password": STRONG})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field", "error"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"email": ""}, "email", "This field is required."),
        ({"password": "short"}, "password1", "This password is too short"),
        ({"password": "password1234"}, "password1", "This password is too common."),
        ({"password": "1234567890123"}, "password1", "This password is entirely numeric."),
        (
            {"password2": "something-else-entirely"},
            "password2",
            "You must type the same password each time.",
        ),
    ],
)
def test_bad_sign_up_shows_the_error_at_the_field_and_creates_nothing(client, fields, field, error):
    response = sign_up(client, **fields)

    form = response.context["form"]
    assert response.status_code == 200
    assert any(error in message for message in form.errors[field])
    assert User.objects.count() == 0
    assert len(mail.outbox) == 0


@pytest.mark.django_db
def test_sign_up_with_an_existing_email_is_refused_at_the_field(client, customer, settings):
    settings.ACCOUNT_PREVENT_ENUMERATION = False

    response = sign_up(client, email="CUSTOMER@example.com")

    assert (
        "A user is already registered with this email address."
        in response.context["form"].errors["email"]
    )
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_sign_up_with_an_existing_email_does_not_reveal_the_account(client, customer):
    """With enumeration prevention on (the default), the page looks like success and
    the owner of the address is told by email instead."""
    response = sign_up(client, email="customer@example.com")

    assert response.status_code == 302
    assert User.objects.count() == 1
    assert mail.outbox[0].to == ["customer@example.com"]
    assert "already" in mail.outbox[0].body.lower()


@pytest.mark.django_db
def test_following_the_link_verifies_and_queues_the_welcome_email(
    client, django_capture_on_commit_callbacks
):
    sign_up(client)
    link = confirmation_link(mail.outbox[0])
    path = link.split("://", 1)[1].split("/", 1)[1]

    page = client.get(f"/{path}")
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/{path}")

    user = User.objects.get(email="new@example.com")
    assert page.status_code == 200
    assert b"Confirm" in page.content
    assert response.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert len(callbacks) == 1  # the welcome email task, enqueued after commit


@pytest.mark.django_db
def test_a_get_on_the_link_does_not_verify(client):
    """Link scanners fetch links; only the button (a POST) verifies."""
    sign_up(client)
    path = "/" + confirmation_link(mail.outbox[0]).split("://", 1)[1].split("/", 1)[1]

    client.get(path)

    assert not EmailAddress.objects.get(email="new@example.com").verified


@pytest.mark.django_db
def test_a_tampered_link_says_it_is_invalid(client):
    sign_up(client)
    path = "/" + confirmation_link(mail.outbox[0]).split("://", 1)[1].split("/", 1)[1]
    tampered = path[:-6] + ("A" if path[-6] != "A" else "B") + path[-5:]

    response = client.get(tampered)

    assert b"This email confirmation link expired or is invalid" in response.content
    assert not EmailAddress.objects.get(email="new@example.com").verified


@pytest.mark.django_db
def test_an_expired_link_says_it_is_invalid(client, settings):
    sign_up(client)
    key = EmailConfirmationHMAC(EmailAddress.objects.get(email="new@example.com")).key
    settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 0

    response = client.get(f"/accounts/confirm-email/{key}/")

    assert b"This email confirmation link expired or is invalid" in response.content
    assert not EmailAddress.objects.get(email="new@example.com").verified


@pytest.mark.django_db
def test_welcome_email_is_sent_once_even_if_the_task_runs_twice(customer):
    from lavka.accounts import services
    from lavka.accounts.tasks import send_welcome_email
    from lavka.core.composer import message_id

    welcome = services.handle_email_verified(user=customer)

    first = send_welcome_email.apply(args=[welcome.pk]).get()
    second = send_welcome_email.apply(args=[welcome.pk]).get()

    customer.refresh_from_db()
    welcome.refresh_from_db()
    assert (first, second) == (True, False)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "[Lavka] Welcome to Lavka"
    assert mail.outbox[0].extra_headers["Message-ID"] == message_id("welcome", customer.pk)
    assert customer.welcome_email_sent_at is not None
    assert welcome.state == "done"


@pytest.mark.django_db
def test_welcome_email_speaks_the_users_language(user_factory):
    from lavka.accounts import services
    from lavka.accounts.tasks import send_welcome_email

    russian = user_factory(email="ru@example.com", language="ru")
    welcome = services.handle_email_verified(user=russian)

    send_welcome_email.apply(args=[welcome.pk])

    assert mail.outbox[0].subject == "[Lavka] Добро пожаловать в Lavka"
