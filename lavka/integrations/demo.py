"""Demo data of bookkeeping for `make run`: the demo creator's MoeDelo and MTS Kassa
(the local stand-ins' demo accounts) connected, and the main trade point mapped to the
main cash desk and warehouse, so the schedules start.

`make run` loads demo data before the stand-ins start (nothing happens then: the
connect call is refused at once) and again once the site is up (`announce_when_up`),
when it connects for real. Only stand-ins on loopback are ever called.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from lavka.integrations import services
from lavka.integrations.models import Connection, ConnectionRole, ReferenceKind, TradePointMapping

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _demo_tokens() -> dict[str, tuple[str, str]]:
    from services.simulators.moedelo.server import DEMO_TOKEN as MOEDELO_TOKEN
    from services.simulators.mtskassa.demo import DEMO_TOKEN as MTSKASSA_TOKEN

    return {
        ConnectionRole.ACCOUNTING: ("moedelo", MOEDELO_TOKEN),
        ConnectionRole.POINT_OF_SALE: ("mtskassa", MTSKASSA_TOKEN),
    }


def load_demo_bookkeeping(context: dict[str, Any]) -> list[str]:
    owner = context["users"]["creator@lavka.localhost"]
    for role, (system, token) in _demo_tokens().items():
        if urlsplit(services.base_url_for(system)).hostname not in LOOPBACK:
            return []
        if Connection.objects.filter(owner=owner, role=role).exists():
            continue
        try:
            services.connect(owner=owner, role=role, system=system, token=token)
        except ValidationError:
            return []  # the stand-ins are not up yet (or were started without demo data)
    if TradePointMapping.objects.filter(owner=owner).exists():
        return []
    chosen = {
        kind: services.usable_items(owner=owner, kind=kind).order_by("-is_main", "pk").first()
        for kind in (ReferenceKind.TRADE_POINT, ReferenceKind.CASH_DESK, ReferenceKind.WAREHOUSE)
    }
    point = chosen[ReferenceKind.TRADE_POINT]
    desk = chosen[ReferenceKind.CASH_DESK]
    store = chosen[ReferenceKind.WAREHOUSE]
    if point is None or desk is None or store is None:
        return []
    services.save_mapping(owner=owner, trade_point=point, cash_desk=desk, warehouse=store)
    return []
