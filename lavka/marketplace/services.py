"""Writes of the catalogue: becoming a creator, deciding requests, products and images.

Each write is one transaction. Granting the creator role happens in the same transaction
as the profile that justifies it, so a user never holds the role without an approved
profile made by this path (or the profile without the role).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lavka.accounts import services as account_services
from lavka.accounts.models import User
from lavka.core.roles import Role, has_role
from lavka.marketplace.models import Category, CreatorProfile, Product, ProductImage

# Fields of a product its creator edits (the creator itself and the state are not).
PRODUCT_FIELDS = (
    "title_en",
    "title_ru",
    "slug",
    "description_en",
    "description_ru",
    "category",
    "price",
    "kind",
    "stock",
    "is_active",
)
MAX_IMAGES_PER_PRODUCT = 12


def _full_clean(instance: Any, **kwargs: Any) -> None:
    instance.full_clean(**kwargs)


@transaction.atomic
def become_creator(
    *,
    user: User,
    display_name: str,
    slug: str,
    bio: str = "",
    avatar: UploadedFile | None = None,
    approval_required: bool,
) -> CreatorProfile:
    """Make the user's creator profile, or send a rejected request in again.

    Approved at once (with the creator role) when no approval is required, or when the
    user already holds the role (granted by a manager before profiles existed); pending
    otherwise. A second profile for the same user is refused by the database too.
    """
    profile = CreatorProfile.objects.select_for_update().filter(user=user).first()
    if profile is not None and profile.status != CreatorProfile.Status.REJECTED:
        raise ValidationError(_("You have a creator profile already."), code="exists")
    profile = profile or CreatorProfile(user=user)
    profile.display_name = display_name
    profile.slug = slug
    profile.bio = bio
    if avatar is not None:
        profile.avatar = avatar  # type: ignore[assignment]
    approve = not approval_required or has_role(user, Role.CREATOR)
    profile.status = CreatorProfile.Status.APPROVED if approve else CreatorProfile.Status.PENDING
    profile.decided_at = timezone.now() if approve else None
    profile.decided_by = None
    profile.rejection_reason = ""
    _full_clean(profile, exclude=["user"])
    try:
        with transaction.atomic():
            profile.save()
    except IntegrityError as error:
        # Another tab made the profile (or took the slug) between the check and the insert.
        if CreatorProfile.objects.filter(user=user).exclude(pk=profile.pk).exists():
            raise ValidationError(
                _("You have a creator profile already."), code="exists"
            ) from error
        raise ValidationError(
            {"slug": _("This address is taken; choose another.")}, code="slug_taken"
        ) from error
    if approve:
        account_services.set_role(user=user, role=Role.CREATOR, enabled=True)
    return profile


@transaction.atomic
def decide_creator_request(
    *, profile: CreatorProfile, approve: bool, decided_by: Any, reason: str = ""
) -> CreatorProfile:
    """Approve (granting the creator role) or reject a pending request, once: a second
    decision on the same request, from another manager's tab, is refused."""
    locked = CreatorProfile.objects.select_for_update().select_related("user").get(pk=profile.pk)
    if locked.status != CreatorProfile.Status.PENDING:
        raise ValidationError(_("This request was decided already."), code="decided")
    locked.status = CreatorProfile.Status.APPROVED if approve else CreatorProfile.Status.REJECTED
    locked.decided_at = timezone.now()
    locked.decided_by = decided_by if getattr(decided_by, "pk", None) else None
    locked.rejection_reason = "" if approve else reason.strip()
    locked.save()
    if approve:
        account_services.set_role(user=locked.user, role=Role.CREATOR, enabled=True)
    return locked


def update_creator_profile(
    *,
    profile: CreatorProfile,
    display_name: str,
    slug: str,
    bio: str,
    avatar: UploadedFile | None = None,
    remove_avatar: bool = False,
) -> CreatorProfile:
    profile.display_name, profile.slug, profile.bio = display_name, slug, bio
    if remove_avatar:
        profile.avatar = ""  # type: ignore[assignment]
    elif avatar is not None:
        profile.avatar = avatar  # type: ignore[assignment]
    _full_clean(profile)
    try:
        with transaction.atomic():
            profile.save()
    except IntegrityError as error:
        raise ValidationError({"slug": _("This address is taken; choose another.")}) from error
    return profile


def delete_creator_profile(*, profile: CreatorProfile) -> None:
    """Only a creator without products can be deleted (archive products instead); the
    creator role goes with the profile."""
    with transaction.atomic():
        if profile.products.exists():
            raise ValidationError(
                _("This creator has products; archive them instead of deleting the creator."),
                code="has_products",
            )
        user = profile.user
        profile.delete()
        account_services.set_role(user=user, role=Role.CREATOR, enabled=False)


# --- products -------------------------------------------------------------------------


def _check_images(product: Product, images: Sequence[UploadedFile]) -> list[ProductImage]:
    """The new images as unsaved rows, each checked (size, type); ValidationError lists
    every refused file by name."""
    existing = product.images.count() if product.pk is not None else 0
    if existing + len(images) > MAX_IMAGES_PER_PRODUCT:
        raise ValidationError(
            {
                "new_images": _("A product has at most %(count)d images.")
                % {"count": MAX_IMAGES_PER_PRODUCT}
            }
        )
    rows, problems = [], []
    for offset, upload in enumerate(images):
        row = ProductImage(image=upload, position=existing + offset)
        try:
            row.full_clean(exclude=["product"])
        except ValidationError as error:
            messages = error.message_dict.get("image", error.messages)
            problems.append(f"{getattr(upload, 'name', '')}: {' '.join(messages)}")
        rows.append(row)
    if problems:
        raise ValidationError({"new_images": problems})
    return rows


@transaction.atomic
def save_product(
    *,
    product: Product,
    new_images: Sequence[UploadedFile] = (),
    alt_text: str = "",
    digital_file: UploadedFile | None = None,
    remove_digital_file: bool = False,
    stock_seen: int | None = None,
) -> Product:
    """Validate and save a product (new or edited) with its new images, all or nothing.

    Every check runs before anything is written; a file is written only when its row is.
    `stock_seen` is the stock the editor was shown: see `stock_after_edit`.
    """
    if not product._state.adding:
        current = (
            Product.objects.select_for_update().values_list("stock", flat=True).get(pk=product.pk)
        )
        product.stock = stock_after_edit(current=current, seen=stock_seen, wanted=product.stock)
    if digital_file is not None:
        product.digital_file = digital_file  # type: ignore[assignment]
        product.digital_file_name = _shown_file_name(digital_file.name or "")
    elif remove_digital_file:
        product.digital_file = ""  # type: ignore[assignment]
        product.digital_file_name = ""
    if product.kind == Product.Kind.DIGITAL and product.is_active and not product.digital_file:
        raise ValidationError(
            {"digital_file": _("A digital product on sale needs its file.")}, code="no_file"
        )
    errors: dict[str, list[str]] = {}
    try:
        product.full_clean(exclude=["creator"])
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        rows = _check_images(product, new_images)
    except ValidationError as error:
        errors.update(error.message_dict)
        rows = []
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as error:
        raise ValidationError(
            {"slug": _("You have another product at this address; choose another slug.")}
        ) from error
    for row in rows:
        row.product = product
        row.alt_text = alt_text
        row.save()
    return product


def stock_after_edit(*, current: int | None, seen: int | None, wanted: int | None) -> int | None:
    """The stock to save when an editor shown `seen` units asks for `wanted`, and the row
    holds `current` now (the row is locked).

    Checkouts take units and cancelled or expired orders return them while a form is open,
    so saving `wanted` as it is would undo those moves: sell units that were held, or
    lose returned ones. The editor's change is applied as a difference instead; a change
    that would leave less than nothing is refused with the numbers.
    """
    if wanted is None or current is None or seen is None:
        return wanted  # unlimited on either side, or a caller that saw no stock
    delta = wanted - seen
    if delta == 0:
        return current
    after = current + delta
    if after < 0:
        raise ValidationError(
            {
                "stock": _(
                    "While you edited, orders changed the stock from %(seen)d to "
                    "%(current)d; lowering it by %(lower)d would leave less than nothing. "
                    "Enter %(current)d or less."
                )
                % {"seen": seen, "current": current, "lower": -delta}
            },
            code="stock_moved",
        )
    return after


def _shown_file_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable()).strip()[:255] or "download"


def archive_product(*, product: Product) -> Product:
    """Take the product out of the shop; its orders and page history stay."""
    if product.archived_at is None:
        product.archived_at = timezone.now()
        product.save(update_fields=["archived_at", "updated_at"])
    return product


def unarchive_product(*, product: Product) -> Product:
    if product.archived_at is not None:
        product.archived_at = None
        product.save(update_fields=["archived_at", "updated_at"])
    return product


def delete_product(*, product: Product) -> None:
    """Gone for good, images too (files are left for a sweep: a rollback keeps them valid)."""
    product.delete()


def remove_product_image(*, image: ProductImage) -> None:
    image.delete()


def update_product_image(*, image: ProductImage, alt_text: str, position: int) -> ProductImage:
    image.alt_text, image.position = alt_text, position
    image.full_clean()
    image.save(update_fields=["alt_text", "position"])
    return image


# --- categories -------------------------------------------------------------------------


def save_category(*, category: Category) -> Category:
    category.full_clean()
    category.save()
    return category


def delete_category(*, category: Category) -> None:
    """Products of a deleted category stay, uncategorised; subcategories must go first."""
    if category.children.exists():
        raise ValidationError(
            _("Delete or move this category's subcategories first."), code="has_children"
        )
    category.delete()
