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
from lavka.core.roles import Role, has_role


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


class GrantCreatorRole(Action[User]):
    """Make a customer a creator: campaigns and the API open to them.

    Until the marketplace offers it as self-service, managers decide who may send bulk
    email. They grant it to people only: not to themselves, a manager, a superuser or
    anyone else with staff status, so it can never be a step up the ladder (a superuser
    may grant it to staff).
    """

    permission = "accounts.grant_creator_role"

    def __init__(self, actor: Any, *, user: User) -> None:
        super().__init__(actor)
        self.user = user

    def refusal(self) -> str:
        if _is_self(self.actor, self.user):
            return _("You cannot change your own roles.")
        if self.user.is_superuser:
            return _("A superuser holds every permission already.")
        is_staff = self.user.is_staff or has_role(self.user, Role.MANAGER)
        if is_staff and not self.actor.is_superuser:
            return _("Only a superuser can change the roles of staff.")
        if not self.user.is_active:
            return _("%(email)s is blocked; unblock them first.") % {"email": self.user.email}
        return ""

    def perform(self) -> User:
        services.set_role(user=self.user, role=Role.CREATOR, enabled=True)
        return self.user


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


API_ACCESS = "accounts.add_apitoken"


class CreateApiToken(Action[services.IssuedToken]):
    """The API is for creators and managers (`accounts.add_apitoken`): they create tokens
    for themselves; issuing one for someone else (the `create_api_token` command, acting
    as Lavka) needs `accounts.change_user`, and that someone must be one of them too. A
    blocked user gets none: it would not work."""

    def __init__(self, actor: Any, *, user: User, name: str) -> None:
        super().__init__(actor)
        self.user, self.name = user, name

    def is_allowed(self) -> bool:
        if _is_self(self.actor, self.user):
            return bool(self.actor.has_perm(API_ACCESS))
        return bool(self.actor.has_perm("accounts.change_user"))

    def perform(self) -> services.IssuedToken:
        if not self.user.is_active:
            raise ValidationError(
                _("%(email)s is blocked; a token would not work.") % {"email": self.user.email}
            )
        if not self.user.has_perm(API_ACCESS):
            raise ValidationError(
                _("%(email)s is not a creator; the API is for creators.")
                % {"email": self.user.email}
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
