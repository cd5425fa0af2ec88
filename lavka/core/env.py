"""Reading settings from the environment with errors that name the variable.

django-environ does the parsing; this module only makes a malformed value stop start-up
with a message an operator can act on, instead of a traceback from deep inside Django.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_env = environ.Env()


def read_env_file(path: Path) -> None:
    """Load a `.env` file if there is one; real environment variables win."""
    if path.is_file():
        environ.Env.read_env(str(path), overwrite=False)


_NOT_SET = object()


def _fail(name: str, value: str, expected: str) -> ImproperlyConfigured:
    shown = value if len(value) <= 80 else value[:77] + "..."
    return ImproperlyConfigured(f"{name}: cannot parse {shown!r}; expected {expected}.")


def env(name: str, default: Any = _NOT_SET) -> str:
    """A string variable; an empty value counts as unset, as in a copied .env.example."""
    raw = _env.str(name, default="")
    if raw != "":
        return raw
    if default is _NOT_SET:
        raise ImproperlyConfigured(f"{name}: must be set.")
    return default


def env_path(name: str, default: Path, base: Path) -> Path:
    """A folder or file; relative values are taken from the project folder."""
    raw = _env.str(name, default="")
    path = Path(raw) if raw else default
    return path if path.is_absolute() else (base / path).resolve()


def env_bool(name: str, default: bool) -> bool:
    raw = _env.str(name, default="")
    if raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise _fail(name, raw, "true or false")


def env_int(name: str, default: int) -> int:
    raw = _env.str(name, default="")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise _fail(name, raw, "a whole number") from None


def env_decimal(name: str, default: str) -> Decimal:
    """A finite, non-negative amount such as 1.00 (money is never a float)."""
    raw = _env.str(name, default="") or default
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise _fail(name, raw, "an amount such as 1.00") from None
    if not value.is_finite() or value < 0:
        raise _fail(name, raw, "an amount such as 1.00")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = _env.str(name, default="")
    if raw == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


_URL_KINDS = {
    "db": (
        _env.db_url_config,
        "a database URL such as sqlite:////abs/path.sqlite3 or "
        "postgres://user:password@host:5432/name",
        {"sqlite", "postgres", "postgresql", "pgsql", "psql"},
    ),
    "cache": (
        _env.cache_url_config,
        "a cache URL such as redis://host:6379/1, filecache:///abs/path or locmemcache://",
        {"redis", "rediss", "filecache", "locmemcache", "dummycache"},
    ),
    "email": (
        _env.email_url_config,
        "an email URL such as smtp://user:password@host:587, smtp+tls://host:587 or consolemail://",
        {"smtp", "smtps", "smtp+tls", "smtp+ssl", "consolemail", "filemail", "memorymail"},
    ),
}


def parse_url_setting(name: str, default: str, kind: str) -> dict[str, Any]:
    """Parse a URL-valued variable; any malformed value raises naming the variable."""
    raw = env(name, default=default)
    parser, expected, schemes = _URL_KINDS[kind]
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in schemes:
        raise _fail(name, raw, expected)
    try:
        config = parser(raw)
    except Exception as exc:  # django-environ raises several kinds
        raise _fail(name, raw, expected) from exc
    if kind == "db" and scheme != "sqlite" and not config.get("NAME"):
        raise _fail(name, raw, expected)
    if kind == "email" and scheme.startswith("smtp") and not config.get("EMAIL_HOST"):
        raise _fail(name, raw, expected)
    return config


def site_url(name: str, default: str) -> str:
    """The public address of the site, http(s)://host[:port][/path], without a trailing /."""
    raw = env(name, default=default).strip().rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise _fail(name, raw, "an address such as https://shop.example.com")
    return raw


def _made_once(path: Path, make: Callable[[], str]) -> str:
    """The text kept in `path`, written from `make()` on first start (mode 0600).

    Written to a temporary file and linked into place, so processes starting together
    (web, worker, beat) all end up with the one value and never read a half-written file.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as file:
                file.write(make() + "\n")
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            temporary.unlink(missing_ok=True)
    return path.read_text()


def secret_key_from_file(path: Path) -> str:
    """The key kept in `path`, made once with `secrets` on first start (mode 0600)."""
    key = _made_once(path, lambda: secrets.token_urlsafe(50)).strip()
    if len(key) < 50:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY: not set, and the key file {path} is shorter than 50 "
            "characters; delete it to have a new one made, or set DJANGO_SECRET_KEY."
        )
    return key


def new_fernet_key() -> str:
    """A Fernet key (32 random bytes, url-safe base64), as `Fernet.generate_key()` makes."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32 and len(key) == 44
    except (ValueError, UnicodeEncodeError):  # binascii.Error is a ValueError
        return False


_FERNET_KEY_HINT = (
    "a Fernet key: 44 characters of url-safe base64, as printed by "
    "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
)


def env_fernet_keys(name: str) -> list[str]:
    """Comma-separated Fernet keys, newest first; never echoed back in an error."""
    keys = env_list(name, default=[])
    for number, key in enumerate(keys, start=1):
        if not is_fernet_key(key):
            raise ImproperlyConfigured(
                f"{name}: key {number} of {len(keys)} is not {_FERNET_KEY_HINT}."
            )
    return keys


def fernet_keys_from_file(path: Path) -> list[str]:
    """The keys kept in `path`, one a line, newest first; one is made on first start
    (mode 0600), for a site on a laptop that has no LAVKA_ENCRYPTION_KEYS."""
    keys = [line.strip() for line in _made_once(path, new_fernet_key).splitlines()]
    keys = [key for key in keys if key and not key.startswith("#")]
    if not keys or not all(is_fernet_key(key) for key in keys):
        raise ImproperlyConfigured(
            f"LAVKA_ENCRYPTION_KEYS: not set, and the key file {path} holds something other "
            f"than {_FERNET_KEY_HINT}, one a line. Fix it (the secrets saved with it are "
            "unreadable without it), or set LAVKA_ENCRYPTION_KEYS."
        )
    return keys
