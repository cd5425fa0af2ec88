"""Adapters for an owner's connections, and what a refused token does to a connection."""

from __future__ import annotations

from lavka.core.http import RejectedCredentials
from lavka.integrations import services
from lavka.integrations.adapters.base import AccountingAdapter, PointOfSaleAdapter
from lavka.integrations.models import Connection, ConnectionRole, ConnectionStatus


class NotConnected(Exception):
    """The owner has no usable connection of a role (none, or its token was refused)."""


def connection_of(owner_id: int, role: str) -> Connection:
    connection = Connection.objects.filter(owner_id=owner_id, role=role).first()
    if connection is None:
        raise NotConnected(f"No {ConnectionRole(role).label.lower()} system is connected.")
    return usable(connection)


def usable(connection: Connection) -> Connection:
    """The connection, unless its token was refused (NotConnected then)."""
    if connection.status == ConnectionStatus.REVOKED:
        raise NotConnected(
            f"{connection.system}: the token was refused ({connection.status_reason}); "
            "connect again with a valid token."
        )
    return connection


def accounting_for(connection: Connection) -> AccountingAdapter:
    return services.accounting_adapter(connection)


def point_of_sale_for(connection: Connection) -> PointOfSaleAdapter:
    return services.point_of_sale_adapter(connection)


def takes_goods(connection: Connection) -> bool:
    """Whether goods are sent to the connection's trade points (not to Lavka's shop)."""
    adapter_class = services.REGISTRIES[connection.role][connection.system]
    return bool(getattr(adapter_class, "takes_goods", True))


def token_refused(connection: Connection, error: RejectedCredentials) -> None:
    """The system refused the token: the connection is marked revoked (once, with one
    email to its owner) so the page says so and the owner connects again."""
    services.mark_revoked(
        connection=connection,
        reason=services.describe_http_error(error, services.system_label(connection.system)),
    )
