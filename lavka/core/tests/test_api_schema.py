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
from lavka.core.api_schema import (
    MULTILINE,
    MULTILINE_NOT_BLANK,
    NO_NUL,
    NOT_BLANK,
    ONE_LINE,
    ONE_LINE_NOT_BLANK,
)
from lavka.core.validators import validate_header_text, validate_multiline_text

NOT_FOUND = {"detail": "Not found."}


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


def frame_of(schema: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    ref = response["content"]["application/json"]["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


@pytest.mark.django_db
def test_every_operation_documents_its_error_responses_with_the_error_frame(schema):
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        label = f"{method} {path}"
        public = {} in operation.get("security", [])

        if operation.get("security"):  # it reads credentials
            assert "401" in responses, label
        if "{" in path:
            assert "404" in responses, label
        if method in {"POST", "PUT", "PATCH"}:
            assert "400" in responses, label
        if not public or method != "GET":
            assert "403" in responses, label
        for code, response in responses.items():
            if code.startswith(("4", "5")) and code != "414":  # 414: the web server's page
                frame = frame_of(schema, response)
                assert frame["properties"]["detail"]["type"] == "string", (label, code)
                assert "detail" in frame["required"], (label, code)


@pytest.mark.django_db
def test_query_input_and_paging_document_400_and_404(schema):
    paths = schema["paths"]

    assert "400" in paths["/api/v1/campaigns/recipients/"]["get"]["responses"]  # ?state=
    assert "400" in paths["/api/v1/pages/"]["get"]["responses"]  # ?ordering=
    assert "400" in paths["/api/v1/campaigns/lists/"]["get"]["responses"]  # ?page=1&page=2
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

TRICKY = [
    *["", " ", "  \t\n", "\x1c", "\x85", "\u3000", "\ufeff", "a", " a ", "\x00", "a\x00b"],
    *["a\nb", "a\tb", "a\x7fb", "a\x9fb", "a\u2028b", "\u00a0a", "a\u200db", "a\r\nb\rc"],
    *["\na\n", "a\n\x00", "a\x1cb", " a\x0bb "],
]


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
    one_line = [validate_header_text]
    assert bool(re.search(ONE_LINE_NOT_BLANK, value)) == drf_accepts(
        serializers.CharField(validators=one_line), value
    )
    assert bool(re.search(ONE_LINE, value)) == drf_accepts(
        serializers.CharField(allow_blank=True, validators=one_line), value
    )
    lines = [validate_multiline_text]
    assert bool(re.search(MULTILINE_NOT_BLANK, value)) == drf_accepts(
        serializers.CharField(validators=lines), value
    )
    assert bool(re.search(MULTILINE, value)) == drf_accepts(
        serializers.CharField(allow_blank=True, validators=lines), value
    )


def request_schema(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return schema["components"]["schemas"][name]["properties"]


@pytest.mark.django_db
def test_blank_rules_are_documented_as_the_serializers_apply_them(schema, client, creator):
    message = request_schema(schema, "MessageRequest")

    assert message["subject"]["minLength"] == 1
    assert message["subject"]["pattern"] == ONE_LINE_NOT_BLANK  # one line: it is a header
    assert {"type": "string", "maxLength": 0} in message["text_body"]["anyOf"]  # may be blank
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

    assert {"type": "string", "format": "uri"} in audio_url["anyOf"]
    assert {"type": "string", "maxLength": 0} in audio_url["anyOf"]
    assert cover_url["format"] == "uri"
    assert cover_url["nullable"] is True
    assert components["StoredFile"]["properties"]["url"]["format"] == "uri"


@pytest.mark.django_db
def test_a_unicode_slug_is_not_held_to_an_ascii_pattern(schema):
    slug = schema["components"]["schemas"]["PageSummary"]["properties"]["slug"]

    assert "\\w" not in json.dumps(slug)  # anywhere, its anyOf included


@pytest.mark.django_db
def test_a_blank_search_is_valid_by_the_schema_as_the_server_takes_it(schema):
    """ "Text, or blank" as oneOf refused "", which matches both: a blank ?search= that the
    server takes was a schema violation (Schemathesis ST201)."""
    search = next(
        p
        for p in schema["paths"]["/api/v1/campaigns/recipients/"]["get"]["parameters"]
        if p["name"] == "search"
    )

    assert {"type": "string", "maxLength": 0} in search["schema"]["anyOf"]
    assert not any(
        {"type": "string", "maxLength": 0} in node.get("oneOf", []) for node in _all_dicts(schema)
    )


def _all_dicts(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _all_dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _all_dicts(value)


# --- input types and paging -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/campaigns/recipients/", {"email": "a@example.com", "is_active": 1}, "is_active"),
        ("/api/v1/campaigns/recipients/", {"email": "a@example.com", "full_name": 5}, "full_name"),
        ("/api/v1/campaigns/recipients/", {"email": 12}, "email"),
        ("/api/v1/campaigns/lists/", {"name": "VIP", "members": ["1"]}, "members"),
        ("/api/v1/campaigns/lists/", {"name": True}, "name"),
        ("/api/v1/campaigns/messages/", {"subject": "Hi", "html_body": 3.5e16}, "html_body"),
        (
            "/api/v1/campaigns/messages/",
            {"subject": "Hi", "html_body": "x", "is_active": "true"},
            "is_active",
        ),
    ],
)
def test_values_of_another_json_type_are_refused_and_nothing_is_saved(
    client, creator, path, body, field
):
    from lavka.campaigns.models import Message, Recipient, RecipientList

    response = client.post(path, body, content_type="application/json", **bearer(creator))

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Recipient.objects.exists()
    assert not RecipientList.objects.exists()
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_mailing_pause_takes_a_json_boolean(client, creator):
    from lavka.campaigns.models import MailingStatus
    from lavka.campaigns.tests.factories import MailingFactory

    mailing = MailingFactory(owner=creator, status=MailingStatus.SCHEDULED)

    response = client.post(
        f"/api/v1/campaigns/mailings/{mailing.pk}/pause/",
        {"disable": "yes"},
        content_type="application/json",
        **bearer(creator),
    )

    assert response.status_code == 400
    assert "disable" in response.json()
    mailing.refresh_from_db()
    assert mailing.status == MailingStatus.SCHEDULED


@pytest.mark.django_db
def test_a_form_body_is_refused_and_only_json_is_documented(client, creator, schema):
    from lavka.campaigns.models import Recipient

    response = client.post(
        "/api/v1/campaigns/recipients/", {"email": "form@example.com"}, **bearer(creator)
    )

    assert response.status_code == 415
    assert response.json()["detail"]
    assert not Recipient.objects.exists()
    for method, path, operation in operations(schema):
        if "requestBody" not in operation:
            continue
        assert "415" in operation["responses"], (method, path)
        if path.startswith("/api/v1/campaigns/"):  # a view may opt into forms, these do not
            assert set(operation["requestBody"]["content"]) == {"application/json"}, path


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["page=", "page=0", "page=-1", "page=last", "page=1.0"])
@pytest.mark.parametrize("path", ["/api/v1/campaigns/recipients/", "/api/v1/pages/"])
def test_a_page_is_one_positive_integer_or_a_404(client, creator, path, query):
    auth = bearer(creator)

    response = client.get(f"{path}?{query}", **auth)

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}
    assert client.get(f"{path}?page=1", **auth).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/pages/?ordering=",
        "/api/v1/pages/?ordering=title&ordering=title",
        "/api/v1/pages/?search=a&search=b",
        "/api/v1/campaigns/recipients/?state=active&state=active",
        "/api/v1/campaigns/lists/?page=1&page=1",
    ],
)
def test_a_query_parameter_is_one_documented_value(client, creator, query):
    response = client.get(query, **bearer(creator))

    assert response.status_code == 400
    name = query.split("?")[1].split("=")[0]
    assert name in response.json()


@pytest.mark.django_db
def test_deliveries_take_their_status_filter_once(client, creator):
    from lavka.campaigns.models import MailingRun
    from lavka.campaigns.tests.factories import MailingFactory

    run = MailingRun.objects.create(
        mailing=MailingFactory(owner=creator), scheduled_for="2030-01-01T00:00Z"
    )
    url = f"/api/v1/campaigns/runs/{run.pk}/deliveries/"
    auth = bearer(creator)

    assert client.get(f"{url}?status=sent", **auth).status_code == 200
    assert client.get(f"{url}?status=sent&status=failed", **auth).status_code == 400


@pytest.mark.django_db
def test_an_empty_page_is_a_404_even_when_the_first_page_is_cached(client):
    assert client.get("/api/v1/pages/").status_code == 200  # now cached

    response = client.get("/api/v1/pages/?page=")

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


@pytest.mark.django_db
def test_operations_with_a_query_document_the_web_servers_414(schema):
    for method, path, operation in operations(schema):
        takes_query = any(p["in"] == "query" for p in operation.get("parameters", []))
        assert ("414" in operation["responses"]) == takes_query, (method, path)
