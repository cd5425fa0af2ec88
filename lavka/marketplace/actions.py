"""What people do in the shop, with seed 003's rules for each.

| object   | create                       | update            | archive       | delete     |
|----------|------------------------------|-------------------|---------------|------------|
| Creator  | any signed-in user, once     | its own user      | —             | superusers |
| Category | superusers                   | superusers        | —             | superusers |
| Product  | creators (approved profile)  | its creator       | its creator   | superusers |

"Superusers only" is a permission no role is granted (apps.py); superusers hold every
permission. Approving a request to become a creator is a manager's
(`review_creatorprofile`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from lavka.core.actions import Action
from lavka.marketplace import selectors, services
from lavka.marketplace.models import Category, CreatorProfile, Product, ProductImage


def creator_status_refusal(profile: CreatorProfile | None) -> str:
    """Why the holder of this profile cannot ask to become a creator again ("" if they
    may: no profile yet, or a rejected request they may send in again)."""
    if profile is None or profile.status == CreatorProfile.Status.REJECTED:
        return ""
    if profile.status == CreatorProfile.Status.PENDING:
        return _("Your request is waiting for approval.")
    return _("You are already a creator.")


class BecomeCreator(Action[CreatorProfile]):
    """Any signed-in user, once: self-service, or a request a manager decides when
    LAVKA_CREATOR_APPROVAL is on."""

    def __init__(
        self,
        actor: Any,
        *,
        display_name: str,
        slug: str,
        bio: str = "",
        avatar: UploadedFile | None = None,
    ) -> None:
        super().__init__(actor)
        self.display_name, self.slug, self.bio, self.avatar = display_name, slug, bio, avatar

    def refusal(self) -> str:
        return creator_status_refusal(selectors.creator_profile_of(self.actor))

    def perform(self) -> CreatorProfile:
        return services.become_creator(
            user=self.actor,
            display_name=self.display_name,
            slug=self.slug,
            bio=self.bio,
            avatar=self.avatar,
            approval_required=bool(settings.LAVKA_CREATOR_APPROVAL),
        )


class DecideCreatorRequest(Action[CreatorProfile]):
    """A manager approves (granting the creator role) or rejects a pending request."""

    permission = "marketplace.review_creatorprofile"

    def __init__(
        self, actor: Any, *, profile: CreatorProfile, approve: bool, reason: str = ""
    ) -> None:
        super().__init__(actor)
        self.profile, self.approve, self.reason = profile, approve, reason

    def refusal(self) -> str:
        if self.profile.user_id == getattr(self.actor, "pk", None):
            return _("You cannot decide your own request.")
        if self.profile.status != CreatorProfile.Status.PENDING:
            return _("This request was decided already.")
        if not self.approve and not self.reason.strip():
            return _("Say why the request is rejected; the requester reads it.")
        return ""

    def perform(self) -> CreatorProfile:
        return services.decide_creator_request(
            profile=self.profile, approve=self.approve, decided_by=self.actor, reason=self.reason
        )


class UpdateCreatorProfile(Action[CreatorProfile]):
    """Only the profile's own user (seed 003: update only one's own creator)."""

    def __init__(
        self,
        actor: Any,
        *,
        profile: CreatorProfile,
        display_name: str,
        slug: str,
        bio: str,
        avatar: UploadedFile | None = None,
        remove_avatar: bool = False,
    ) -> None:
        super().__init__(actor)
        self.profile = profile
        self.display_name, self.slug, self.bio = display_name, slug, bio
        self.avatar, self.remove_avatar = avatar, remove_avatar

    def is_allowed(self) -> bool:
        return self.profile.user_id == self.actor.pk and super().is_allowed()

    def perform(self) -> CreatorProfile:
        return services.update_creator_profile(
            profile=self.profile,
            display_name=self.display_name,
            slug=self.slug,
            bio=self.bio,
            avatar=self.avatar,
            remove_avatar=self.remove_avatar,
        )


class DeleteCreatorProfile(Action[None]):
    permission = "marketplace.delete_creatorprofile"

    def __init__(self, actor: Any, *, profile: CreatorProfile) -> None:
        super().__init__(actor)
        self.profile = profile

    def perform(self) -> None:
        services.delete_creator_profile(profile=self.profile)


# --- products -------------------------------------------------------------------------


def _approved_profile(actor: Any) -> CreatorProfile | None:
    profile = selectors.creator_profile_of(actor)
    return profile if profile is not None and profile.is_approved else None


class CreateProduct(Action[Product]):
    """Creators with an approved profile; the product is theirs whatever the form said."""

    permission = "marketplace.add_product"

    def __init__(
        self,
        actor: Any,
        *,
        product: Product,
        new_images: Sequence[UploadedFile] = (),
        alt_text: str = "",
        digital_file: UploadedFile | None = None,
    ) -> None:
        super().__init__(actor)
        self.product, self.new_images, self.alt_text = product, new_images, alt_text
        self.digital_file = digital_file

    def refusal(self) -> str:
        if _approved_profile(self.actor) is None:
            return _("Set up your creator profile before adding products.")
        return ""

    def perform(self) -> Product:
        profile = _approved_profile(self.actor)
        assert profile is not None  # checked by refusal()
        self.product.creator = profile
        return services.save_product(
            product=self.product,
            new_images=self.new_images,
            alt_text=self.alt_text,
            digital_file=self.digital_file,
        )


class ProductAction(Action[Product]):
    """On one product: its creator's alone (superusers act through the admin)."""

    permission = "marketplace.change_product"

    def __init__(self, actor: Any, *, product: Product, **params: Any) -> None:
        super().__init__(actor, **params)
        self.product = product

    def is_allowed(self) -> bool:
        owner = self.product.creator.user_id == getattr(self.actor, "pk", None)
        return (owner or bool(self.actor.is_superuser)) and super().is_allowed()


class UpdateProduct(ProductAction):
    def __init__(
        self,
        actor: Any,
        *,
        product: Product,
        new_images: Sequence[UploadedFile] = (),
        alt_text: str = "",
        digital_file: UploadedFile | None = None,
        remove_digital_file: bool = False,
        stock_seen: int | None = None,
    ) -> None:
        super().__init__(actor, product=product)
        self.new_images, self.alt_text = new_images, alt_text
        self.digital_file, self.remove_digital_file = digital_file, remove_digital_file
        self.stock_seen = stock_seen

    def perform(self) -> Product:
        return services.save_product(
            product=self.product,
            new_images=self.new_images,
            alt_text=self.alt_text,
            digital_file=self.digital_file,
            remove_digital_file=self.remove_digital_file,
            stock_seen=self.stock_seen,
        )


class ArchiveProduct(ProductAction):
    def perform(self) -> Product:
        return services.archive_product(product=self.product)


class UnarchiveProduct(ProductAction):
    def perform(self) -> Product:
        return services.unarchive_product(product=self.product)


class DeleteProduct(Action[None]):
    """Superusers only (seed 003): creators archive instead."""

    permission = "marketplace.delete_product"

    def __init__(self, actor: Any, *, product: Product) -> None:
        super().__init__(actor)
        self.product = product

    def perform(self) -> None:
        services.delete_product(product=self.product)


class RemoveProductImage(ProductAction):
    def __init__(self, actor: Any, *, image: ProductImage) -> None:
        super().__init__(actor, product=image.product)
        self.image = image

    def perform(self) -> Product:
        services.remove_product_image(image=self.image)
        return self.product


# --- categories -------------------------------------------------------------------------


class SaveCategory(Action[Category]):
    """Superusers only: `add_category` / `change_category` are granted to no role."""

    def __init__(self, actor: Any, *, category: Category) -> None:
        super().__init__(actor)
        self.category = category

    @property  # type: ignore[override]
    def permission(self) -> str:  # type: ignore[override]
        return "marketplace.change_category" if self.category.pk else "marketplace.add_category"

    def perform(self) -> Category:
        return services.save_category(category=self.category)


class DeleteCategory(Action[None]):
    permission = "marketplace.delete_category"

    def __init__(self, actor: Any, *, category: Category) -> None:
        super().__init__(actor)
        self.category = category

    def perform(self) -> None:
        services.delete_category(category=self.category)
