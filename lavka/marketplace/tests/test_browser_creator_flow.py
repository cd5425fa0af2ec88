"""Seed 003's creator flow in Debian's Chromium against a live server.

A signed-in customer becomes a creator (self-service), publishes a product with a
picture, finds it in the shop (a list that was cached before the product existed) and on
its page with the picture served, and gets a 404 for another creator's product edit page.
"""

from __future__ import annotations

from typing import Any

import pytest

from lavka.marketplace.models import CreatorProfile, Product
from lavka.marketplace.tests.browser_helpers import log_in
from lavka.marketplace.tests.factories import CategoryFactory, ProductFactory, image_bytes
from lavka.marketplace.tests.helpers import approved_creator

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_customer_becomes_a_creator_publishes_a_product_and_cannot_edit_anothers(
    browser_page: Any, customer: Any, settings: Any
) -> None:
    settings.LAVKA_CREATOR_APPROVAL = False
    page = browser_page
    category = CategoryFactory(name_en="Ceramics", slug="ceramics")
    other = ProductFactory(
        creator=approved_creator(display_name="Other Studio", slug="other"), title_en="Teapot"
    )

    page.goto("/shop/")  # the shop's list is now cached, without the product to come
    assert page.locator("[data-testid=product-title]").all_inner_texts() == ["Teapot"]

    log_in(page, customer.email)
    page.goto("/shop/become-a-creator/")
    page.fill("input[name=display_name]", "Carla's Clay")
    page.fill("input[name=slug]", "carla")
    page.fill("textarea[name=bio]", "Mugs and bowls.")
    page.click("[data-testid=become-creator-submit]")
    page.wait_for_url("**/shop/manage/")
    assert CreatorProfile.objects.get(user=customer).is_approved

    page.click("[data-testid=product-new]")
    page.wait_for_url("**/shop/manage/new/")
    page.fill("input[name=title_en]", "Speckled mug")
    page.fill("input[name=title_ru]", "Кружка в крапинку")
    page.fill("input[name=slug]", "speckled-mug")
    page.fill("textarea[name=description_en]", "Holds **350 ml**.")
    page.select_option("select[name=category]", str(category.pk))
    page.fill("input[name=price]", "16.50")
    page.select_option("select[name=kind]", "physical")
    page.fill("input[name=stock]", "4")
    page.set_input_files(
        "input[name=new_images]",
        files=[{"name": "mug.png", "mimeType": "image/png", "buffer": image_bytes(size=(64, 48))}],
    )
    page.fill("input[name=alt_text]", "A speckled mug")
    page.click("[data-testid=product-save]")
    page.wait_for_url("**/shop/manage/*/")
    product = Product.objects.get(slug="speckled-mug")
    assert product.creator.user == customer

    page.goto("/shop/")
    titles = page.locator("[data-testid=product-title]").all_inner_texts()
    assert titles == ["Speckled mug", "Teapot"]
    page.get_by_role("link", name="Speckled mug").click()
    page.wait_for_url("**/shop/creators/carla/speckled-mug/")
    assert page.locator("[data-testid=product-price]").inner_text().startswith("16.50")
    assert "Only 4 left" in page.locator("[data-testid=product-stock]").inner_text()
    picture = page.locator("[data-testid=product-image]").first
    picture.wait_for()
    assert picture.evaluate("img => img.complete && img.naturalWidth") == 64

    response = page.goto(f"/shop/manage/{other.pk}/")
    assert response is not None and response.status == 404
    response = page.goto(f"/shop/manage/{product.pk}/")
    assert response is not None and response.status == 200
