"""Stripe's webhook endpoint: verify the signature, store the event, answer at once.

Nothing is written unless the signature (Stripe's scheme, `Stripe-Signature`, within
five minutes) is valid; the event is applied later by a background task
(`payment_events`), so a slow or failing order update never makes Stripe resend.
"""

from __future__ import annotations

import json
import logging

import stripe
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from lavka.marketplace.orders import payment_events

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe signs the request instead; it has no cookies or form token
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return HttpResponseBadRequest("Stripe webhooks are not configured.")
    try:
        payload = request.body
    except RequestDataTooBig:
        return HttpResponseBadRequest("Too large.")
    signature = request.headers.get("Stripe-Signature", "")
    try:
        stripe.Webhook.construct_event(payload, signature, secret)
        event = json.loads(payload)
    except (ValueError, stripe.SignatureVerificationError) as error:
        logger.info("refused a Stripe webhook: %s", type(error).__name__)
        return HttpResponseBadRequest("Invalid payload or signature.")
    if not isinstance(event, dict):
        return HttpResponseBadRequest("Invalid payload.")
    payment_events.record_event(event)
    return HttpResponse("ok", content_type="text/plain")
