"""Lavka settings: one module, every value from the environment.

Each knob has a safe embedded default (SQLite, filesystem broker, file cache, email
captured in the database) so `make run` works on a bare laptop; setting DATABASE_URL,
CELERY_BROKER_URL, CACHE_URL and EMAIL_URL moves the same code onto real services.
Every variable is listed with its meaning in `.env.example`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _

from lavka.core.env import (
    env,
    env_bool,
    env_decimal,
    env_fernet_keys,
    env_int,
    env_list,
    env_path,
    fernet_keys_from_file,
    parse_url_setting,
    read_env_file,
    secret_key_from_file,
    site_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
read_env_file(BASE_DIR / ".env")
VAR_DIR = env_path("LAVKA_VAR_DIR", BASE_DIR / "var", BASE_DIR)
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- core -----------------------------------------------------------------------------

# Off unless asked for (`make dev` asks): `make run` is shaped like production.
DEBUG = env_bool("DJANGO_DEBUG", default=False)
# Made once into var/ and kept, so sessions and signed links survive a restart.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="") or secret_key_from_file(VAR_DIR / "secret_key")
SITE_URL = site_url("LAVKA_SITE_URL", default="http://127.0.0.1:8000")
# Secure cookies, the HTTPS redirect and HSTS follow this, not DEBUG: a site served over
# plain http (http://127.0.0.1:8000) must keep its cookies for browsers and scripts.
SITE_IS_HTTPS = SITE_URL.startswith("https://")
# Fernet keys that encrypt secrets at rest (integration tokens), comma-separated, newest
# first (docs/secrets.md). Unset, a laptop's site (DEBUG, or a loopback LAVKA_SITE_URL)
# makes one once into var/encryption_keys; a production site must set them: a key made
# per machine would leave each machine unable to read what another saved (lavka.E003).
SITE_IS_LOCAL = DEBUG or urlsplit(SITE_URL).hostname in ("127.0.0.1", "localhost", "::1")
LAVKA_ENCRYPTION_KEYS = env_fernet_keys("LAVKA_ENCRYPTION_KEYS") or (
    fernet_keys_from_file(VAR_DIR / "encryption_keys") if SITE_IS_LOCAL else []
)
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS",
    default=list(
        dict.fromkeys(["127.0.0.1", "localhost", "[::1]", str(urlsplit(SITE_URL).hostname)])
    ),
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "csp",
    "phonenumber_field",
    "django_countries",
    "lavka.core",
    "lavka.accounts",
    "lavka.campaigns",
    "lavka.content",
    "lavka.marketplace",
    "lavka.integrations",
    "lavka.demos",
]

MIDDLEWARE = [
    "lavka.core.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "lavka.accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "lavka.urls"
WSGI_APPLICATION = "lavka.wsgi.application"
ASGI_APPLICATION = "lavka.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "lavka" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "lavka.core.context_processors.navigation",
                "lavka.marketplace.context_processors.cart",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
# Embedded: SQLite in var/ with WAL (readers never block the writer), IMMEDIATE
# transactions (a writer takes the lock at BEGIN, so two writers queue instead of
# deadlocking on upgrade) and a busy timeout (they wait instead of failing).

SQLITE_PATH = VAR_DIR / "lavka.sqlite3"
DATABASES = {
    "default": parse_url_setting("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}", kind="db")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;"
            ),
        }
    )
    # Tests use a file (not :memory:) so that worker processes see the same database.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(DATABASES["default"]["NAME"]).with_name("test-lavka.sqlite3"))
    }
# Connections are kept between requests on both: opening SQLite and running the PRAGMAs
# above on every request cost more than a cached API response (bench/content_api.py).
DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("DATABASE_CONN_MAX_AGE", 60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # tasks are enqueued on commit instead
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache ----------------------------------------------------------------------------

CACHES = {
    "default": parse_url_setting(
        "CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}", kind="cache"
    )
}
CACHES["default"].setdefault("KEY_PREFIX", env("CACHE_KEY_PREFIX", default="lavka"))

# --- auth and accounts ----------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "home"

ACCOUNT_ADAPTER = "lavka.accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False  # a link scanner must not verify an address
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = env_int("ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS", 3)
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Lavka] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_IS_HTTPS else "http"
# Failed logins: 5 per account per 5 minutes, 20 per address per minute. The address
# limit is higher than the account limit so that one locked account does not lock out
# the other people behind the same NAT.
# The same counters guard the admin (its login is the site's) and POST /api/v1/tokens/,
# and count per account however its address is spelled (lavka/accounts/login_throttle.py).
ACCOUNT_RATE_LIMITS = {
    "login_failed": env("ACCOUNT_LOGIN_FAILED_RATE_LIMIT", default="20/m/ip,5/300s/key"),
}
# The client address is REMOTE_ADDR; X-Forwarded-For is believed only as far as this
# many proxies of ours stand in front (deploy/nginx.conf is one), so a client cannot
# pick a fresh address per attempt by sending the header itself.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("LAVKA_TRUSTED_PROXY_COUNT", 0)

# --- internationalisation -------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "lavka" / "locale"]
TIME_ZONE = env("LAVKA_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- static and media -----------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "lavka" / "static"]
STATIC_ROOT = env_path("DJANGO_STATIC_ROOT", VAR_DIR / "static", BASE_DIR)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing one
MEDIA_URL = "/media/"
MEDIA_ROOT = env_path("DJANGO_MEDIA_ROOT", VAR_DIR / "media", BASE_DIR)
# WhiteNoise serves what `collectstatic` gathered into STATIC_ROOT (`make run` runs it),
# gzipped where that helps; file names are not hashed, so pages render without it too.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploads are served by Lavka itself on the embedded default; false when nginx serves
# /media/ (deploy/nginx.conf).
SERVE_MEDIA = env_bool("LAVKA_SERVE_MEDIA", default=True)

# --- email ----------------------------------------------------------------------------
# Without EMAIL_URL, mail is stored in the database and shown to superusers at /outbox/
# (it holds reset links); `check --deploy` fails until EMAIL_URL is set.

DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Lavka <noreply@lavka.localhost>")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_URL = env("EMAIL_URL", default="")
if EMAIL_URL:
    globals().update(parse_url_setting("EMAIL_URL", default="", kind="email"))
else:
    EMAIL_BACKEND = "lavka.core.mail.OutboxEmailBackend"
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 30)

# --- prepared files (exports made in the background) -------------------------------------
# Files a worker prepares for one user (large exports) are kept here, outside MEDIA_ROOT:
# only their requester downloads them, through /files/<id>/download/.
PREPARED_FILES_ROOT = env_path("PREPARED_FILES_ROOT", VAR_DIR / "private" / "files", BASE_DIR)
# A prepared file is deleted this many hours after it was asked for (the sweep of
# `core.requeue_lost_work` removes it).
PREPARED_FILE_HOURS = env_int("PREPARED_FILE_HOURS", 24)
# A worker's claim on a file it prepares lasts this long, renewed as rows are written; a
# killed worker's file is started again by another once it ran out.
PREPARED_FILE_LEASE_SECONDS = env_int("PREPARED_FILE_LEASE_SECONDS", 120)
# How many files one user may have waiting or being made at once: asking again for the
# same one returns it, a further one is refused (429) until one is done.
PREPARED_FILES_OPEN_PER_USER = env_int("PREPARED_FILES_OPEN_PER_USER", 3)
# An export of at most this many rows streams in the response (about a second's work,
# bench/exports.py streams 8,000-15,000 rows/s on a shared 2-core machine, SQLite); a larger
# one is prepared by a worker, with a progress page and a download link.
EXPORT_STREAM_MAX_ROWS = env_int("EXPORT_STREAM_MAX_ROWS", 10000)
# A sales report (page or CSV) over at most this many sold orders is counted in the
# request (about a second: bench/reports.py); a larger one is prepared by a worker and
# shown, or offered for download, when ready.
REPORT_SYNC_MAX_ORDERS = env_int("REPORT_SYNC_MAX_ORDERS", 50000)

# --- celery ---------------------------------------------------------------------------

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.split("://", 1)[0] not in {"filesystem", "redis", "rediss", "amqp", "pyamqp"}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL: unsupported scheme in {CELERY_BROKER_URL.split('://', 1)[0]!r}; "
        "use filesystem://, redis://host:port/db or amqp://user:pass@host:port/vhost."
    )
CELERY_BROKER_DIR = env_path("CELERY_BROKER_DIR", VAR_DIR / "broker", BASE_DIR)
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport, writing each message atomically (lavka/core/broker.py)
    CELERY_BROKER_TRANSPORT = "lavka.core.broker:Transport"
    for sub in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
        # How often an idle worker looks for new messages; the default second would
        # add up to a second before every task.
        "polling_interval": 0.05,
    }
elif CELERY_BROKER_URL.startswith(("redis", "rediss")):
    # Unacked messages come back after this long if a worker died holding them; it must
    # exceed the longest task's hard time limit.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 5
# Tasks record their outcome in models the user can see, so no result backend.
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged after it ran, and redelivered if its worker is killed: every
# task must therefore be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message at a time per process, so a long task does not hold others hostage.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES_ALL = ["default", "mail", "sync", "media", "demos"]
CELERY_TASK_ROUTES = {
    "accounts.*": {"queue": "mail"},
    "core.send_*": {"queue": "mail"},
    "campaigns.send_*": {"queue": "mail"},
    "content.process_file": {"queue": "media"},
    "content.sweep_orphan_files": {"queue": "media"},
    "content.flush_views": {"queue": "default"},
    "marketplace.send_*": {"queue": "mail"},
    "integrations.send_*": {"queue": "mail"},
    "integrations.*": {"queue": "sync"},
    "demos.*": {"queue": "demos"},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = env_bool("CELERY_WORKER_SEND_TASK_EVENTS", default=True)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Recorded views reach the counters within about this many seconds (beat entry below).
CONTENT_VIEWS_FLUSH_SECONDS = env_int("CONTENT_VIEWS_FLUSH_SECONDS", 2)
# Bookkeeping sync: a trade point's shift listing starts this far behind its cursor, so
# a shift a register closed offline and uploaded late is still found (and booked once).
LAVKA_SYNC_LOOKBACK_HOURS = env_int("LAVKA_SYNC_LOOKBACK_HOURS", 48)
CELERY_BEAT_SCHEDULE = {
    "core.prune_outbox": {"task": "core.prune_outbox", "schedule": 3600.0},
    # Queues lost work rows of every app again (lavka/core/work.py, requeue_lost_work).
    "core.requeue_lost_work": {
        "task": "core.requeue_lost_work",
        "schedule": float(env_int("WORK_REQUEUE_INTERVAL_SECONDS", 30)),
    },
    # One fixed entry fires every due mailing; schedules themselves are rows.
    "campaigns.dispatch_due_mailings": {
        "task": "campaigns.dispatch_due_mailings",
        "schedule": float(env_int("CAMPAIGNS_DISPATCH_INTERVAL_SECONDS", 10)),
    },
    "campaigns.recover_stalled": {
        "task": "campaigns.recover_stalled",
        "schedule": float(env_int("CAMPAIGNS_RECOVER_INTERVAL_SECONDS", 15)),
    },
    # One fixed entry fires every due bookkeeping sync schedule (rows, not beat entries).
    "integrations.dispatch_due_syncs": {
        "task": "integrations.dispatch_due_syncs",
        "schedule": float(env_int("INTEGRATIONS_DISPATCH_INTERVAL_SECONDS", 15)),
    },
    # Adds recorded block views to the counters (lavka/content/counting.py).
    "content.flush_views": {
        "task": "content.flush_views",
        "schedule": float(CONTENT_VIEWS_FLUSH_SECONDS),
    },
    # Removes stored files whose row was rolled back (lavka/content/storage.py).
    "content.sweep_orphan_files": {"task": "content.sweep_orphan_files", "schedule": 3600.0},
    # Refreshes the reference data (cash desks, warehouses, trade points) of every
    # bookkeeping connection last refreshed a day ago or more (one entry for all).
    "integrations.refresh_due_reference_data": {
        "task": "integrations.refresh_due_reference_data",
        "schedule": 3600.0,
    },
    # Checks every demo's service (one entry; demos are rows) and expires old runs.
    "demos.check_all_health": {
        "task": "demos.check_all_health",
        "schedule": float(env_int("DEMOS_HEALTH_INTERVAL_SECONDS", 60)),
    },
    "demos.delete_expired_runs": {"task": "demos.delete_expired_runs", "schedule": 300.0},
    # Cancels unpaid orders whose stock hold ran out and returns their stock.
    "marketplace.release_expired_holds": {
        "task": "marketplace.release_expired_holds",
        "schedule": float(env_int("LAVKA_STOCK_RELEASE_INTERVAL_SECONDS", 60)),
    },
    # Records paid orders whose "bought together" task was lost (recommendations).
    "marketplace.catch_up_bought_together": {
        "task": "marketplace.catch_up_bought_together",
        "schedule": float(env_int("LAVKA_RECOMMENDATIONS_CATCH_UP_SECONDS", 600)),
    },
}
# A worker writes a heartbeat row this often; /healthz calls it down after the grace.
WORKER_HEARTBEAT_INTERVAL = env_int("WORKER_HEARTBEAT_INTERVAL", 10)
WORKER_HEARTBEAT_GRACE = env_int("WORKER_HEARTBEAT_GRACE", 60)

# --- campaigns ------------------------------------------------------------------------
# Deliveries per send task, SMTP connections per task, deliveries claimed at a time.
CAMPAIGNS_CHUNK_SIZE = env_int("CAMPAIGNS_CHUNK_SIZE", 500)
CAMPAIGNS_CONNECTIONS_PER_CHUNK = env_int("CAMPAIGNS_CONNECTIONS_PER_CHUNK", 4)
CAMPAIGNS_BATCH_SIZE = env_int("CAMPAIGNS_BATCH_SIZE", 50)
# A claim on a delivery lasts this long; a dead worker's claims expire after it.
CAMPAIGNS_CLAIM_SECONDS = env_int("CAMPAIGNS_CLAIM_SECONDS", 60)
# Pending work not picked up for this long is queued again by the sweeper.
CAMPAIGNS_REQUEUE_AFTER_SECONDS = env_int("CAMPAIGNS_REQUEUE_AFTER_SECONDS", 120)
# A firing missed while Lavka was down is still sent if it is at most this late.
CAMPAIGNS_MISSED_GRACE_SECONDS = env_int("CAMPAIGNS_MISSED_GRACE_SECONDS", 3600)
CAMPAIGNS_MAX_ATTEMPTS = env_int("CAMPAIGNS_MAX_ATTEMPTS", 5)
CAMPAIGNS_RETRY_BASE_SECONDS = env_int("CAMPAIGNS_RETRY_BASE_SECONDS", 30)
CAMPAIGNS_RATE_SLACK_SECONDS = env_int("CAMPAIGNS_RATE_SLACK_SECONDS", 5)
CAMPAIGNS_IMPORT_MAX_BYTES = env_int("CAMPAIGNS_IMPORT_MAX_BYTES", 5 * 1024 * 1024)
# A confirmed import runs in a worker, one transaction per batch of lines (at most 1,000).
CAMPAIGNS_IMPORT_BATCH_ROWS = min(env_int("CAMPAIGNS_IMPORT_BATCH_ROWS", 1000), 1000)
# On SQLite, the import rests this long between batches so that other writers, polling
# for the lock, get it (PostgreSQL locks rows, not the database, and needs no rest).
CAMPAIGNS_IMPORT_PAUSE_MS = env_int("CAMPAIGNS_IMPORT_PAUSE_MS", 100)
# An import's claim lasts this long, renewed by every batch; a dead worker's import is
# taken up again after it.
CAMPAIGNS_IMPORT_LEASE_SECONDS = env_int("CAMPAIGNS_IMPORT_LEASE_SECONDS", 120)

# --- demos ----------------------------------------------------------------------------
# Visitors' uploads and results are deleted this long after the upload.
DEMOS_RESULT_TTL_SECONDS = env_int("DEMOS_RESULT_TTL_SECONDS", 24 * 3600)
# A call to a demo's service gives up after this long (a try is then retried).
DEMOS_CALL_TIMEOUT_SECONDS = env_int("DEMOS_CALL_TIMEOUT_SECONDS", 60)
DEMOS_HEALTH_TIMEOUT_SECONDS = env_int("DEMOS_HEALTH_TIMEOUT_SECONDS", 5)
# The largest answer read from a demo's service (it is kept: JSON and annotated image).
DEMOS_MAX_ANSWER_BYTES = env_int("DEMOS_MAX_ANSWER_BYTES", 8 * 1024 * 1024)
# Tries per visitor (user or session) and per address within the window.
DEMOS_RATE_PER_VISITOR = env_int("DEMOS_RATE_PER_VISITOR", 20)
DEMOS_RATE_PER_ADDRESS = env_int("DEMOS_RATE_PER_ADDRESS", 60)
DEMOS_RATE_WINDOW_SECONDS = env_int("DEMOS_RATE_WINDOW_SECONDS", 3600)
# Ceilings of what a creator may let a demo accept (the reference service's own).
DEMOS_MAX_IMAGE_BYTES = env_int("DEMOS_MAX_IMAGE_BYTES", 10 * 1024 * 1024)
DEMOS_MAX_VIDEO_BYTES = env_int("DEMOS_MAX_VIDEO_BYTES", 50 * 1024 * 1024)
DEMOS_MAX_PIXELS = env_int("DEMOS_MAX_PIXELS", 40_000_000)
DEMOS_DEFAULT_MAX_BYTES = env_int("DEMOS_DEFAULT_MAX_BYTES", 10 * 1024 * 1024)
DEMOS_DEFAULT_MAX_PIXELS = env_int("DEMOS_DEFAULT_MAX_PIXELS", 25_000_000)
# Demo services on private or loopback addresses (SSRF guard): allowed by default only
# for a loopback site (the embedded default) or DEBUG.
DEMOS_ALLOW_PRIVATE_SERVICES = env_bool(
    "DEMOS_ALLOW_PRIVATE_SERVICES",
    default=DEBUG or str(urlsplit(SITE_URL).hostname) in ("127.0.0.1", "localhost", "::1"),
)
# Where the demo data's demos find the reference vision service (`make vision`).
DEMOS_VISION_URL = env("DEMOS_VISION_URL", default="http://127.0.0.1:12120")

# --- content --------------------------------------------------------------------------
# Largest upload accepted per kind of file, in bytes.
CONTENT_MAX_VIDEO_BYTES = env_int("CONTENT_MAX_VIDEO_BYTES", 1024 * 1024 * 1024)
CONTENT_MAX_AUDIO_BYTES = env_int("CONTENT_MAX_AUDIO_BYTES", 200 * 1024 * 1024)
CONTENT_MAX_IMAGE_BYTES = env_int("CONTENT_MAX_IMAGE_BYTES", 10 * 1024 * 1024)
CONTENT_MAX_SUBTITLES_BYTES = env_int("CONTENT_MAX_SUBTITLES_BYTES", 2 * 1024 * 1024)
# Dotted paths of functions that register more block kinds (see docs/content-blocks.md).
CONTENT_EXTRA_BLOCK_KINDS: list[str] = []
# API responses stay cached this long at most (edits change their keys anyway).
CONTENT_API_CACHE_SECONDS = env_int("CONTENT_API_CACHE_SECONDS", 3600)
# A web process asks for a flush of recorded views at most once per nudge interval while
# views come in (the beat entry above flushes every CONTENT_VIEWS_FLUSH_SECONDS).
CONTENT_VIEWS_NUDGE_SECONDS = env_int("CONTENT_VIEWS_NUDGE_SECONDS", 1)

# --- marketplace ----------------------------------------------------------------------
# One currency for the whole shop: every price is a Decimal in it (ISO 4217 code).
LAVKA_SHOP_CURRENCY = env("LAVKA_SHOP_CURRENCY", default="EUR").strip().upper()
# On: "Become a creator" files a request that a manager approves; off: granted at once.
LAVKA_CREATOR_APPROVAL = env_bool("LAVKA_CREATOR_APPROVAL", default=False)
# Largest product image or creator avatar, and largest digital product file, in bytes.
MARKETPLACE_MAX_IMAGE_BYTES = env_int("MARKETPLACE_MAX_IMAGE_BYTES", 5 * 1024 * 1024)
MARKETPLACE_MAX_DIGITAL_FILE_BYTES = env_int(
    "MARKETPLACE_MAX_DIGITAL_FILE_BYTES", 500 * 1024 * 1024
)
# Digital products' files live here, outside MEDIA_ROOT: never served by a URL of their
# own, only handed to buyers after payment.
MARKETPLACE_PRIVATE_ROOT = env_path(
    "MARKETPLACE_PRIVATE_ROOT", VAR_DIR / "private" / "marketplace", BASE_DIR
)

# Orders: stock is held for an unpaid order this long, then the order is cancelled and
# the stock returned by the beat entry below; payment methods offered at checkout.
LAVKA_STOCK_HOLD_MINUTES = env_int("LAVKA_STOCK_HOLD_MINUTES", 1440)
LAVKA_PAYMENT_PROVIDERS = env_list("LAVKA_PAYMENT_PROVIDERS", ["bank_transfer", "cash_on_delivery"])
# Checkouts one API user may post (DRF's "number/period"): each placed order holds stock.
LAVKA_CHECKOUT_API_RATE = env("LAVKA_CHECKOUT_API_RATE", default="30/minute")
# Shown to customers who pay by bank transfer (account holder, IBAN, bank).
LAVKA_BANK_TRANSFER_DETAILS = env("LAVKA_BANK_TRANSFER_DETAILS", default="")
# Donations: the smallest amount (in the shop currency; a donation must be above it) and
# the payment methods offered for them ("stripe" joins them as it joins the shop's).
LAVKA_MIN_DONATION = env_decimal("LAVKA_MIN_DONATION", "1.00")
LAVKA_DONATION_PROVIDERS = env_list("LAVKA_DONATION_PROVIDERS", ["bank_transfer"])
# A paid digital item's download link works this many days after it was made.
LAVKA_DOWNLOAD_LINK_DAYS = env_int("LAVKA_DOWNLOAD_LINK_DAYS", 7)
# The seller printed on every invoice (a PDF per paid order, numbered per year). Each
# invoice keeps a copy of these as they were when it was issued.
LAVKA_SELLER_NAME = env("LAVKA_SELLER_NAME", default="Lavka").strip()
LAVKA_SELLER_ADDRESS = env("LAVKA_SELLER_ADDRESS", default="").strip().replace("\\n", "\n")
LAVKA_SELLER_TAX_ID = env("LAVKA_SELLER_TAX_ID", default="").strip()
LAVKA_SELLER_EMAIL = env("LAVKA_SELLER_EMAIL", default="").strip()
# "Bought together": how many a product page shows (the cart page too); their counts
# live in Redis when RECOMMENDATIONS_REDIS_URL is set or CACHE_URL is a Redis, in the
# database otherwise; the beat entry records orders paid this many hours back whose task
# was lost (older ones: `manage.py rebuild_recommendations`).
LAVKA_RECOMMENDATIONS_COUNT = env_int("LAVKA_RECOMMENDATIONS_COUNT", 4)
LAVKA_RECOMMENDATIONS_CATCH_UP_HOURS = env_int("LAVKA_RECOMMENDATIONS_CATCH_UP_HOURS", 48)
RECOMMENDATIONS_REDIS_URL = env("RECOMMENDATIONS_REDIS_URL", default="").strip()
if RECOMMENDATIONS_REDIS_URL and not RECOMMENDATIONS_REDIS_URL.startswith(
    ("redis://", "rediss://", "unix://")
):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"RECOMMENDATIONS_REDIS_URL: cannot use {RECOMMENDATIONS_REDIS_URL[:80]!r}; "
        "expected a Redis URL such as redis://host:6379/2"
    )

# Card payments through Stripe Checkout ("stripe" joins the payment methods of orders
# and donations when a key is set). STRIPE_API_BASE empty: Stripe itself. Without a key,
# a development or loopback site uses the Stripe simulator that `make run` starts
# (services/simulators/stripe, test mode only: no money moves).
STRIPE_SIMULATOR_PORT = env_int("STRIPE_SIMULATOR_PORT", 12111)
STRIPE_SIMULATOR_KEY = "sk_test_simulator"
STRIPE_SIMULATOR_WEBHOOK_SECRET = "whsec_lavka_local_simulator"  # noqa: S105 - test mode only
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="").strip()
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="").strip()
STRIPE_API_BASE = env("STRIPE_API_BASE", default="").strip().rstrip("/")
STRIPE_USES_SIMULATOR = not STRIPE_SECRET_KEY and (
    DEBUG or urlsplit(SITE_URL).hostname in ("127.0.0.1", "localhost", "::1")
)
if STRIPE_USES_SIMULATOR:
    STRIPE_SECRET_KEY = STRIPE_SIMULATOR_KEY
    STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET or STRIPE_SIMULATOR_WEBHOOK_SECRET
    STRIPE_API_BASE = STRIPE_API_BASE or f"http://127.0.0.1:{STRIPE_SIMULATOR_PORT}"
if STRIPE_SECRET_KEY and "stripe" not in LAVKA_PAYMENT_PROVIDERS:
    LAVKA_PAYMENT_PROVIDERS = [*LAVKA_PAYMENT_PROVIDERS, "stripe"]
if STRIPE_SECRET_KEY and "stripe" not in LAVKA_DONATION_PROVIDERS:
    LAVKA_DONATION_PROVIDERS = [*LAVKA_DONATION_PROVIDERS, "stripe"]

# Bookkeeping sync (lavka/integrations, docs/integrations.md): where the adapters call.
# Unset: the system's own address, or on a local/DEBUG site the stand-ins `make run`
# starts (services/simulators/moedelo and mtskassa). MTS Kassa publishes no address, so
# a production site sets LAVKA_MTSKASSA_URL or cannot connect registers.
MOEDELO_SIMULATOR_PORT = env_int("MOEDELO_SIMULATOR_PORT", 12112)
MTSKASSA_SIMULATOR_PORT = env_int("MTSKASSA_SIMULATOR_PORT", 12113)
LAVKA_MOEDELO_URL = env(
    "LAVKA_MOEDELO_URL",
    default=f"http://127.0.0.1:{MOEDELO_SIMULATOR_PORT}" if SITE_IS_LOCAL else "",
).rstrip("/")
LAVKA_MTSKASSA_URL = env(
    "LAVKA_MTSKASSA_URL",
    default=f"http://127.0.0.1:{MTSKASSA_SIMULATOR_PORT}" if SITE_IS_LOCAL else "",
).rstrip("/")
# The shortest interval an owner may give a sync schedule, in minutes.
LAVKA_SYNC_MIN_INTERVAL_MINUTES = env_int("LAVKA_SYNC_MIN_INTERVAL_MINUTES", 5)

# --- REST API -------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "lavka.accounts.api_auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "lavka.core.api_schema.LavkaAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "lavka.core.api.Pagination",
    # JSON in, JSON out: a form body cannot say null or a number, and is not documented.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "lavka.core.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lavka API",
    "DESCRIPTION": "REST API of Lavka. Authenticate with `Authorization: Bearer <token>`; "
    "create tokens on your profile page.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Request bodies get components of their own: rules for input (not blank) stay there.
    "COMPONENT_SPLIT_REQUEST": True,
    # lavka/core/converters.py: a primary key, 1 to 2**63 - 1
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}
    },
    # Choice sets that share a field name get explicit component names.
    "ENUM_NAME_OVERRIDES": {
        "StoredFileStatusEnum": "lavka.content.models.StoredFile.Status",
        "ProductKindEnum": "lavka.marketplace.models.Product.Kind",
        "CouponKindEnum": "lavka.marketplace.models.Coupon.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "lavka.core.api_schema.blank_is_any_of",
    ],
}

# --- security -------------------------------------------------------------------------
# Served over https with EMAIL_URL set, Lavka passes
# `manage.py check --deploy --fail-level WARNING` (`make check-deploy`).

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
# Served over https (LAVKA_SITE_URL): Secure cookies, redirect to https, HSTS, and the
# scheme as the proxy in front reports it. Each can be set on its own.
SECURE_COOKIES = env_bool("DJANGO_SECURE_COOKIES", default=SITE_IS_HTTPS)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
LANGUAGE_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=SITE_IS_HTTPS)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000 if SITE_IS_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
if env_bool("DJANGO_BEHIND_PROXY", default=SITE_IS_HTTPS):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Liveness probes come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- logging: one line per event on stdout, with the request id -----------------------

LOG_LEVEL = env("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "lavka.core.request_id.RequestIdLogFilter"},
        "routine_tasks": {"()": "lavka.core.log_filters.RoutineTaskFilter"},
    },
    "formatters": {
        "line": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        }
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "line",
            "filters": ["request_id", "routine_tasks"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django.server": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "celery": {"level": LOG_LEVEL},
        "mail.log": {"level": "WARNING"},  # aiosmtpd, used by tests and dev sinks
        # WeasyPrint logs each step of every invoice PDF at INFO; its warnings still show
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
