"""Adapters for an owner's connections, and what a refused token does to a connection."""

from __future__ import annotations

from django.utils import timezone

from lavka.core.http import RejectedCredentials
from lavka.integrations.adapters import ACCOUNTING, POINT_OF_SALE
from lavka.integrations.adapters.base import AccountingAdapter, PointOfSaleAdapter
from lavka.integrations.models import Connection, ConnectionRole, ConnectionStatus


class NotConnected(Exception):
    """The owner has no usable connection of a role (none, or its token was refused)."""


def connection_of(owner_id: int, role: str) -> Connection:
    connection = Connection.objects.filter(owner_id=owner_id, role=role).first()
    if connection is None:
        raise NotConnected(f"No {ConnectionRole(role).label.lower()} system is connected.")
    if connection.status == ConnectionStatus.REVOKED:
        raise NotConnected(
            f"{connection.system}: the token was refused ({connection.status_reason}); "
            "connect again with a valid token."
        )
    return connection


def accounting_for(connection: Connection) -> AccountingAdapter:
    # TODO(integrations-app): a blank base_url means the local simulator on a local site;
    # use that app's adapter factory once merged.
    return ACCOUNTING[connection.system](token=connection.token, base_url=connection.base_url)


def point_of_sale_for(connection: Connection) -> PointOfSaleAdapter:
    return POINT_OF_SALE[connection.system](token=connection.token, base_url=connection.base_url)


def token_refused(connection: Connection, error: RejectedCredentials) -> None:
    """The system refused the token: the connection is marked revoked (once) so nothing
    else calls with it and the page says so."""
    # TODO(integrations-app): call its service that also emails the owner
    # (RevokedTokenEmail) instead of this bare update.
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).exclude(status=ConnectionStatus.REVOKED).update(
        status=ConnectionStatus.REVOKED,
        status_reason=str(error)[:500],
        status_changed_at=now,
    )
