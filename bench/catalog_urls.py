"""The content bench's URLs (Lavka's plus `/bench/baseline/`) and `/bench/page/`: a bare
view rendering the site's base template with no content, the floor of any HTML page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from bench.content_api_urls import handler400, handler403, handler404, handler500, urlpatterns


def empty_page(request: HttpRequest) -> HttpResponse:
    return render(request, "base.html")


urlpatterns = [path("bench/page/", empty_page), *urlpatterns]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
