from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from lavka.accounts.models import ApiToken, User, normalize_email


def users_visible_to(*, actor: User, search: str = "", status: str = "") -> QuerySet[User]:
    """Whoever may view users (managers, superusers) sees every user; nobody else sees
    the list."""
    if not actor.has_perm("accounts.view_user"):
        raise PermissionDenied
    users = User.objects.prefetch_related("groups").order_by("email")
    if search:
        users = users.filter(Q(email__icontains=search) | Q(full_name__icontains=search))
    if status == "blocked":
        users = users.filter(blocked_at__isnull=False)
    elif status == "active":
        users = users.filter(blocked_at__isnull=True)
    return users


def api_tokens_of(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")


def account_with_address(email: str) -> User | None:
    """The account an address logs into: its login email, or a verified address it added.

    One query whether or not there is such an account, so the lookup itself does not
    tell an observer (by its duration) that an address is registered.
    """
    address = normalize_email(email)
    if not address or len(address) > 254 or "\x00" in address:
        return None
    candidates = User.objects.filter(
        Q(email=address) | Q(emailaddress__email__iexact=address, emailaddress__verified=True)
    ).distinct()
    matches = sorted(candidates[:2], key=lambda user: (user.email != address, user.pk))
    return matches[0] if matches else None
