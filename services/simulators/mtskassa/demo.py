"""`--seed-demo`: one account with a trade point whose register closes a small shift every
few seconds, so a user of `make run` sees sales flow within a minute."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from .server import Simulator
from .store import ApiError, TradeUnit

# Fixed, so Lavka's demo data can connect with it; hex like a real token, made up.
DEMO_TOKEN = "6c61766b612d64656d6f2d6d74732d6b61737361"  # noqa: S105 - a demo's own token
DEMO_ACCOUNT = "ИП Демонстрационный (симулятор)"


def seed_demo(simulator: Simulator, *, token: str = DEMO_TOKEN) -> TradeUnit:
    store = simulator.store
    account, _ = store.create_account(DEMO_ACCOUNT, token)
    unit = store.create_trade_unit(
        account.id, "Лавка на Садовой", "Москва, ул. Садовая, 1", is_main=True
    )
    store.create_trade_unit(account.id, "Ярмарка выходного дня", "Москва, парк Горького")
    return unit


def start_demo_register(simulator: Simulator, unit: TradeUnit, every_seconds: float) -> None:
    """Each tick closes a shift of three to five receipts: the trade point's products
    (what Lavka has sent), a free sale now and then, and a rare refund."""
    rng = random.Random(7)

    def tick() -> None:
        store = simulator.store
        with store.lock:  # products cannot be archived halfway through a shift
            products = [p.external_id for p in unit.products.values() if not p.archived]
            try:
                store.open_shift(unit)
            except ApiError:  # a shift opened by hand: leave it to its owner
                return
            receipts = []
            for _ in range(rng.randint(3, 5)):
                items: list[dict[str, Any]] = [
                    {"external_id": external_id, "quantity": rng.randint(1, 3)}
                    for external_id in rng.sample(products, min(len(products), rng.randint(1, 2)))
                ]
                if not items or rng.random() < 0.25:
                    items.append({"free": True, "price": str(Decimal(rng.randint(100, 900)))})
                receipts.append(
                    {"type": "sale", "payment": rng.choice(("cash", "card")), "items": items}
                )
            if rng.random() < 0.15:  # a customer brings the first purchase back
                receipts.append({**receipts[0], "type": "refund"})
            for receipt in receipts:
                store.ring_up(unit, receipt)
            store.close_shift(unit)

    simulator.every(every_seconds, tick, "mtskassa-demo-register")
