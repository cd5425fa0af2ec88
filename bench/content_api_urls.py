"""Lavka's URLs plus the baseline view of bench/content_api.py (see content_api_wsgi)."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from lavka.urls import handler400, handler403, handler404, handler500, urlpatterns

BODY = {
    "id": 1,
    "title": "Baseline",
    "blocks": [{"id": n, "kind": "text", "title": f"Block {n}", "views": 0} for n in range(10)],
}


def baseline(request: HttpRequest) -> JsonResponse:
    return JsonResponse(BODY)


urlpatterns = [path("bench/baseline/", baseline), *urlpatterns]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
