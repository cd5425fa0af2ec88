from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from lavka.accounts.models import ApiToken, User


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
