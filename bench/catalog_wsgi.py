"""Lavka's WSGI application with bench/catalog_urls.py's bench-only routes
(`/bench/baseline/`, `/bench/page/`), for bench/catalog.py."""

import os

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lavka.settings")
django.setup()
settings.ROOT_URLCONF = "bench.catalog_urls"

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
