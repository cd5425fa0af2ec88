"""Settings for the test suite: the real settings, isolated from a running `make run`.

Everything still comes from the environment, so the same suite runs on the embedded
default and on PostgreSQL, Redis and RabbitMQ. Only what would collide with a developer's
running instance (broker folder, cache keys) or slow the suite (password hashing) differs.
"""

import os as _os

from lavka.settings import *  # noqa: F403
from lavka.settings import CACHES, CELERY_BROKER_URL, INSTALLED_APPS, VAR_DIR

# A block kind defined only for the tests (lavka/content/tests/extra_kind/).
# A work model and task for testing the kernel alone (lavka/core/tests/work_app/).
INSTALLED_APPS = [
    *INSTALLED_APPS,
    "lavka.content.tests.extra_kind",
    "lavka.core.tests.work_app",
]
CONTENT_EXTRA_BLOCK_KINDS = ["lavka.content.tests.extra_kind.kinds.register_quote"]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES["default"]["KEY_PREFIX"] = "lavka-test"
if CACHES["default"]["BACKEND"].endswith("FileBasedCache"):
    CACHES["default"]["LOCATION"] = str(VAR_DIR / "test-cache")
if CELERY_BROKER_URL.startswith("filesystem://"):
    from pathlib import Path

    _test_broker = Path(VAR_DIR / "test-broker")
    for _sub in ("queue", "processed", "control"):
        (_test_broker / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_test_broker / "queue"),
        "data_folder_out": str(_test_broker / "queue"),
        "processed_folder": str(_test_broker / "processed"),
        "control_folder": str(_test_broker / "control"),
        "store_processed": False,
        "polling_interval": 0.05,
    }
WORKER_HEARTBEAT_INTERVAL = 1
# Bookkeeping adapters: tests point these at the simulators they start; by default a
# port nothing listens on, never a developer's running stand-ins. A worker process a
# test starts gets the test's simulators in LAVKA_TEST_MOEDELO_URL / _MTSKASSA_URL.
LAVKA_MOEDELO_URL = _os.environ.get("LAVKA_TEST_MOEDELO_URL") or "http://127.0.0.1:9"
LAVKA_MTSKASSA_URL = _os.environ.get("LAVKA_TEST_MTSKASSA_URL") or "http://127.0.0.1:9"
