"""Lavka's WSGI application with one extra, bench-only route: `/bench/baseline/`.

gunicorn loads this module instead of `lavka.wsgi` in bench/content_api.py, so the
baseline (a bare Django view returning a constant JSON body) runs in the same server,
the same processes and behind the same middleware as the API, while production URLs
stay as they are.
"""

import os

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lavka.settings")
django.setup()
settings.ROOT_URLCONF = "bench.content_api_urls"

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
