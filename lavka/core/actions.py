"""One action per thing a person can do, shared by the web pages, the API, the admin and
management commands.

An action holds the acting user and what they act on; `check()` raises PermissionDenied
when the actor may not do it (Django permissions, plus ownership where objects are
owned) and `execute()` checks, then performs the change through the app's services.
Views, serializers and admin classes validate input and call actions; they hold no rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError

T = TypeVar("T")


class Action(Generic[T]):
    """Subclass, set `permission`, override `is_allowed` for object rules and `perform`."""

    # "app_label.codename" the actor must hold; empty: any signed-in user
    permission: ClassVar[str] = ""

    def __init__(self, actor: Any, **params: Any) -> None:
        self.actor = actor
        self.params = params

    def has_permission(self) -> bool:
        if not getattr(self.actor, "is_authenticated", False) or not self.actor.is_active:
            return False
        return not self.permission or bool(self.actor.has_perm(self.permission))

    def is_allowed(self) -> bool:
        """The object rule on top of the permission (ownership, status); override."""
        return not self.refusal()

    def refusal(self) -> str:
        """Why an actor who holds the permission still may not act on this object, in
        words they may read (the check raises it as a ValidationError); "" when they may."""
        return ""

    def check(self) -> None:
        if self.has_permission() and self.refusal():
            raise ValidationError(self.refusal())
        if not (self.has_permission() and self.is_allowed()):
            raise PermissionDenied

    def perform(self) -> T:
        raise NotImplementedError

    def execute(self) -> T:
        self.check()
        return self.perform()


def owns(actor: Any, obj: Any) -> bool:
    """The one spelling of "this object is the actor's own". An actor without a pk
    (anonymous, Lavka itself) owns nothing, not even objects without an owner."""
    actor_pk = getattr(actor, "pk", None)
    return actor_pk is not None and getattr(obj, "owner_id", None) == actor_pk


class WorkAction(Action[int]):
    """An operator's action on rows of one kind of background work."""

    permission = "core.operate_background_work"

    def __init__(self, actor: Any, *, label: str, pks: Sequence[int]) -> None:
        super().__init__(actor)
        self.label, self.pks = label, list(pks)


class RetryWork(WorkAction):
    """Start failed, waiting or stuck background work again from the first attempt."""

    def perform(self) -> int:
        from lavka.core import sweeping

        model = sweeping.work_model(self.label)
        return 0 if model is None else sweeping.retry_manually(model, self.pks)


class DiscardWork(WorkAction):
    """Give up on failed or waiting background work; it leaves the operator's list."""

    def perform(self) -> int:
        from lavka.core import sweeping

        model = sweeping.work_model(self.label)
        note = f"Discarded by {self.actor.email}"
        return 0 if model is None else sweeping.discard(model, self.pks, note=note)


class SystemActor:
    """Lavka itself acting (e.g. a run paused after failures in a row): every check
    passes, and the change is attributed to the system, not to a person."""

    pk = None
    is_authenticated = True
    is_active = True
    is_superuser = True
    is_staff = False
    email = "lavka"

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return True

    def __str__(self) -> str:
        return "Lavka"


SYSTEM = SystemActor()
