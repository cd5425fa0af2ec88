"""One lockout for every way in: the site login, the admin login and API token creation
(issue 8, finding 2). They share one counter per account and one per address."""

from __future__ import annotations

import pytest

from lavka.accounts.models import ApiToken
from lavka.accounts.tests.factories import DEFAULT_PASSWORD

THROTTLED = "Too many failed login attempts. Try again later."
ATTACKER_IP = "198.51.100.7"


def site_login(client, email, password=DEFAULT_PASSWORD, ip=ATTACKER_IP, **extra):
    return client.post(
        "/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=ip, **extra
    )


def admin_login(client, email, password=DEFAULT_PASSWORD, ip=ATTACKER_IP):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": email, "password": password, "next": "/admin/"},
        REMOTE_ADDR=ip,
    )


def token_request(client, email, password=DEFAULT_PASSWORD, ip=ATTACKER_IP, name="script"):
    return client.post(
        "/api/v1/tokens/",
        {"email": email, "password": password, "name": name},
        content_type="application/json",
        REMOTE_ADDR=ip,
    )


def signed_in_as(client):
    return client.session.get("_auth_user_id")


@pytest.mark.django_db
def test_admin_login_does_not_let_the_right_password_in_after_thirty_wrong_ones(client, superuser):
    for _attempt in range(30):
        admin_login(client, superuser.email, "wrong-password")

    admin_login(client, superuser.email)
    admin_index = client.get("/admin/")

    assert signed_in_as(client) is None
    assert admin_index.status_code == 302


@pytest.mark.django_db
def test_admin_login_is_the_site_login(client):
    response = client.get("/admin/login/?next=/admin/accounts/user/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Faccounts%2Fuser%2F"


@pytest.mark.django_db
def test_a_post_to_the_admin_login_checks_no_password(client, superuser):
    response = admin_login(client, superuser.email)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert signed_in_as(client) is None


@pytest.mark.django_db
def test_admin_login_leads_staff_on_to_where_they_were_going(client, superuser):
    site_login(client, superuser.email)

    response = client.get("/admin/login/?next=/admin/accounts/user/")
    offsite = client.get("/admin/login/?next=https://evil.example/")

    assert signed_in_as(client) == str(superuser.pk)
    assert response.status_code == 302
    assert response["Location"] == "/admin/accounts/user/"
    assert offsite["Location"] == "/admin/"


@pytest.mark.django_db
def test_a_signed_in_user_without_admin_access_is_refused_not_looped(client, manager):
    client.force_login(manager)

    response = client.get("/admin/login/?next=/admin/")
    posted = admin_login(client, "root@example.com")

    assert response.status_code == 403
    assert posted.status_code == 403
    assert signed_in_as(client) == str(manager.pk)


@pytest.mark.django_db
def test_failures_on_the_site_lock_the_api_token_creation_too(client, customer):
    for _attempt in range(5):
        site_login(client, customer.email, "wrong-password")

    response = token_request(client, customer.email)

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 300
    assert response.json()["detail"].startswith(THROTTLED)
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_failures_on_the_api_lock_the_site_login_too(client, customer):
    for _attempt in range(5):
        assert token_request(client, customer.email, "wrong-password").status_code == 400

    response = site_login(client, customer.email)

    assert THROTTLED in response.context["form"].non_field_errors()
    assert signed_in_as(client) is None


@pytest.mark.django_db
def test_failures_from_many_addresses_still_lock_the_account(client, customer):
    for attempt in range(5):
        site_login(client, customer.email, "wrong-password", ip=f"203.0.113.{attempt}")

    response = site_login(client, customer.email, ip="192.0.2.1")

    assert THROTTLED in response.context["form"].non_field_errors()
    assert signed_in_as(client) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "variant",
    [
        "CUSTOMER@example.com",
        " customer@example.com ",
        "Customer@Example.Com\t",
        "customer@EXAMPLE.com",
    ],
)
def test_spelling_the_email_differently_does_not_reset_the_count(client, customer, variant):
    for spelling in ["customer@example.com", variant, variant.upper(), variant.strip(), variant]:
        site_login(client, spelling, "wrong-password")

    by_site = site_login(client, variant)
    by_api = token_request(client, variant)

    assert THROTTLED in by_site.context["form"].non_field_errors()
    assert by_api.status_code == 429
    assert signed_in_as(client) is None


@pytest.mark.django_db
def test_a_second_address_of_the_account_shares_its_count(client, customer):
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=customer, email="carla@example.net", verified=True)
    for spelling in ["customer@example.com", "carla@example.net"] * 3:
        site_login(client, spelling, "wrong-password")

    response = site_login(client, "carla@example.net")

    assert THROTTLED in response.context["form"].non_field_errors()
    assert signed_in_as(client) is None


@pytest.mark.django_db
def test_a_forged_forwarded_for_header_does_not_escape_the_address_limit(
    client, user_factory, settings
):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "8/m/ip,5/300s/key"}
    for attempt in range(8):
        site_login(
            client,
            f"guess{attempt}@example.com",
            "wrong",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}",
        )
    victim = user_factory(email="victim@example.com")

    forged = site_login(client, victim.email, HTTP_X_FORWARDED_FOR="10.0.0.99")

    assert THROTTLED in forged.context["form"].non_field_errors()


@pytest.mark.django_db
def test_behind_a_configured_proxy_the_forwarded_address_is_the_client(
    client, user_factory, settings
):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "8/m/ip,5/300s/key"}
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.1"
    for attempt in range(8):
        site_login(
            client,
            f"guess{attempt}@example.com",
            "wrong",
            ip=proxy,
            HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER_IP}",
        )
    victim = user_factory(email="victim@example.com")

    from_attacker = site_login(
        client, victim.email, ip=proxy, HTTP_X_FORWARDED_FOR=f"9.9.9.9, {ATTACKER_IP}"
    )
    client.logout()
    from_someone_else = site_login(
        client, victim.email, ip=proxy, HTTP_X_FORWARDED_FOR="192.0.2.50"
    )

    assert THROTTLED in from_attacker.context["form"].non_field_errors()
    assert from_someone_else.status_code == 302
    assert signed_in_as(client) == str(victim.pk)


@pytest.mark.django_db
def test_a_locked_blocked_user_learns_nothing_from_the_right_password(client, customer):
    from lavka.accounts import services

    services.block_user(actor=None, user=customer, reason="Chargeback fraud")
    for _attempt in range(5):
        site_login(client, customer.email, "wrong-password")

    by_site = site_login(client, customer.email)
    by_api = token_request(client, customer.email)

    assert "Chargeback fraud" not in by_site.content.decode()
    assert THROTTLED in by_site.context["form"].non_field_errors()
    assert by_api.status_code == 429
    assert "Chargeback fraud" not in by_api.content.decode()


@pytest.mark.django_db
def test_a_right_password_neither_counts_as_a_failure_nor_wipes_the_count(client, customer):
    for _attempt in range(4):
        site_login(client, customer.email, "wrong-password")
    first = site_login(client, customer.email)
    client.logout()
    second = site_login(client, customer.email)
    client.logout()
    site_login(client, customer.email, "wrong-password")

    third = site_login(client, customer.email)

    assert first.status_code == second.status_code == 302
    assert THROTTLED in third.context["form"].non_field_errors()
    assert signed_in_as(client) is None


@pytest.mark.django_db
def test_a_superuser_made_on_the_server_can_log_into_the_admin(client, monkeypatch):
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", DEFAULT_PASSWORD)
    call_command("createsuperuser", "--noinput", email="Boss@Example.com", verbosity=0)

    site_login(client, "boss@example.com")
    admin_index = client.get("/admin/")

    assert admin_index.status_code == 200


@pytest.mark.django_db
def test_reauthenticating_counts_against_the_same_lockout(client, customer):
    client.force_login(customer)
    for _attempt in range(5):
        token_request(client, customer.email, "wrong-password")

    response = client.post(
        "/accounts/reauthenticate/", {"password": DEFAULT_PASSWORD}, REMOTE_ADDR=ATTACKER_IP
    )

    assert response.status_code == 200
    assert THROTTLED in response.context["form"].errors["password"]
