"""`{% once_per %}` (lavka/core/templatetags/fragments.py) and the site header built on
it: what many visitors share is rendered once, what belongs to one visitor never is."""

from __future__ import annotations

import re

import pytest
from django.template import TemplateSyntaxError, engines
from django.test import Client
from django.utils import translation

TOKEN = re.compile(
    r'<form method="post" action="/language/" class="language-switcher">\s*'
    r'<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)">\s*'
    r'<input type="hidden" name="next" value="([^"]*)">'
)


def _template(source: str):
    return engines["django"].from_string("{% load fragments %}" + source)


def test_a_part_is_rendered_once_per_value_and_language():
    template = _template("{% once_per menu %}{{ menu }}:{{ visitor }}{% endonce_per %}")

    with translation.override("en"):
        first = template.render({"menu": ["a"], "visitor": "ann"})
        same_menu = template.render({"menu": ["a"], "visitor": "bob"})
        other_menu = template.render({"menu": ["b"], "visitor": "bob"})
    with translation.override("ru"):
        other_language = template.render({"menu": ["a"], "visitor": "bob"})

    assert first == same_menu == "[&#x27;a&#x27;]:ann"  # kept: the part names no visitor
    assert other_menu == "[&#x27;b&#x27;]:bob"
    assert other_language == "[&#x27;a&#x27;]:bob"


def test_each_template_keeps_its_own_parts():
    one = _template("{% once_per %}one {{ visitor }}{% endonce_per %}")
    two = _template("{% once_per %}two {{ visitor }}{% endonce_per %}")

    assert one.render({"visitor": "ann"}) == "one ann"
    assert two.render({"visitor": "bob"}) == "two bob"


def _switcher(client: Client, path: str) -> tuple[str, str]:
    response = client.get(path)
    assert response.status_code == 200
    found = TOKEN.search(response.content.decode())
    assert found, "no language switcher in the header"
    return found.group(1), found.group(2)


@pytest.mark.django_db
def test_each_signed_in_users_header_carries_their_own_csrf_token_and_path(user_factory):
    ann, bob = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    ann.force_login(user_factory())
    bob.force_login(user_factory())
    ann_token, ann_next = _switcher(ann, "/")
    bob_token, bob_next = _switcher(bob, "/?sort=price")

    assert (ann_next, bob_next) == ("/", "/?sort=price")
    refused = bob.post(
        "/language/", {"language": "ru", "next": "/", "csrfmiddlewaretoken": ann_token}
    )
    assert refused.status_code == 403
    switched = bob.post(
        "/language/", {"language": "ru", "next": "/", "csrfmiddlewaretoken": bob_token}
    )
    assert switched.status_code == 302


@pytest.mark.django_db
def test_a_visitors_page_carries_no_csrf_token_and_links_back_to_its_own_path():
    ann, bob = Client(), Client()
    ann_page = ann.get("/").content.decode()
    bob_page = bob.get("/shop/?sort=price&q=mug").content.decode()

    assert "csrfmiddlewaretoken" not in ann_page + bob_page
    assert "csrftoken" not in ann.cookies and "csrftoken" not in bob.cookies
    assert 'href="/language/?language=ru&amp;next=/"' in ann_page
    assert 'href="/language/?language=ru&amp;next=/shop/%3Fsort%3Dprice%26q%3Dmug"' in bob_page


@pytest.mark.django_db
def test_a_language_link_sets_the_cookie_and_returns_only_to_this_site(client):
    back = client.get("/language/", {"language": "ru", "next": "/shop/?page=2"})
    assert back.status_code == 302 and back["Location"] == "/shop/?page=2"
    assert client.cookies["django_language"].value == "ru"
    assert '<html lang="ru">' in client.get("/").content.decode()

    away = client.get("/language/", {"language": "en", "next": "https://evil.example/"})
    assert away["Location"] == "/"
    unknown = client.get("/language/", {"language": "xx\r\nSet-Cookie: a=b", "next": "/"})
    assert unknown.status_code == 302 and client.cookies["django_language"].value == "en"


@pytest.mark.django_db
def test_a_language_link_never_changes_a_signed_in_users_profile(client, customer):
    client.force_login(customer)
    client.get("/language/", {"language": "ru", "next": "/"})
    customer.refresh_from_db()
    assert customer.language != "ru"


@pytest.mark.django_db
def test_the_header_follows_the_language_and_sign_in(client, customer):
    assert 'data-testid="nav-login"' in client.get("/").content.decode()
    client.get("/language/", {"language": "ru", "next": "/"})
    russian = client.get("/").content.decode()
    client.force_login(customer)
    signed_in = client.get("/").content.decode()

    assert '<html lang="ru">' in russian
    assert re.search(r'class="lang-button is-current"\s+data-testid="lang-ru"', russian)
    assert 'data-testid="nav-login"' not in signed_in
    assert 'data-testid="nav-profile"' in signed_in


def test_a_block_inside_is_refused():
    with pytest.raises(TemplateSyntaxError, match="cannot hold a"):
        _template("{% once_per %}{% block title %}{% endblock %}{% endonce_per %}")
