"""The one real browser every test suite shares (lavka's and the simulators').

Playwright's sync API allows one instance per thread, so there is exactly one session
fixture for the whole run, here at the root.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to
# run in such a thread unless told the code is synchronous, which it is.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The vision service has its own environment and tests (`make vision-test`); Lavka's
# environment has none of its packages, so its tests are not collected here.
collect_ignore = ["services/vision"]

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright; skipped with the reason where it is absent.

    CI sets LAVKA_REQUIRE_BROWSER=1 so a missing browser fails there instead.
    """
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        if os.environ.get("LAVKA_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (LAVKA_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Debian's Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
