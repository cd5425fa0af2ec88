"""What a person (or Lavka itself) can do in campaigns: a check and an execute each.

Web pages, the API, the admin and the sending pipeline call these; the rules live here.
"""

from __future__ import annotations

from typing import Any

from lavka.campaigns import services
from lavka.campaigns.models import Mailing
from lavka.core.actions import Action, owns


class PauseMailing(Action[Mailing]):
    """Owners pause their own mailings; moderators (managers) any, and may disable them
    so that the owner cannot resume. Lavka pauses a run failing again and again."""

    permission = "campaigns.view_mailing"

    def __init__(
        self, actor: Any, *, mailing: Mailing, reason: str = "", disable: bool = False
    ) -> None:
        super().__init__(actor)
        self.mailing, self.reason, self.disable = mailing, reason, disable

    def is_moderator(self) -> bool:
        return bool(self.actor.has_perm("campaigns.moderate_mailing"))

    def is_allowed(self) -> bool:
        if self.disable:
            return self.is_moderator()
        return owns(self.actor, self.mailing) or self.is_moderator()

    def perform(self) -> Mailing:
        by_other = not owns(self.actor, self.mailing) and self.actor.pk is not None
        reason = self.reason or (str(services.paused_by_manager_reason()) if by_other else "")
        return services.freeze_mailing(mailing=self.mailing, reason=reason, disable=self.disable)
