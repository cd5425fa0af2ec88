"""The rows of each export, read at the `values()` level in chunks (one query per chunk
for the orders and one for their lines, never one per row), and the producers that
core's prepared files and streamed exports call with the requesting user.

Staff exports reuse the staff lists' filters (`staff_orders_matching`,
`staff_donations`), so an export holds exactly the rows the filtered list shows. A
creator's export is built from their own order lines only: another creator's lines and
the order's totals never enter it, nor the customer's name or email (order details are
for staff and the customer, as on the Sales page).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from lavka.core import prepared_files
from lavka.core.csv_export import Row
from lavka.marketplace.donations import selectors as donation_selectors
from lavka.marketplace.donations.forms import StaffDonationFilterForm
from lavka.marketplace.models import Donation, Order, OrderLine
from lavka.marketplace.orders import selectors as order_selectors
from lavka.marketplace.orders.forms import StaffOrderFilterForm

CHUNK = 2000
MAX_SELECTED = 1_000_000
MAX_ID = 2**63 - 1

ORDER_COLUMNS = (
    "number",
    "created_at",
    "paid_at",
    "status",
    "customer_email",
    "customer_name",
    "currency",
    "subtotal",
    "discount",
    "total",
    "coupon",
    "payment_method",
    "payment_reference",
    "lines",
)
SALE_COLUMNS = (
    "number",
    "created_at",
    "paid_at",
    "status",
    "currency",
    "subtotal",
    "discount",
    "total",
    "lines",
)
DONATION_COLUMNS = (
    "number",
    "created_at",
    "paid_at",
    "status",
    "donor_email",
    "donor_name",
    "creator",
    "product",
    "currency",
    "amount",
    "payment_method",
    "payment_reference",
    "message",
)
RECEIVED_COLUMNS = ("number", "paid_at", "donor_name", "product", "currency", "amount", "message")

STAFF_ORDERS = "marketplace.staff_orders"
CREATOR_SALES = "marketplace.creator_sales"
STAFF_DONATIONS = "marketplace.staff_donations"
CREATOR_DONATIONS = "marketplace.creator_donations"


def filename(stem: str) -> str:
    """`orders-2026-12-02.csv`: what the file is and the day it was made."""
    return f"{stem}-{timezone.localdate().isoformat()}.csv"


def _batches(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _selected_ids(params: Mapping[str, Any]) -> list[int] | None:
    """The admin's selected rows, when the export is of those (else None)."""
    ids = params.get("ids")
    if ids is None:
        return None
    if not isinstance(ids, list) or len(ids) > MAX_SELECTED:
        raise ValidationError(f"ids must be a list of at most {MAX_SELECTED} numbers")
    if not all(isinstance(pk, int) and not isinstance(pk, bool) and 0 < pk <= MAX_ID for pk in ids):
        raise ValidationError("ids must be positive whole numbers")
    return sorted(set(ids), reverse=True)


def _filter_params(
    form_class: Any, params: Mapping[str, Any], names: Sequence[str]
) -> dict[str, Any]:
    """The filter values the staff list's form accepts (a refused value is dropped, as
    on the list), plus the selected ids."""
    form = form_class({name: params[name] for name in names if isinstance(params.get(name), str)})
    cleaned: dict[str, Any] = {name: form.value(name) for name in names if form.value(name)}
    ids = _selected_ids(params)
    if ids is not None:
        cleaned["ids"] = ids
    return cleaned


def _by_ids(rows: QuerySet[Any], ids: list[int]) -> Iterator[tuple[Any, ...]]:
    """The selected rows, newest first, a chunk of ids per query."""
    for chunk in _batches(ids, CHUNK):
        yield from rows.filter(pk__in=chunk).order_by("-pk")


# --- orders, for staff ------------------------------------------------------------------

_ORDER_FIELDS = (
    "pk",
    "created_at",
    "paid_at",
    "status",
    "email",
    "full_name",
    "currency",
    "subtotal",
    "discount",
    "total",
    "coupon_code",
    "payment__provider",
    "payment__reference",
)


def _line_summaries(lines: QuerySet[OrderLine], order_ids: list[int]) -> dict[int, str]:
    """ "2 x Mug; 1 x Book" per order, for a chunk of orders in one query."""
    found: dict[int, list[str]] = {}
    for order_id, quantity, title in (
        lines.filter(order_id__in=order_ids)
        .order_by("order_id", "id")
        .values_list("order_id", "quantity", "title")
    ):
        found.setdefault(order_id, []).append(f"{quantity} x {title}")
    return {order_id: "; ".join(parts) for order_id, parts in found.items()}


def _staff_order_values(params: Mapping[str, Any]) -> Iterable[tuple[Any, ...]]:
    ids = params.get("ids")
    if ids is not None:
        return _by_ids(Order.objects.values_list(*_ORDER_FIELDS), ids)
    return _staff_orders(params).values_list(*_ORDER_FIELDS).iterator(chunk_size=CHUNK)


def order_rows(values: Iterable[tuple[Any, ...]]) -> Iterator[Row]:
    """The header, then one row per order of `values` (`_ORDER_FIELDS` tuples)."""
    yield ORDER_COLUMNS
    for batch in _batches(values, CHUNK):
        summaries = _line_summaries(OrderLine.objects.all(), [row[0] for row in batch])
        for pk, *fields in batch:
            yield (f"L-{pk:06d}", *fields, summaries.get(pk, ""))


def _check_staff_orders(user: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    if not order_selectors.can_see_all_orders(user):
        raise PermissionDenied
    return _filter_params(StaffOrderFilterForm, params, ("status", "provider", "q"))


def _count_staff_orders(user: Any, params: Mapping[str, Any]) -> int:
    ids = params.get("ids")
    if ids is not None:
        return len(ids)
    return _staff_orders(params).count()


def _staff_orders(params: Mapping[str, Any]) -> QuerySet[Order]:
    wanted = order_selectors.StaffFilter(
        status=params.get("status", ""),
        provider=params.get("provider", ""),
        query=params.get("q", ""),
    )
    return order_selectors.staff_orders_matching(wanted)


# --- a creator's sales ------------------------------------------------------------------


def _creator_lines(user: Any) -> QuerySet[OrderLine]:
    """The user's own sale lines: none without a creator profile (an empty export),
    refused without the creator's permission."""
    if not (getattr(user, "is_authenticated", False) and user.has_perm("marketplace.add_product")):
        raise PermissionDenied
    profile = order_selectors.creator_profile(user)
    if profile is None:
        return OrderLine.objects.none()
    return order_selectors.creator_sale_lines(profile)


def sale_rows(lines: Iterable[tuple[Any, ...]]) -> Iterator[Row]:
    """The header, then one row per order from the creator's own lines (ordered by
    order): subtotal, discount and total are of those lines alone."""
    yield SALE_COLUMNS
    current: list[Any] | None = None
    for (
        order_id,
        created_at,
        paid_at,
        status,
        currency,
        unit_price,
        quantity,
        discount,
        title,
    ) in lines:
        if current is None or current[0] != order_id:
            if current is not None:
                yield _sale_row(current)
            current = [order_id, created_at, paid_at, status, currency, Decimal(0), Decimal(0), []]
        current[5] += unit_price * quantity
        current[6] += discount
        current[7].append(f"{quantity} x {title}")
    if current is not None:
        yield _sale_row(current)


def _sale_row(order: list[Any]) -> Row:
    order_id, created_at, paid_at, status, currency, subtotal, discount, titles = order
    return (
        f"L-{order_id:06d}",
        created_at,
        paid_at,
        status,
        currency,
        subtotal,
        discount,
        subtotal - discount,
        "; ".join(titles),
    )


def _creator_sales_rows(user: Any, params: Mapping[str, Any]) -> Iterator[Row]:
    lines = _creator_lines(user).values_list(
        "order_id",
        "order__created_at",
        "order__paid_at",
        "order__status",
        "order__currency",
        "unit_price",
        "quantity",
        "discount",
        "title",
    )
    return sale_rows(lines.iterator(chunk_size=CHUNK))


# --- donations ----------------------------------------------------------------------------

_DONATION_FIELDS = (
    "pk",
    "created_at",
    "paid_at",
    "status",
    "donor__email",
    "donor__full_name",
    "creator__display_name",
    "product__title_en",
    "product__title_ru",
    "currency",
    "amount",
    "provider",
    "reference",
    "message",
)


def _check_staff_donations(user: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    if not (
        getattr(user, "is_authenticated", False) and user.has_perm("marketplace.view_donation")
    ):
        raise PermissionDenied
    return _filter_params(StaffDonationFilterForm, params, ("status", "creator", "q"))


def _staff_donations(params: Mapping[str, Any]) -> QuerySet[Donation]:
    wanted = donation_selectors.StaffFilter(
        status=params.get("status", ""),
        creator=params.get("creator", ""),
        query=params.get("q", ""),
    )
    return donation_selectors.staff_donations(wanted).order_by("-created_at", "-id")


def _count_staff_donations(user: Any, params: Mapping[str, Any]) -> int:
    ids = params.get("ids")
    return len(ids) if ids is not None else _staff_donations(params).count()


def _staff_donation_rows(user: Any, params: Mapping[str, Any]) -> Iterator[Row]:
    ids = params.get("ids")
    values: Iterable[tuple[Any, ...]]
    if ids is not None:
        values = _by_ids(Donation.objects.values_list(*_DONATION_FIELDS), ids)
    else:
        values = _staff_donations(params).values_list(*_DONATION_FIELDS).iterator(chunk_size=CHUNK)
    yield DONATION_COLUMNS
    for pk, created, paid, status, email, name, creator, title_en, title_ru, *rest in values:
        product = title_en or title_ru or ""
        yield (f"D-{pk:06d}", created, paid, status, email, name, creator, product, *rest)


def _received_of(user: Any) -> QuerySet[Donation]:
    if not (getattr(user, "is_authenticated", False) and user.has_perm("marketplace.add_product")):
        raise PermissionDenied
    creator = donation_selectors.creator_of(user)
    if creator is None:
        return Donation.objects.none()
    return donation_selectors.donations_received(creator)


def _received_rows(user: Any, params: Mapping[str, Any]) -> Iterator[Row]:
    values = _received_of(user).values_list(
        "pk",
        "paid_at",
        "donor__full_name",
        "product__title_en",
        "product__title_ru",
        "currency",
        "amount",
        "message",
    )
    yield RECEIVED_COLUMNS
    for pk, paid, donor, title_en, title_ru, *rest in values.iterator(chunk_size=CHUNK):
        yield (f"D-{pk:06d}", paid, donor, title_en or title_ru or "", *rest)


def _no_params(check: Any) -> Any:
    def checked(user: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        check(user)
        return {}

    return checked


PRODUCERS = (
    prepared_files.Producer(
        name=STAFF_ORDERS,
        check=_check_staff_orders,
        count=_count_staff_orders,
        rows=lambda user, params: order_rows(_staff_order_values(params)),
    ),
    prepared_files.Producer(
        name=CREATOR_SALES,
        check=_no_params(_creator_lines),
        count=lambda user, params: _creator_lines(user).values("order_id").distinct().count(),
        rows=_creator_sales_rows,
    ),
    prepared_files.Producer(
        name=STAFF_DONATIONS,
        check=_check_staff_donations,
        count=_count_staff_donations,
        rows=_staff_donation_rows,
    ),
    prepared_files.Producer(
        name=CREATOR_DONATIONS,
        check=_no_params(_received_of),
        count=lambda user, params: _received_of(user).count(),
        rows=_received_rows,
    ),
)


def register_all() -> None:
    for producer in PRODUCERS:
        prepared_files.register(producer)
