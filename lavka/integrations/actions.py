"""What an owner can do with their bookkeeping connections: a check and an execute
each. Every change is the owner's alone: managers read (selectors), superusers use the
admin; nobody changes another owner's connection, mapping or schedule."""

from __future__ import annotations

from typing import Any

from lavka.core.actions import Action, owns
from lavka.integrations import services
from lavka.integrations.models import Connection, ReferenceItem, SyncSchedule, TradePointMapping


class Connect(Action[Connection]):
    """Connect a system, or reconnect one with a new token."""

    permission = "integrations.add_connection"

    def perform(self) -> Connection:
        return services.connect(owner=self.actor, **self.params)


class _OwnConnection(Action[Any]):
    permission = "integrations.change_connection"

    def is_allowed(self) -> bool:
        return owns(self.actor, self.params["connection"])


class RefreshReferenceData(_OwnConnection):
    def perform(self) -> services.Refresh:
        return services.refresh_reference_data(connection=self.params["connection"])


class Disconnect(_OwnConnection):
    permission = "integrations.delete_connection"

    def perform(self) -> None:
        services.disconnect(connection=self.params["connection"])


class SaveMapping(Action[TradePointMapping]):
    permission = "integrations.add_tradepointmapping"

    def is_allowed(self) -> bool:
        trade_point: ReferenceItem = self.params["trade_point"]
        return trade_point.connection.owner_id == self.actor.pk

    def perform(self) -> TradePointMapping:
        return services.save_mapping(owner=self.actor, **self.params)


class DeleteMapping(Action[None]):
    permission = "integrations.delete_tradepointmapping"

    def is_allowed(self) -> bool:
        return owns(self.actor, self.params["mapping"])

    def perform(self) -> None:
        services.delete_mapping(mapping=self.params["mapping"])


class _OwnSchedule(Action[SyncSchedule]):
    permission = "integrations.change_syncschedule"

    def is_allowed(self) -> bool:
        return owns(self.actor, self.params["schedule"])


class SetInterval(_OwnSchedule):
    def perform(self) -> SyncSchedule:
        return services.set_interval(**self.params)


class PauseSchedule(_OwnSchedule):
    def perform(self) -> SyncSchedule:
        return services.pause_schedule(**self.params)


class ResumeSchedule(_OwnSchedule):
    def perform(self) -> SyncSchedule:
        return services.resume_schedule(**self.params)
