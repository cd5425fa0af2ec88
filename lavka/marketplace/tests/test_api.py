"""The public catalogue API: what it lists, its filters, its errors, its schema."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from lavka.marketplace.models import CreatorProfile
from lavka.marketplace.tests.factories import (
    CategoryFactory,
    CreatorProfileFactory,
    ProductFactory,
    ProductImageFactory,
)

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/catalog/products/"
CATEGORIES = "/api/v1/catalog/categories/"
CREATORS = "/api/v1/catalog/creators/"


def titles(response: Any) -> list[str]:
    return [item["title"] for item in response.json()["results"]]


def test_products_lists_what_is_on_sale_with_prices_as_decimal_strings(client: Client) -> None:
    product = ProductFactory(title_en="Mug", price=Decimal("18.50"), stock=2)
    ProductImageFactory(product=product)
    ProductFactory(title_en="Archived", archived_at=timezone.now())
    ProductFactory(title_en="Off", is_active=False)
    ProductFactory(
        title_en="Pending", creator=CreatorProfileFactory(status=CreatorProfile.Status.PENDING)
    )

    response = client.get(PRODUCTS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["price"] == "18.50"
    assert item["currency"] == "EUR"
    assert item["stock"] == 2 and item["stock_state"] == "few_left"
    assert item["creator"]["slug"] == product.creator.slug
    assert item["image_url"].startswith("http://testserver/media/marketplace/products/")
    detail = client.get(item["url"]).json()
    assert detail["images"][0]["alt_text"] == "A photo"
    assert detail["description_html"] == "<p>A <em>fine</em> thing.</p>"


def test_product_detail_of_a_product_off_sale_is_a_json_404(client: Client) -> None:
    archived = ProductFactory(archived_at=timezone.now())

    for url in (f"{PRODUCTS}{archived.pk}/", f"{PRODUCTS}{2**64}/", f"{PRODUCTS}0/"):
        response = client.get(url)
        assert response.status_code == 404
        assert "detail" in response.json()


def test_filters_search_and_ordering(client: Client) -> None:
    home = CategoryFactory(slug="home")
    ceramics = CategoryFactory(slug="ceramics", parent=home)
    studio = CreatorProfileFactory(slug="studio")
    ProductFactory(
        title_en="Mug",
        description_ru="Глиняная кружка",
        category=ceramics,
        creator=studio,
        price=Decimal("10"),
    )
    ProductFactory(title_en="Towel", category=home, price=Decimal("5"))
    ProductFactory(title_en="Book", price=Decimal("20"))

    assert titles(client.get(PRODUCTS, {"category": "home", "ordering": "price"})) == [
        "Towel",
        "Mug",
    ]
    assert titles(client.get(PRODUCTS, {"creator": "studio"})) == ["Mug"]
    assert titles(client.get(PRODUCTS, {"search": "ГЛИНЯНАЯ"})) == ["Mug"]
    assert titles(client.get(PRODUCTS, {"price_min": "6", "price_max": "20"})) == [
        "Book",
        "Mug",
    ]
    assert titles(client.get(PRODUCTS, {"ordering": "-price"})) == ["Book", "Mug", "Towel"]
    assert client.get(PRODUCTS, {"category": "nope"}).json()["count"] == 0


def test_titles_follow_accept_language(client: Client) -> None:
    ProductFactory(title_en="Mug", title_ru="Кружка")
    ProductFactory(title_en="English only", title_ru="")

    russian = client.get(PRODUCTS, headers={"accept-language": "ru"})

    assert sorted(titles(russian)) == ["English only", "Кружка"]


def test_a_lower_price_above_the_upper_matches_nothing(client: Client) -> None:
    ProductFactory(price=Decimal("7.00"))

    response = client.get(PRODUCTS, {"price_min": "10", "price_max": "5"})

    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"price_min": "abc"},
        {"price_min": "-1"},
        {"price_max": "1.999"},
        {"price_min": "1e3"},  # the schema's pattern has no exponent: neither has the server
        {"price_min": "4.066310215261313e+197"},
        {"ordering": "id; DROP TABLE x"},
        {"search": "x" * 201},
        {"search": "a\x00b"},
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(
    client: Client, params: dict[str, str]
) -> None:
    ProductFactory()

    response = client.get(PRODUCTS, params)

    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Invalid input."
    assert set(body) - {"detail"} <= set(params) | {"non_field_errors"}


@pytest.mark.parametrize("page", ["0", "abc", "99"])
def test_a_bad_page_is_a_json_404(client: Client, page: str) -> None:
    ProductFactory()

    response = client.get(PRODUCTS, {"page": page})

    assert response.status_code == 404
    assert "detail" in response.json()


def test_categories_and_creators(client: Client) -> None:
    home = CategoryFactory(slug="home", name_en="Home", name_ru="Дом")
    CategoryFactory(slug="ceramics", parent=home)
    creator = CreatorProfileFactory(slug="studio")
    ProductFactory(creator=creator)
    ProductFactory(creator=creator, is_active=False)
    CreatorProfileFactory(slug="waiting", status=CreatorProfile.Status.PENDING)

    categories = client.get(CATEGORIES, headers={"accept-language": "ru"}).json()["results"]
    creators = client.get(CREATORS).json()["results"]

    by_slug = {item["slug"]: item for item in categories}
    assert by_slug["home"]["name"] == "Дом" and by_slug["home"]["parent"] is None
    assert by_slug["ceramics"]["parent"] == home.pk
    studio = next(item for item in creators if item["slug"] == "studio")
    assert studio["products_on_sale"] == 1 and studio["avatar_url"] is None
    assert "waiting" not in {item["slug"] for item in creators}
    assert client.get(f"{CATEGORIES}{home.pk}/").json()["slug"] == "home"
    waiting = CreatorProfile.objects.get(slug="waiting")
    assert client.get(f"{CREATORS}{waiting.pk}/").status_code == 404


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", [PRODUCTS, PRODUCTS + "?search=mug&ordering=title", CREATORS])
def test_list_queries_do_not_grow_with_the_number_of_products(client: Client, url: str) -> None:
    def add(count: int) -> None:
        for _ in range(count):
            product = ProductFactory(title_en="Mug")
            ProductImageFactory(product=product)

    add(2)
    few = _queries(client, url)
    add(15)
    many = _queries(client, url)

    assert many == few


def test_the_schema_documents_the_catalogue_truthfully() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)

    paths = schema["paths"]
    for path in (
        "/api/v1/catalog/products/",
        "/api/v1/catalog/products/{id}/",
        "/api/v1/catalog/categories/",
        "/api/v1/catalog/categories/{id}/",
        "/api/v1/catalog/creators/",
        "/api/v1/catalog/creators/{id}/",
    ):
        assert set(paths[path]) == {"get"}, path
    parameters = {p["name"] for p in paths["/api/v1/catalog/products/"]["get"]["parameters"]}
    assert {"search", "category", "creator", "price_min", "price_max", "ordering", "page"} <= (
        parameters
    )
    components = schema["components"]["schemas"]
    product = components["ProductDetail"]["properties"]
    assert product["stock"].get("nullable") is True
    assert product["image_url"].get("nullable") is True
    assert product["price"]["format"] == "decimal"
    assert product["url"]["format"] == "uri"
    assert components["Category"]["properties"]["parent"].get("nullable") is True
    assert components["Creator"]["properties"]["avatar_url"].get("nullable") is True


@pytest.mark.django_db
@pytest.mark.parametrize("param", ["category", "creator"])
@pytest.mark.parametrize("value", ["\u00f5FV\u0016", "../etc"])
def test_a_category_or_creator_that_is_no_slug_matches_nothing(client, param, value):
    ProductFactory()

    response = client.get("/api/v1/catalog/products/", {param: value})

    assert response.status_code == 200
    assert response.json()["results"] == []
