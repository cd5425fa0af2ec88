"""`POST /api/v1/tokens/`: a script trades an email and password for a personal token,
through the same lockout as the login page."""

from __future__ import annotations

import pytest

from lavka.accounts.models import ApiToken
from lavka.accounts.tests.factories import DEFAULT_PASSWORD

URL = "/api/v1/tokens/"


def ask(client, body, **extra):
    return client.post(URL, body, content_type="application/json", **extra)


@pytest.mark.django_db
def test_the_right_email_and_password_give_a_working_token(client, creator):
    response = ask(
        client, {"email": " Creator@Example.com", "password": DEFAULT_PASSWORD, "name": "cron"}
    )

    body = response.json()
    token = ApiToken.objects.get(user=creator)
    assert response.status_code == 201
    assert body["token"].startswith(token.prefix)
    assert body["name"] == "cron"
    assert "_auth_user_id" not in client.session
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert me.json()["email"] == creator.email


@pytest.mark.django_db
def test_a_wrong_password_and_an_unknown_account_look_the_same(client, creator):
    wrong = ask(client, {"email": creator.email, "password": "nope", "name": "x"})
    unknown = ask(client, {"email": "nobody@example.com", "password": "nope", "name": "x"})

    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json() == unknown.json()
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_an_unverified_address_gets_no_token(client, user_factory):
    unverified = user_factory(email="new@example.com", verified=False)

    response = ask(client, {"email": unverified.email, "password": DEFAULT_PASSWORD, "name": "x"})

    assert response.status_code == 403
    assert "verify" in response.json()["detail"].lower()
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_a_blocked_user_gets_no_token_and_is_told_why(client, creator):
    from lavka.accounts import services

    services.block_user(actor=None, user=creator, reason="Chargeback fraud")

    response = ask(client, {"email": creator.email, "password": DEFAULT_PASSWORD, "name": "x"})

    assert response.status_code == 403
    assert "Chargeback fraud" in response.json()["detail"]
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": DEFAULT_PASSWORD, "name": "x"}, "email"),
        ({"email": "creator@example.com", "name": "x"}, "password"),
        ({"email": "creator@example.com", "password": DEFAULT_PASSWORD}, "name"),
        ({"email": "creator@example.com", "password": DEFAULT_PASSWORD, "name": "  "}, "name"),
        (
            {"email": "creator@example.com", "password": DEFAULT_PASSWORD, "name": "x" * 101},
            "name",
        ),
        ({"email": "not an email", "password": DEFAULT_PASSWORD, "name": "x"}, "email"),
        (
            {
                "email": "creator@example.com\nBcc: x@example.net",
                "password": DEFAULT_PASSWORD,
                "name": "x",
            },
            "email",
        ),
        ({"email": "cust\x00omer@example.com", "password": DEFAULT_PASSWORD, "name": "x"}, "email"),
        ({"email": "creator@example.com", "password": DEFAULT_PASSWORD, "name": "a\nb"}, "name"),
        ({"email": "creator@example.com", "password": DEFAULT_PASSWORD, "name": "a\x00"}, "name"),
        ({"email": "creator@example.com", "password": "x" * 5000, "name": "x"}, "password"),
        ({"email": ["creator@example.com"], "password": DEFAULT_PASSWORD, "name": "x"}, "email"),
    ],
)
def test_bad_input_is_refused_at_the_field_and_counts_no_failure(client, creator, body, field):
    responses = [ask(client, body) for _attempt in range(6)]

    assert {response.status_code for response in responses} == {400}
    assert field in responses[0].json()
    assert not ApiToken.objects.exists()
    assert (
        ask(
            client, {"email": creator.email, "password": DEFAULT_PASSWORD, "name": "ok"}
        ).status_code
        == 201
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "content_type"),
    [("{not json", "application/json"), ("[]", "application/json"), ("", "application/json")],
)
def test_a_body_that_is_not_an_object_is_a_clear_400(client, payload, content_type):
    response = client.post(URL, payload, content_type=content_type)

    assert response.status_code == 400
    assert "detail" in response.json() or response.json()


@pytest.mark.django_db
def test_a_ten_megabyte_body_is_refused_without_checking_anything(client, creator):
    body = {"email": creator.email, "password": "x" * 10_000_000, "name": "x"}

    responses = [ask(client, body) for _attempt in range(6)]

    assert {response.status_code for response in responses} == {400}
    assert "detail" in responses[0].json()
    assert (
        ask(
            client, {"email": creator.email, "password": DEFAULT_PASSWORD, "name": "ok"}
        ).status_code
        == 201
    )


@pytest.mark.django_db
def test_a_form_post_is_refused_as_every_api_body_that_is_not_json(client, creator):
    response = client.post(
        URL, {"email": creator.email, "password": DEFAULT_PASSWORD, "name": "form"}
    )

    assert response.status_code == 415
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_a_session_cookie_is_not_needed_nor_used(client, creator, other_customer):
    client.force_login(other_customer)
    client.handler.enforce_csrf_checks = True

    response = ask(client, {"email": creator.email, "password": DEFAULT_PASSWORD, "name": "x"})

    assert response.status_code == 201
    assert ApiToken.objects.get().user == creator


@pytest.mark.django_db
def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


@pytest.mark.django_db
def test_a_customer_with_the_right_password_is_told_the_api_is_for_creators(client, customer):
    response = ask(client, {"email": customer.email, "password": DEFAULT_PASSWORD, "name": "x"})

    assert response.status_code == 403
    assert "creator" in response.json()["detail"].lower()
    assert not ApiToken.objects.exists()
