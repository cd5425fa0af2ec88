from __future__ import annotations

import pytest
from django.test import Client

from lavka.campaigns.models import Recipient
from lavka.campaigns.unsubscribe import make_token


@pytest.fixture
def recipient(recipient_factory, owner):
    return recipient_factory(owner=owner, email="reader@example.net")


@pytest.mark.django_db
def test_get_only_shows_a_confirmation(client, recipient):
    response = client.get(f"/campaigns/unsubscribe/{make_token(recipient.pk)}/")

    recipient.refresh_from_db()
    assert response.status_code == 200
    assert b"Unsubscribe from these emails?" in response.content
    assert recipient.unsubscribed_at is None


@pytest.mark.django_db
def test_one_click_post_works_without_cookies_or_csrf_and_answers_200(recipient):
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        f"/campaigns/unsubscribe/{make_token(recipient.pk)}/",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    recipient.refresh_from_db()
    assert response.status_code == 200
    assert recipient.unsubscribed_at is not None


@pytest.mark.django_db
def test_a_repeated_post_is_harmless(client, recipient):
    url = f"/campaigns/unsubscribe/{make_token(recipient.pk)}/"
    client.post(url)
    first = Recipient.objects.get(pk=recipient.pk).unsubscribed_at

    response = client.post(url)

    assert response.status_code == 200
    assert Recipient.objects.get(pk=recipient.pk).unsubscribed_at == first


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_token_is_refused(client, recipient, method):
    token = make_token(recipient.pk)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    response = getattr(client, method)(f"/campaigns/unsubscribe/{tampered}/")

    recipient.refresh_from_db()
    assert response.status_code == 400
    assert b"This unsubscribe link is invalid" in response.content
    assert recipient.unsubscribed_at is None


@pytest.mark.django_db
def test_a_token_for_a_deleted_recipient_is_404(client, recipient):
    token = make_token(recipient.pk)
    recipient.delete()

    assert client.post(f"/campaigns/unsubscribe/{token}/").status_code == 404
