"""Receiving Stripe webhooks: store once, process after commit.

``receive`` runs in the request: it stores a verified event by its Stripe id (a second
delivery finds it and does nothing) and enqueues processing once the row is committed.
``process`` runs in a Celery task: it takes the event out of its pending state under a row
lock, applies it through the guarded sync functions, and records the outcome. Unknown event
types are stored and marked processed without doing anything.
"""

import logging
import traceback

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from allmytracks.audit import record
from allmytracks.numbers import whole_number
from allmytracks.tasks import enqueue_on_commit

from . import emails, services, stripe_client
from .models import (
    BillingAccount,
    Checkout,
    CheckoutKind,
    CheckoutStatus,
    StripeEvent,
    TaskKind,
    from_timestamp,
)
from .sync import (
    SyncError,
    invoice_subscription_id,
    move_subscription_for_invoice,
    sync_invoice,
    sync_subscription,
)

log = logging.getLogger(__name__)


def receive(event):
    """Store a verified event (a dict). Returns (StripeEvent, created)."""
    try:
        with transaction.atomic():
            stored, created = StripeEvent.objects.get_or_create(
                stripe_id=event["id"],
                defaults={
                    "type": event.get("type", ""),
                    "livemode": bool(event.get("livemode")),
                    "api_version": event.get("api_version") or "",
                    "stripe_created_at": from_timestamp(event.get("created")),
                    "payload": event,
                },
            )
            if created:
                from .tasks import process_stripe_event

                enqueue_on_commit(process_stripe_event, stored.pk)
    except IntegrityError:  # the same event, delivered twice at the same moment
        return StripeEvent.objects.get(stripe_id=event["id"]), False
    return stored, created


def process(event_pk):
    """Apply one stored event. Safe to run twice: a processed event is left alone."""
    try:
        with transaction.atomic():
            event = (
                StripeEvent.objects.select_for_update().filter(pk=event_pk, processed_at__isnull=True).first()
            )
            if event is None:
                return "already processed"
            handler = HANDLERS.get(event.type)
            try:
                with transaction.atomic():
                    outcome = handler(event) if handler else "ignored"
            except SyncError as exc:
                # Nothing a retry can fix (an unknown customer or price): keep the event for staff.
                log.warning("Stripe event %s could not be placed: %s", event.stripe_id, exc)
                outcome, error = "unplaced", str(exc)
            else:
                error = ""
            StripeEvent.objects.filter(pk=event.pk).update(
                processed_at=timezone.now(), error=error, attempts=F("attempts") + 1
            )
            return outcome
    except Exception:
        # Rolled back: note what went wrong (the task retries with backoff).
        StripeEvent.objects.filter(pk=event_pk).update(
            error=traceback.format_exc()[-4000:], attempts=F("attempts") + 1
        )
        raise


def process_again(event, *, actor, request=None):
    """Queue ``event`` to be applied again: one still waiting or failing, or one that could not be
    placed (an unknown price or customer) once staff fixed what it lacked. An event that was
    applied is never queued again. The handlers take a subscription's state as of the event, so
    an old event placed late does not undo a newer one."""
    from .tasks import process_stripe_event

    with transaction.atomic():
        unplaced = StripeEvent.objects.filter(pk=event.pk, processed_at__isnull=False).exclude(error="")
        if unplaced.update(processed_at=None):
            record(
                "billing.event_reopened",
                actor=actor,
                target=event,
                request=request,
                why=event.error[:500],
            )
        enqueue_on_commit(process_stripe_event, event.pk)


def _seen_at(event):
    return event.stripe_created_at or timezone.now()


# --- handlers --------------------------------------------------------------------------------


def on_subscription(event):
    sub, changes = sync_subscription(event.data_object, seen_at=_seen_at(event))
    return f"subscription {sub.pk}: {', '.join(changes) or 'no change'}"


def _checkout_for(session):
    metadata = session.get("metadata") or {}
    qs = Checkout.objects.select_related("plan", "track", "user")
    checkout = qs.filter(stripe_session_id=session["id"]).first()
    if checkout is None:
        ref = session.get("client_reference_id") or metadata.get("checkout_id")
        if (pk := whole_number(ref)) is not None:
            checkout = qs.filter(pk=pk).first()
    if checkout is None:
        raise SyncError(f"No checkout for Stripe session {session['id']}.")
    return checkout


def on_checkout_completed(event):
    session = event.data_object
    checkout = _checkout_for(session)
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        # Delayed payment methods: wait for checkout.session.async_payment_succeeded.
        return "waiting for payment"
    payment_intent = session.get("payment_intent")
    payment_intent = payment_intent.get("id") if isinstance(payment_intent, dict) else (payment_intent or "")
    if checkout.kind == CheckoutKind.TRACK:
        credit, created = services.complete_track_checkout(checkout, payment_intent_id=payment_intent)
        return f"credit {credit.pk} {'created' if created else 'already there'}"
    subscription_id = session.get("subscription")
    subscription_id = subscription_id.get("id") if isinstance(subscription_id, dict) else subscription_id
    services._mark_completed(checkout, payment_intent)
    if not subscription_id:
        return "completed without a subscription"
    # The session names the subscription but does not carry it: fetch it, it is the freshest truth.
    data = stripe_client.retrieve_subscription(subscription_id)
    sub, changes = sync_subscription(data, seen_at=timezone.now(), why="checkout completed")
    return f"subscription {sub.pk}: {', '.join(changes) or 'no change'}"


def on_checkout_expired(event):
    session = event.data_object
    try:
        checkout = _checkout_for(session)
    except SyncError:
        return "unknown session"
    Checkout.objects.filter(pk=checkout.pk, status__in=[CheckoutStatus.CREATED, CheckoutStatus.OPEN]).update(
        status=CheckoutStatus.EXPIRED
    )
    return "expired"


def on_invoice(event):
    data = event.data_object
    invoice = sync_invoice(data, seen_at=_seen_at(event))
    return f"invoice {invoice.pk} {invoice.status}"


def on_invoice_paid(event):
    data = event.data_object
    invoice = sync_invoice(data, seen_at=_seen_at(event))
    stripe_sub_id = invoice_subscription_id(data)
    if stripe_sub_id:
        move_subscription_for_invoice(stripe_sub_id, "paid", seen_at=_seen_at(event))
    return f"invoice {invoice.pk} paid"


def on_invoice_payment_failed(event):
    data = event.data_object
    invoice = sync_invoice(data, seen_at=_seen_at(event))
    stripe_sub_id = invoice_subscription_id(data)
    if not stripe_sub_id:
        return f"invoice {invoice.pk} failed (no subscription)"
    sub, _moved = move_subscription_for_invoice(stripe_sub_id, "failed", seen_at=_seen_at(event))
    if sub is not None and not sub.is_ended:
        # One email per failed attempt: this event is processed once.
        emails.payment_failed(sub, invoice)
    return f"invoice {invoice.pk} failed (attempt {invoice.attempt_count})"


def _payment_intent_of(obj):
    value = obj.get("payment_intent")
    return value.get("id") if isinstance(value, dict) else (value or "")


def on_charge_refunded(event):
    charge = event.data_object
    payment_intent = _payment_intent_of(charge)
    if not payment_intent:
        return "no payment intent"
    if not charge.get("refunded"):
        credits = services.TrackCredit.objects.filter(purchase_ref=payment_intent).select_related("user")
        for credit in credits:
            services.open_task(
                kind=TaskKind.PARTIAL_REFUND,
                user=credit.user,
                credit=credit,
                stripe_object_id=charge["id"],
                details=f"Partial refund ({charge.get('amount_refunded')}) on {payment_intent}; credit kept.",
            )
        return "partial refund: staff task"
    outcome = services.revoke_or_flag_credits(
        payment_intent_id=payment_intent,
        kind="refund",
        stripe_object_id=charge["id"],
        details=f"Charge {charge['id']} ({payment_intent}) was refunded after its credit was used.",
    )
    return ", ".join(f"{what} {credit.pk}" for what, credit in outcome) or "not a single-track purchase"


def on_dispute_created(event):
    dispute = event.data_object
    payment_intent = _payment_intent_of(dispute)
    reason = f"Dispute {dispute['id']} ({dispute.get('reason', '')})"
    outcome = []
    if payment_intent:
        outcome = services.revoke_or_flag_credits(
            payment_intent_id=payment_intent,
            kind="dispute",
            stripe_object_id=dispute["id"],
            details=f"{reason} on a credit already used.",
        )
    if not outcome:
        # Not a single-track purchase (a membership payment): staff look at it.
        customer = dispute.get("customer")
        account = BillingAccount.objects.filter(stripe_customer_id=customer).first() if customer else None
        services.open_task(
            kind=TaskKind.DISPUTE,
            user=account.user if account else None,
            stripe_object_id=dispute["id"],
            details=f"{reason} on charge {dispute.get('charge')}.",
        )
    return ", ".join(f"{what} {credit.pk}" for what, credit in outcome) or "staff task"


HANDLERS = {
    "checkout.session.completed": on_checkout_completed,
    "checkout.session.async_payment_succeeded": on_checkout_completed,
    "checkout.session.expired": on_checkout_expired,
    "customer.subscription.created": on_subscription,
    "customer.subscription.updated": on_subscription,
    "customer.subscription.deleted": on_subscription,
    "customer.subscription.paused": on_subscription,
    "customer.subscription.resumed": on_subscription,
    "invoice.finalized": on_invoice,
    "invoice.updated": on_invoice,
    "invoice.voided": on_invoice,
    "invoice.marked_uncollectible": on_invoice,
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
    "charge.refunded": on_charge_refunded,
    "charge.dispute.created": on_dispute_created,
}
