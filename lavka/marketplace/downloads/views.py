"""The download of a paid digital item, by a signed link (downloads.services)."""

from __future__ import annotations

import os

from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_safe

from lavka.marketplace.downloads import services


@require_safe
def download(request: HttpRequest, token: str) -> HttpResponseBase:
    try:
        line = services.line_of(token)
    except services.LinkExpired:
        return render(request, "marketplace/downloads/expired.html", status=410)
    except services.LinkInvalid:
        raise Http404 from None
    product = line.product
    assert product is not None  # line_of checked it
    try:
        handle = product.digital_file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    name = product.digital_file_name or os.path.basename(product.digital_file.name)
    response = FileResponse(handle, as_attachment=True, filename=name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
