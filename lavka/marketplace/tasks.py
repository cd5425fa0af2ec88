"""The shop's background work: order emails from their work rows, the periodic
release of stock held for orders that were never paid, and the "bought together"
counts of paid orders."""

from __future__ import annotations

from redis.exceptions import RedisError

from lavka.core.background import background_task
from lavka.marketplace.donations import services as donation_services
from lavka.marketplace.orders import payment_events, services
from lavka.marketplace.recommendations import services as recommendations


@background_task("marketplace.send_order_email", soft_time_limit=60, time_limit=90)
def send_order_email(order_email_id: int) -> bool:
    """Send one order email row; failures are recorded on the row and retried by the
    kernel's sweeper."""
    return services.send_order_email(
        order_email_id=order_email_id, take_over=send_order_email.redelivered
    )


@background_task("marketplace.release_expired_holds")
def release_expired_holds() -> int:
    """Beat: cancel unpaid orders whose stock hold ran out and put the stock back."""
    return services.release_expired_holds()


@background_task("marketplace.send_donation_email", soft_time_limit=60, time_limit=90)
def send_donation_email(donation_email_id: int) -> bool:
    """Send one donation's thank-you row; retried by the kernel's sweeper on failure."""
    return donation_services.send_donation_email(
        donation_email_id=donation_email_id, take_over=send_donation_email.redelivered
    )


@background_task("marketplace.process_payment_event", soft_time_limit=60, time_limit=90)
def process_payment_event(event_pk: int) -> bool:
    """Apply one stored Stripe webhook event to its order (once; see payment_events)."""
    return payment_events.process_event(
        event_pk=event_pk, take_over=process_payment_event.redelivered
    )


@background_task("marketplace.refund_order", soft_time_limit=60, time_limit=90)
def refund_order(refund_id: int) -> bool:
    """Ask the payment provider for one refund row's refund, then mark the order
    refunded (once; see services.process_refund)."""
    return services.process_refund(refund_id=refund_id, take_over=refund_order.redelivered)


@background_task(
    "marketplace.record_bought_together",
    retry_for=(RedisError,),
    soft_time_limit=60,
    time_limit=90,
)
def record_bought_together(order_id: int) -> bool:
    """Count a paid order's products as bought together (once, however often it runs);
    Redis down is retried, and what is lost anyway the catch-up below records."""
    return recommendations.record_order(order_id=order_id)


@background_task(
    "marketplace.catch_up_bought_together",
    retry_for=(RedisError,),
    soft_time_limit=3600,
    time_limit=3660,
)
def catch_up_bought_together() -> int:
    """Beat: record the recently paid orders whose task was lost, or rebuild a store
    that lost its data (hence the long limits; the rebuild's lock keeps it to one)."""
    return recommendations.catch_up()
