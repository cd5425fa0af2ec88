"""One adapter class per external system; see docs/integrations.md.

`ACCOUNTING` and `POINT_OF_SALE` map a system code (stored on a connection) to its
adapter class. Adding a system is adding one adapter module and one line here. `SHOP`
holds the built-in point of sale over Lavka's own online shop (no token, turned on from
the bookkeeping overview).
"""

from __future__ import annotations

from lavka.integrations.adapters.base import AccountingAdapter, PointOfSaleAdapter
from lavka.integrations.adapters.lavka_shop import LavkaShopAdapter
from lavka.integrations.adapters.moedelo import MoeDeloAdapter
from lavka.integrations.adapters.mtskassa import MtsKassaAdapter

ACCOUNTING: dict[str, type[AccountingAdapter]] = {MoeDeloAdapter.system: MoeDeloAdapter}
POINT_OF_SALE: dict[str, type[PointOfSaleAdapter]] = {MtsKassaAdapter.system: MtsKassaAdapter}
SHOP: dict[str, type[PointOfSaleAdapter]] = {LavkaShopAdapter.system: LavkaShopAdapter}
