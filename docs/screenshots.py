#!/usr/bin/env python
"""The README's shop screenshots, made again from the demo data.

Starts Lavka (gunicorn, production settings, a fresh SQLite database with `make run`'s
demo data, in a temporary directory) on a free loopback port, opens it in Debian's
Chromium through Playwright at 1200x800 and saves, under docs/images/:

  shop.png            the shop's product list
  product.png         a product page
  become-creator.png  "Become a creator", as the demo customer sees it
  my-products.png     "My products", as the demo creator sees it

Each PNG is reduced to 256 colours (flat pages lose nothing visible) to stay small.

    .venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench._support import free_port, stop, wait_for_http  # noqa: E402

IMAGES = BASE_DIR / "docs" / "images"
VIEWPORT = {"width": 1200, "height": 800}


def environment(var_dir: Path, port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "EMAIL_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="lavka.settings",
        LAVKA_VAR_DIR=str(var_dir),
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_BEHIND_PROXY="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        LAVKA_SITE_URL=f"http://127.0.0.1:{port}",
        LOG_LEVEL="WARNING",
    )
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def save_small(png: bytes, path: Path) -> int:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path.stat().st_size


def log_in(page: object, email: str, password: str) -> None:
    page.goto("/accounts/login/")  # type: ignore[attr-defined]
    page.fill("input[name=login]", email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", password)  # type: ignore[attr-defined]
    page.click("main form button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url("**/accounts/profile/")  # type: ignore[attr-defined]


def main() -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    IMAGES.mkdir(parents=True, exist_ok=True)
    var_dir = Path(tempfile.mkdtemp(prefix="lavka-screenshots-"))
    port = free_port()
    env = environment(var_dir, port)
    os.environ.update(env)
    import django

    django.setup()
    from lavka.accounts.demo import DEMO_PASSWORD

    server = None
    try:
        manage(env, "migrate", "--verbosity=0")
        manage(env, "collectstatic", "--no-input", "--verbosity=0")
        manage(env, "load_demo_data")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "lavka.wsgi:application",
                f"--bind=127.0.0.1:{port}",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_http(port, "/shop/")
        root = f"http://127.0.0.1:{port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
            )

            def shoot(name: str, path: str, login: str | None = None) -> None:
                context = browser.new_context(base_url=root, viewport=VIEWPORT, locale="en-US")
                page = context.new_page()
                if login:
                    log_in(page, login, DEMO_PASSWORD)
                page.goto(path)
                page.wait_for_load_state("networkidle")
                size = save_small(page.screenshot(), IMAGES / name)
                print(f"docs/images/{name}: {size // 1024} KB")
                context.close()

            shoot("shop.png", "/shop/")
            shoot("product.png", "/shop/creators/cleo/blue-mug/")
            shoot("become-creator.png", "/shop/become-a-creator/", "customer@lavka.localhost")
            shoot("my-products.png", "/shop/manage/", "creator@lavka.localhost")
            browser.close()
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
