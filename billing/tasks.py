"""Background work for billing. Tasks take ids, and each is safe to run twice."""

import logging

from celery import shared_task
from django.db import OperationalError

from . import services, stripe_client, webhooks

log = logging.getLogger(__name__)

TRANSIENT = (stripe_client.StripeError, OperationalError, OSError)


@shared_task(
    name="billing.tasks.process_stripe_event",
    acks_late=True,
    ignore_result=True,
    autoretry_for=TRANSIENT,
    retry_backoff=10,
    retry_backoff_max=600,
    max_retries=8,
)
def process_stripe_event(event_id):
    return webhooks.process(event_id)


@shared_task(name="billing.tasks.reconcile_subscriptions", acks_late=True, ignore_result=True)
def reconcile_subscriptions():
    changed = services.reconcile()
    if changed:
        log.info("Billing reconciliation corrected %d subscription(s)", len(changed))
    return len(changed)


@shared_task(
    name="billing.tasks.cancel_account_billing",
    acks_late=True,
    ignore_result=True,
    autoretry_for=TRANSIENT,
    retry_backoff=30,
    max_retries=8,
)
def cancel_account_billing(user_id):
    services.cancel_account_billing(user_id)
