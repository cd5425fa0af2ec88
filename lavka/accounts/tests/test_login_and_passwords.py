from __future__ import annotations

import re

import pytest
from django.core import mail

from lavka.accounts.tests.factories import DEFAULT_PASSWORD

NEW_PASSWORD = "another-long-passphrase-42"
THROTTLED = "Too many failed login attempts. Try again later."


def log_in(client, email, password=DEFAULT_PASSWORD, ip="10.1.2.3"):
    return client.post("/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_verified_user_logs_in_with_email_and_out_again(client, customer):
    response = log_in(client, "Customer@Example.com")
    logged_in = client.session.get("_auth_user_id")
    client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    assert logged_in == str(customer.pk)
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_wrong_password_is_refused_without_saying_whether_the_account_exists(client, customer):
    wrong_password = log_in(client, "customer@example.com", "wrong-password")
    no_account = log_in(client, "nobody@example.com", "wrong-password")

    assert wrong_password.status_code == no_account.status_code == 200
    assert wrong_password.context["form"].errors == no_account.context["form"].errors


@pytest.mark.django_db
def test_repeated_failures_throttle_that_account_but_not_others_on_the_same_address(
    client, customer, other_customer
):
    for _attempt in range(5):
        log_in(client, "customer@example.com", "wrong-password")

    throttled = log_in(client, "customer@example.com")
    other = log_in(client, "other@example.com")

    assert THROTTLED in throttled.context["form"].non_field_errors()
    assert "_auth_user_id" in client.session
    assert client.session["_auth_user_id"] == str(other_customer.pk)
    assert other.status_code == 302


@pytest.mark.django_db
def test_throttle_message_is_the_same_for_accounts_that_do_not_exist(client):
    for _attempt in range(5):
        log_in(client, "nobody@example.com", "wrong-password")

    response = log_in(client, "nobody@example.com", "wrong-password")

    assert THROTTLED in response.context["form"].non_field_errors()


@pytest.mark.django_db
def test_many_failures_from_one_address_throttle_that_address(client, user_factory, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "8/m/ip,5/300s/key"}
    for attempt in range(8):
        log_in(client, f"guess{attempt}@example.com", "wrong", ip="10.9.9.9")
    victim = user_factory(email="victim@example.com")

    from_attacker = log_in(client, victim.email, ip="10.9.9.9")
    from_elsewhere = log_in(client, victim.email, ip="10.7.7.7")

    assert THROTTLED in from_attacker.context["form"].non_field_errors()
    assert from_elsewhere.status_code == 302


@pytest.mark.django_db
def test_password_change_requires_the_old_password(client, customer):
    client.force_login(customer)

    wrong = client.post(
        "/accounts/password/change/",
        {"oldpassword": "not-it", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    right = client.post(
        "/accounts/password/change/",
        {"oldpassword": DEFAULT_PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    customer.refresh_from_db()
    assert "oldpassword" in wrong.context["form"].errors
    assert right.status_code == 302
    assert customer.check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_password_reset_by_email_then_log_in_with_the_new_password(client, customer):
    client.post("/accounts/password/reset/", {"email": "customer@example.com"})
    link = re.search(
        r"https?://[^/]+(/accounts/password/reset/key/\S+/)", mail.outbox[0].body
    ).group(1)

    form_page = client.get(link, follow=True)
    client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    client.logout()
    response = log_in(client, "customer@example.com", NEW_PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(customer.pk)


@pytest.mark.django_db
def test_password_reset_for_an_unknown_email_looks_the_same(client):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/done/"


@pytest.mark.django_db
def test_a_tampered_reset_link_says_it_is_invalid(client, customer):
    client.post("/accounts/password/reset/", {"email": "customer@example.com"})
    link = re.search(
        r"https?://[^/]+(/accounts/password/reset/key/\S+/)", mail.outbox[0].body
    ).group(1)
    tampered = link[:-3] + ("x" if link[-3] != "x" else "y") + link[-2:]

    response = client.get(tampered, follow=True)

    assert b"password reset link was invalid" in response.content
