from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from lavka.accounts.models import ApiToken


@pytest.mark.django_db
def test_profile_saves_name_time_zone_and_language(client, customer):
    client.force_login(customer)

    response = client.post(
        "/accounts/profile/",
        {"full_name": "  Carla C.  ", "time_zone": "Europe/Berlin", "language": "ru"},
    )

    customer.refresh_from_db()
    assert response.status_code == 302
    assert (customer.full_name, customer.time_zone, customer.language) == (
        "Carla C.",
        "Europe/Berlin",
        "ru",
    )
    assert response.cookies["django_language"].value == "ru"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons", "language": "en"}, "time_zone"),
        ({"time_zone": "UTC", "language": "xx"}, "language"),
        ({"time_zone": "UTC", "language": "en", "full_name": "x" * 151}, "full_name"),
        # a name goes into the subject of a test copy: one line only
        ({"time_zone": "UTC", "language": "en", "full_name": "Eve\r\nBcc: x@ex.org"}, "full_name"),
    ],
)
def test_bad_profile_input_is_shown_at_the_field_and_saves_nothing(client, customer, data, field):
    client.force_login(customer)
    before = (customer.full_name, customer.time_zone, customer.language)

    response = client.post("/accounts/profile/", data)

    customer.refresh_from_db()
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert (customer.full_name, customer.time_zone, customer.language) == before


@pytest.mark.django_db
def test_profile_requires_login(client):
    response = client.get("/accounts/profile/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_times_are_shown_in_the_users_time_zone(client, user_factory):
    from django.utils import timezone

    tokyo = user_factory(email="tokyo@example.com", time_zone="Asia/Tokyo")
    client.force_login(tokyo)

    response = client.get("/accounts/profile/")

    assert response.status_code == 200
    assert str(timezone.get_current_timezone()) == "UTC"  # reset after the request
    assert response.context["TIME_ZONE"] == "Asia/Tokyo"


@pytest.mark.django_db
def test_creating_a_token_shows_it_once(client, creator):
    client.force_login(creator)

    client.post("/accounts/tokens/", {"name": "Accounting script"})
    first_view = client.get("/accounts/profile/").content.decode()
    second_view = client.get("/accounts/profile/").content.decode()

    token = ApiToken.objects.get(user=creator)
    raw = first_view.split('data-testid="new-token">', 1)[1].split("<", 1)[0]
    assert raw.startswith("lvk_") and raw.startswith(token.prefix)
    assert raw not in second_view
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_token_needs_a_sensible_name(client, creator, name):
    client.force_login(creator)

    response = client.post("/accounts/tokens/", {"name": name})

    assert response.status_code == 400
    assert "name" in response.context["token_form"].errors
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_revoking_a_token_keeps_it_listed_as_revoked(client, customer):
    from lavka.accounts import services

    issued = services.create_api_token(user=customer, name="old")
    client.force_login(customer)

    client.post(f"/accounts/tokens/{issued.token.pk}/revoke/")

    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert "revoked" in client.get("/accounts/profile/").content.decode()


@pytest.mark.django_db
def test_another_users_token_cannot_be_revoked_or_seen(client, customer, other_customer):
    from lavka.accounts import services

    issued = services.create_api_token(user=other_customer, name="theirs")
    client.force_login(customer)

    response = client.post(f"/accounts/tokens/{issued.token.pk}/revoke/")
    profile = client.get("/accounts/profile/").content.decode()

    issued.token.refresh_from_db()
    assert response.status_code == 404
    assert issued.token.revoked_at is None
    assert "theirs" not in profile


@pytest.mark.django_db
def test_token_endpoints_refuse_get(client, creator):
    client.force_login(creator)

    assert client.get("/accounts/tokens/").status_code == 405


@pytest.mark.django_db
def test_create_api_token_command_prints_a_working_token(client, creator, capsys):
    call_command("create_api_token", "CREATOR@example.com", "--name", "cli")

    raw = capsys.readouterr().out.strip()
    assert (
        client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["email"]
        == creator.email
    )


@pytest.mark.django_db
def test_create_api_token_command_refuses_a_customer(customer):
    with pytest.raises(CommandError, match="is not a creator; the API is for creators"):
        call_command("create_api_token", customer.email)

    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_create_api_token_command_refuses_an_unknown_email():
    with pytest.raises(CommandError, match="No user with email"):
        call_command("create_api_token", "nobody@example.com")
