"""The integrations app's background work: thin tasks that take ids and call services."""

from __future__ import annotations

from lavka.core.background import background_task
from lavka.integrations import services


@background_task("integrations.refresh_reference_data", soft_time_limit=120, time_limit=150)
def refresh_reference_data(connection_id: int) -> bool:
    """Refresh one connection's cash desks, warehouses or trade points; a failure is
    recorded on the connection (its status), which the page shows."""
    return bool(services.refresh_reference_data_of(connection_id=connection_id))


@background_task("integrations.refresh_due_reference_data", soft_time_limit=60, time_limit=90)
def refresh_due_reference_data() -> int:
    """Beat, hourly: queue a refresh of every connection not refreshed for a day."""
    return services.refresh_due_reference_data()


@background_task("integrations.send_revoked_token_email", soft_time_limit=60, time_limit=90)
def send_revoked_token_email(email_id: int) -> bool:
    """Tell an owner their token was refused; failures are recorded on the row."""
    return services.send_revoked_token_email(
        email_id=email_id, take_over=send_revoked_token_email.redelivered
    )
