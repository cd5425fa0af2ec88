"""What an owner can do with their bookkeeping connections: a check and an execute
each. Every change is the owner's alone: managers read (selectors), superusers use the
admin; nobody changes another owner's connection, mapping or schedule."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lavka.core import sweeping
from lavka.core.actions import Action, owns
from lavka.core.work import WorkState
from lavka.integrations import selectors, services
from lavka.integrations.models import (
    Connection,
    ConnectionRole,
    ConnectionStatus,
    ReferenceItem,
    ShiftSync,
    SyncJob,
    SyncRun,
    SyncSchedule,
    TradePointMapping,
)
from lavka.integrations.sync import dispatch, shifts


class Connect(Action[Connection]):
    """Connect a system, or reconnect one with a new token. Reconnecting after a refused
    token starts the shifts that waited for it again (once the new token is saved)."""

    permission = "integrations.add_connection"

    def perform(self) -> Connection:
        was_revoked = Connection.objects.filter(
            owner_id=self.actor.pk, role=self.params["role"], status=ConnectionStatus.REVOKED
        ).exists()
        connection = services.connect(owner=self.actor, **self.params)
        if was_revoked:
            owner_id = connection.owner_id
            transaction.on_commit(lambda: shifts.retry_waiting_shifts(owner_id=owner_id))
        return connection


class TurnOnShopSales(Action[Connection]):
    """Book the owner's online-shop sales (accounting must be connected)."""

    permission = "integrations.add_connection"

    def perform(self) -> Connection:
        return services.turn_on_shop_sales(owner=self.actor)


def unbooked_refusal(mappings: Any) -> str:
    """Why mappings may not go yet: their shifts not booked would go with them (and a
    trade point mapped again later would not list them, being past its look-back)."""
    count = selectors.unbooked_shifts(mappings=mappings)
    if not count:
        return ""
    return ngettext(
        "%(count)d shift of this trade point is not booked in accounting yet. Let it be "
        "booked, or discard it on the sync page if it can never be booked, then try again.",
        "%(count)d shifts of this trade point are not booked in accounting yet. Let them be "
        "booked, or discard those that can never be booked on the sync page, then try again.",
        count,
    ) % {"count": count}


class TurnOffShopSales(Action[bool]):
    """Stop booking online-shop sales (the shop's connection and mapping go); refused
    while a shop day is not booked yet."""

    permission = "integrations.delete_connection"

    def is_allowed(self) -> bool:
        return True

    def refusal(self) -> str:
        shop = Connection.objects.filter(owner_id=self.actor.pk, role=ConnectionRole.SHOP).first()
        return "" if shop is None else unbooked_refusal(selectors.mappings_using(connection=shop))

    def perform(self) -> bool:
        return services.turn_off_shop_sales(owner=self.actor)


class _OwnConnection(Action[Any]):
    permission = "integrations.change_connection"

    def is_allowed(self) -> bool:
        return owns(self.actor, self.params["connection"])


class RefreshReferenceData(_OwnConnection):
    def perform(self) -> services.Refresh:
        return services.refresh_reference_data(connection=self.params["connection"])


class Disconnect(_OwnConnection):
    """Forget a connection and its mappings; refused while their shifts are not booked
    (replacing the token, by connecting again, keeps everything)."""

    permission = "integrations.delete_connection"

    def refusal(self) -> str:
        connection: Connection = self.params["connection"]
        if not owns(self.actor, connection):
            return ""
        return unbooked_refusal(selectors.mappings_using(connection=connection))

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

    def refusal(self) -> str:
        mapping: TradePointMapping = self.params["mapping"]
        if not owns(self.actor, mapping):
            return ""
        return unbooked_refusal(TradePointMapping.objects.filter(pk=mapping.pk))

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


class AlreadyRunning(ValidationError):
    """ "Sync now" while a run of the job is under way: that run, to look at instead."""

    def __init__(self, run: SyncRun) -> None:
        super().__init__(_("A run of this job is already under way."))
        self.run = run


class RunSyncNow(Action[SyncRun]):
    """Start a run of a schedule's job at once. Refused on a paused schedule, when a
    system the job needs is not connected or refused its token, and while a run of the
    job goes on. Both jobs need accounting; goods go to a cash register, so a goods run
    needs a usable register; sales come from any trade point (a register or Lavka's own
    shop), so a sales run needs at least one usable of those: a revoked register does
    not stop the shop's sales being booked."""

    permission = "integrations.change_syncschedule"

    def is_allowed(self) -> bool:
        return owns(self.actor, self.params["schedule"])

    def refusal(self) -> str:
        schedule: SyncSchedule = self.params["schedule"]
        if not owns(self.actor, schedule):
            return ""
        if schedule.is_paused:
            return _("This schedule is paused: resume it to sync.")
        connections = {c.role: c for c in Connection.objects.filter(owner_id=schedule.owner_id)}
        problem = _connection_problem(connections, ConnectionRole.ACCOUNTING)
        if problem:
            return problem
        if schedule.job == SyncJob.GOODS:
            return _connection_problem(connections, ConnectionRole.POINT_OF_SALE)
        points = [
            connections[role]
            for role in (ConnectionRole.POINT_OF_SALE, ConnectionRole.SHOP)
            if role in connections
        ]
        if not points:
            return _("Connect a cash register or turn on the online shop's sales first.")
        if all(point.status == ConnectionStatus.REVOKED for point in points):
            return _connection_problem(connections, points[0].role)
        return ""

    def perform(self) -> SyncRun:
        schedule: SyncSchedule = self.params["schedule"]
        run = dispatch.start_manual_run(schedule=schedule)
        if run is None:
            under_way = dispatch.run_under_way(schedule)
            if under_way is not None:
                raise AlreadyRunning(under_way)
            raise ValidationError(_("The run could not be started; try again."))
        return run


def _connection_problem(connections: dict[str, Connection], role: str) -> str:
    """Why the owner's connection of `role` cannot be used for a run, or ""."""
    connection = connections.get(role)
    if connection is None:
        return _("Connect this system first: %(role)s.") % {"role": ConnectionRole(role).label}
    if connection.status == ConnectionStatus.REVOKED:
        return _(
            "%(system)s refused your token (%(reason)s): connect it again with a "
            "valid token, then sync."
        ) % {
            "system": services.system_label(connection.system),
            "reason": connection.status_reason,
        }
    return ""


class RetryShift(Action[int]):
    """Send a shift that waits for a person again, from the first attempt."""

    permission = "integrations.change_shiftsync"

    def is_allowed(self) -> bool:
        return owns(self.actor, self.params["shift"].mapping)

    def refusal(self) -> str:
        shift: ShiftSync = self.params["shift"]
        if owns(self.actor, shift.mapping) and shift.state != WorkState.ATTENTION:
            return _("This shift is not waiting for a retry (it is %(state)s).") % {
                "state": shift.get_state_display().lower()
            }
        return ""

    def perform(self) -> int:
        shift: ShiftSync = self.params["shift"]
        with transaction.atomic():  # the row locked: two presses at once queue it once
            waiting = list(
                ShiftSync.objects.select_for_update()
                .filter(pk=shift.pk, state=WorkState.ATTENTION)
                .values_list("pk", flat=True)
            )
            return sweeping.retry_manually(ShiftSync, waiting) if waiting else 0


class RetryWaitingShifts(Action[int]):
    """Send every shift of the owner's that waits for a person again."""

    permission = "integrations.change_shiftsync"

    def is_allowed(self) -> bool:
        return owns(self.actor, self.params["connection"])

    def perform(self) -> int:
        return shifts.retry_waiting_shifts(owner_id=self.params["connection"].owner_id)


class DiscardShift(Action[int]):
    """Give up a shift waiting for a person that can never be booked (e.g. a shop day of
    refunds only): it is done without a document, with a note naming who gave it up."""

    permission = "integrations.change_shiftsync"

    def is_allowed(self) -> bool:
        return owns(self.actor, self.params["shift"].mapping)

    def refusal(self) -> str:
        shift: ShiftSync = self.params["shift"]
        if owns(self.actor, shift.mapping) and shift.state != WorkState.ATTENTION:
            return _(
                "Only a shift waiting for a person can be discarded (this one is %(state)s)."
            ) % {"state": shift.get_state_display().lower()}
        return ""

    def perform(self) -> int:
        shift: ShiftSync = self.params["shift"]
        note = _("Discarded by %(who)s on %(when)s.") % {
            "who": self.actor.get_username(),
            "when": timezone.now().strftime("%Y-%m-%d %H:%M UTC"),
        }
        with transaction.atomic():  # the row locked: a retry pressed at once loses the race
            waiting = list(
                ShiftSync.objects.select_for_update()
                .filter(pk=shift.pk, state=WorkState.ATTENTION)
                .values_list("pk", flat=True)
            )
            return sweeping.discard(ShiftSync, waiting, note=note) if waiting else 0
