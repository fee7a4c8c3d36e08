"""Billing test helpers: Stripe-shaped events signed with Stripe's real scheme, posted to the
real webhook URL, and a recorder standing in for ``billing/stripe_client.py``'s outgoing calls."""

import datetime
import hashlib
import hmac
import io
import itertools
import json
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import services, stripe_client

WEBHOOK_SECRET = "whsec_test_allmytracks"
_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _stripe_settings(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_allmytracks"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.SITE_URL = "http://testserver"


def sign(payload: str, secret=WEBHOOK_SECRET, timestamp=None):
    """Stripe's signature header: t=<unix>,v1=HMAC-SHA256(secret, "<t>.<payload>")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def ts(moment=None):
    return int((moment or timezone.now()).timestamp())


def event(type_, obj, *, created=None, event_id=None):
    return {
        "id": event_id or f"evt_test_{next(_ids):08d}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created if created is not None else ts(),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type_,
    }


def subscription_obj(
    sub_id,
    *,
    customer,
    price,
    status="active",
    quantity=1,
    user_id=None,
    plan_slug="",
    period_start=None,
    period_end=None,
    cancel_at_period_end=False,
    ended_at=None,
):
    now = timezone.now()
    start = period_start or now - datetime.timedelta(days=1)
    end = period_end or start + datetime.timedelta(days=30)
    metadata = {"user_id": str(user_id)} if user_id else {}
    if plan_slug:
        metadata["plan"] = plan_slug
    return {
        "id": sub_id,
        "object": "subscription",
        "billing_cycle_anchor": ts(start),
        "cancel_at": ts(end) if cancel_at_period_end else None,
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": ts(now) if status == "canceled" else None,
        "collection_method": "charge_automatically",
        "created": ts(start),
        "currency": "usd",
        "customer": customer,
        "ended_at": ts(ended_at) if ended_at else None,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_{sub_id}",
                    "object": "subscription_item",
                    "current_period_end": ts(end),
                    "current_period_start": ts(start),
                    "price": {
                        "id": price,
                        "object": "price",
                        "currency": "usd",
                        "recurring": {"interval": "month"},
                    },
                    "quantity": quantity,
                    "subscription": sub_id,
                }
            ],
            "has_more": False,
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": metadata,
        "start_date": ts(start),
        "status": status,
        "trial_end": None,
    }


def invoice_obj(inv_id, *, customer, subscription, status, amount=1299, attempt_count=1, next_attempt=None):
    return {
        "id": inv_id,
        "object": "invoice",
        "amount_due": amount,
        "amount_paid": amount if status == "paid" else 0,
        "amount_remaining": 0 if status == "paid" else amount,
        "attempt_count": attempt_count,
        "attempted": True,
        "billing_reason": "subscription_cycle",
        "created": ts(),
        "currency": "usd",
        "customer": customer,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/{inv_id}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/{inv_id}/pdf",
        "next_payment_attempt": ts(next_attempt) if next_attempt else None,
        "number": f"AMT-{inv_id[-4:].upper()}",
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription},
        },
        "status": status,
    }


def checkout_session_obj(
    session_id, *, checkout, mode, customer="cus_test", subscription=None, payment_intent=None
):
    return {
        "id": session_id,
        "object": "checkout.session",
        "amount_total": checkout.amount_cents,
        "client_reference_id": str(checkout.pk),
        "currency": checkout.currency,
        "customer": customer,
        "metadata": {"checkout_id": str(checkout.pk), "user_id": str(checkout.user_id)},
        "mode": mode,
        "payment_intent": payment_intent,
        "payment_status": "paid",
        "status": "complete",
        "subscription": subscription,
    }


def charge_obj(charge_id, *, payment_intent, refunded=True, amount=1900, amount_refunded=None):
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_refunded": amount if amount_refunded is None else amount_refunded,
        "currency": "usd",
        "paid": True,
        "payment_intent": payment_intent,
        "refunded": refunded,
        "status": "succeeded",
    }


def dispute_obj(dispute_id, *, payment_intent, charge="ch_test"):
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": 1900,
        "charge": charge,
        "currency": "usd",
        "payment_intent": payment_intent,
        "reason": "fraudulent",
        "status": "needs_response",
    }


class Webhook:
    """Posts signed events to the real URL and runs the on-commit processing."""

    def __init__(self, client, capture):
        self.client = client
        self.capture = capture

    def post(self, evt, *, signature=None, raw=None):
        payload = raw if raw is not None else json.dumps(evt)
        header = signature if signature is not None else sign(payload)
        with self.capture(execute=True):
            return self.client.post(
                reverse("billing:webhook"),
                data=payload,
                content_type="application/json",
                headers={"Stripe-Signature": header},
            )


@pytest.fixture
def webhook(client, django_capture_on_commit_callbacks):
    return Webhook(client, django_capture_on_commit_callbacks)


class FakeStripe:
    """Records every outgoing call (with its idempotency key) and answers like Stripe would."""

    def __init__(self):
        self.calls = []
        self.subscriptions = {}
        self.sessions = {}
        self.prices = {}
        self.unreachable = False

    def create_customer(self, *, email, name, user_id, idempotency_key):
        self.calls.append(("create_customer", idempotency_key, {"email": email}))
        return {"id": f"cus_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:10]}", "email": email}

    def create_checkout_session(self, params, *, idempotency_key):
        self.calls.append(("create_checkout_session", idempotency_key, params))
        session = self.sessions.get(idempotency_key)
        if session is None:  # Stripe answers a repeated key with the first result
            sid = f"cs_test_{len(self.sessions) + 1:04d}"
            session = {
                "id": sid,
                "url": f"https://checkout.stripe.com/c/pay/{sid}",
                "object": "checkout.session",
            }
            self.sessions[idempotency_key] = session
        return session

    def create_portal_session(self, *, customer_id, return_url, idempotency_key):
        self.calls.append(("create_portal_session", idempotency_key, {"customer": customer_id}))
        return {"id": "bps_test", "url": f"https://billing.stripe.com/p/session/{customer_id}"}

    def add_price(self, price_id, *, unit_amount, currency="usd", interval="month", **extra):
        self.prices[price_id] = {
            "id": price_id,
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "currency": currency,
            "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"},
            "type": "recurring",
            "unit_amount": unit_amount,
            **extra,
        }

    def retrieve_price(self, price_id):
        self.calls.append(("retrieve_price", None, price_id))
        if self.unreachable:
            raise stripe_client.StripeError("Network error")
        if price_id not in self.prices:
            raise stripe_client.InvalidRequestError(
                f"No such price: '{price_id}'", "id", code="resource_missing", http_status=404
            )
        return self.prices[price_id]

    def retrieve_subscription(self, subscription_id):
        self.calls.append(("retrieve_subscription", None, subscription_id))
        return self.subscriptions[subscription_id]

    def cancel_subscription(self, subscription_id, *, idempotency_key):
        self.calls.append(("cancel_subscription", idempotency_key, subscription_id))
        data = dict(self.subscriptions[subscription_id], status="canceled", ended_at=ts())
        self.subscriptions[subscription_id] = data
        return data

    def names(self):
        return [name for name, _key, _params in self.calls]


@pytest.fixture
def fake_stripe(monkeypatch):
    fake = FakeStripe()
    for name in (
        "create_customer",
        "create_checkout_session",
        "create_portal_session",
        "retrieve_subscription",
        "retrieve_price",
        "cancel_subscription",
    ):
        monkeypatch.setattr(stripe_client, name, getattr(fake, name))
    return fake


@pytest.fixture
def plans(db):
    from django.core.management import call_command

    from billing.models import Plan

    call_command("seed_plans", stdout=io.StringIO())
    for plan in Plan.objects.exclude(slug="free"):
        plan.stripe_price_id = f"price_{plan.slug.replace('-', '_')}"
        plan.save(update_fields=["stripe_price_id"])
    return {p.slug: p for p in Plan.objects.all()}


@pytest.fixture
def buyer(owner):
    """The owner persona, able to buy: adult, verified email, agreements in force accepted."""
    owner.date_of_birth = datetime.date(1990, 5, 17)
    owner.save(update_fields=["date_of_birth"])
    return owner


@pytest.fixture
def membership_terms(db):
    from tests.factories import publish_agreement

    return publish_agreement("premium-membership")


def grant_for_30_days(user, plan, actor, **kwargs):
    """``services.grant_complimentary_membership`` of ``plan`` to ``user`` for 30 days from now
    (the reason "Launch partner" unless one is given)."""
    return services.grant_complimentary_membership(
        user=user,
        plan=plan,
        ends_at=timezone.now() + datetime.timedelta(days=30),
        actor=actor,
        **{"reason": "Launch partner", **kwargs},
    )


@pytest.fixture
def comp(staff, owner, plans):
    """A complimentary Pro membership staff granted ``owner`` for 30 days."""
    return grant_for_30_days(owner, plans["pro-monthly"], staff)
