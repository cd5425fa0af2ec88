"""`{% product_demo product %}`: the product page's link to its live demo, with the
service's health badge (nothing when the product has no demo)."""

from __future__ import annotations

from typing import Any

from django import template

from lavka.demos.models import Demo

register = template.Library()


@register.inclusion_tag("demos/_product_demo.html")
def product_demo(product: Any) -> dict[str, Any]:
    return {"demo": Demo.objects.filter(product_id=product.pk).first()}
