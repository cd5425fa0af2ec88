"""Lavka: a self-hosted platform for small online businesses and creators."""

from lavka.celery import app as celery_app

__all__ = ["celery_app"]
