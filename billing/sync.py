"""Applying what Stripe says to the local mirror, with guards.

Stripe delivers events more than once and in any order. Two rules keep the mirror right:

1. Every change from Stripe carries the time Stripe made it (the event's ``created``, or
   the moment we fetched the object ourselves). A subscription or invoice remembers the
   newest time applied; older news is ignored.
2. Status changes are allowed only from the states they make sense from: an ended
   subscription never comes back, a paid invoice never goes back to open.

Side effects of a change (emails, enterprise seats) are decided here from the old and
new state, so a second delivery, which changes nothing, triggers nothing.
"""

import logging

from django.contrib.auth import get_user_model
from django.db import transaction

from allmytracks.audit import record
from allmytracks.numbers import whole_number

from . import emails
from .models import (
    ENTITLING,
    PAYMENT_PROBLEM,
    TERMINAL,
    BillingAccount,
    Invoice,
    Plan,
    Status,
    Subscription,
    from_timestamp,
)

log = logging.getLogger(__name__)

SYNCED_FIELDS = (
    "status",
    "plan_id",
    "quantity",
    "current_period_start",
    "current_period_end",
    "cancel_at_period_end",
    "cancel_at",
    "trial_end",
    "started_at",
    "ended_at",
    "stripe_customer_id",
)


class SyncError(Exception):
    """Stripe sent something we cannot place (an unknown customer or price)."""


def _id(value):
    """An expandable Stripe field: either "xx_123" or {"id": "xx_123", …}."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def _first_item(data):
    items = ((data.get("items") or {}).get("data")) or []
    return items[0] if items else {}


def _user_for(data):
    """The account a Stripe subscription belongs to: our metadata first, then the customer."""
    User = get_user_model()
    user_id = (data.get("metadata") or {}).get("user_id")
    customer_id = _id(data.get("customer"))
    if customer_id:
        account = BillingAccount.objects.select_related("user").filter(stripe_customer_id=customer_id).first()
        if account:
            return account.user
    if (pk := whole_number(user_id)) is not None:
        user = User.objects.filter(pk=pk).first()
        if user is not None:
            return user
    raise SyncError(f"No account for Stripe customer {customer_id or '?'} (metadata user {user_id or '?'}).")


def _plan_for(data):
    item = _first_item(data)
    price_id = _id(item.get("price")) or _id(item.get("plan"))
    if price_id:
        plan = Plan.objects.filter(stripe_price_id=price_id).first()
        if plan:
            return plan
    slug = (data.get("metadata") or {}).get("plan")
    if slug:
        plan = Plan.objects.filter(slug=slug).first()
        if plan:
            return plan
    raise SyncError(f"No plan has the Stripe price {price_id or '?'}.")


def _values_from(data, plan):
    item = _first_item(data)
    # Since API 2025-03-31 the period lives on the subscription item; older versions kept it on top.
    period_start = data.get("current_period_start") or item.get("current_period_start")
    period_end = data.get("current_period_end") or item.get("current_period_end")
    return {
        "status": data.get("status") or Status.INCOMPLETE,
        "plan_id": plan.pk,
        "quantity": max(int(item.get("quantity") or data.get("quantity") or 1), 1),
        "current_period_start": from_timestamp(period_start),
        "current_period_end": from_timestamp(period_end),
        "cancel_at_period_end": bool(data.get("cancel_at_period_end")),
        "cancel_at": from_timestamp(data.get("cancel_at")),
        "trial_end": from_timestamp(data.get("trial_end")),
        "started_at": from_timestamp(data.get("start_date")),
        "ended_at": from_timestamp(data.get("ended_at")),
        "stripe_customer_id": _id(data.get("customer")) or "",
    }


def _remember_customer(user, customer_id):
    if not customer_id:
        return
    account, _ = BillingAccount.objects.get_or_create(user=user)
    if not account.stripe_customer_id:
        BillingAccount.objects.filter(pk=account.pk, stripe_customer_id__isnull=True).update(
            stripe_customer_id=customer_id
        )


@transaction.atomic
def sync_subscription(data, *, seen_at, why="webhook"):
    """Apply a Stripe subscription object seen at ``seen_at``. Returns (subscription, changes)."""
    stripe_id = data["id"]
    sub = Subscription.objects.select_for_update().filter(stripe_subscription_id=stripe_id).first()
    if sub is None:
        user = _user_for(data)
        plan = _plan_for(data)
        sub = Subscription(user=user, plan=plan, stripe_subscription_id=stripe_id, status=Status.INCOMPLETE)
        old = None
    else:
        if sub.stripe_updated_at and seen_at < sub.stripe_updated_at:
            log.info(
                "Stale subscription data for %s ignored (%s < %s)", stripe_id, seen_at, sub.stripe_updated_at
            )
            return sub, {}
        if sub.status in TERMINAL:
            log.info("Subscription %s has ended; %s ignored", stripe_id, data.get("status"))
            return sub, {}
        plan = _plan_for(data)
        old = {field: getattr(sub, field) for field in SYNCED_FIELDS}
    values = _values_from(data, plan)
    for field, value in values.items():
        setattr(sub, field, value)
    sub.stripe_updated_at = seen_at
    sub.save()
    changes = {
        field: [_jsonable(old[field]) if old else None, _jsonable(values[field])]
        for field in SYNCED_FIELDS
        if old is None or old[field] != values[field]
    }
    _remember_customer(sub.user, values["stripe_customer_id"])
    _after_change(sub, old, why=why)
    return sub, changes


def _jsonable(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


# Which invoice outcomes may move a subscription, and from where.
INVOICE_MOVES = {
    "failed": ({Status.ACTIVE, Status.TRIALING}, Status.PAST_DUE),
    "paid": ({Status.PAST_DUE, Status.UNPAID, Status.INCOMPLETE}, Status.ACTIVE),
}


@transaction.atomic
def move_subscription_for_invoice(stripe_subscription_id, outcome, *, seen_at):
    """An invoice was paid or failed: move the subscription's status if that makes sense now."""
    allowed_from, to = INVOICE_MOVES[outcome]
    sub = (
        Subscription.objects.select_for_update().filter(stripe_subscription_id=stripe_subscription_id).first()
    )
    if sub is None or sub.status not in allowed_from:
        return sub, False
    if sub.stripe_updated_at and seen_at < sub.stripe_updated_at:
        return sub, False
    old = {field: getattr(sub, field) for field in SYNCED_FIELDS}
    sub.status = to
    sub.stripe_updated_at = seen_at
    sub.save(update_fields=["status", "stripe_updated_at", "updated_at"])
    _after_change(sub, old, why=f"invoice {outcome}")
    return sub, True


def _after_change(sub, old, *, why):
    """Emails and enterprise seats, decided from what actually changed."""
    old_status = old["status"] if old else None
    new_status = sub.status
    if old_status != new_status:
        record(
            "billing.subscription_status",
            target=sub,
            old=old_status,
            new=new_status,
            why=why,
            stripe_subscription=sub.stripe_subscription_id or "",
        )
    was_entitling = old_status in ENTITLING
    if new_status in ENTITLING and not was_entitling:
        if old_status in PAYMENT_PROBLEM:
            emails.payment_recovered(sub)
        else:
            emails.membership_started(sub)
    if new_status in TERMINAL and old_status not in TERMINAL and old_status not in (None, Status.INCOMPLETE):
        emails.membership_ended(sub)
    if (
        sub.cancel_at_period_end
        and not (old or {}).get("cancel_at_period_end")
        and new_status not in TERMINAL
        and old is not None
    ):
        emails.membership_ending(sub)
    if sub.plan.is_business and new_status in ENTITLING:
        seats_changed = old is None or old["quantity"] != sub.quantity or old["plan_id"] != sub.plan_id
        if seats_changed or not was_entitling:
            from .services import apply_business_seats

            apply_business_seats(sub)


INVOICE_RANK = {"draft": 0, "open": 1, "paid": 2, "void": 2, "uncollectible": 2}


def invoice_subscription_id(data):
    """Since API 2025-03-31 an invoice names its subscription under parent.subscription_details."""
    sub = _id(data.get("subscription"))
    if sub:
        return sub
    parent = data.get("parent") or {}
    return _id((parent.get("subscription_details") or {}).get("subscription"))


@transaction.atomic
def sync_invoice(data, *, seen_at):
    """Mirror a Stripe invoice. Returns the Invoice (or None when its account is unknown)."""
    customer_id = _id(data.get("customer"))
    stripe_sub_id = invoice_subscription_id(data)
    sub = Subscription.objects.filter(stripe_subscription_id=stripe_sub_id).first() if stripe_sub_id else None
    account = BillingAccount.objects.filter(stripe_customer_id=customer_id).first() if customer_id else None
    user = sub.user if sub else (account.user if account else None)
    if user is None:
        raise SyncError(f"No account for the invoice's customer {customer_id or '?'}.")
    invoice = Invoice.objects.select_for_update().filter(stripe_invoice_id=data["id"]).first()
    if invoice is not None and invoice.stripe_updated_at and seen_at < invoice.stripe_updated_at:
        return invoice
    status = data.get("status") or ""
    if invoice is not None and INVOICE_RANK.get(status, 0) < INVOICE_RANK.get(invoice.status, 0):
        status = invoice.status  # a paid invoice never goes back to open
    invoice = invoice or Invoice(stripe_invoice_id=data["id"], user=user)
    invoice.subscription = sub or invoice.subscription
    invoice.number = data.get("number") or invoice.number
    invoice.status = status
    invoice.amount_due = int(data.get("amount_due") or 0)
    invoice.amount_paid = int(data.get("amount_paid") or 0)
    invoice.currency = (data.get("currency") or invoice.currency or "usd").lower()
    invoice.hosted_invoice_url = data.get("hosted_invoice_url") or invoice.hosted_invoice_url
    invoice.invoice_pdf = data.get("invoice_pdf") or invoice.invoice_pdf
    invoice.attempt_count = int(data.get("attempt_count") or 0)
    invoice.next_payment_attempt = from_timestamp(data.get("next_payment_attempt"))
    invoice.issued_at = from_timestamp(data.get("created")) or invoice.issued_at
    invoice.stripe_updated_at = seen_at
    invoice.save()
    return invoice
