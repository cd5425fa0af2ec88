"""The web server of `make run`, started as the Procfile starts it (issue 8, finding 9).

`make run` used Django's development server with DEBUG on: a mistyped URL showed the
debug page listing every URL pattern. Here the Procfile's `web` command runs on the
embedded default with no DJANGO_* variables set, after `collectstatic` as `make run` does,
and is asked what a visitor, a browser and a script would ask over plain http.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lavka.core.tests import support
from lavka.core.tests.support import BASE_DIR, free_port, wait_until

pytestmark = [pytest.mark.slow]


@dataclass
class Server:
    url: str
    var_dir: Path

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.url + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()


def procfile_command(name: str) -> str:
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} process in the Procfile")


def production_environment(port: int, var_dir: Path) -> dict[str, str]:
    """What `make run` gives its processes: nothing of the test run's own settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LAVKA_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="lavka.settings",
        DATABASE_URL=support.test_database_url(),
        LAVKA_VAR_DIR=str(var_dir),
        LAVKA_SITE_URL=f"http://127.0.0.1:{port}",
        PORT=str(port),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


@pytest.fixture
def server(transactional_db: None, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    var_dir = tmp_path / "var"
    env = production_environment(port, var_dir)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        timeout=300,
    )
    log = (tmp_path / "web.log").open("wb")
    process = subprocess.Popen(  # noqa: S602 - the Procfile line, as honcho runs it
        procfile_command("web"),
        shell=True,
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    running = Server(f"http://127.0.0.1:{port}", var_dir)
    try:
        answered = wait_until(lambda: _answers(running) or process.poll() is not None, 60)
        assert answered and process.poll() is None, (tmp_path / "web.log").read_text()
        yield running
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def customer(customer: Any) -> Any:
    """The customer, with a password hashed as the production settings hash them (the
    test settings' fast hasher is unknown there)."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from lavka.accounts.tests.factories import DEFAULT_PASSWORD

    hasher = PBKDF2PasswordHasher()
    customer.password = hasher.encode(DEFAULT_PASSWORD, hasher.salt())
    customer.save(update_fields=["password"])
    return customer


def _answers(server: Server) -> bool:
    try:
        server.get("/healthz")  # 503 here: no worker runs beside this server
    except OSError:
        return False
    return True


def test_a_mistyped_url_gets_the_friendly_404_without_the_url_list(server):
    status, headers, body = server.get("/campains/")
    page = body.decode()

    assert status == 404
    assert headers["Server"].startswith("gunicorn")
    assert "Page not found" in page
    assert "Go to the home page" in page
    for debug_sign in ("URLconf", "Django tried these URL patterns", "api/v1/", "admin/"):
        assert debug_sign not in page
    assert (server.var_dir / "secret_key").stat().st_mode & 0o777 == 0o600


def test_static_files_are_served_compressed_and_cached(server):
    source = (BASE_DIR / "lavka" / "static" / "lavka" / "lavka.css").read_bytes()

    status, headers, body = server.get("/static/lavka/lavka.css")
    _, gzip_headers, _ = server.get("/static/lavka/lavka.css", **{"Accept-Encoding": "gzip"})
    missing, _, _ = server.get("/static/lavka/no-such-file.css")

    assert status == 200
    assert body == source
    assert headers["Content-Type"].startswith("text/css")
    assert "max-age" in headers["Cache-Control"]
    assert gzip_headers["Content-Encoding"] == "gzip"
    assert missing == 404


def test_a_script_logs_in_over_plain_http(server, customer):
    """A cookie jar keeps no Secure cookie over http: with DEBUG off they must be plain."""
    from lavka.accounts.tests.factories import DEFAULT_PASSWORD

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(server.url + "/accounts/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)

    response = opener.open(
        server.url + "/accounts/login/",
        urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "login": customer.email, "password": DEFAULT_PASSWORD}
        ).encode(),
        timeout=10,
    )

    assert response.url == server.url + "/accounts/profile/"
    assert customer.email in response.read().decode()
    assert {cookie.name for cookie in jar} >= {"csrftoken", "sessionid"}
    assert not any(cookie.secure for cookie in jar)


@pytest.mark.browser
def test_a_browser_logs_in_over_plain_http(server, chromium: Any, customer):
    from lavka.accounts.tests.factories import DEFAULT_PASSWORD

    context = chromium.new_context(base_url=server.url, locale="en-US")
    try:
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("input[name=login]", customer.email)
        page.fill("input[name=password]", DEFAULT_PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url("**/accounts/profile/")

        assert page.get_by_role("heading", name="Your profile").is_visible()
        rules = page.evaluate("[...document.styleSheets].map(s => s.cssRules.length)")
        assert rules and all(rules)  # lavka.css arrived through WhiteNoise
    finally:
        context.close()
