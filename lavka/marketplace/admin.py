"""Django admin for the shop (superusers): thin, every change of state through actions.

Superusers hold every permission, so the admin is where they manage categories, delete
products and creators (seed 003: deleting is theirs alone) and fix any product.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy as _

from lavka.core import file_views, prepared_files
from lavka.core.admin_base import ViewOnlyAdmin
from lavka.marketplace import actions
from lavka.marketplace.exports import producers
from lavka.marketplace.models import (
    Category,
    Coupon,
    CreatorProfile,
    Donation,
    Invoice,
    Order,
    OrderLine,
    PaymentEvent,
    Product,
    ProductImage,
)
from lavka.marketplace.services import PRODUCT_FIELDS, stock_after_edit


def _export_selected(
    request: HttpRequest, queryset: QuerySet[Any], kind: str, stem: str
) -> HttpResponseBase:
    """Seed 001's admin action: the selected rows as CSV (streamed, or prepared by a
    worker when there are many)."""
    ids = list(queryset.order_by().values_list("pk", flat=True))
    try:
        return prepared_files.export_response(
            user=request.user, kind=kind, params={"ids": ids}, filename=producers.filename(stem)
        )
    except prepared_files.TooManyFiles:
        return file_views.too_many_files(request)


def _report(request: HttpRequest, error: Exception) -> None:
    text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
    messages.error(request, text or _("Not allowed."))


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_en", "name_ru", "parent", "position")
    list_filter = ("parent",)
    search_fields = ("slug", "name_en", "name_ru")
    prepopulated_fields = {"slug": ("name_en",)}

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        actions.SaveCategory(request.user, category=obj).execute()

    def delete_model(self, request: HttpRequest, obj: Category) -> None:
        actions.DeleteCategory(request.user, category=obj).execute()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Category]) -> None:
        for category in queryset:
            try:
                actions.DeleteCategory(request.user, category=category).execute()
            except (ValidationError, PermissionDenied) as error:
                _report(request, error)


@admin.register(CreatorProfile)
class CreatorProfileAdmin(admin.ModelAdmin):
    list_display = ("display_name", "slug", "user", "status", "created_at", "decided_at")
    list_filter = ("status",)
    search_fields = ("display_name", "slug", "user__email")
    readonly_fields = ("user", "status", "decided_at", "decided_by", "created_at", "updated_at")
    actions = ["approve", "reject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a user becomes a creator themselves ("Become a creator")

    def save_model(
        self, request: HttpRequest, obj: CreatorProfile, form: Any, change: bool
    ) -> None:
        obj.save()  # display name, slug, bio, avatar: validated by the admin's form

    def delete_model(self, request: HttpRequest, obj: CreatorProfile) -> None:
        actions.DeleteCreatorProfile(request.user, profile=obj).execute()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CreatorProfile]) -> None:
        for profile in queryset:
            try:
                actions.DeleteCreatorProfile(request.user, profile=profile).execute()
            except (ValidationError, PermissionDenied) as error:
                _report(request, error)

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[CreatorProfile], approve: bool
    ) -> None:
        reason = str(_("Rejected in the admin."))
        for profile in queryset:
            try:
                actions.DecideCreatorRequest(
                    request.user, profile=profile, approve=approve, reason=reason
                ).execute()
            except (ValidationError, PermissionDenied) as error:
                _report(request, error)

    @admin.action(description=_("Approve the selected requests"))
    def approve(self, request: HttpRequest, queryset: QuerySet[CreatorProfile]) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Reject the selected requests"))
    def reject(self, request: HttpRequest, queryset: QuerySet[CreatorProfile]) -> None:
        self._decide(request, queryset, approve=False)


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ("image", "alt_text", "position")


class ProductAdminForm(forms.ModelForm):
    # The stock this form showed, as on the creator's page (`services.stock_after_edit`).
    stock_seen = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Product
        fields = ["creator", *PRODUCT_FIELDS, "digital_file"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stock_seen"].initial = self.instance.stock if self.instance.pk else None

    def clean(self) -> dict[str, Any]:
        """The stock check of the save, before it (the admin cannot show an error raised
        while saving); the save checks again under the row lock."""
        cleaned = super().clean() or {}
        if self.instance.pk and "stock" in cleaned:
            current = Product.objects.values_list("stock", flat=True).get(pk=self.instance.pk)
            try:
                stock_after_edit(
                    current=current, seen=cleaned.get("stock_seen"), wanted=cleaned["stock"]
                )
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = (
        "__str__",
        "creator",
        "category",
        "price",
        "kind",
        "stock",
        "is_active",
        "archived_at",
    )
    list_filter = ("kind", "is_active", ("archived_at", admin.EmptyFieldListFilter), "category")
    search_fields = ("title_en", "title_ru", "slug", "creator__display_name")
    list_select_related = ("creator", "category")
    readonly_fields = ("archived_at", "digital_file_name", "created_at", "updated_at")
    inlines = [ProductImageInline]
    actions = ["archive", "unarchive"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # products are their creator's: made on "My products"

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        actions.UpdateProduct(
            request.user, product=obj, stock_seen=form.cleaned_data.get("stock_seen")
        ).execute()

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        actions.DeleteProduct(request.user, product=obj).execute()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        for product in queryset:
            actions.DeleteProduct(request.user, product=product).execute()

    @admin.action(description=_("Archive the selected products"))
    def archive(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        for product in queryset.select_related("creator"):
            actions.ArchiveProduct(request.user, product=product).execute()

    @admin.action(description=_("Unarchive the selected products"))
    def unarchive(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        for product in queryset.select_related("creator"):
            actions.UnarchiveProduct(request.user, product=product).execute()


# --- coupons and orders -------------------------------------------------------------------


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    """Coupons are made here (superusers); `times_used` moves only with checkouts."""

    list_display = (
        "code",
        "kind",
        "value",
        "valid_from",
        "valid_until",
        "times_used",
        "usage_limit",
        "creator",
    )
    search_fields = ("code",)
    list_filter = ("kind", "creator")
    readonly_fields = ("times_used", "created_at", "updated_at")


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = (
        "product",
        "creator",
        "title",
        "unit_price",
        "quantity",
        "line_total",
        "discount",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ViewOnlyAdmin):
    """Read-only: orders change through the staff pages' actions (mark paid, cancel,
    archive), which keep stock, coupons and emails in step."""

    list_display = (
        "__str__",
        "created_at",
        "email",
        "status",
        "total",
        "currency",
        "review_reason",
    )
    list_filter = ("status",)
    search_fields = ("email", "full_name")
    inlines = [OrderLineInline]
    actions = ["export_csv"]

    @admin.action(description=_("Export selected orders to CSV"), permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponseBase:
        return _export_selected(request, queryset, producers.STAFF_ORDERS, "orders")


@admin.register(Donation)
class DonationAdmin(ViewOnlyAdmin):
    """Read-only: donations change through the staff pages' actions (mark paid sends the
    thank-you; archive needs delete_donation)."""

    list_display = ("__str__", "created_at", "donor", "creator", "status", "amount", "currency")
    list_filter = ("status",)
    search_fields = ("donor__email", "creator__display_name")
    actions = ["export_csv"]

    @admin.action(description=_("Export selected donations to CSV"), permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Donation]) -> HttpResponseBase:
        return _export_selected(request, queryset, producers.STAFF_DONATIONS, "donations")


@admin.register(PaymentEvent)
class PaymentEventAdmin(ViewOnlyAdmin):
    """Read-only: what Stripe told the shop and what came of it (stuck or failed rows
    are retried from the kernel's work page)."""

    list_display = (
        "event_id",
        "event_type",
        "order",
        "donation",
        "state",
        "outcome",
        "received_at",
    )
    list_filter = ("event_type", "state", "outcome")
    search_fields = ("event_id", "object_id")


@admin.register(Invoice)
class InvoiceAdmin(ViewOnlyAdmin):
    """Read-only: an invoice is issued once, when its order is paid, and never changed
    or deleted (a gap in the numbers is what the books must not have)."""

    list_display = ("__str__", "order", "issue_date", "issued_at")
    list_filter = ("year",)
    search_fields = ("order__email", "order__full_name")
    list_select_related = ("order",)
