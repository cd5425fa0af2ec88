"""Start-up refuses malformed configuration, naming the variable, and production is safe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[3]
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k" * 20 + "Zx9!-production-secret-for-tests-only-0123456789",
    "DJANGO_ALLOWED_HOSTS": "lavka.example.com",
    "LAVKA_SITE_URL": "https://lavka.example.com",
    "EMAIL_URL": "smtp+tls://lavka:secret@smtp.example.com:587",
    "LAVKA_ENCRYPTION_KEYS": "cHJvZHVjdGlvbi1rZXktZm9yLXRlc3RzLW9ubHktMzI=",
}


def run_django(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LAVKA_"))}
    clean.update(DJANGO_SETTINGS_MODULE="lavka.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "mysqlish://nobody@host/db"),
        ("DATABASE_URL", "postgres://user@host:5432/"),
        ("CACHE_URL", "memcached-ish://x"),
        ("EMAIL_URL", "smtp://"),
        ("CELERY_BROKER_URL", "kafka://localhost:9092"),
        ("DJANGO_DEBUG", "perhaps"),
        ("WORKER_HEARTBEAT_INTERVAL", "ten"),
        ("LAVKA_SITE_URL", "ftp://shop.example.com"),
        ("LAVKA_SITE_URL", "shop.example.com"),
        ("LAVKA_MIN_DONATION", "one euro"),
        ("LAVKA_MIN_DONATION", "-1"),
        ("LAVKA_MIN_DONATION", "NaN"),
        ("RECOMMENDATIONS_REDIS_URL", "memcached://127.0.0.1:11211"),
    ],
)
def test_malformed_variable_stops_startup_naming_it(name: str, value: str) -> None:
    result = run_django("print('started')", **{name: value})

    assert result.returncode != 0
    assert "started" not in result.stdout
    assert f"{name}:" in result.stderr


def test_a_secret_key_is_made_once_into_the_var_folder_and_kept(tmp_path: Path) -> None:
    show = "from django.conf import settings; print(settings.SECRET_KEY)"

    first = run_django(show, LAVKA_VAR_DIR=str(tmp_path))
    second = run_django(show, LAVKA_VAR_DIR=str(tmp_path))
    given = run_django(show, LAVKA_VAR_DIR=str(tmp_path), DJANGO_SECRET_KEY="x" * 60)

    key_file = tmp_path / "secret_key"
    assert first.returncode == 0, first.stderr
    assert len(first.stdout.strip()) >= 50
    assert first.stdout == second.stdout
    assert key_file.read_text().strip() == first.stdout.strip()
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert given.stdout.strip() == "x" * 60


def test_processes_starting_together_share_one_secret_key(tmp_path: Path) -> None:
    """web, worker and beat start at once on a fresh var/: one key, never half a file."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LAVKA_"))}
    clean.update(DJANGO_SETTINGS_MODULE="lavka.settings", LAVKA_VAR_DIR=str(tmp_path))
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code], cwd=BASE_DIR, env=clean, stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}

    assert len(keys) == 1
    assert keys == {(tmp_path / "secret_key").read_text().strip()}
    assert [p.name for p in tmp_path.iterdir() if "secret_key" in p.name] == ["secret_key"]


def test_a_damaged_key_file_stops_startup_naming_it(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("short\n")

    result = run_django("print('started')", LAVKA_VAR_DIR=str(tmp_path))

    assert result.returncode != 0
    assert f"the key file {tmp_path / 'secret_key'} is shorter" in result.stderr


def check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    """`manage.py check --deploy` as `make check-deploy` runs it, in `env` alone."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "LAVKA_")) and k != "EMAIL_URL"
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="lavka.settings")
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_passes_deploy_checks_at_warning_level() -> None:
    result = check_deploy(**PRODUCTION)

    assert result.returncode == 0, result.stderr + result.stdout


def test_deploy_checks_fail_naming_email_url_when_email_would_stay_in_the_outbox() -> None:
    without_email = {k: v for k, v in PRODUCTION.items() if k != "EMAIL_URL"}

    result = check_deploy(**without_email)

    assert result.returncode != 0
    assert "ERROR" in result.stderr
    assert "(lavka.E001) EMAIL_URL is not set" in result.stderr


@pytest.mark.django_db
def test_production_sends_security_headers_and_secure_cookies() -> None:
    from lavka.core.tests.support import test_database_url

    code = (
        "from django.test import Client; "
        "r = Client(HTTP_HOST='lavka.example.com').get('/accounts/login/', secure=True); "
        "print(r.status_code); "
        "[print(f'{k}: {v}') for k, v in r.headers.items()]; "
        '[print(f\'cookie {c.key}: secure={c["secure"]} httponly={c["httponly"]} samesite={c["samesite"]}\') for c in r.cookies.values()]'
    )
    result = run_django(code, **PRODUCTION, DATABASE_URL=test_database_url())
    out = result.stdout

    assert result.returncode == 0, result.stderr
    assert out.splitlines()[0] == "200"
    assert "Strict-Transport-Security: max-age=31536000; includeSubDomains; preload" in out
    assert "X-Content-Type-Options: nosniff" in out
    assert "X-Frame-Options: DENY" in out
    csp = next(line for line in out.splitlines() if line.startswith("Content-Security-Policy:"))
    script_src = next(part for part in csp.split(";") if "script-src" in part)
    assert "unsafe-inline" not in script_src
    assert "frame-ancestors 'none'" in csp
    assert "cookie csrftoken: secure=True" in out
    assert "samesite=Lax" in out


def test_production_redirects_plain_http_but_not_the_health_probe() -> None:
    code = (
        "from django.test import Client; c = Client(HTTP_HOST='lavka.example.com'); "
        "print(c.get('/').status_code, c.get('/healthz').status_code in (200, 503))"
    )
    result = run_django(code, **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "301 True"


@pytest.mark.django_db
def test_with_debug_off_a_site_served_over_http_keeps_plain_cookies_and_no_hsts() -> None:
    """The default `make run`: DEBUG off at http://127.0.0.1:8000, where a Secure cookie
    would be dropped by scripts and an https redirect would lead nowhere."""
    from lavka.core.tests.support import test_database_url

    code = (
        "from django.conf import settings; print(settings.DEBUG); "
        "from django.test import Client; "
        "r = Client(HTTP_HOST='127.0.0.1:8000').get('/accounts/login/'); "
        "print(r.status_code, 'Strict-Transport-Security' in r.headers); "
        "print(r.cookies['csrftoken']['secure'] or 'plain')"
    )
    result = run_django(code, DATABASE_URL=test_database_url())

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "200", "False", "plain"]


def test_env_example_lists_every_variable_the_settings_read() -> None:
    import re

    settings_source = (BASE_DIR / "lavka" / "settings.py").read_text()
    read = set(
        re.findall(
            r'(?:env|env_bool|env_int|env_decimal|env_list|env_path|env_fernet_keys|parse_url_setting)\(\s*"([A-Z_]+)"',
            settings_source,
        )
    )
    listed = set(re.findall(r"^([A-Z_]+)=", (BASE_DIR / ".env.example").read_text(), re.M))

    assert read, "no variables found in settings.py"
    assert read - listed == set()


def test_an_empty_value_in_a_copied_env_file_means_the_default() -> None:
    result = run_django(
        "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])",
        DATABASE_URL="",
        DJANGO_SECRET_KEY="",
        CACHE_URL="",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "django.db.backends.sqlite3"


def test_a_stripe_key_without_the_webhook_secret_stops_the_start_naming_it() -> None:
    without_secret = {
        **PRODUCTION,
        "STRIPE_SECRET_KEY": "sk_test_example",
        "STRIPE_WEBHOOK_SECRET": "",
    }
    with_secret = {**without_secret, "STRIPE_WEBHOOK_SECRET": "whsec_example"}

    refused, accepted = check_deploy(**without_secret), check_deploy(**with_secret)

    assert refused.returncode != 0
    assert (
        "(lavka.E002) STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not" in refused.stderr
    )
    assert accepted.returncode == 0, accepted.stderr + accepted.stdout
