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


# Just before /api/v1/: resolving the baseline walks the same patterns as the API does.
_api = next(i for i, pattern in enumerate(urlpatterns) if str(pattern.pattern) == "api/v1/")
urlpatterns = [*urlpatterns[:_api], path("bench/baseline/", baseline), *urlpatterns[_api:]]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
