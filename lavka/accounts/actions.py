"""What a person (or Lavka itself) can do with accounts: a check and an execute each.

The web pages, the API, the admin and the management commands call these; the rules
live here, the writes in services.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from lavka.accounts import services
from lavka.accounts.models import ApiToken, User
from lavka.core.actions import Action


def _as_user(actor: Any) -> User | None:
    """The actor as a person to record (None when Lavka itself acts)."""
    return actor if isinstance(actor, User) else None


def _is_self(actor: Any, user: User) -> bool:
    return getattr(actor, "pk", None) is not None and actor.pk == user.pk


class BlockUser(Action[User]):
    """Staff who may block users block others; only a superuser blocks a superuser, and
    nobody blocks themselves. Refusals of the target say why (a ValidationError), so
    the page can show it; a missing permission is a PermissionDenied."""

    permission = "accounts.block_user"

    def __init__(self, actor: Any, *, user: User, reason: str) -> None:
        super().__init__(actor)
        self.user, self.reason = user, reason

    def refusal(self) -> str:
        """Why this actor may not block this user, or "" when they may."""
        if _is_self(self.actor, self.user):
            return _("You cannot block yourself.")
        if self.user.is_superuser and not self.actor.is_superuser:
            return _("Only a superuser can block a superuser.")
        return ""

    def perform(self) -> User:
        return services.block_user(actor=_as_user(self.actor), user=self.user, reason=self.reason)


class UnblockUser(Action[User]):
    """Staff who may block users unblock them too; only a superuser unblocks a
    superuser (so a manager cannot undo a superuser's block of another one)."""

    permission = "accounts.block_user"

    def __init__(self, actor: Any, *, user: User) -> None:
        super().__init__(actor)
        self.user = user

    def refusal(self) -> str:
        if self.user.is_superuser and not self.actor.is_superuser:
            return _("Only a superuser can unblock a superuser.")
        return ""

    def perform(self) -> User:
        return services.unblock_user(user=self.user)


class UpdateProfile(Action[User]):
    """People edit their own profile; staff allowed to change users edit anyone's."""

    def __init__(
        self, actor: Any, *, user: User, full_name: str, time_zone: str, language: str
    ) -> None:
        super().__init__(actor)
        self.user = user
        self.full_name, self.time_zone, self.language = full_name, time_zone, language

    def is_allowed(self) -> bool:
        return _is_self(self.actor, self.user) or bool(self.actor.has_perm("accounts.change_user"))

    def perform(self) -> User:
        return services.update_profile(
            user=self.user,
            full_name=self.full_name,
            time_zone=self.time_zone,
            language=self.language,
        )


class CreateApiToken(Action[services.IssuedToken]):
    """People create tokens for themselves; issuing one for someone else (the
    `create_api_token` command, acting as Lavka) needs `accounts.change_user`. A blocked
    user gets none: it would not work."""

    def __init__(self, actor: Any, *, user: User, name: str) -> None:
        super().__init__(actor)
        self.user, self.name = user, name

    def is_allowed(self) -> bool:
        return _is_self(self.actor, self.user) or bool(self.actor.has_perm("accounts.change_user"))

    def perform(self) -> services.IssuedToken:
        if not self.user.is_active:
            raise ValidationError(
                _("%(email)s is blocked; a token would not work.") % {"email": self.user.email}
            )
        return services.create_api_token(user=self.user, name=self.name)


class RevokeApiToken(Action[ApiToken]):
    """People revoke their own tokens; staff allowed to change tokens revoke any."""

    def __init__(self, actor: Any, *, token: ApiToken) -> None:
        super().__init__(actor)
        self.token = token

    def is_allowed(self) -> bool:
        return getattr(self.actor, "pk", None) == self.token.user_id or bool(
            self.actor.has_perm("accounts.change_apitoken")
        )

    def perform(self) -> ApiToken:
        return services.revoke_api_token(user=self.token.user, token_id=self.token.pk)
