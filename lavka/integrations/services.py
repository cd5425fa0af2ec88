"""The writes of the integrations app: connecting a system (the token checked by a real
call first), its reference data, a revoked token, mappings and their schedules.

Calls to the systems happen outside transactions; only what they answered is written,
in short ones. Who may do what is in `actions`.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from lavka.core import background, work
from lavka.core.composer import compose, message_id
from lavka.core.http import (
    BadAnswer,
    HttpError,
    RejectedCredentials,
    TransientHttpError,
    bad_answer,
)
from lavka.core.mail import smtp_failure_is_permanent
from lavka.core.secrets import digest
from lavka.integrations import adapters
from lavka.integrations.adapters.base import (
    Account,
    AccountingAdapter,
    PointOfSaleAdapter,
    external_id_problem,
    printable,
)
from lavka.integrations.adapters.base import ReferenceItem as FetchedItem
from lavka.integrations.models import (
    Connection,
    ConnectionRole,
    ConnectionStatus,
    ReferenceItem,
    ReferenceKind,
    RevokedTokenEmail,
    SyncJob,
    SyncSchedule,
    TradePointMapping,
    min_interval_minutes,
)

logger = logging.getLogger(__name__)

# A day between automatic refreshes of a connection's reference data.
REFERENCE_REFRESH_EVERY = timedelta(days=1)
# How many connections one beat run hands to refresh tasks.
REFERENCE_REFRESH_BATCH = 500
# The longest interval a schedule may have: a week.
MAX_INTERVAL_MINUTES = 7 * 24 * 60
DEFAULT_INTERVAL_MINUTES = 15

REGISTRIES: dict[str, dict[str, Any]] = {
    ConnectionRole.ACCOUNTING: adapters.ACCOUNTING,
    ConnectionRole.POINT_OF_SALE: adapters.POINT_OF_SALE,
    ConnectionRole.SHOP: adapters.SHOP,
}


# --- systems ------------------------------------------------------------------------------


def system_label(system: str) -> str:
    for registry in REGISTRIES.values():
        if system in registry:
            return str(getattr(registry[system], "label", system))
    return system


def base_url_for(system: str, stored: str = "") -> str:
    """Where to call `system`: the connection's own URL, else the site's setting
    (`LAVKA_<SYSTEM>_URL`, which a local site points at the stand-ins), else the
    adapter's published address; "" when none is known."""
    if stored:
        return stored
    configured = str(getattr(settings, f"LAVKA_{system.upper()}_URL", "") or "")
    if configured:
        return configured
    for registry in REGISTRIES.values():
        if system in registry:
            return str(getattr(registry[system], "default_base_url", "") or "")
    return ""


def adapter_for(connection: Connection) -> Any:
    """The connection's adapter (AccountingAdapter or PointOfSaleAdapter)."""
    adapter_class = REGISTRIES[connection.role][connection.system]
    if getattr(adapter_class, "built_in", False):  # Lavka's own shop: the owner's, no token
        return adapter_class(owner_id=connection.owner_id)
    return adapter_class(
        token=str(connection.token), base_url=base_url_for(connection.system, connection.base_url)
    )


def accounting_adapter(connection: Connection) -> AccountingAdapter:
    adapter: AccountingAdapter = adapter_for(connection)
    return adapter


def point_of_sale_adapter(connection: Connection) -> PointOfSaleAdapter:
    adapter: PointOfSaleAdapter = adapter_for(connection)
    return adapter


def describe_http_error(error: HttpError, label: str) -> str:
    """What the owner reads about a failed call (never the token, never a stack)."""
    if isinstance(error, RejectedCredentials):
        return _("%(system)s refused the token (HTTP %(status)s).") % {
            "system": label,
            "status": error.status,
        }
    if isinstance(error, TransientHttpError):
        return _("%(system)s could not be reached or was busy; try again later.") % {
            "system": label
        }
    if isinstance(error, BadAnswer):
        return _("%(system)s gave an answer Lavka does not understand: %(detail)s") % {
            "system": label,
            "detail": str(error)[:300],
        }
    return _("%(system)s: %(detail)s") % {"system": label, "detail": str(error)[:300]}


# --- connecting ---------------------------------------------------------------------------


def _token_error(message: str) -> ValidationError:
    return ValidationError({"token": message})


def connect(*, owner: Any, role: str, system: str, token: str) -> Connection:
    """Connect (or reconnect, with a new token) the owner's `role` system.

    The token is refused, as an error on the `token` field, when another owner has it,
    when the system refuses it (with a hint when it is the owner's token of the other
    role), when it belongs to another account than the one the owner's mappings use, or
    when the system cannot be reached. Accepted, it is saved encrypted and the reference
    data is fetched in the same request (a failure there leaves the connection saved,
    marked failing, with a Refresh button).
    """
    registry = REGISTRIES.get(role)
    if registry is None or system not in registry or role == ConnectionRole.SHOP:
        raise ValidationError({"system": _("Choose one of the systems listed.")})
    label = system_label(system)
    base_url = base_url_for(system)
    if not base_url:
        raise ValidationError(
            {"system": _("%(system)s is not configured on this site.") % {"system": label}}
        )
    token_digest = digest(token)
    if _held_by_another_owner(owner=owner, system=system, token_digest=token_digest):
        raise _token_error(_("This token is already connected to another Lavka account."))
    existing = Connection.objects.filter(owner=owner, role=role).first()
    try:
        account = registry[system](token=token, base_url=base_url).account()
    except RejectedCredentials:
        raise _token_error(_refusal(owner=owner, role=role, label=label, token=token)) from None
    except HttpError as error:
        raise _token_error(describe_http_error(error, label)) from None
    problem = external_id_problem("the account's id", account.external_id)
    if problem:
        raise _token_error(describe_http_error(bad_answer(problem), label))
    account = Account(external_id=account.external_id, name=printable(account.name))
    other_account = existing is not None and (
        existing.system != system or existing.account_external_id != account.external_id
    )
    if existing is not None and other_account and _mapped(existing):
        raise _token_error(
            _(
                "This token opens another account (%(account)s) than the one your "
                "mappings use (%(current)s). Remove the mappings first, or paste a "
                "token of %(current)s."
            )
            % {"account": account.name, "current": existing.account_name}
        )
    now = timezone.now()
    fields = {
        "system": system,
        "token": token,
        "account_external_id": account.external_id,
        "account_name": account.name[:300],
        "status": ConnectionStatus.ACTIVE,
        "status_reason": "",
        "status_changed_at": now,
    }
    try:
        with transaction.atomic():
            if existing is None:
                connection = Connection.objects.create(owner=owner, role=role, **fields)
            else:
                connection = Connection.objects.select_for_update().get(pk=existing.pk)
                if other_account:  # another firm's items, and no mapping uses them
                    connection.reference_items.all().delete()
                    connection.reference_refreshed_at = None
                for name, value in fields.items():
                    setattr(connection, name, value)
                connection.save()
    except IntegrityError:
        # A double submit made the owner's connection first: it is this one.
        made = Connection.objects.filter(owner=owner, role=role, token_digest=token_digest).first()
        if made is None:  # another owner saved the same token meanwhile
            raise _token_error(
                _("This token is already connected to another Lavka account.")
            ) from None
        connection = made
    refresh_reference_data(connection=connection)
    return connection


def _held_by_another_owner(*, owner: Any, system: str, token_digest: str) -> bool:
    return (
        Connection.objects.filter(system=system, token_digest=token_digest)
        .exclude(owner=owner)
        .exists()
    )


def _refusal(*, owner: Any, role: str, label: str, token: str) -> str:
    """Why the system refused the token, with a hint when it is one of the owner's
    tokens for another system (found by digest: the token goes to no other system)."""
    token_digest = digest(token)
    for other in Connection.objects.filter(owner=owner, token_digest=token_digest).exclude(
        role=role
    ):
        return _(
            "This is not a %(system)s token: it is your %(other)s token. Paste it in the "
            "%(other)s form, and a %(system)s token here."
        ) % {"system": label, "other": system_label(other.system)}
    return _(
        "%(system)s refused this token: this is not a %(system)s token, or it has been "
        "revoked. Copy the API token from your %(system)s account's settings."
    ) % {"system": label}


def _mapped(connection: Connection) -> bool:
    return TradePointMapping.objects.filter(
        Q(trade_point__connection=connection)
        | Q(cash_desk__connection=connection)
        | Q(warehouse__connection=connection)
    ).exists()


def disconnect(*, connection: Connection) -> None:
    """Forget a connection, its reference data and every mapping that uses it (and the
    schedules with the last mapping); nothing is deleted in the systems themselves."""
    with transaction.atomic():
        mappings = TradePointMapping.objects.filter(
            Q(trade_point__connection=connection)
            | Q(cash_desk__connection=connection)
            | Q(warehouse__connection=connection)
        )
        for mapping in mappings:
            delete_mapping(mapping=mapping)
        connection.delete()


# --- the online shop ---------------------------------------------------------------------


def turn_on_shop_sales(*, owner: Any) -> Connection:
    """Book the owner's online-shop sales: a connection to Lavka's own shop (no token)
    whose one trade point, "Online shop", the owner then maps like any other. Needs a
    working accounting connection first; turning it on twice is one connection."""
    books = Connection.objects.filter(owner=owner, role=ConnectionRole.ACCOUNTING).first()
    if books is None or books.status == ConnectionStatus.REVOKED:
        raise ValidationError(
            _("Connect your accounting system first: the online shop's sales are booked there.")
        )
    system = next(iter(adapters.SHOP))
    existing = Connection.objects.filter(owner=owner, role=ConnectionRole.SHOP).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            connection = Connection.objects.create(
                owner=owner,
                role=ConnectionRole.SHOP,
                system=system,
                token="",
                account_external_id=str(owner.pk),
                account_name=_("Online shop"),
            )
    except IntegrityError:  # a double submit turned it on first
        return Connection.objects.get(owner=owner, role=ConnectionRole.SHOP)
    refresh_reference_data(connection=connection)
    return connection


def turn_off_shop_sales(*, owner: Any) -> bool:
    """Stop booking online-shop sales: the shop's connection, its mapping (and the
    schedules with the last mapping) go, as when disconnecting a system. Shifts already
    booked stay booked in accounting. Returns whether it was on."""
    connection = Connection.objects.filter(owner=owner, role=ConnectionRole.SHOP).first()
    if connection is None:
        return False
    disconnect(connection=connection)
    return True


# --- reference data -----------------------------------------------------------------------


@dataclass(frozen=True)
class Refresh:
    """What a refresh did; `error` is what the owner reads when it failed."""

    added: int = 0
    updated: int = 0
    gone: int = 0
    error: str = ""

    def __bool__(self) -> bool:
        return not self.error


def refresh_reference_data(*, connection: Connection) -> Refresh:
    """Read the connection's cash desks and warehouses (accounting) or trade points
    (registers) and store them; those no longer listed get `gone_at`. A refused token
    marks the connection revoked; another failure marks it failing."""
    label = system_label(connection.system)
    fetched: dict[str, list[FetchedItem]]
    try:
        adapter = adapter_for(connection)
        if connection.role == ConnectionRole.ACCOUNTING:
            fetched = {
                ReferenceKind.CASH_DESK: adapter.cash_desks(),
                ReferenceKind.WAREHOUSE: adapter.warehouses(),
            }
        else:
            fetched = {ReferenceKind.TRADE_POINT: adapter.trade_points()}
        fetched = {kind: _storable(items) for kind, items in fetched.items()}
    except RejectedCredentials as error:
        reason = describe_http_error(error, label)
        mark_revoked(connection=connection, reason=reason)
        return Refresh(error=reason)
    except HttpError as error:
        reason = describe_http_error(error, label)
        _set_status(connection, ConnectionStatus.FAILING, reason)
        return Refresh(error=reason)
    result = _store_reference_items(connection, fetched)
    _set_status(connection, ConnectionStatus.ACTIVE, "")
    return result


def _storable(items: list[FetchedItem]) -> list[FetchedItem]:
    """The items as Lavka stores them: names printable, an id listed twice kept once
    (the first); an id Lavka cannot store is a wrong answer (BadAnswer)."""
    kept: dict[str, FetchedItem] = {}
    for item in items:
        problem = external_id_problem("an item's id", item.external_id)
        if problem:
            raise bad_answer(problem, excerpt=repr(item.external_id)[:100])
        if item.external_id not in kept:
            kept[item.external_id] = FetchedItem(
                external_id=item.external_id, name=printable(item.name), is_main=item.is_main
            )
    return list(kept.values())


def _store_reference_items(
    connection: Connection, fetched: dict[str, list[FetchedItem]]
) -> Refresh:
    now = timezone.now()
    added = updated = gone = 0
    with transaction.atomic():
        # One refresh of a connection at a time (a page's and a task's may overlap): the
        # second waits here and then finds the first one's rows.
        locked = Connection.objects.select_for_update().filter(pk=connection.pk)
        if not list(locked.values_list("pk", flat=True)):
            return Refresh()  # disconnected meanwhile: nothing to store
        for kind, items in fetched.items():
            known = {
                item.external_id: item
                for item in ReferenceItem.objects.filter(connection=connection, kind=kind)
            }
            seen = set()
            for item in items:
                external_id = item.external_id
                seen.add(external_id)
                values = {
                    "name": item.name[:300] or external_id,
                    "is_main": item.is_main,
                    "gone_at": None,
                    "refreshed_at": now,
                }
                row = known.get(external_id)
                if row is None:
                    ReferenceItem.objects.create(
                        connection=connection, kind=kind, external_id=external_id, **values
                    )
                    added += 1
                else:
                    changed = any(getattr(row, name) != value for name, value in values.items())
                    ReferenceItem.objects.filter(pk=row.pk).update(**values)
                    updated += changed
            gone += (
                ReferenceItem.objects.filter(connection=connection, kind=kind, gone_at__isnull=True)
                .exclude(external_id__in=seen)
                .update(gone_at=now)
            )
        Connection.objects.filter(pk=connection.pk).update(reference_refreshed_at=now)
    connection.reference_refreshed_at = now
    return Refresh(added=added, updated=updated, gone=gone)


def refresh_reference_data_of(*, connection_id: int) -> Refresh | None:
    """The task's entry: refresh one connection, if it still exists."""
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None:
        return None
    return refresh_reference_data(connection=connection)


def refresh_due_reference_data(*, now: Any = None) -> int:
    """Queue a refresh for every connection refreshed a day ago or more (revoked ones
    too: a token restored in the system comes back by itself)."""
    now = now or timezone.now()
    due = list(
        Connection.objects.filter(
            Q(reference_refreshed_at__isnull=True)
            | Q(reference_refreshed_at__lte=now - REFERENCE_REFRESH_EVERY)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:REFERENCE_REFRESH_BATCH]
    )
    background.start_each("integrations.refresh_reference_data", [(pk,) for pk in due])
    return len(due)


def _set_status(connection: Connection, status: str, reason: str) -> None:
    """Set a status other than revoked (a revocation goes through `mark_revoked`)."""
    if connection.status == status and connection.status_reason == reason:
        return
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(
        status=status, status_reason=reason[:500], status_changed_at=now
    )
    connection.status, connection.status_reason, connection.status_changed_at = (
        status,
        reason[:500],
        now,
    )


# --- a revoked token ----------------------------------------------------------------------


def mark_revoked(*, connection: Connection, reason: str) -> bool:
    """Mark the connection revoked after a system refused its token, and queue the one
    email telling its owner. Call it on any RejectedCredentials (the sync's too); a
    connection already revoked is left alone, so the owner gets one email per
    revocation, however many calls fail. Returns whether it was newly marked."""
    now = timezone.now()
    with transaction.atomic():
        marked = (
            Connection.objects.filter(pk=connection.pk)
            .exclude(status=ConnectionStatus.REVOKED)
            .update(
                status=ConnectionStatus.REVOKED, status_reason=reason[:500], status_changed_at=now
            )
        )
        if marked:
            email = RevokedTokenEmail.objects.create(connection=connection, revoked_at=now)
            RevokedTokenEmail.queue_work([email.pk])
    if marked:
        connection.status = ConnectionStatus.REVOKED
        connection.status_reason = reason[:500]
        connection.status_changed_at = now
    return bool(marked)


def revoked_token_message(*, email: RevokedTokenEmail) -> Any:
    connection = email.connection
    owner = connection.owner
    with translation.override(getattr(owner, "language", None) or settings.LANGUAGE_CODE):
        context = {
            "owner": owner,
            "connection": connection,
            "system": system_label(connection.system),
            "site_url": settings.SITE_URL,
        }
        subject = _("%(system)s refused your token") % {"system": context["system"]}
        return compose(
            to=owner.email,
            subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
            text_body=render_to_string("integrations/email/revoked_token.txt", context),
            stable_id=message_id("revoked-token", email.pk),
        )


def send_revoked_token_email(*, email_id: int, take_over: bool = False) -> bool:
    """Send one revoked-token email row (claimed first: a duplicate task sends nothing)."""
    email = work.claim_one(
        RevokedTokenEmail.objects.select_related("connection__owner").filter(pk=email_id),
        take_over=take_over,
    )
    if email is None:
        return False
    try:
        revoked_token_message(email=email).send()
    except background.TRANSIENT_ERRORS:
        work.release(RevokedTokenEmail.objects.filter(pk=email.pk, lease_owner=email.lease_owner))
        raise
    except (smtplib.SMTPException, OSError) as error:
        work.record_failure(
            email,
            error=f"{type(error).__name__}: {error}",
            permanent=smtp_failure_is_permanent(error),
        )
        return False
    except Exception as error:
        logger.exception("revoked token email %s failed", email.pk)
        work.record_failure(email, error=f"{type(error).__name__}: {error}")
        return False
    work.complete(email)
    return True


# --- mappings and schedules ---------------------------------------------------------------


def usable_items(*, owner: Any, kind: str) -> Any:
    """The owner's own items of `kind` that the system still lists."""
    return ReferenceItem.objects.filter(
        connection__owner=owner, kind=kind, gone_at__isnull=True
    ).select_related("connection")


def save_mapping(
    *, owner: Any, trade_point: ReferenceItem, cash_desk: ReferenceItem, warehouse: ReferenceItem
) -> TradePointMapping:
    """Map a trade point to a cash desk and a warehouse (or change its mapping). The
    owner's first mapping creates the two schedules, in the same transaction."""
    if (
        not usable_items(owner=owner, kind=ReferenceKind.TRADE_POINT)
        .filter(pk=trade_point.pk)
        .exists()
    ):
        raise ValidationError(_("The cash registers no longer list this trade point."))
    for item, kind in ((cash_desk, ReferenceKind.CASH_DESK), (warehouse, ReferenceKind.WAREHOUSE)):
        if not usable_items(owner=owner, kind=kind).filter(pk=item.pk).exists():
            raise ValidationError({kind: _("Choose one of your own, current items.")})
    with transaction.atomic():
        mapping = TradePointMapping.objects.filter(trade_point=trade_point).first()
        if mapping is None:
            mapping = TradePointMapping.objects.create(
                owner=owner, trade_point=trade_point, cash_desk=cash_desk, warehouse=warehouse
            )
        else:
            mapping.cash_desk, mapping.warehouse = cash_desk, warehouse
            mapping.save(update_fields=["cash_desk", "warehouse"])
        _ensure_schedules(owner)
    return mapping


def _ensure_schedules(owner: Any) -> None:
    now = timezone.now()
    for job in SyncJob.values:
        SyncSchedule.objects.get_or_create(
            owner=owner,
            job=job,
            defaults={
                "interval_minutes": max(DEFAULT_INTERVAL_MINUTES, min_interval_minutes()),
                "next_run_at": now,
            },
        )


def delete_mapping(*, mapping: TradePointMapping) -> None:
    """Remove a mapping; with the owner's last one, the schedules go too."""
    with transaction.atomic():
        owner_id = mapping.owner_id
        mapping.delete()
        if not TradePointMapping.objects.filter(owner_id=owner_id).exists():
            SyncSchedule.objects.filter(owner_id=owner_id).delete()


def set_interval(*, schedule: SyncSchedule, interval_minutes: int) -> SyncSchedule:
    """Change how often a schedule runs; the next run comes no later than one new
    interval from now."""
    low, high = min_interval_minutes(), MAX_INTERVAL_MINUTES
    if not low <= interval_minutes <= high:
        raise ValidationError(
            {
                "interval_minutes": _("Between %(low)s and %(high)s minutes.")
                % {"low": low, "high": high}
            }
        )
    soonest = timezone.now() + timedelta(minutes=interval_minutes)
    schedule.interval_minutes = interval_minutes
    schedule.next_run_at = min(schedule.next_run_at, soonest)
    schedule.save(update_fields=["interval_minutes", "next_run_at"])
    return schedule


def pause_schedule(*, schedule: SyncSchedule) -> SyncSchedule:
    if schedule.paused_at is None:
        schedule.paused_at = timezone.now()
        schedule.save(update_fields=["paused_at"])
    return schedule


def resume_schedule(*, schedule: SyncSchedule) -> SyncSchedule:
    """Resume; a run missed while paused happens once, at the next dispatch."""
    if schedule.paused_at is not None:
        schedule.paused_at = None
        schedule.save(update_fields=["paused_at"])
    return schedule
