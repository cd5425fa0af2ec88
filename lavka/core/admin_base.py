"""What several apps' admins share (its own module: apps whose domain code may not
import an `admin` module still subclass it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows the admin shows and never adds, changes or deletes (they change through the
    app's own pages and actions, which keep everything else in step)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
