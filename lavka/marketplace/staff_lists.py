"""What the staff lists of orders and donations share: one page of the filtered rows,
and the query string that keeps the filter on the links to the other pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PAGE_SIZE = 25


def filtered_list(request: HttpRequest, form: forms.Form, rows: QuerySet[Any]) -> dict[str, Any]:
    """The context of a staff list: its filter `form`, the page of `rows` asked for, and
    the form's accepted values as a query string (a refused value is dropped)."""
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    kept = {
        name: request.GET[name]
        for name in form.fields
        if request.GET.get(name) and name not in form.errors
    }
    return {"form": form, "page": page, "query_string": urlencode(kept)}
