"""Reads of the demos app, scoped to who asks: a creator their own demos, a manager
every demo; a visitor only their own runs (signed-in user or anonymous session)."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Q, QuerySet

from lavka.demos.models import Demo, DemoRun, DemoSample

SEE_ALL = "demos.view_demo"
OWN = "demos.add_demo"


def sees_all(actor: Any) -> bool:
    return bool(actor.has_perm(SEE_ALL)) and (actor.is_superuser or not actor.has_perm(OWN))


def demos_of(*, actor: Any) -> QuerySet[Demo]:
    demos = Demo.objects.select_related("product", "product__creator")
    return demos if sees_all(actor) else demos.filter(product__creator__user_id=actor.pk)


def own_demos(*, actor: Any) -> QuerySet[Demo]:
    return Demo.objects.select_related("product", "product__creator").filter(
        product__creator__user_id=actor.pk
    )


def own_samples(*, actor: Any) -> QuerySet[DemoSample]:
    return DemoSample.objects.select_related("demo").filter(
        demo__product__creator__user_id=actor.pk
    )


def products_without_demo(*, actor: Any) -> QuerySet[Any]:
    from lavka.marketplace.models import Product

    return Product.objects.filter(creator__user_id=actor.pk, demo__isnull=True).order_by("pk")


def public_demos() -> QuerySet[Demo]:
    """Demos visitors may open: the product is on sale (the shop's own rule)."""
    from lavka.marketplace.models import Product

    return (
        Demo.objects.select_related("product", "product__creator")
        .prefetch_related("samples")
        .filter(product__in=Product.objects.on_sale())
    )


def demos_for_visitor(*, actor: Any) -> QuerySet[Demo]:
    """Demos `actor` may open and try: those on sale, and a creator's own in any state."""
    from lavka.marketplace.models import Product

    shown = Q(product__in=Product.objects.on_sale())
    if actor.is_authenticated:
        shown |= Q(product__creator__user_id=actor.pk)
    return (
        Demo.objects.select_related("product", "product__creator")
        .prefetch_related("samples")
        .filter(shown)
    )


def public_samples() -> QuerySet[DemoSample]:
    return DemoSample.objects.all()


def runs_of_visitor(*, user: Any, session_key: str | None) -> QuerySet[DemoRun]:
    runs = DemoRun.objects.select_related("demo", "demo__product")
    if user.is_authenticated:
        return runs.filter(visitor_id=user.pk)
    if not session_key:
        return runs.none()
    return runs.filter(visitor__isnull=True, session_key=session_key)


def shared_run(*, token: str) -> QuerySet[DemoRun]:
    return DemoRun.objects.select_related("demo", "demo__product").filter(share_token=token)


def shown_json(result: Any) -> str:
    """The service's answer as the result page shows it: images left out (shown above)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ("…" if k == "base64" else strip(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(result), ensure_ascii=False, indent=2)


def cut_outs(result: Any) -> list[str]:
    """Data URIs of the plates' cut-outs in a plates answer (small PNGs)."""
    found = []
    for plate in (result or {}).get("plates", []) if isinstance(result, dict) else []:
        image = plate.get("plate_image") if isinstance(plate, dict) else None
        if isinstance(image, dict) and isinstance(image.get("base64"), str):
            media = (
                image.get("media_type")
                if image.get("media_type") in ("image/png", "image/jpeg")
                else "image/png"
            )
            found.append(f"data:{media};base64,{image['base64']}")
    return found[:20]
