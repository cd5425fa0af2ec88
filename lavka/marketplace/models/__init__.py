"""The marketplace's tables, one module per part: the catalogue, saved carts, orders,
donations, invoices, recommendations."""

from lavka.marketplace.models.cart import Cart, CartItem
from lavka.marketplace.models.catalogue import (
    SEARCH_DOCUMENT_PARTS,
    CatalogChangeMixin,
    Category,
    CreatorProfile,
    Product,
    ProductImage,
    ProductQuerySet,
    SearchDocument,
    fold_for_search,
    in_language,
    search_document_sql,
)
from lavka.marketplace.models.donations import Donation, DonationEmail
from lavka.marketplace.models.invoices import Invoice, InvoiceCounter
from lavka.marketplace.models.orders import (
    Coupon,
    CouponRedemption,
    Order,
    OrderEmail,
    OrderLine,
    OrderPaymentDetails,
    OrderRefund,
    PaymentEvent,
    StockReservation,
)
from lavka.marketplace.models.recommendations import BoughtTogether, RecordedOrder

__all__ = [
    "SEARCH_DOCUMENT_PARTS",
    "BoughtTogether",
    "Cart",
    "CartItem",
    "CatalogChangeMixin",
    "Category",
    "Coupon",
    "CouponRedemption",
    "CreatorProfile",
    "Donation",
    "DonationEmail",
    "Invoice",
    "InvoiceCounter",
    "Order",
    "OrderEmail",
    "OrderLine",
    "OrderPaymentDetails",
    "OrderRefund",
    "PaymentEvent",
    "Product",
    "ProductImage",
    "ProductQuerySet",
    "RecordedOrder",
    "SearchDocument",
    "StockReservation",
    "fold_for_search",
    "in_language",
    "search_document_sql",
]
