from __future__ import annotations

import pytest

from lavka.accounts import services


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.django_db
def test_me_answers_with_the_token_owner(client, customer):
    issued = services.create_api_token(user=customer, name="script")

    response = client.get("/api/v1/me/", **bearer(issued.raw))

    assert response.status_code == 200
    assert response.json()["email"] == "customer@example.com"
    assert response.json()["roles"] == ["customer"]


@pytest.mark.django_db
def test_only_a_hash_of_the_token_is_stored(customer):
    issued = services.create_api_token(user=customer, name="script")

    issued.token.refresh_from_db()
    assert issued.raw not in (issued.token.token_hash, issued.token.prefix)
    assert issued.token.token_hash == services.hash_token(issued.raw)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["Bearer lvk_not-a-real-token", "Bearer", "Bearer two parts", "Token abc"],
)
def test_bad_authorization_is_a_json_401(client, header):
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


@pytest.mark.django_db
def test_revoked_token_no_longer_works(client, customer):
    issued = services.create_api_token(user=customer, name="script")
    services.revoke_api_token(user=customer, token_id=issued.token.pk)

    response = client.get("/api/v1/me/", **bearer(issued.raw))

    assert response.status_code == 401


@pytest.mark.django_db
def test_token_of_a_blocked_user_no_longer_works(client, customer, manager):
    issued = services.create_api_token(user=customer, name="script")
    services.block_user(actor=manager, user=customer, reason="Spam")

    response = client.get("/api/v1/me/", **bearer(issued.raw))

    assert response.status_code == 401


@pytest.mark.django_db
def test_unknown_api_url_is_a_json_404(client):
    response = client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_unknown_page_is_a_friendly_html_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert b"Page not found" in response.content
    assert b"Go to the home page" in response.content


@pytest.mark.django_db
def test_api_server_error_is_json(rf):
    from lavka.core.views import server_error

    response = server_error(rf.get("/api/v1/anything/"))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"


def test_site_server_error_page_renders_without_the_database(rf):
    from lavka.core.views import server_error

    response = server_error(rf.get("/somewhere/"))

    assert response.status_code == 500
    assert b"Something went wrong" in response.content


@pytest.mark.django_db
def test_openapi_schema_documents_bearer_auth_and_me(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    schema = response.json()
    assert response.status_code == 200
    assert "/api/v1/me/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_api_docs_are_served_offline_without_inline_scripts(client, path):
    response = client.get(path)

    html = response.content.decode()
    assert response.status_code == 200
    assert "https://" not in html
    assert "<script>" not in html
    assert "/static/drf_spectacular_sidecar/" in html


@pytest.mark.django_db
def test_swagger_initialiser_script_is_served_from_our_origin(client):
    response = client.get("/api/docs/?script=")

    assert response.status_code == 200
    assert b"SwaggerUIBundle" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_api_docs_may_inline_styles_but_never_scripts(client, path):
    csp = client.get(path)["Content-Security-Policy"]

    directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if part.strip())
    assert "'unsafe-inline'" in directives["style-src"]
    assert directives["script-src"] == "'self'"


@pytest.mark.django_db
def test_other_pages_allow_no_inline_styles(client):
    csp = client.get("/")["Content-Security-Policy"]

    assert "unsafe-inline" not in csp
