"""The cart: what a visitor means to buy, each product once, at the price it had when it
was added.

Anonymous visitors keep their cart in the session (server side: the cookie holds only
the session's key, so nobody reaches another's cart); signed-in users in the database
(`Cart`, `CartItem`), so it follows them between browsers and survives logging out. At
login the session cart is merged into the user's (`merge_session_cart`).

Rules, the same for the pages and the API:
- a quantity is a whole number from 1 to the product's limit: its stock (physical), 1
  (digital: one download serves the buyer), never above MAX_QUANTITY;
- only products on sale can be added or changed; any line can be removed;
- the price is fixed when a product is first added. A later price change, a product
  taken off sale or stock fallen below the quantity are *problems* (`cart_problems`):
  the cart page and checkout show them, and checkout goes on only once the visitor has
  accepted them (`accept_cart_changes`), which brings the cart up to date.
- Merging at login adds quantities (capped at the limit, never below what the saved cart
  held) and keeps the price fixed first: the older line's, as the visitor saw it then.

Every refusal is a ValidationError with a message for the visitor, and changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from lavka.marketplace.models import Cart, CartItem, Product
from lavka.marketplace.rendering import format_price

SESSION_KEY = "lavka_cart"
# A line's quantity never exceeds this, whatever the stock (a 10-digit quantity is a
# typo or an attack, not an order).
MAX_QUANTITY = 999
# At most this many different products in one cart: the session stays small.
MAX_LINES = 50
MAX_ID = 2**63 - 1
CENT = Decimal("0.01")

UNAVAILABLE = "unavailable"
PRICE_CHANGED = "price_changed"
OVER_STOCK = "over_stock"


@dataclass(frozen=True)
class CartLine:
    """One product in the cart: the interface checkout reads."""

    product_id: int
    quantity: int
    unit_price: Decimal  # the price fixed when the product was added


@dataclass(frozen=True)
class CartSummary:
    count: int  # items (the sum of quantities)
    total: Decimal  # at the fixed prices

    @property
    def currency(self) -> str:
        return str(settings.LAVKA_SHOP_CURRENCY)

    @property
    def total_display(self) -> str:
        return format_price(self.total)


@dataclass(frozen=True)
class CartProblem:
    """Something that changed since a product was added, which the buyer must accept."""

    product_id: int
    kind: str  # UNAVAILABLE, PRICE_CHANGED or OVER_STOCK
    message: str
    old_price: Decimal | None = None
    new_price: Decimal | None = None
    available: int | None = None  # how many may be bought now (OVER_STOCK)

    @property
    def key(self) -> str:
        """What the buyer was shown, to check they accept the same thing."""
        return f"{self.product_id}:{self.kind}:{self.new_price}:{self.available}"


@dataclass(frozen=True)
class CartEntry:
    """A line as the cart page shows it: the product (None once deleted) and its state."""

    line: CartLine
    product: Product | None
    item_id: int | None = None  # the database row (signed-in users), for the API
    problems: tuple[CartProblem, ...] = ()

    @property
    def line_total(self) -> Decimal:
        return self.line.unit_price * self.line.quantity

    @property
    def is_available(self) -> bool:
        return all(problem.kind != UNAVAILABLE for problem in self.problems)

    @property
    def current_price(self) -> Decimal | None:
        return self.product.price if self.product is not None else None

    @property
    def limit(self) -> int:
        return quantity_limit(self.product) if self.product is not None else 0


@dataclass(frozen=True)
class CartContents:
    entries: list[CartEntry] = field(default_factory=list)

    @property
    def problems(self) -> list[CartProblem]:
        return [problem for entry in self.entries for problem in entry.problems]

    @property
    def summary(self) -> CartSummary:
        return _summary(entry.line for entry in self.entries)

    @property
    def problems_fingerprint(self) -> str:
        return problems_fingerprint(self.problems)


def problems_fingerprint(problems: Sequence[CartProblem]) -> str:
    """A short digest of the problems shown, sent back when the buyer accepts them."""
    text = "|".join(sorted(problem.key for problem in problems))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def quantity_limit(product: Product) -> int:
    """The most of a product one cart may hold now (0: sold out)."""
    if product.kind == Product.Kind.DIGITAL:
        return 1 if product.stock is None or product.stock > 0 else 0
    if product.stock is None:
        return MAX_QUANTITY
    return max(0, min(product.stock, MAX_QUANTITY))


def _summary(lines: Iterable[CartLine]) -> CartSummary:
    count, total = 0, Decimal("0.00")
    for line in lines:
        count += line.quantity
        total += line.unit_price * line.quantity
    return CartSummary(count=count, total=total)


# --- checks ---------------------------------------------------------------------------


def _on_sale(product_id: Any) -> Product:
    """The product, if it can be bought now; else the refusal."""
    if not isinstance(product_id, int) or isinstance(product_id, bool):
        raise ValidationError(_("Choose a product."), code="product")
    product = None
    if 0 < product_id <= MAX_ID:
        product = Product.objects.on_sale().filter(pk=product_id).first()
    if product is None:
        raise ValidationError(_("This product is not for sale (any more)."), code="unavailable")
    return product


def _check_quantity(product: Product, quantity: Any, *, in_cart: int = 0) -> int:
    """`quantity` more of the product on top of `in_cart`: the new quantity, or the
    refusal."""
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise ValidationError(_("The quantity must be a whole number."), code="quantity")
    if quantity < 1:
        raise ValidationError(_("The quantity must be at least 1."), code="quantity")
    limit = quantity_limit(product)
    wanted = in_cart + quantity
    if limit == 0:
        raise ValidationError(
            _("%(title)s is sold out.") % {"title": product.title}, code="sold_out"
        )
    if product.kind == Product.Kind.DIGITAL and wanted > 1:
        if in_cart:
            message = _("%(title)s is already in your cart; one download is all you need.")
        else:
            message = _("%(title)s is a download: one is all you need.")
        raise ValidationError(message % {"title": product.title}, code="quantity")
    if wanted > limit:
        if in_cart:
            message = _("Only %(limit)d of %(title)s can be bought, and your cart has %(in_cart)d.")
        else:
            message = _("Only %(limit)d of %(title)s can be bought.")
        raise ValidationError(
            message % {"limit": limit, "title": product.title, "in_cart": in_cart},
            code="quantity",
        )
    return wanted


def _problems_known(
    line: CartLine, product: Product | None, *, on_sale: bool
) -> tuple[CartProblem, ...]:
    if product is None or not on_sale:
        title = product.title if product is not None else _("A product")
        return (
            CartProblem(
                product_id=line.product_id,
                kind=UNAVAILABLE,
                message=_("%(title)s is no longer available.") % {"title": title},
                old_price=line.unit_price,
            ),
        )
    problems = []
    if product.price != line.unit_price:
        problems.append(
            CartProblem(
                product_id=line.product_id,
                kind=PRICE_CHANGED,
                message=_("The price of %(title)s changed from %(old)s to %(new)s.")
                % {
                    "title": product.title,
                    "old": format_price(line.unit_price),
                    "new": format_price(product.price),
                },
                old_price=line.unit_price,
                new_price=product.price,
            )
        )
    limit = quantity_limit(product)
    if line.quantity > limit:
        message = (
            _("%(title)s is sold out.")
            if limit == 0
            else _("Only %(limit)d of %(title)s are left; you have %(quantity)d.")
        )
        problems.append(
            CartProblem(
                product_id=line.product_id,
                kind=OVER_STOCK,
                message=message
                % {"title": product.title, "limit": limit, "quantity": line.quantity},
                available=limit,
            )
        )
    return tuple(problems)


# --- the two stores -------------------------------------------------------------------


class SessionCart:
    """An anonymous visitor's cart: `[{"product": id, "quantity": n, "price": "12.50",
    "added": iso time}, ...]` in the session, in the order added."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def _raw(self) -> list[dict[str, Any]]:
        stored = self.session.get(SESSION_KEY)
        return stored if isinstance(stored, list) else []

    def entries(self) -> list[tuple[CartLine, datetime]]:
        """The stored lines, each with when it was added; malformed ones are skipped."""
        found: list[tuple[CartLine, datetime]] = []
        seen: set[int] = set()
        for raw in self._raw():
            try:
                product_id, quantity = raw["product"], raw["quantity"]
                price = Decimal(raw["price"]).quantize(CENT)
                added = parse_datetime(raw.get("added", ""))
            except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation):
                continue
            if added is None or timezone.is_naive(added):
                added = timezone.now()
            if not (isinstance(product_id, int) and isinstance(quantity, int)):
                continue
            if not price.is_finite() or price < 0:
                continue
            if product_id in seen or not 1 <= quantity <= MAX_QUANTITY:
                continue
            seen.add(product_id)
            found.append((CartLine(product_id, quantity, price), added))
        return found

    def lines(self) -> list[CartLine]:
        return [line for line, _added in self.entries()]

    def item_ids(self) -> dict[int, int]:
        return {}

    def summary(self) -> CartSummary:
        """From the session alone: no query."""
        return _summary(self.lines())

    def _save(self, entries: list[tuple[CartLine, datetime]]) -> None:
        if not entries:
            self.session.pop(SESSION_KEY, None)
            return
        self.session[SESSION_KEY] = [
            {
                "product": line.product_id,
                "quantity": line.quantity,
                "price": str(line.unit_price),
                "added": added.isoformat(),
            }
            for line, added in entries
        ]

    def add(self, product_id: Any, quantity: Any) -> CartLine:
        product = _on_sale(product_id)
        entries = self.entries()
        for index, (line, added) in enumerate(entries):
            if line.product_id == product.pk:
                new = _check_quantity(product, quantity, in_cart=line.quantity)
                entries[index] = (CartLine(line.product_id, new, line.unit_price), added)
                self._save(entries)
                return entries[index][0]
        _check_quantity(product, quantity)
        if len(entries) >= MAX_LINES:
            raise ValidationError(_("Your cart is full."), code="full")
        entries.append((CartLine(product.pk, quantity, product.price), timezone.now()))
        self._save(entries)
        return entries[-1][0]

    def set_quantity(self, product_id: Any, quantity: Any) -> CartLine:
        entries = self.entries()
        for index, (line, added) in enumerate(entries):
            if line.product_id == product_id:
                product = _on_sale(product_id)
                new = _check_quantity(product, quantity)
                entries[index] = (CartLine(line.product_id, new, line.unit_price), added)
                self._save(entries)
                return entries[index][0]
        raise ValidationError(_("This product is not in your cart."), code="not_in_cart")

    def remove(self, product_id: Any) -> None:
        entries = self.entries()
        kept = [(line, added) for line, added in entries if line.product_id != product_id]
        if len(kept) == len(entries):
            raise ValidationError(_("This product is not in your cart."), code="not_in_cart")
        self._save(kept)

    def replace(self, lines: Sequence[CartLine]) -> None:
        added = dict((line.product_id, when) for line, when in self.entries())
        self._save([(line, added.get(line.product_id, timezone.now())) for line in lines])

    def clear(self) -> None:
        self.session.pop(SESSION_KEY, None)


class UserCart:
    """A signed-in user's cart in the database. Every change locks the user's cart row
    first, so two tabs adding at once add up instead of overwriting each other."""

    def __init__(self, user: Any) -> None:
        self.user = user

    def _items(self) -> Any:
        return CartItem.objects.filter(cart__user_id=self.user.pk)

    def lines(self) -> list[CartLine]:
        return [
            CartLine(product_id, quantity, price)
            for product_id, quantity, price in self._items()
            .order_by("added_at", "id")
            .values_list("product_id", "quantity", "unit_price")
        ]

    def item_ids(self) -> dict[int, int]:
        return dict(self._items().values_list("product_id", "id"))

    def summary(self) -> CartSummary:
        """One query (the lines' quantities and prices: at most MAX_LINES rows, summed
        here in Decimal, where a database would multiply SQLite's decimals as floats)."""
        return _summary(
            CartLine(0, quantity, price)
            for quantity, price in self._items().values_list("quantity", "unit_price")
        )

    def _locked_cart(self) -> Cart:
        """The user's cart, made when first needed, locked until the transaction ends."""
        cart, _made = Cart.objects.get_or_create(user_id=self.user.pk)
        return Cart.objects.select_for_update().get(pk=cart.pk)

    def add(self, product_id: Any, quantity: Any) -> CartItem:
        product = _on_sale(product_id)
        with transaction.atomic():
            cart = self._locked_cart()
            item = CartItem.objects.filter(cart=cart, product=product).first()
            if item is not None:
                item.quantity = _check_quantity(product, quantity, in_cart=item.quantity)
                item.save(update_fields=["quantity"])
                return item
            _check_quantity(product, quantity)
            if CartItem.objects.filter(cart=cart).count() >= MAX_LINES:
                raise ValidationError(_("Your cart is full."), code="full")
            return CartItem.objects.create(
                cart=cart, product=product, quantity=quantity, unit_price=product.price
            )

    def item(self, item_id: int) -> CartItem | None:
        """One of the user's own lines, or None (another user's is None too)."""
        if not 0 < item_id <= MAX_ID:
            return None
        return self._items().select_related("product__creator").filter(pk=item_id).first()

    def set_quantity(self, product_id: Any, quantity: Any) -> CartItem:
        with transaction.atomic():
            cart = self._locked_cart()
            item = CartItem.objects.filter(cart=cart, product_id=product_id).first()
            if item is None:
                raise ValidationError(_("This product is not in your cart."), code="not_in_cart")
            item.quantity = _check_quantity(_on_sale(product_id), quantity)
            item.save(update_fields=["quantity"])
            return item

    def remove(self, product_id: Any) -> None:
        with transaction.atomic():
            cart = self._locked_cart()
            deleted, _kinds = CartItem.objects.filter(cart=cart, product_id=product_id).delete()
        if not deleted:
            raise ValidationError(_("This product is not in your cart."), code="not_in_cart")

    def replace(self, lines: Sequence[CartLine]) -> None:
        """The cart holds exactly these lines (quantities and prices), nothing else."""
        wanted = {line.product_id: line for line in lines}
        with transaction.atomic():
            cart = self._locked_cart()
            CartItem.objects.filter(cart=cart).exclude(product_id__in=wanted).delete()
            for item in CartItem.objects.filter(cart=cart):
                line = wanted[item.product_id]
                item.quantity, item.unit_price = line.quantity, line.unit_price
                item.save(update_fields=["quantity", "unit_price"])

    def clear(self) -> None:
        self._items().delete()

    def merge(self, entries: Sequence[tuple[CartLine, datetime]]) -> None:
        """Add a session cart's lines (see the module's docstring for the rules)."""
        if not entries:
            return
        products = Product.objects.in_bulk([line.product_id for line, _added in entries])
        with transaction.atomic():
            cart = self._locked_cart()
            items = {item.product_id: item for item in CartItem.objects.filter(cart=cart)}
            for line, added in entries:
                product = products.get(line.product_id)
                if product is None:  # deleted since: nothing to keep
                    continue
                limit = quantity_limit(product)
                item = items.get(line.product_id)
                if item is None:
                    if len(items) >= MAX_LINES:
                        continue
                    items[product.pk] = CartItem.objects.create(
                        cart=cart,
                        product=product,
                        quantity=max(1, min(line.quantity, limit)),
                        unit_price=line.unit_price,
                        added_at=added,
                    )
                    continue
                item.quantity = max(item.quantity, min(item.quantity + line.quantity, limit))
                if added < item.added_at:
                    item.unit_price, item.added_at = line.unit_price, added
                item.save(update_fields=["quantity", "unit_price", "added_at"])


def store_for(request: Any) -> SessionCart | UserCart:
    """The visitor's own cart: the user's, once signed in (a token too), else the
    session's."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return UserCart(user)
    return SessionCart(request.session)


# --- what other code calls ----------------------------------------------------------


def cart_lines(request: Any) -> list[CartLine]:
    """The current visitor's cart (session or user), in the order added."""
    return store_for(request).lines()


def clear_cart(request: Any) -> None:
    """Empty the visitor's cart (after a successful checkout)."""
    store_for(request).clear()


def cart_summary(request: Any) -> CartSummary:
    """Count and total for the header: no query for a session cart, one for a user's."""
    return store_for(request).summary()


def cart_contents(request: Any) -> CartContents:
    """Each line with its product and its problems, for the cart and checkout pages
    (three queries whatever the number of lines)."""
    store = store_for(request)
    lines = store.lines()
    if not lines:
        return CartContents()
    ids = [line.product_id for line in lines]
    products = (
        Product.objects.filter(pk__in=ids)
        .select_related("creator")
        .prefetch_related("images")
        .in_bulk()
    )
    on_sale = set(Product.objects.on_sale().filter(pk__in=ids).values_list("pk", flat=True))
    item_ids = store.item_ids()
    return CartContents(
        entries=[
            CartEntry(
                line=line,
                product=products.get(line.product_id),
                item_id=item_ids.get(line.product_id),
                problems=_problems_known(
                    line, products.get(line.product_id), on_sale=line.product_id in on_sale
                ),
            )
            for line in lines
        ]
    )


def cart_problems(request: Any) -> list[CartProblem]:
    """What changed since products were added; checkout requires the buyer to accept
    these (`accept_cart_changes`) before it goes on."""
    return cart_contents(request).problems


def add_to_cart(request: Any, product_id: Any, quantity: Any) -> CartLine:
    """Add `quantity` of a product on sale (to the line already there, if any)."""
    added = store_for(request).add(product_id, quantity)
    if isinstance(added, CartItem):
        return CartLine(added.product_id, added.quantity, added.unit_price)
    return added


def set_cart_quantity(request: Any, product_id: Any, quantity: Any) -> None:
    store_for(request).set_quantity(product_id, quantity)


def remove_from_cart(request: Any, product_id: Any) -> None:
    store_for(request).remove(product_id)


def accept_cart_changes(request: Any, fingerprint: str) -> list[CartProblem]:
    """The buyer accepts the problems they were shown (`fingerprint`): unavailable
    products leave the cart, prices become today's, quantities fall to what is left.

    If the problems changed since they were shown (another price change meanwhile),
    nothing changes and the current problems are returned, to be shown again; [] means
    the cart is up to date.
    """
    contents = cart_contents(request)
    problems = contents.problems
    if not problems:
        return []
    if fingerprint != problems_fingerprint(problems):
        return problems
    updated: list[CartLine] = []
    for entry in contents.entries:
        line, product = entry.line, entry.product
        if product is None or not entry.is_available:
            continue
        quantity = min(line.quantity, quantity_limit(product))
        if quantity < 1:
            continue
        updated.append(CartLine(line.product_id, quantity, product.price))
    store_for(request).replace(updated)
    return []


def merge_session_cart(request: Any, user: Any) -> None:
    """At login: the anonymous session's cart joins the user's saved cart, and leaves
    the session."""
    session = getattr(request, "session", None)
    if session is None:
        return
    session_cart = SessionCart(session)
    entries = session_cart.entries()
    if entries:
        UserCart(user).merge(entries)
    session_cart.clear()


def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Receiver of django.contrib.auth's `user_logged_in` (connected in apps.py): only
    hands over to `merge_session_cart`."""
    if request is not None:
        merge_session_cart(request, user)
