"""Buyers of the live-server tests: each a `requests.Session` of its own (its own
cookies, so its own Django session and cart) that uses the site only as a browser
would: it reads forms' CSRF and checkout tokens from the pages and posts them back."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import requests

from lavka.accounts.tests.factories import DEFAULT_PASSWORD

TIMEOUT = 60  # seconds for one request: a stuck lock shows as a timeout, not a hang


def hidden_value(page: str, name: str) -> str:
    """The value of the form field `name` on the page (the first one)."""
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)" name="{re.escape(name)}"', page
    )
    assert found, f"no {name} on the page:\n{page[:2000]}"
    return html.unescape(found.group(1))


def page_text(response: requests.Response) -> str:
    """The page as a reader sees it: entities decoded (an apostrophe is &#x27; in HTML)."""
    return html.unescape(response.text)


@dataclass
class Buyer:
    base_url: str
    email: str
    http: requests.Session = field(default_factory=requests.Session)

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.url(path), timeout=TIMEOUT, **kw)

    def post_form(self, page_path: str, action: str, data: dict[str, Any]) -> requests.Response:
        """Open the page holding the form, then post it with the page's CSRF token,
        without following the redirect (the caller reads where it goes)."""
        page = self.get(page_path)
        assert page.status_code == 200, (page_path, page.status_code)
        token = hidden_value(page.text, "csrfmiddlewaretoken")
        return self.http.post(
            self.url(action),
            data={"csrfmiddlewaretoken": token, **data},
            headers={"Referer": page.url},
            allow_redirects=False,
            timeout=TIMEOUT,
        )

    def log_in(self) -> None:
        response = self.post_form(
            "/accounts/login/",
            "/accounts/login/",
            {"login": self.email, "password": DEFAULT_PASSWORD},
        )
        assert response.status_code == 302, (self.email, response.status_code, response.text)
        assert "sessionid" in self.http.cookies

    def add_to_cart(self, product: Any, quantity: int = 1) -> None:
        product_page = f"/shop/creators/{product.creator.slug}/{product.slug}/"
        response = self.post_form(
            product_page, "/shop/cart/add/", {"product": product.pk, "quantity": quantity}
        )
        assert response.status_code == 302, (response.status_code, response.text)

    def open_checkout(self) -> str:
        """The checkout page, as the buyer has it open before pressing "Place order"."""
        page = self.get("/shop/checkout/")
        assert page.status_code == 200, page.status_code
        return page.text

    def place_order(
        self, checkout_page: str, *, payment_method: str = "bank_transfer", coupon: str = ""
    ) -> requests.Response:
        """Submit the checkout form of `checkout_page` (not followed: a 302 to the order
        or to the payment page, or the form again with the reason)."""
        return self.http.post(
            self.url("/shop/checkout/"),
            data={
                "csrfmiddlewaretoken": hidden_value(checkout_page, "csrfmiddlewaretoken"),
                "checkout_token": hidden_value(checkout_page, "checkout_token"),
                "full_name": "Live Buyer",
                "email": self.email,
                "address": "1 Main St",
                "payment_method": payment_method,
                "coupon_code": coupon,
            },
            headers={"Referer": self.url("/shop/checkout/")},
            allow_redirects=False,
            timeout=TIMEOUT,
        )


def order_id_of(location: str) -> int:
    found = re.search(r"/shop/orders/(\d+)/", location)
    assert found, location
    return int(found.group(1))
