"""What Lavka asks of an accounting system and of a point-of-sale (cash register)
system, in Lavka's own terms, so the sync code never sees a vendor's JSON.

An adapter is made per call site with the connection's token and base URL and talks
HTTP through `lavka.core.http.HttpClient`. It raises the client's errors unchanged:
`RejectedCredentials` (a wrong or revoked token: the connection is marked so),
`TransientHttpError` (429/5xx/timeouts/truncated answers: retried later, honouring
`retry_after`), `BadAnswer` (an answer of the wrong shape, or a refusal of what was sent:
shown to the owner, not retried blindly).

Money is Decimal, quantities are Decimal, times are timezone-aware. External ids are
strings whatever the vendor uses.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Account:
    """Whose token it is: shown on the connection page; `external_id` tells two
    accounts apart (one token per owner)."""

    external_id: str
    name: str


@dataclass(frozen=True)
class ReferenceItem:
    """A cash desk, a warehouse or a trade point as the owner picks it in a mapping."""

    external_id: str
    name: str
    is_main: bool = False


@dataclass(frozen=True)
class Good:
    """A good of the accounting system, as registers should sell it."""

    external_id: str
    name: str
    price: Decimal
    unit: str = "pcs"
    vat_rate: str = "none"  # "none", "0", "10", "20": the rate's code, not a number
    barcode: str = ""
    archived: bool = False


@dataclass(frozen=True)
class RegisterProduct:
    """A product sent to the registers; `external_id` is the accounting good's id."""

    external_id: str
    name: str
    price: Decimal
    unit: str = "pcs"
    vat_rate: str = "none"
    barcode: str = ""


@dataclass(frozen=True)
class ReceiptLine:
    """One line of a receipt; `product_external_id` is empty for a free sale (an amount
    typed in at the register, with no product)."""

    product_external_id: str
    name: str
    quantity: Decimal
    price: Decimal
    total: Decimal


@dataclass(frozen=True)
class Receipt:
    external_id: str
    is_refund: bool
    total: Decimal
    lines: Sequence[ReceiptLine]
    paid_by_card: Decimal = Decimal("0")
    paid_in_cash: Decimal = Decimal("0")


@dataclass(frozen=True)
class ShiftSummary:
    """A closed shift, as listed: enough to decide whether it is new."""

    external_id: str
    trade_point_id: str
    number: int
    closed_at: datetime


# What Lavka stores of a shift (ShiftSync.shift_external_id, .shift_number): a summary
# outside these bounds is a wrong answer, refused before anything is written.
SHIFT_ID_MAX_LENGTH = 100
SHIFT_NUMBER_LIMIT = 2**31


# What Lavka stores of an account's, a cash desk's, a warehouse's or a trade point's id
# (Connection.account_external_id, ReferenceItem.external_id): cut, two long ids would
# become one, so a longer id is a wrong answer.
EXTERNAL_ID_MAX_LENGTH = 100
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]+")


def external_id_problem(name: str, value: str, limit: int = EXTERNAL_ID_MAX_LENGTH) -> str:
    """Why Lavka cannot store this id as it is, or "" when it can."""
    if not value or len(value) > limit or "\x00" in value:
        return f"{name} must be 1 to {limit} characters without NUL"
    return ""


def printable(name: str) -> str:
    """A name from a system as Lavka stores and shows it: control characters (a NUL,
    which PostgreSQL refuses, line breaks) become spaces."""
    return _CONTROL.sub(" ", name).strip()


def shift_summary_problem(summary: ShiftSummary) -> str:
    """Why Lavka cannot store this shift summary as it is, or "" when it can."""
    for name in ("external_id", "trade_point_id"):
        problem = external_id_problem(name, getattr(summary, name), SHIFT_ID_MAX_LENGTH)
        if problem:
            return problem
    if not 0 <= summary.number < SHIFT_NUMBER_LIMIT:
        return f"number must be from 0 to {SHIFT_NUMBER_LIMIT - 1}, not {summary.number}"
    return ""


@dataclass(frozen=True)
class ZReport:
    """The register's closing totals of a shift."""

    revenue: Decimal
    refunds: Decimal
    cash: Decimal
    card: Decimal
    receipts_count: int


@dataclass(frozen=True)
class Shift:
    summary: ShiftSummary
    z_report: ZReport
    receipts: Sequence[Receipt]


@dataclass(frozen=True)
class RetailReportLine:
    good_external_id: str
    quantity: Decimal
    total: Decimal


@dataclass(frozen=True)
class RetailReport:
    """A day's (a shift's) retail sales for accounting. `number` is Lavka's, unique per
    connection and stable across retries: a second send finds the first by it."""

    number: str
    date: datetime
    warehouse_id: str
    cash_desk_id: str
    revenue: Decimal
    lines: Sequence[RetailReportLine] = field(default_factory=tuple)
    free_sale_total: Decimal = Decimal("0")  # free-sale lines: revenue with no good


class AccountingAdapter(ABC):
    system: str = ""  # the code stored on a connection, e.g. "moedelo"
    label: str = ""

    def __init__(self, *, token: str, base_url: str) -> None:
        self.token, self.base_url = token, base_url

    @abstractmethod
    def account(self) -> Account:
        """A real call that proves the token (RejectedCredentials if it is not)."""

    @abstractmethod
    def cash_desks(self) -> list[ReferenceItem]: ...

    @abstractmethod
    def warehouses(self) -> list[ReferenceItem]: ...

    @abstractmethod
    def goods(self) -> Iterator[Good]:
        """Every good, archived ones included (page by page; a page repeated by the
        server must not yield a good twice)."""

    @abstractmethod
    def find_retail_report(self, number: str) -> str | None:
        """The document id of a report already sent with this number, or None."""

    @abstractmethod
    def create_retail_report(
        self,
        report: RetailReport,
        *,
        fresh: bool = False,
        between_documents: Callable[[], None] | None = None,
    ) -> str:
        """Send the report; returns its document id. A report made of several documents
        looks each one up before creating it, so a retry after a lost answer or a dead
        worker makes none twice, unless `fresh`: the caller knows no attempt has sent
        any part of this report yet (and has just checked `find_retail_report`).
        `between_documents` is called before each document after the first (the caller
        renews its lease there, and may raise to stop)."""


class PointOfSaleAdapter(ABC):
    system: str = ""  # e.g. "mtskassa"
    label: str = ""
    batch_size: int = 100  # products per bulk request the system accepts
    takes_goods: bool = True  # False: no goods are sent to its trade points (Lavka's shop)
    built_in: bool = False  # True: Lavka itself, made for an owner, with no token

    def __init__(self, *, token: str, base_url: str) -> None:
        self.token, self.base_url = token, base_url

    @abstractmethod
    def account(self) -> Account:
        """A real call that proves the token (RejectedCredentials if it is not)."""

    @abstractmethod
    def trade_points(self) -> list[ReferenceItem]: ...

    def refusal(self, product: RegisterProduct) -> str:
        """Why the system cannot take this product (a unit or VAT rate it has no code
        for), or "" when it can: such a good is reported, the rest of its batch is sent."""
        return ""

    @abstractmethod
    def upsert_products(self, trade_point_id: str, products: Sequence[RegisterProduct]) -> None:
        """Create or update up to `batch_size` products by external id (idempotent)."""

    @abstractmethod
    def archive_products(self, trade_point_id: str, external_ids: Sequence[str]) -> None:
        """Take products off sale (idempotent; unknown ids are not an error)."""

    @abstractmethod
    def closed_shifts(
        self, trade_point_id: str, *, closed_since: datetime
    ) -> Iterator[ShiftSummary]:
        """Shifts closed at or after `closed_since`, oldest first."""

    @abstractmethod
    def shift(self, trade_point_id: str, shift_id: str) -> Shift:
        """The shift's Z-report and every receipt of it."""
