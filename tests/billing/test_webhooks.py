"""Stripe webhooks: signed events in Stripe's shapes posted to the real URL."""

import datetime
import json

import pytest
from django.core import mail
from django.utils import timezone

from billing.models import (
    BillingAccount,
    Checkout,
    Invoice,
    StaffTask,
    StripeEvent,
    Subscription,
    TrackCredit,
)
from tests.billing.helpers import (
    charge_obj,
    checkout_session_obj,
    dispute_obj,
    event,
    invoice_obj,
    sign,
    subscription_obj,
    ts,
)
from tests.factories import TrackCreditFactory, TrackFactory

pytestmark = pytest.mark.django_db


def _customer(user, customer_id="cus_owner"):
    BillingAccount.objects.create(user=user, stripe_customer_id=customer_id)
    return customer_id


def _sub_event(type_, user, plan, *, status="active", created=None, sub_id="sub_owner", **kwargs):
    obj = subscription_obj(
        sub_id, customer="cus_owner", price=plan.stripe_price_id, status=status, user_id=user.pk, **kwargs
    )
    return event(type_, obj, created=created)


# --- signature ----------------------------------------------------------------------------


def test_bad_signature_is_refused_with_400_and_nothing_is_stored(webhook, owner, plans):
    evt = _sub_event("customer.subscription.created", owner, plans["pro-monthly"])
    payload = json.dumps(evt)
    response = webhook.post(evt, signature=sign(payload, secret="whsec_wrong"))
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert not Subscription.objects.exists()


def test_missing_signature_is_refused(webhook, owner, plans):
    response = webhook.post(
        _sub_event("customer.subscription.created", owner, plans["pro-monthly"]), signature=""
    )
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_signature_older_than_five_minutes_is_refused(webhook, owner, plans):
    evt = _sub_event("customer.subscription.created", owner, plans["pro-monthly"])
    payload = json.dumps(evt)
    response = webhook.post(evt, signature=sign(payload, timestamp=ts() - 600))
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_tampered_body_is_refused(webhook, owner, plans):
    evt = _sub_event("customer.subscription.created", owner, plans["pro-monthly"])
    header = sign(json.dumps(evt))
    evt["data"]["object"]["status"] = "trialing"
    assert webhook.post(evt, signature=header).status_code == 400
    assert not StripeEvent.objects.exists()


def test_webhook_without_a_configured_secret_refuses_everything(webhook, owner, plans, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    evt = _sub_event("customer.subscription.created", owner, plans["pro-monthly"])
    assert webhook.post(evt).status_code == 400
    assert not StripeEvent.objects.exists()


def test_webhook_answers_get_with_405(client):
    assert client.get("/billing/stripe/webhook/").status_code == 405


# --- idempotency and ordering ---------------------------------------------------------------


def test_the_same_event_twice_is_stored_once_and_changes_nothing_the_second_time(webhook, owner, plans):
    _customer(owner)
    evt = _sub_event("customer.subscription.created", owner, plans["pro-monthly"])
    first = webhook.post(evt)
    assert first.status_code == 200
    sub = Subscription.objects.get()
    assert sub.status == "active"
    sent = len(mail.outbox)
    updated_at = sub.updated_at

    second = webhook.post(evt)
    assert second.status_code == 200
    assert second.content == b"duplicate"
    assert StripeEvent.objects.count() == 1
    assert Subscription.objects.count() == 1
    sub.refresh_from_db()
    assert sub.updated_at == updated_at
    assert len(mail.outbox) == sent


def test_events_are_processed_after_commit_and_marked_processed(webhook, owner, plans):
    _customer(owner)
    webhook.post(_sub_event("customer.subscription.created", owner, plans["pro-monthly"]))
    stored = StripeEvent.objects.get()
    assert stored.processed_at is not None
    assert stored.error == ""
    assert stored.type == "customer.subscription.created"


def test_unknown_event_types_are_stored_and_ignored(webhook):
    response = webhook.post(event("customer.tax_id.created", {"id": "txi_1", "object": "tax_id"}))
    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.processed_at is not None
    assert not Subscription.objects.exists()


def test_subscription_updated_before_checkout_completed_ends_active_once(webhook, fake_stripe, buyer, plans):
    plan = plans["personal-monthly"]
    checkout = Checkout.objects.create(
        user=buyer,
        kind="membership",
        plan=plan,
        amount_cents=plan.price_cents,
        currency="usd",
        status="open",
        stripe_session_id="cs_test_1",
    )
    customer = _customer(buyer)
    now = timezone.now()
    sub_data = subscription_obj("sub_early", customer=customer, price=plan.stripe_price_id, user_id=buyer.pk)
    fake_stripe.subscriptions["sub_early"] = sub_data

    webhook.post(event("customer.subscription.updated", sub_data, created=ts(now)))
    sub = Subscription.objects.get()
    assert sub.status == "active" and sub.plan == plan and sub.user == buyer

    session = checkout_session_obj(
        "cs_test_1", checkout=checkout, mode="subscription", customer=customer, subscription="sub_early"
    )
    webhook.post(
        event("checkout.session.completed", session, created=ts(now - datetime.timedelta(seconds=5)))
    )
    checkout.refresh_from_db()
    assert checkout.status == "completed"
    assert Subscription.objects.count() == 1
    sub.refresh_from_db()
    assert sub.status == "active"
    started = [m for m in mail.outbox if "is active" in m.subject]
    assert len(started) == 1


def test_checkout_completed_first_fetches_the_subscription_from_stripe(webhook, fake_stripe, buyer, plans):
    plan = plans["pro-yearly"]
    checkout = Checkout.objects.create(
        user=buyer,
        kind="membership",
        plan=plan,
        amount_cents=plan.price_cents,
        currency="usd",
        status="open",
        stripe_session_id="cs_test_2",
    )
    fake_stripe.subscriptions["sub_new"] = subscription_obj(
        "sub_new", customer="cus_brand_new", price=plan.stripe_price_id, user_id=buyer.pk
    )
    session = checkout_session_obj(
        "cs_test_2", checkout=checkout, mode="subscription", customer="cus_brand_new", subscription="sub_new"
    )
    webhook.post(event("checkout.session.completed", session))
    sub = Subscription.objects.get()
    assert (sub.user, sub.plan, sub.status) == (buyer, plan, "active")
    assert BillingAccount.objects.get(user=buyer).stripe_customer_id == "cus_brand_new"
    assert "retrieve_subscription" in fake_stripe.names()


def test_deleted_then_a_stale_updated_leaves_the_subscription_ended(webhook, owner, plans):
    _customer(owner)
    plan = plans["pro-monthly"]
    now = timezone.now()
    webhook.post(
        _sub_event(
            "customer.subscription.created", owner, plan, created=ts(now - datetime.timedelta(hours=2))
        )
    )
    webhook.post(
        _sub_event(
            "customer.subscription.deleted", owner, plan, status="canceled", created=ts(now), ended_at=now
        )
    )
    sub = Subscription.objects.get()
    assert sub.status == "canceled"

    # An update made before the deletion arrives late: it is older, so it is ignored.
    webhook.post(
        _sub_event(
            "customer.subscription.updated",
            owner,
            plan,
            status="active",
            created=ts(now - datetime.timedelta(hours=1)),
        )
    )
    sub.refresh_from_db()
    assert sub.status == "canceled"

    # Even with a newer timestamp, an ended subscription never comes back.
    webhook.post(
        _sub_event(
            "customer.subscription.updated",
            owner,
            plan,
            status="active",
            created=ts(now + datetime.timedelta(minutes=1)),
        )
    )
    sub.refresh_from_db()
    assert sub.status == "canceled"
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == 4


def test_older_update_arriving_after_a_newer_one_is_ignored(webhook, owner, plans):
    _customer(owner)
    plan = plans["pro-monthly"]
    now = timezone.now()
    webhook.post(
        _sub_event("customer.subscription.updated", owner, plan, created=ts(now), cancel_at_period_end=True)
    )
    webhook.post(
        _sub_event(
            "customer.subscription.updated", owner, plan, created=ts(now - datetime.timedelta(minutes=3))
        )
    )
    assert Subscription.objects.get().cancel_at_period_end is True


def test_payment_failure_then_recovery(webhook, owner, plans):
    customer = _customer(owner)
    plan = plans["personal-monthly"]
    now = timezone.now()
    webhook.post(
        _sub_event("customer.subscription.created", owner, plan, created=ts(now - datetime.timedelta(days=1)))
    )
    mail.outbox.clear()

    failed = invoice_obj(
        "in_0001",
        customer=customer,
        subscription="sub_owner",
        status="open",
        attempt_count=1,
        next_attempt=now + datetime.timedelta(days=3),
    )
    webhook.post(event("invoice.payment_failed", failed, created=ts(now)))
    sub = Subscription.objects.get()
    assert sub.status == "past_due"
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.attempt_count, invoice.user) == ("open", 1, owner)
    assert [m.subject for m in mail.outbox] == ["[AllMyTracks] Your payment for Personal failed"] or any(
        "payment for Personal failed" in m.subject for m in mail.outbox
    )
    assert len(mail.outbox) == 1

    # Stripe's own subscription.updated (past_due) changes nothing more and sends nothing more.
    webhook.post(
        _sub_event(
            "customer.subscription.updated",
            owner,
            plan,
            status="past_due",
            created=ts(now + datetime.timedelta(seconds=1)),
        )
    )
    assert len(mail.outbox) == 1

    paid = invoice_obj("in_0001", customer=customer, subscription="sub_owner", status="paid", attempt_count=2)
    webhook.post(event("invoice.paid", paid, created=ts(now + datetime.timedelta(hours=1))))
    sub.refresh_from_db()
    assert sub.status == "active"
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.amount_paid == 1299
    assert any("went through" in m.subject for m in mail.outbox)

    # A late copy of the open invoice never turns a paid one back.
    webhook.post(event("invoice.updated", failed, created=ts(now + datetime.timedelta(hours=2))))
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_cancellation_at_period_end_is_mirrored_and_emailed(webhook, owner, plans):
    _customer(owner)
    plan = plans["pro-monthly"]
    now = timezone.now()
    webhook.post(
        _sub_event("customer.subscription.created", owner, plan, created=ts(now - datetime.timedelta(days=1)))
    )
    webhook.post(
        _sub_event("customer.subscription.updated", owner, plan, created=ts(now), cancel_at_period_end=True)
    )
    sub = Subscription.objects.get()
    assert sub.cancel_at_period_end and sub.status == "active"
    assert any("will end on" in m.subject for m in mail.outbox)
    webhook.post(
        _sub_event(
            "customer.subscription.deleted",
            owner,
            plan,
            status="canceled",
            created=ts(now + datetime.timedelta(days=30)),
            ended_at=now,
        )
    )
    sub.refresh_from_db()
    assert sub.status == "canceled"
    assert any("has ended" in m.subject for m in mail.outbox)


def test_subscription_for_an_unknown_customer_is_kept_with_an_error(webhook, plans):
    obj = subscription_obj("sub_x", customer="cus_nobody", price=plans["pro-monthly"].stripe_price_id)
    assert webhook.post(event("customer.subscription.created", obj)).status_code == 200
    stored = StripeEvent.objects.get()
    assert "No account" in stored.error
    assert not Subscription.objects.exists()


# --- business plan -------------------------------------------------------------------------


def test_buying_the_business_plan_makes_the_account_enterprise_with_the_seats_bought(webhook, owner, plans):
    _customer(owner)
    plan = plans["business-monthly"]
    webhook.post(_sub_event("customer.subscription.created", owner, plan, quantity=4))
    owner.refresh_from_db()
    assert owner.is_enterprise
    assert owner.enterprise_source == "purchase"
    assert owner.designated_seats == 4

    webhook.post(
        _sub_event(
            "customer.subscription.updated",
            owner,
            plan,
            quantity=6,
            created=ts(timezone.now() + datetime.timedelta(minutes=1)),
        )
    )
    owner.refresh_from_db()
    assert owner.designated_seats == 6


# --- single tracks, refunds and disputes ----------------------------------------------------


def _track_checkout(user, track, session_id="cs_track_1"):
    return Checkout.objects.create(
        user=user,
        kind="track",
        track=track,
        amount_cents=1900,
        currency="usd",
        status="open",
        stripe_session_id=session_id,
    )


def test_a_paid_single_track_checkout_creates_one_credit_for_that_track(webhook, buyer):
    track = TrackFactory()
    checkout = _track_checkout(buyer, track)
    session = checkout_session_obj(
        "cs_track_1", checkout=checkout, mode="payment", payment_intent="pi_track_1"
    )
    webhook.post(event("checkout.session.completed", session))
    webhook.post(event("checkout.session.completed", session))  # a second, distinct delivery of the same news
    credit = TrackCredit.objects.get()
    assert (credit.user, credit.track, credit.status, credit.purchase_ref) == (
        buyer,
        track,
        "available",
        "pi_track_1",
    )
    assert Checkout.objects.get().status == "completed"
    assert sum("licence credit" in m.subject for m in mail.outbox) == 1


def test_an_unpaid_session_grants_nothing(webhook, buyer):
    track = TrackFactory()
    checkout = _track_checkout(buyer, track)
    session = checkout_session_obj("cs_track_1", checkout=checkout, mode="payment", payment_intent="pi_1")
    session["payment_status"] = "unpaid"
    webhook.post(event("checkout.session.completed", session))
    assert not TrackCredit.objects.exists()
    session["payment_status"] = "paid"
    webhook.post(event("checkout.session.async_payment_succeeded", session))
    assert TrackCredit.objects.get().status == "available"


def test_refund_of_an_unused_credit_revokes_it(webhook, owner):
    credit = TrackCreditFactory(user=owner, purchase_ref="pi_refund_1")
    webhook.post(event("charge.refunded", charge_obj("ch_1", payment_intent="pi_refund_1")))
    credit.refresh_from_db()
    assert credit.status == "revoked"
    assert "refund" in credit.revoked_reason
    assert not StaffTask.objects.exists()


def test_refund_of_a_used_credit_opens_a_staff_task_and_revokes_nothing(webhook, owner):
    credit = TrackCreditFactory(user=owner, purchase_ref="pi_refund_2", status="used", used_at=timezone.now())
    webhook.post(event("charge.refunded", charge_obj("ch_2", payment_intent="pi_refund_2")))
    credit.refresh_from_db()
    assert credit.status == "used"
    task = StaffTask.objects.get()
    assert (task.kind, task.credit, task.user) == ("refund-used", credit, owner)


def test_partial_refund_keeps_the_credit_and_tells_staff(webhook, owner):
    credit = TrackCreditFactory(user=owner, purchase_ref="pi_partial")
    webhook.post(
        event(
            "charge.refunded",
            charge_obj("ch_3", payment_intent="pi_partial", refunded=False, amount_refunded=500),
        )
    )
    credit.refresh_from_db()
    assert credit.status == "available"
    assert StaffTask.objects.get().kind == "partial-refund"


def test_dispute_on_an_unused_credit_revokes_it_and_on_a_used_one_tells_staff(webhook, owner):
    unused = TrackCreditFactory(user=owner, purchase_ref="pi_d1")
    used = TrackCreditFactory(user=owner, purchase_ref="pi_d2", status="used", used_at=timezone.now())
    webhook.post(event("charge.dispute.created", dispute_obj("dp_1", payment_intent="pi_d1")))
    webhook.post(event("charge.dispute.created", dispute_obj("dp_2", payment_intent="pi_d2")))
    unused.refresh_from_db()
    used.refresh_from_db()
    assert unused.status == "revoked"
    assert used.status == "used"
    assert StaffTask.objects.get().kind == "dispute-used"
