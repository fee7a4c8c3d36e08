"""Every call AllMyTracks makes to Stripe goes through this module.

It is the one seam tests stub for outgoing calls (incoming webhooks are verified for
real). Each function takes and returns plain dicts, so the rest of billing never touches
SDK objects. Every call that creates something at Stripe sends an idempotency key, so a
retried request never makes two customers, sessions or cancellations.
"""

import logging

import stripe
from django.conf import settings

log = logging.getLogger(__name__)

StripeError = stripe.StripeError
SignatureVerificationError = stripe.SignatureVerificationError
InvalidRequestError = stripe.InvalidRequestError


class PaymentsNotConfigured(Exception):
    """No Stripe secret key is set: prices show, but nothing can be bought online."""

    def __init__(self, message="Online payments are not configured on this site yet."):
        super().__init__(message)


def is_configured():
    return bool(settings.STRIPE_SECRET_KEY)


def webhooks_configured():
    return bool(settings.STRIPE_WEBHOOK_SECRET)


def _client():
    if not is_configured():
        raise PaymentsNotConfigured()
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, max_network_retries=2)


def _plain(obj):
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


# --- incoming ----------------------------------------------------------------------------


def construct_event(payload, sig_header):
    """Verify a webhook's signature (default 5-minute tolerance) and return the event as a dict.

    Raises ``ValueError`` for a body that is not JSON and ``SignatureVerificationError`` for
    a missing, wrong or stale signature."""
    if not webhooks_configured():
        raise SignatureVerificationError("Webhook secret is not configured.", sig_header, payload)
    event = stripe.Webhook.construct_event(payload, sig_header, settings.STRIPE_WEBHOOK_SECRET)
    return _plain(event)


# --- outgoing ----------------------------------------------------------------------------


def create_customer(*, email, name, user_id, idempotency_key):
    customer = _client().v1.customers.create(
        params={"email": email, "name": name or email, "metadata": {"user_id": str(user_id)}},
        options={"idempotency_key": idempotency_key},
    )
    return _plain(customer)


def create_checkout_session(params, *, idempotency_key):
    session = _client().v1.checkout.sessions.create(
        params=params, options={"idempotency_key": idempotency_key}
    )
    return _plain(session)


def create_portal_session(*, customer_id, return_url, idempotency_key):
    session = _client().v1.billing_portal.sessions.create(
        params={"customer": customer_id, "return_url": return_url},
        options={"idempotency_key": idempotency_key},
    )
    return _plain(session)


def retrieve_price(price_id):
    return _plain(_client().v1.prices.retrieve(price_id))


def retrieve_subscription(subscription_id):
    return _plain(_client().v1.subscriptions.retrieve(subscription_id))


def cancel_subscription(subscription_id, *, idempotency_key):
    """End a subscription at Stripe now (account cancellation)."""
    subscription = _client().v1.subscriptions.cancel(
        subscription_id, params={"prorate": False}, options={"idempotency_key": idempotency_key}
    )
    return _plain(subscription)
