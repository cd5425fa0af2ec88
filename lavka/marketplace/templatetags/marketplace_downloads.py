"""`{% download_links order as links %}`: fresh download links of a paid order's digital
lines, for the customer's order page."""

from __future__ import annotations

from typing import Any

from django import template

from lavka.marketplace.downloads import services

register = template.Library()


@register.simple_tag
def download_links(order: Any) -> list[services.DownloadLink]:
    return services.links_for(order)
