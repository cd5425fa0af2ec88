"""A person's whole account journey in Debian's Chromium."""

from __future__ import annotations

import re

import pytest

from lavka.core.models import OutboxMessage

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a-long-and-unusual-passphrase"
NEW_PASSWORD = "an-even-longer-new-passphrase"


def link_from_outbox(to: str, path_fragment: str) -> str:
    message = OutboxMessage.objects.filter(to__icontains=to).order_by("-id").first()
    assert message is not None, f"no email to {to} in the outbox"
    return re.search(rf"https?://\S+{re.escape(path_fragment)}\S+/", message.text_body).group(0)


def log_in(page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")


def test_sign_up_verify_log_in_switch_language_log_out_and_reset_password(browser_page):
    page = browser_page

    page.goto("/")
    page.get_by_role("link", name="Sign up").first.click()
    page.fill("input[name=email]", "browser@example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/confirm-email/")

    page.goto(link_from_outbox("browser@example.com", "/accounts/confirm-email/"))
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/login/**")

    log_in(page, "browser@example.com", PASSWORD)
    page.wait_for_url("**/accounts/profile/")
    assert page.get_by_role("heading", name="Your profile").is_visible()

    page.click("[data-testid=lang-ru]")
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Ваш профиль").is_visible()
    page.click("[data-testid=lang-en]")
    page.wait_for_load_state()

    page.click("[data-testid=nav-logout]")
    page.wait_for_load_state()
    assert page.locator("[data-testid=nav-login]").is_visible()

    page.goto("/accounts/password/reset/")
    page.fill("input[name=email]", "browser@example.com")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/password/reset/done/")
    page.goto(link_from_outbox("browser@example.com", "/accounts/password/reset/key/"))
    page.fill("input[name=password1]", NEW_PASSWORD)
    page.fill("input[name=password2]", NEW_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/password/reset/key/done/")

    log_in(page, "browser@example.com", NEW_PASSWORD)
    page.wait_for_url("**/accounts/profile/")
    assert page.get_by_role("heading", name="Your profile").is_visible()


def test_a_russian_browser_signs_up_and_reads_russian_after_logging_in(
    chromium, live_server, settings
):
    """Issue 8, finding 8: the sign-up's language is the account's, not English."""
    settings.EMAIL_BACKEND = "lavka.core.mail.OutboxEmailBackend"
    settings.SITE_URL = live_server.url
    context = chromium.new_context(base_url=live_server.url, locale="ru-RU")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/accounts/signup/")
        page.fill("input[name=email]", "ivan@example.com")
        page.fill("input[name=password1]", PASSWORD)
        page.fill("input[name=password2]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url("**/accounts/confirm-email/")
        page.goto(link_from_outbox("ivan@example.com", "/accounts/confirm-email/"))
        page.click("main form button[type=submit]")
        page.wait_for_url("**/accounts/login/**")
        context.clear_cookies()  # a later visit: nothing left of the sign-up's session

        log_in(page, "ivan@example.com", PASSWORD)
        page.wait_for_url("**/accounts/profile/")

        assert page.get_by_role("heading", name="Ваш профиль").is_visible()
    finally:
        context.close()
