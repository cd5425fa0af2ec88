"""Forms of the shop's pages: input checks only; rules live in actions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from lavka.core.validators import validate_header_text
from lavka.marketplace import cart, selectors
from lavka.marketplace.models import Category, CreatorProfile, Product
from lavka.marketplace.uploads import validate_digital_file, validate_image_upload

MAX_PRICE = Decimal("9999999999.99")  # what Decimal(12, 2) holds
MIN_PRICE = Decimal("0.01")
MAX_STOCK = 1_000_000_000
MAX_QUERY_LENGTH = 200


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several images in one input; each checked like a single one."""

    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("accept", "image/jpeg,image/png,image/gif,image/webp")

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        problems = []
        for upload in files:
            try:
                validate_image_upload(upload)
            except ValidationError as error:
                problems.append(f"{upload.name}: {' '.join(error.messages)}")
        if problems:
            raise ValidationError(problems)
        return list(files)


class CreatorProfileForm(forms.ModelForm):
    class Meta:
        model = CreatorProfile
        fields = ["display_name", "slug", "bio", "avatar"]
        widgets = {"avatar": forms.ClearableFileInput(attrs={"accept": "image/*"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["display_name"].help_text = _("How buyers see your shop's name.")

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"].lower()
        taken = CreatorProfile.objects.filter(slug=slug)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise ValidationError(_("This address is taken; choose another."))
        return slug


class CreatorDecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (for a rejection)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def category_choices() -> list[tuple[Any, str]]:
    """Top categories with their subcategories indented below them."""
    choices: list[tuple[Any, str]] = [("", "—")]
    for top in selectors.top_categories():
        choices.append((top.pk, top.name))
        choices.extend((child.pk, f"— {child.name}") for child in top.children.all())
    return choices


class ProductForm(forms.ModelForm):
    """A creator's product; price and stock are checked here before the database would."""

    new_images = MultipleImageField(
        label=_("Add images"), help_text=_("JPEG, PNG, GIF or WebP; several at once.")
    )
    alt_text = forms.CharField(
        label=_("Alternative text of the new images"),
        max_length=200,
        required=False,
        validators=[validate_header_text],
    )
    remove_digital_file = forms.BooleanField(label=_("Remove the file"), required=False)
    # The stock this form showed: orders that move the stock meanwhile are kept.
    stock_seen = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Product
        fields = [
            "title_en",
            "title_ru",
            "slug",
            "description_en",
            "description_ru",
            "category",
            "price",
            "kind",
            "stock",
            "digital_file",
            "is_active",
        ]
        widgets = {
            "description_en": forms.Textarea(attrs={"rows": 6}),
            "description_ru": forms.Textarea(attrs={"rows": 6}),
            "digital_file": forms.FileInput(),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        price = self.fields["price"]
        # The database allows 0; the shop does not sell for nothing (payment providers
        # refuse a zero amount, and a 0 is more often a slip than a gift).
        price.validators.extend(
            [
                MinValueValidator(
                    MIN_PRICE, message=_("The price must be above zero, at least 0.01.")
                ),
                MaxValueValidator(MAX_PRICE),
            ]
        )
        price.widget.attrs.update({"min": "0", "step": "0.01"})
        stock = self.fields["stock"]
        stock.validators.extend([MinValueValidator(0), MaxValueValidator(MAX_STOCK)])
        stock.widget.attrs["min"] = "0"
        category = cast(forms.ModelChoiceField, self.fields["category"])
        category.queryset = Category.objects.all()
        category.choices = category_choices()  # type: ignore[attr-defined]
        self.fields["digital_file"].validators = [validate_digital_file]
        self.fields["stock_seen"].initial = self.instance.stock if self.instance.pk else None

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"].lower()
        creator_id = self.instance.creator_id if self.instance.pk else None
        if creator_id is not None:
            taken = Product.objects.filter(creator_id=creator_id, slug=slug).exclude(
                pk=self.instance.pk
            )
            if taken.exists():
                raise ValidationError(_("You have another product at this address."))
        return slug

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        if (
            kind == Product.Kind.PHYSICAL
            and cleaned.get("stock") is None
            and "stock" not in (self.errors)
        ):
            self.add_error("stock", _("A physical product needs a stock count (0 or more)."))
        return cleaned

    def _post_clean(self) -> None:
        # The files are handed to the action, which validates the whole product at once.
        digital = self.cleaned_data.pop("digital_file", None)
        super()._post_clean()  # type: ignore[misc]
        if digital is not None:
            self.cleaned_data["digital_file"] = digital

    def digital_upload(self) -> UploadedFile | None:
        """A file uploaded with this form (not the one the product already has)."""
        value = self.cleaned_data.get("digital_file")
        return value if isinstance(value, UploadedFile) else None


def apply_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """An action's ValidationError shown on the form: at its fields where the form has
    them, above the form otherwise."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


SORT_CHOICES = [
    ("newest", _("Newest")),
    ("price", _("Price: low to high")),
    ("-price", _("Price: high to low")),
    ("title", _("Title")),
]


class ShopFilterForm(forms.Form):
    """The shop's search and filters (GET); a bad value is reported, the rest applies."""

    q = forms.CharField(label=_("Search"), required=False, max_length=MAX_QUERY_LENGTH)
    category = forms.SlugField(label=_("Category"), required=False, max_length=60)
    price_min = forms.DecimalField(
        label=_("Price from"),
        required=False,
        min_value=0,
        max_value=MAX_PRICE,
        decimal_places=2,
        max_digits=12,
    )
    price_max = forms.DecimalField(
        label=_("Price to"),
        required=False,
        min_value=0,
        max_value=MAX_PRICE,
        decimal_places=2,
        max_digits=12,
    )
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)

    def clean_q(self) -> str:
        value: str = self.cleaned_data.get("q") or ""
        return "".join(ch for ch in value if ch.isprintable()).strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("price_min"), cleaned.get("price_max")
        if low is not None and high is not None and low > high:
            self.add_error("price_max", _("The upper price is below the lower one."))
        return cleaned

    def value(self, name: str, default: Any = None) -> Any:
        """A field's clean value, or the default when it is missing or was refused."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        if name in self.errors:
            return default
        value = self.cleaned_data.get(name)
        return default if value in (None, "") else value


# --- the cart ---------------------------------------------------------------------------

QUANTITY_ERRORS = {
    "required": _("Give a quantity."),
    "invalid": _("The quantity must be a whole number."),
    "min_value": _("The quantity must be at least 1."),
    "max_value": _("At most %(limit_value)s at a time."),
}


class CartProductForm(forms.Form):
    """Which product of the visitor's cart (remove)."""

    product = forms.IntegerField(
        min_value=1,
        max_value=cart.MAX_ID,
        error_messages={
            "required": _("Choose a product."),
            "invalid": _("Choose a product."),
            "min_value": _("Choose a product."),
            "max_value": _("Choose a product."),
        },
    )


class CartQuantityForm(CartProductForm):
    """A product and how many (add, change)."""

    quantity = forms.IntegerField(
        min_value=1, max_value=cart.MAX_QUANTITY, error_messages=QUANTITY_ERRORS
    )


class CartAcceptForm(forms.Form):
    """The changes the buyer was shown, by their fingerprint."""

    fingerprint = forms.CharField(max_length=64)
