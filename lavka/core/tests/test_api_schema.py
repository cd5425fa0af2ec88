"""The OpenAPI schema tells the truth (issue 8): every operation documents its error
responses with the error frame, field rules match what the serializers accept and return,
and an id that is not a number gives the same JSON 404 as a missing one."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from rest_framework import serializers

from lavka.accounts import services as account_services
from lavka.campaigns.tests.factories import RecipientFactory
from lavka.core.api_schema import NO_NUL, NOT_BLANK

NOT_FOUND = {"detail": "Not found."}
ERROR_FRAMES = {"Error", "ValidationError", "CampaignsError"}


@pytest.fixture
def schema(client: Any) -> dict[str, Any]:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def bearer(user: Any) -> dict[str, str]:
    issued = account_services.create_api_token(user=user, name="schema test")
    return {"HTTP_AUTHORIZATION": f"Bearer {issued.raw}"}


# --- a non-numeric id ---------------------------------------------------------------

DETAIL_PATHS = [
    "/api/v1/campaigns/recipients/{}/",
    "/api/v1/campaigns/lists/{}/",
    "/api/v1/campaigns/messages/{}/",
    "/api/v1/campaigns/mailings/{}/",
    "/api/v1/campaigns/mailings/{}/runs/",
    "/api/v1/campaigns/runs/{}/",
    "/api/v1/campaigns/runs/{}/deliveries/",
    "/api/v1/pages/{}/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
@pytest.mark.parametrize("template", DETAIL_PATHS)
def test_a_non_numeric_id_is_the_same_json_404_as_a_missing_one(
    client, creator, settings, template, debug
):
    settings.DEBUG = debug
    auth = bearer(creator)

    answers = [
        client.get(template.format(value), **auth)
        for value in ("987654", "abc", "1.5", "-1", "99999999999999999999999")
    ]

    for response in answers:
        assert response.status_code == 404, response.content[:200]
        assert response["Content-Type"] == "application/json"
        assert response.json() == NOT_FOUND


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_post_to_a_non_numeric_id_is_a_json_404(client, creator, settings, debug):
    settings.DEBUG = debug

    response = client.post(
        "/api/v1/campaigns/mailings/abc/schedule/",
        content_type="application/json",
        **bearer(creator),
    )

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_an_unknown_api_address_is_a_json_404_in_debug_too(client, settings, debug):
    settings.DEBUG = debug

    for path in ("/api/v1/no-such-thing/", "/api/v2/", "/api/"):
        response = client.get(path)

        assert response.status_code == 404
        assert response.json() == NOT_FOUND


@pytest.mark.django_db
def test_another_owners_object_is_the_same_404(client, creator, other_customer):
    mine = RecipientFactory(owner=creator)
    theirs = RecipientFactory(owner=other_customer)

    response = client.get(f"/api/v1/campaigns/recipients/{theirs.pk}/", **bearer(creator))

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert client.get(f"/api/v1/campaigns/recipients/{mine.pk}/").status_code == 401


# --- error responses ------------------------------------------------------------------


def frame_of(response: dict[str, Any]) -> str:
    ref = response["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


@pytest.mark.django_db
def test_every_operation_documents_its_error_responses_with_the_error_frame(schema):
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        label = f"{method} {path}"
        public = {} in operation.get("security", [])

        assert "401" in responses, label
        if "{" in path:
            assert "404" in responses, label
        if method in {"POST", "PUT", "PATCH"}:
            assert "400" in responses, label
        if not public or method != "GET":
            assert "403" in responses, label
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                assert frame_of(response) in ERROR_FRAMES, (label, code)


@pytest.mark.django_db
def test_query_input_and_paging_document_400_and_404(schema):
    paths = schema["paths"]

    assert "400" in paths["/api/v1/campaigns/recipients/"]["get"]["responses"]  # ?state=
    assert "400" in paths["/api/v1/pages/"]["get"]["responses"]  # ?ordering=
    assert "404" in paths["/api/v1/pages/"]["get"]["responses"]  # ?page=99
    assert "400" not in paths["/api/v1/me/"]["get"]["responses"]  # takes no input
    assert "404" not in paths["/api/v1/me/"]["get"]["responses"]


@pytest.mark.django_db
def test_the_error_frame_is_what_errors_carry(client, schema, creator):
    frames = schema["components"]["schemas"]
    auth = bearer(creator)
    answers = {
        "401": client.get("/api/v1/campaigns/recipients/", HTTP_AUTHORIZATION="Bearer nope"),
        "404": client.get("/api/v1/campaigns/recipients/abc/", **auth),
        "400": client.post(
            "/api/v1/campaigns/recipients/", {}, content_type="application/json", **auth
        ),
    }

    for code, response in answers.items():
        assert str(response.status_code) == code
        body = response.json()
        frame = frames["ValidationError" if code == "400" else "Error"]
        assert set(frame["required"]) <= set(body)
        assert isinstance(body["detail"], str)
    assert answers["400"].json()["email"] == ["This field is required."]


# --- field rules ------------------------------------------------------------------------

TRICKY = ["", " ", "  \t\n", "\x1c", "\x85", "\u3000", "\ufeff", "a", " a ", "\x00", "a\x00b"]


def drf_accepts(field: serializers.CharField, value: str) -> bool:
    try:
        field.run_validation(value)
    except serializers.ValidationError:
        return False
    return True


@pytest.mark.parametrize("value", TRICKY, ids=repr)
def test_the_text_patterns_agree_with_drf(value):
    assert bool(re.search(NOT_BLANK, value)) == drf_accepts(serializers.CharField(), value)
    assert bool(re.search(NO_NUL, value)) == drf_accepts(
        serializers.CharField(allow_blank=True), value
    )


def request_schema(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return schema["components"]["schemas"][name]["properties"]


@pytest.mark.django_db
def test_blank_rules_are_documented_as_the_serializers_apply_them(schema, client, creator):
    message = request_schema(schema, "MessageRequest")

    assert message["subject"]["minLength"] == 1
    assert message["subject"]["pattern"] == NOT_BLANK
    assert {"type": "string", "maxLength": 0} in message["text_body"]["oneOf"]  # may be blank
    refused = client.post(
        "/api/v1/campaigns/messages/",
        {"subject": "   ", "html_body": "<p>Hi</p>", "text_body": ""},
        content_type="application/json",
        **bearer(creator),
    )
    assert refused.status_code == 400
    assert set(refused.json()) == {"subject", "detail"}


@pytest.mark.django_db
def test_uniqueness_is_documented_with_its_scope(schema):
    recipient = request_schema(schema, "RecipientRequest")
    recipient_list = request_schema(schema, "RecipientListRequest")

    assert "Unique among your recipients, ignoring case." in recipient["email"]["description"]
    assert "Unique among your lists." in recipient_list["name"]["description"]


@pytest.mark.django_db
def test_urls_that_may_be_blank_or_null_are_documented_so(schema):
    components = schema["components"]["schemas"]
    audio_url = components["AudioBlock"]["properties"]["audio_url"]
    cover_url = components["PageSummary"]["properties"]["cover_url"]

    assert {"type": "string", "format": "uri"} in audio_url["oneOf"]
    assert {"type": "string", "maxLength": 0} in audio_url["oneOf"]
    assert cover_url["format"] == "uri"
    assert cover_url["nullable"] is True
    assert components["StoredFile"]["properties"]["url"]["format"] == "uri"


@pytest.mark.django_db
def test_a_unicode_slug_is_not_held_to_an_ascii_pattern(schema):
    slug = schema["components"]["schemas"]["PageSummary"]["properties"]["slug"]

    assert "\\w" not in json.dumps(slug)  # anywhere, its oneOf included
