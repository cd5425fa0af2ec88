"""A local stand-in for Stripe Checkout: sessions, refunds, a hosted test payment page and
signed webhooks, with fault knobs. See README.md beside this file."""

from .server import Config, Simulator
from .webhooks import Faults, WebhookSettings

__all__ = ["Config", "Faults", "Simulator", "WebhookSettings"]
