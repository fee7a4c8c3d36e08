"""Billing services: starting checkouts, the portal, staff grants, enterprise seats,
refunds and disputes, account cancellation and reconciliation.

Each runs in a transaction, writes an audit row for staff and system changes, and does its
network calls to Stripe outside any open transaction (through ``stripe_client``), with an
idempotency key on everything it creates.
"""

import logging
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from allmytracks.audit import record
from allmytracks.errors import UserFacingError
from allmytracks.staff_alerts import alert_staff

from . import emails, stripe_client
from .models import (
    LIVE,
    TERMINAL,
    BillingAccount,
    Checkout,
    CheckoutKind,
    CheckoutStatus,
    CreditStatus,
    Plan,
    Source,
    StaffTask,
    Status,
    Subscription,
    TaskKind,
    TrackCredit,
)
from .money import format_money

log = logging.getLogger(__name__)
MEMBERSHIP_AGREEMENT = "premium-membership"


class CheckoutError(UserFacingError):
    """A purchase cannot start. ``str()`` is for the user; ``url`` is where to fix it."""


class PaymentsUnavailable(CheckoutError):
    """Card payments are not configured on this site, so nothing can be paid online; the message
    names the support address to write to instead (pages link it)."""


# --- what may be bought ------------------------------------------------------------------


def single_track_price(kind):
    """(cents, currency) of one licence credit for a track of this kind ("music" or "sfx")."""
    if kind == "sfx":
        return settings.BILLING_SINGLE_SFX_PRICE_CENTS, settings.BILLING_CURRENCY
    return settings.BILLING_SINGLE_TRACK_PRICE_CENTS, settings.BILLING_CURRENCY


def membership_agreement():
    """The Premium Membership agreement version in force (or None while none is published)."""
    try:
        from legal import services as legal
    except ImportError:
        return None
    try:
        return legal.current_version(MEMBERSHIP_AGREEMENT)
    except ObjectDoesNotExist:
        return None


def check_can_buy(user, *, item="membership"):
    """Raise CheckoutError unless this account may buy now (account state, agreements, keys).
    ``item`` ("membership" or "track") is what the refusal talks about."""
    from accounts.services import AccountRestricted, check_can_transact

    try:
        check_can_transact(user)
    except AccountRestricted as exc:
        raise CheckoutError(str(exc), getattr(exc, "url", None)) from exc
    try:
        from legal.services import AcceptanceRequired, ensure_current_agreements
    except ImportError:
        pass
    else:
        try:
            ensure_current_agreements(user)
        except AcceptanceRequired as exc:
            raise CheckoutError(str(exc), getattr(exc, "url", None)) from exc
    if not stripe_client.is_configured():
        support = settings.OPERATOR["support_email"]
        if item == "track":
            message = (
                "Card payments are not available on this site yet, so this licence cannot be bought "
                f"online. To buy it, write to {support}."
            )
        else:
            message = (
                "Online payments are not configured on this site yet, so nothing can be bought here. "
                f"Write to {support} and staff can set up your membership."
            )
        raise PaymentsUnavailable(message)


def live_membership(user):
    return Subscription.objects.for_account(user).filter(status__in=LIVE - {Status.INCOMPLETE}).first()


# --- checkout ------------------------------------------------------------------------------


def ensure_customer(user):
    """The account's Stripe customer id, created once (idempotency key per account)."""
    account, _ = BillingAccount.objects.get_or_create(user=user)
    if account.stripe_customer_id:
        return account.stripe_customer_id
    customer = stripe_client.create_customer(
        email=user.email,
        name=user.get_full_name(),
        user_id=user.pk,
        idempotency_key=f"amt-customer-{user.pk}",
    )
    BillingAccount.objects.filter(pk=account.pk, stripe_customer_id__isnull=True).update(
        stripe_customer_id=customer["id"]
    )
    account.refresh_from_db(fields=["stripe_customer_id"])
    return account.stripe_customer_id


def _absolute(path):
    return f"{settings.SITE_URL}{path}"


def start_membership_checkout(*, user, plan, attempt, quantity=1, request=None):
    """Record the confirmation (and the agreement acceptance), then open a Stripe Checkout
    Session for ``plan``. The same ``attempt`` twice returns the same session."""
    existing = Checkout.objects.filter(user=user, attempt=attempt).first()
    if existing is not None:
        return _resume(existing)
    check_can_buy(user)
    if not plan.purchasable:
        raise CheckoutError(
            f"The {plan.name} plan cannot be bought online right now.", reverse("billing:pricing")
        )
    if live_membership(user) is not None:
        raise CheckoutError(
            "You already have a membership. Change plan or seats from your billing page.",
            reverse("billing:account-billing"),
        )
    quantity = max(int(quantity or 1), plan.default_seats, 1) if plan.is_business else 1
    version = membership_agreement()
    if version is None:
        raise CheckoutError(
            "Memberships open as soon as the Premium Membership agreement is published. "
            "Please try again later."
        )
    with transaction.atomic():
        checkout = Checkout.objects.create(
            user=user,
            kind=CheckoutKind.MEMBERSHIP,
            attempt=attempt,
            plan=plan,
            quantity=quantity,
            amount_cents=plan.price_cents * quantity,
            currency=plan.currency,
            agreement_version=str(getattr(version, "pk", version)),
        )
        from legal import services as legal

        legal.record_acceptance(user=user, version=version, method="checkout", request=request)
        record(
            "billing.checkout_confirmed",
            actor=user,
            target=checkout,
            request=request,
            plan=plan.slug,
            quantity=quantity,
        )
    return _open_session(checkout)


def start_track_checkout(*, user, track, attempt, request=None):
    """Open a Stripe Checkout Session for one licence credit for ``track``."""
    existing = Checkout.objects.filter(user=user, attempt=attempt).first()
    if existing is not None:
        return _resume(existing)
    check_can_buy(user, item="track")
    if not getattr(track, "is_published", True):
        raise CheckoutError("This track is not available.")
    cents, currency = single_track_price(track.kind)
    with transaction.atomic():
        checkout = Checkout.objects.create(
            user=user,
            kind=CheckoutKind.TRACK,
            attempt=attempt,
            track=track,
            amount_cents=cents,
            currency=currency,
        )
        record("billing.checkout_confirmed", actor=user, target=checkout, request=request, track=track.slug)
    return _open_session(checkout)


def _resume(checkout):
    if checkout.status == CheckoutStatus.OPEN and checkout.stripe_url:
        return checkout
    if checkout.status == CheckoutStatus.CREATED:
        return _open_session(checkout)
    if checkout.status == CheckoutStatus.COMPLETED:
        raise CheckoutError("This purchase is already paid.", reverse("billing:account-billing"))
    raise CheckoutError("This checkout has ended. Please start again.", reverse("billing:pricing"))


def _session_params(checkout, customer_id):
    success = _absolute(reverse("billing:checkout-success")) + f"?ref={checkout.attempt}"
    cancel = _absolute(reverse("billing:checkout-cancel")) + f"?ref={checkout.attempt}"
    metadata = {"checkout_id": str(checkout.pk), "user_id": str(checkout.user_id)}
    params = {
        "customer": customer_id,
        "client_reference_id": str(checkout.pk),
        "success_url": success,
        "cancel_url": cancel,
        "metadata": metadata,
    }
    if settings.BILLING_STRIPE_TAX:
        params["automatic_tax"] = {"enabled": True}
        params["customer_update"] = {"address": "auto", "name": "auto"}
        params["billing_address_collection"] = "required"
    if settings.BILLING_PROMOTION_CODES:
        params["allow_promotion_codes"] = True
    if checkout.kind == CheckoutKind.MEMBERSHIP:
        metadata["plan"] = checkout.plan.slug
        params["mode"] = "subscription"
        params["line_items"] = [{"price": checkout.plan.stripe_price_id, "quantity": checkout.quantity}]
        params["subscription_data"] = {"metadata": dict(metadata)}
    else:
        metadata["track"] = checkout.track.slug
        params["mode"] = "payment"
        params["line_items"] = [
            {
                "quantity": 1,
                "price_data": {
                    "currency": checkout.currency,
                    "unit_amount": checkout.amount_cents,
                    "product_data": {
                        "name": f"Single licence: {checkout.track.title}",
                        "description": "One licence for one end user and one project.",
                        "metadata": {"track": checkout.track.slug},
                    },
                },
            }
        ]
        params["payment_intent_data"] = {"metadata": dict(metadata)}
        params["invoice_creation"] = {"enabled": True}
    return params


def _open_session(checkout):
    """Call Stripe (outside any transaction) and store the session on the checkout."""
    try:
        customer_id = ensure_customer(checkout.user)
        session = stripe_client.create_checkout_session(
            _session_params(checkout, customer_id), idempotency_key=checkout.idempotency_key
        )
    except stripe_client.PaymentsNotConfigured as exc:
        raise CheckoutError(str(exc)) from exc
    except stripe_client.StripeError as exc:
        log.warning("Stripe refused checkout %s: %s", checkout.pk, exc)
        Checkout.objects.filter(pk=checkout.pk, status=CheckoutStatus.CREATED).update(error=str(exc)[:2000])
        raise CheckoutError(
            "We could not reach our payment provider. Nothing was charged; please try again in a moment."
        ) from exc
    Checkout.objects.filter(pk=checkout.pk, status=CheckoutStatus.CREATED).update(
        stripe_session_id=session["id"],
        stripe_url=session.get("url") or "",
        status=CheckoutStatus.OPEN,
        error="",
    )
    checkout.refresh_from_db()
    return checkout


def stripe_price_problems(*, price_id, price_cents, currency, interval):
    """What stops a plan with these values being sold at the Stripe price ``price_id``, as
    (field, message) pairs; none when Stripe charges what the pricing page shows.

    Raises ``stripe_client.PaymentsNotConfigured`` without a Stripe key and ``StripeError`` when
    Stripe cannot be asked (a price id Stripe does not know is a problem, not an error)."""
    try:
        price = stripe_client.retrieve_price(price_id)
    except stripe_client.InvalidRequestError as exc:
        if getattr(exc, "code", "") != "resource_missing":
            raise
        return [("stripe_price_id", f"Stripe has no price {price_id}.")]
    problems = []
    named = f"The Stripe price {price_id}"
    if not price.get("active", True):
        problems.append(("stripe_price_id", f"{named} is archived: new buyers cannot use it."))
    recurring = price.get("recurring") or {}
    every = int(recurring.get("interval_count") or 1)
    if price.get("type", "recurring") != "recurring" or not recurring:
        problems.append(("stripe_price_id", f"{named} is a one-off price, not a membership's."))
    elif recurring.get("interval") != interval or every != 1:
        renews = f"{every} {recurring.get('interval')}"
        problems.append(("interval", f"{named} renews every {renews}; this plan every 1 {interval}."))
    charged_in = (price.get("currency") or "").lower()
    if charged_in != currency.lower():
        problems.append(("currency", f"{named} is in {charged_in.upper() or '?'}, not {currency.upper()}."))
    if price.get("billing_scheme", "per_unit") != "per_unit" or price.get("unit_amount") is None:
        problems.append(("stripe_price_id", f"{named} is tiered or custom: the site shows one price a seat."))
    elif int(price["unit_amount"]) != price_cents:
        charged = format_money(price["unit_amount"], charged_in or currency)
        shown = format_money(price_cents, currency)
        problems.append(("price_cents", f"{named} charges {charged}; the plan says {shown}."))
    return problems


def portal_url(*, user, return_url):
    """A one-time link into Stripe's Customer Portal for this account."""
    account = BillingAccount.objects.filter(user=user).first()
    if account is None or not account.stripe_customer_id:
        raise CheckoutError("You have no paid membership to manage yet.", reverse("billing:pricing"))
    if not stripe_client.is_configured():
        raise CheckoutError("Online payments are not configured on this site yet.")
    try:
        session = stripe_client.create_portal_session(
            customer_id=account.stripe_customer_id,
            return_url=return_url,
            idempotency_key=f"amt-portal-{user.pk}-{uuid.uuid4()}",
        )
    except stripe_client.StripeError as exc:
        log.warning("Stripe refused a portal session for %s: %s", user.pk, exc)
        raise CheckoutError("We could not open the billing portal. Please try again in a moment.") from exc
    return session["url"]


# --- completing purchases (called from webhook processing) -----------------------------------


@transaction.atomic
def complete_track_checkout(checkout, *, payment_intent_id):
    """Turn a paid single-track checkout into its credit. Safe to call twice."""
    checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
    credit = TrackCredit.objects.filter(checkout=checkout).first()
    if credit is not None:
        return credit, False
    credit = TrackCredit.objects.create(
        user=checkout.user,
        track=checkout.track,
        checkout=checkout,
        purchase_ref=payment_intent_id or "",
        amount_cents=checkout.amount_cents,
        currency=checkout.currency,
    )
    _mark_completed(checkout, payment_intent_id)
    record(
        "billing.credit_purchased", target=credit, track=checkout.track.slug, payment_intent=payment_intent_id
    )
    emails.track_purchased(credit)
    return credit, True


def _mark_completed(checkout, payment_intent_id=""):
    Checkout.objects.filter(pk=checkout.pk).exclude(status=CheckoutStatus.COMPLETED).update(
        status=CheckoutStatus.COMPLETED,
        completed_at=timezone.now(),
        stripe_payment_intent_id=payment_intent_id or "",
    )


# --- enterprise seats --------------------------------------------------------------------


def business_seats(sub):
    account = BillingAccount.objects.filter(user=sub.user).first()
    extra = account.extra_seats if account else 0
    return max(sub.quantity, sub.plan.default_seats, 1) + extra


@transaction.atomic
def apply_business_seats(sub, *, actor=None):
    """A business membership makes the account an enterprise (whether or not it applied)
    and sets its designated-user seats: the quantity bought plus seats staff granted."""
    from accounts.services import mark_enterprise

    User = get_user_model()
    mark_enterprise(user=sub.user, source="purchase", actor=actor)
    seats = business_seats(sub)
    old = User.objects.filter(pk=sub.user_id).values_list("designated_seats", flat=True).first()
    if old != seats:
        User.objects.filter(pk=sub.user_id).update(designated_seats=seats)
        sub.user.designated_seats = seats
        record("billing.seats_set", actor=actor, target=sub.user, old=old, new=seats, subscription=sub.pk)
    return seats


# --- staff actions -------------------------------------------------------------------------


def check_can_grant_complimentary(user, *, actor=None):
    """Raise CheckoutError unless staff member ``actor`` may grant ``user`` a membership now: not to a
    cancelled account (it can never be used again), not to their own account (another staff member
    grants that), not on top of a live one (the grant form asks first; the grant asks again under the
    account's lock)."""
    if user.is_cancelled:
        raise CheckoutError("This account is cancelled: it can no longer be given a membership.")
    if actor is not None and actor.pk == user.pk:
        raise CheckoutError("You cannot grant a membership to your own account; ask another staff member.")
    if live_membership(user) is not None:
        raise CheckoutError(f"{user} already has a membership; end it first.")


@transaction.atomic
def grant_complimentary_membership(*, user, plan, ends_at, actor, reason, quantity=1, request=None):
    """Staff give an account a membership without payment (also how development runs
    without Stripe keys). Audited."""
    now = timezone.now()
    if ends_at <= now:
        raise CheckoutError("The end date must be in the future.")
    if not reason.strip():
        raise CheckoutError("Say why this membership is granted.")
    if plan.is_business and quantity > BillingAccount.MAX_EXTRA_SEATS:
        raise CheckoutError(f"Grant at most {BillingAccount.MAX_EXTRA_SEATS:,} seats.")
    locked = get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    check_can_grant_complimentary(locked or user, actor=actor)
    sub = Subscription.objects.create(
        user=user,
        plan=plan,
        source=Source.COMPLIMENTARY,
        status=Status.ACTIVE,
        quantity=max(quantity, 1) if plan.is_business else 1,  # seats are a business plan's
        started_at=now,
        current_period_start=now,
        current_period_end=ends_at,
        granted_by=actor,
        grant_reason=reason,
    )
    record(
        "billing.complimentary_granted",
        actor=actor,
        target=sub,
        reason=reason,
        request=request,
        user=user.pk,
        plan=plan.slug,
        ends_at=ends_at.isoformat(),
    )
    if plan.is_business:
        apply_business_seats(sub, actor=actor)
    emails.membership_started(sub)
    return sub


@transaction.atomic
def end_complimentary_membership(*, subscription, actor, reason, request=None):
    sub = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if not sub.is_complimentary:
        raise CheckoutError("Paid memberships are ended in Stripe (the customer's portal or the dashboard).")
    if sub.status in TERMINAL:
        return sub
    sub.status = Status.CANCELED
    sub.ended_at = timezone.now()
    sub.save(update_fields=["status", "ended_at", "updated_at"])
    record("billing.complimentary_ended", actor=actor, target=sub, reason=reason, request=request)
    emails.membership_ended(sub)
    return sub


def _live_business_membership(user):
    return (
        Subscription.objects.for_account(user)
        .filter(status__in=(Status.ACTIVE, Status.TRIALING), plan__is_business=True)
        .first()
    )


def check_can_set_extra_seats(user, extra_seats, *, current=0, actor=None):
    """Raise CheckoutError unless staff may set ``user``'s extra seats from ``current`` to
    ``extra_seats``: at most ``BillingAccount.MAX_EXTRA_SEATS``, and only on an enterprise account
    (or one with a business membership, which makes it one): an individual account has exactly one
    end user, so seats would mean nothing there. Taking seats away is always allowed. The seat
    forms ask first; ``set_extra_seats`` asks again under the account's lock."""
    if extra_seats < 0:
        raise CheckoutError("Extra seats cannot be negative.")
    if extra_seats <= current:
        return
    if actor is not None and actor.pk == user.pk:
        raise CheckoutError("You cannot grant seats to your own account; ask another staff member.")
    if extra_seats > BillingAccount.MAX_EXTRA_SEATS:
        raise CheckoutError(f"Grant at most {BillingAccount.MAX_EXTRA_SEATS:,} extra seats.")
    if extra_seats and not user.is_enterprise and _live_business_membership(user) is None:
        raise CheckoutError(
            f"{user} is not an enterprise account: an individual account has exactly one end user. "
            "Seats can be granted once it is an enterprise (an approved application or a business plan)."
        )


@transaction.atomic
def set_extra_seats(*, user, extra_seats, actor, reason, request=None):
    """Staff grant designated-user seats on top of the purchased quantity. Audited."""
    if not reason.strip():
        raise CheckoutError("Say why the seats change.")
    User = get_user_model()
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    account, _ = BillingAccount.objects.select_for_update().get_or_create(user=user)
    check_can_set_extra_seats(locked or user, extra_seats, current=account.extra_seats, actor=actor)
    old = account.extra_seats
    account.extra_seats = extra_seats
    account.save(update_fields=["extra_seats", "updated_at"])
    record(
        "billing.extra_seats",
        actor=actor,
        target=user,
        reason=reason,
        request=request,
        old=old,
        new=extra_seats,
    )
    business = _live_business_membership(user)
    if business is not None:
        apply_business_seats(business, actor=actor)
    else:
        seats = User.objects.filter(pk=user.pk).values_list("designated_seats", flat=True).first() or 1
        new = max(seats - old + extra_seats, 1)
        User.objects.filter(pk=user.pk).update(designated_seats=new)
        record("billing.seats_set", actor=actor, target=user, old=seats, new=new)
    return account


@transaction.atomic
def resolve_task(*, task, actor, resolution):
    StaffTask.objects.filter(pk=task.pk, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=actor, resolution=resolution
    )
    record("billing.task_resolved", actor=actor, target=task, reason=resolution)


# --- refunds and disputes -----------------------------------------------------------------


@transaction.atomic
def revoke_or_flag_credits(*, payment_intent_id, kind, stripe_object_id, details):
    """A refund or dispute on a single-track purchase: revoke the credit if unused; if it was
    used, open a staff task (licences are never revoked automatically)."""
    credits = list(TrackCredit.objects.select_for_update().filter(purchase_ref=payment_intent_id))
    outcome = []
    for credit in credits:
        revoked = TrackCredit.objects.filter(pk=credit.pk, status=CreditStatus.AVAILABLE).update(
            status=CreditStatus.REVOKED,
            revoked_at=timezone.now(),
            revoked_reason=f"{kind}: {stripe_object_id}",
        )
        if revoked:
            credit.refresh_from_db()
            record("billing.credit_revoked", target=credit, why=kind, stripe_object=stripe_object_id)
            emails.credit_revoked(credit)
            outcome.append(("revoked", credit))
        elif credit.status == CreditStatus.USED:
            task_kind = TaskKind.REFUND_USED_CREDIT if kind == "refund" else TaskKind.DISPUTE_USED_CREDIT
            task, _ = StaffTask.objects.get_or_create(
                kind=task_kind,
                stripe_object_id=stripe_object_id,
                defaults={"user": credit.user, "credit": credit, "details": details},
            )
            outcome.append(("flagged", credit))
    return outcome


@transaction.atomic
def open_task(*, kind, user, stripe_object_id, details, credit=None):
    task, created = StaffTask.objects.get_or_create(
        kind=kind,
        stripe_object_id=stripe_object_id,
        defaults={"user": user, "credit": credit, "details": details},
    )
    if created:
        who = user.email if user is not None else "no account"
        alert_staff(f"Billing task: {task.get_kind_display()} ({who})", task, details=details)
    return task


# --- account cancellation -------------------------------------------------------------------


def cancel_account_billing(user_id):
    """An account was cancelled: end its memberships (at Stripe, now) and its unused credits.
    Safe to run twice. Invoices, used credits and licences stay."""
    User = get_user_model()
    user = User.objects.get(pk=user_id)
    from .sync import sync_subscription

    for sub in Subscription.objects.for_account(user).exclude(status__in=TERMINAL):
        if sub.is_complimentary:
            end_complimentary_membership(subscription=sub, actor=None, reason="Account cancelled")
            continue
        data = stripe_client.cancel_subscription(
            sub.stripe_subscription_id, idempotency_key=f"amt-cancel-{sub.stripe_subscription_id}"
        )
        sync_subscription(data, seen_at=timezone.now(), why="account cancelled")
    with transaction.atomic():
        revoked = TrackCredit.objects.filter(user=user, status=CreditStatus.AVAILABLE).update(
            status=CreditStatus.REVOKED, revoked_at=timezone.now(), revoked_reason="Account cancelled"
        )
        Checkout.objects.filter(user=user, status__in=[CheckoutStatus.CREATED, CheckoutStatus.OPEN]).update(
            status=CheckoutStatus.EXPIRED
        )
        record("billing.account_cancelled", target=user, credits_revoked=revoked)


# --- reconciliation -----------------------------------------------------------------------


def reconcile(*, since_days=None):
    """Re-fetch from Stripe every subscription that is live or changed recently and correct
    the mirror; expire complimentary memberships past their end. Returns what changed."""
    from .sync import sync_subscription

    since_days = since_days or settings.BILLING_RECONCILE_DAYS
    now = timezone.now()
    changed = []
    for sub in Subscription.objects.filter(
        source=Source.COMPLIMENTARY, status__in=LIVE, current_period_end__lte=now
    ):
        with transaction.atomic():
            updated = Subscription.objects.filter(pk=sub.pk, status__in=LIVE).update(
                status=Status.CANCELED, ended_at=sub.current_period_end
            )
            if updated:
                record("billing.complimentary_expired", target=sub)
                emails.membership_ended(sub)
                changed.append({"subscription": sub.pk, "status": [sub.status, Status.CANCELED]})
    if not stripe_client.is_configured():
        return changed
    recent = now - timezone.timedelta(days=since_days)
    candidates = Subscription.objects.filter(source=Source.STRIPE).exclude(
        status__in=TERMINAL
    ) | Subscription.objects.filter(source=Source.STRIPE, updated_at__gte=recent)
    for sub in candidates.distinct().order_by("pk"):
        try:
            data = stripe_client.retrieve_subscription(sub.stripe_subscription_id)
        except stripe_client.StripeError as exc:
            log.warning("Reconciliation could not fetch %s: %s", sub.stripe_subscription_id, exc)
            continue
        _sub, changes = sync_subscription(data, seen_at=timezone.now(), why="reconciliation")
        if changes:
            record("billing.reconciled", target=_sub, changes=changes)
            changed.append({"subscription": _sub.pk, **changes})
    return changed


__all__ = ["CheckoutError", "PaymentsUnavailable", "Plan"]
