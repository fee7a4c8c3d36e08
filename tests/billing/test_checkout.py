"""Pricing, the purchase confirmation pages, Stripe Checkout Sessions and the return pages."""

import uuid

import pytest
from django.urls import reverse

from billing.models import Checkout, Subscription, TrackCredit
from tests.factories import SubscriptionFactory, TrackFactory

pytestmark = pytest.mark.django_db


def _acceptances(user, kind):
    from legal.models import Acceptance

    return Acceptance.objects.filter(user=user, version__document__kind=kind)


# --- pricing --------------------------------------------------------------------------------


def test_pricing_shows_every_plan_with_its_price_to_anyone(anon_client, plans):
    response = anon_client.get("/pricing/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Free", "Personal", "Pro", "Music &amp; Sound Effects Business", "$12.99", "$29.99", "$69"):
        assert text in html
    assert "one end user" in html.lower() and "stays valid after you cancel" in html
    assert "$19" in html  # single track


def test_pricing_yearly_toggle_shows_yearly_prices(anon_client, plans):
    html = anon_client.get("/pricing/?interval=year").content.decode()
    assert "$129" in html and "$299" in html
    assert "billed yearly" in html


def test_pricing_marks_the_current_plan_of_a_signed_in_member(owner_client, owner, plans):
    SubscriptionFactory(user=owner, plan=plans["pro-monthly"])
    html = owner_client.get("/pricing/").content.decode()
    assert "Your plan" in html and "Manage your plan" in html


def test_pricing_without_stripe_keys_explains_that_payments_are_not_configured(owner_client, plans, settings):
    settings.STRIPE_SECRET_KEY = ""
    response = owner_client.get("/pricing/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "not configured" in html
    assert reverse("billing:checkout", args=["pro-monthly"]) not in html
    assert "$29.99" in html


def test_pricing_runs_a_constant_number_of_queries(owner_client, owner, plans):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import PlanFactory

    SubscriptionFactory(user=owner, plan=plans["pro-monthly"])
    owner_client.get("/pricing/")  # warm the session and the per-account rows other apps keep
    with CaptureQueriesContext(connection) as few:
        assert owner_client.get("/pricing/").status_code == 200
    PlanFactory.create_batch(12)
    with CaptureQueriesContext(connection) as many:
        assert owner_client.get("/pricing/").status_code == 200
    assert len(many) == len(few)
    billing_queries = [q for q in few.captured_queries if "billing_" in q["sql"]]
    assert len(billing_queries) <= 3, [q["sql"][:80] for q in billing_queries]


# --- membership confirmation ----------------------------------------------------------------


def test_confirmation_requires_sign_in(anon_client, plans):
    response = anon_client.get(reverse("billing:checkout", args=["pro-monthly"]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_confirmation_states_price_period_account_and_terms(client, buyer, plans, membership_terms):
    client.force_login(buyer)
    html = client.get(reverse("billing:checkout", args=["personal-yearly"])).content.decode()
    assert "$129" in html and "per year" in html
    assert buyer.email in html
    assert "Premium Membership Service Agreement (version" in html
    assert "not refunded" in html
    assert 'name="attempt"' in html


def test_confirmation_without_the_ticks_creates_nothing(client, buyer, plans, membership_terms, fake_stripe):
    client.force_login(buyer)
    url = reverse("billing:checkout", args=["pro-monthly"])
    response = client.post(url, {"attempt": str(uuid.uuid4())})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Please accept the Premium Membership" in html
    assert "mistaken purchases are not refunded" in html
    assert not Checkout.objects.exists()
    assert fake_stripe.calls == []
    assert not _acceptances(buyer, "premium-membership").exists()


def test_confirming_opens_a_stripe_checkout_session_and_records_acceptance(
    client, buyer, plans, membership_terms, fake_stripe
):
    client.force_login(buyer)
    attempt = uuid.uuid4()
    response = client.post(
        reverse("billing:checkout", args=["pro-monthly"]),
        {"attempt": str(attempt), "accept_terms": "on", "no_refund": "on"},
    )
    assert response.status_code == 303
    assert response["Location"].startswith("https://checkout.stripe.com/")
    checkout = Checkout.objects.get()
    assert (checkout.user, checkout.plan.slug, checkout.status) == (buyer, "pro-monthly", "open")
    assert _acceptances(buyer, "premium-membership").get().method == "checkout"
    # Every object-creating call carries an idempotency key.
    assert [(name, bool(key)) for name, key, _ in fake_stripe.calls] == [
        ("create_customer", True),
        ("create_checkout_session", True),
    ]
    params = fake_stripe.calls[1][2]
    assert params["mode"] == "subscription"
    assert params["line_items"] == [{"price": "price_pro_monthly", "quantity": 1}]
    assert params["client_reference_id"] == str(checkout.pk)
    assert params["subscription_data"]["metadata"]["user_id"] == str(buyer.pk)
    assert "automatic_tax" not in params and "allow_promotion_codes" not in params
    # Paying is not done yet: no membership exists until the webhook says so.
    assert not Subscription.objects.exists()


def test_tax_and_promotion_codes_are_switched_by_settings(
    client, buyer, plans, membership_terms, fake_stripe, settings
):
    settings.BILLING_STRIPE_TAX = True
    settings.BILLING_PROMOTION_CODES = True
    client.force_login(buyer)
    client.post(
        reverse("billing:checkout", args=["pro-monthly"]),
        {"attempt": str(uuid.uuid4()), "accept_terms": "on", "no_refund": "on"},
    )
    params = fake_stripe.calls[-1][2]
    assert params["automatic_tax"] == {"enabled": True}
    assert params["allow_promotion_codes"] is True


def test_the_same_confirmation_posted_twice_opens_one_session(
    client, buyer, plans, membership_terms, fake_stripe
):
    client.force_login(buyer)
    data = {"attempt": str(uuid.uuid4()), "accept_terms": "on", "no_refund": "on"}
    url = reverse("billing:checkout", args=["pro-monthly"])
    first = client.post(url, data)
    second = client.post(url, data)
    assert first["Location"] == second["Location"]
    assert Checkout.objects.count() == 1
    assert fake_stripe.names().count("create_checkout_session") == 1


def test_a_retried_stripe_call_reuses_the_idempotency_key(
    client, buyer, plans, membership_terms, fake_stripe
):
    from billing import stripe_client

    client.force_login(buyer)
    original = fake_stripe.create_checkout_session
    keys = []

    def flaky(params, *, idempotency_key):
        keys.append(idempotency_key)
        if len(keys) == 1:
            raise stripe_client.StripeError("connection reset")
        return original(params, idempotency_key=idempotency_key)

    stripe_client.create_checkout_session = flaky
    data = {"attempt": str(uuid.uuid4()), "accept_terms": "on", "no_refund": "on"}
    url = reverse("billing:checkout", args=["pro-monthly"])
    failed = client.post(url, data, follow=True)
    assert "could not reach our payment provider" in failed.content.decode()
    assert Checkout.objects.get().status == "created"
    retried = client.post(url, data)
    assert retried.status_code == 303
    assert keys[0] == keys[1]
    assert Checkout.objects.get().status == "open"


def test_business_checkout_sends_the_seat_quantity(client, buyer, plans, membership_terms, fake_stripe):
    client.force_login(buyer)
    client.post(
        reverse("billing:checkout", args=["business-yearly"]),
        {"attempt": str(uuid.uuid4()), "accept_terms": "on", "no_refund": "on", "quantity": "5"},
    )
    params = fake_stripe.calls[-1][2]
    assert params["line_items"] == [{"price": "price_business_yearly", "quantity": 5}]
    assert Checkout.objects.get().amount_cents == 5 * 69000


def test_member_with_a_membership_is_sent_to_the_billing_page(
    client, buyer, plans, membership_terms, fake_stripe
):
    SubscriptionFactory(user=buyer, plan=plans["personal-monthly"])
    client.force_login(buyer)
    html = client.get(reverse("billing:checkout", args=["pro-monthly"])).content.decode()
    assert "You already have" in html
    response = client.post(
        reverse("billing:checkout", args=["pro-monthly"]),
        {"attempt": str(uuid.uuid4()), "accept_terms": "on", "no_refund": "on"},
    )
    assert response.status_code == 302 and response["Location"] == "/account/billing/"
    assert "create_checkout_session" not in fake_stripe.names()


def test_account_that_may_not_transact_is_told_why_and_nothing_starts(
    client, owner, plans, membership_terms, fake_stripe
):
    client.force_login(owner)  # no date of birth yet
    url = reverse("billing:checkout", args=["pro-monthly"])
    html = client.get(url).content.decode()
    assert "date of birth" in html
    client.post(url, {"attempt": str(uuid.uuid4()), "accept_terms": "on", "no_refund": "on"})
    assert not Checkout.objects.exists()
    assert fake_stripe.calls == []


def test_without_stripe_keys_the_confirmation_explains_and_nothing_crashes(
    client, buyer, plans, membership_terms, settings
):
    settings.STRIPE_SECRET_KEY = ""
    client.force_login(buyer)
    url = reverse("billing:checkout", args=["pro-monthly"])
    assert "not configured" in client.get(url).content.decode()
    response = client.post(url, {"attempt": str(uuid.uuid4()), "accept_terms": "on", "no_refund": "on"})
    assert response.status_code == 200
    assert "not configured" in response.content.decode()
    assert not Checkout.objects.exists()


def test_unknown_or_inactive_plans_are_404(client, buyer, plans):
    client.force_login(buyer)
    plans["pro-monthly"].active = False
    plans["pro-monthly"].save()
    assert client.get(reverse("billing:checkout", args=["pro-monthly"])).status_code == 404
    assert client.get(reverse("billing:checkout", args=["nope"])).status_code == 404


# --- single-track purchase --------------------------------------------------------------------


def test_buying_a_track_states_the_price_and_opens_a_payment_session(client, buyer, fake_stripe):
    track = TrackFactory(title="Golden Hour")
    client.force_login(buyer)
    url = reverse("billing:buy-track", args=[track.slug])
    html = client.get(url).content.decode()
    assert "Golden Hour" in html and "$19" in html and buyer.email in html and "not refunded" in html
    response = client.post(url, {"attempt": str(uuid.uuid4()), "no_refund": "on"})
    assert response.status_code == 303
    params = fake_stripe.calls[-1][2]
    assert params["mode"] == "payment"
    assert params["line_items"][0]["price_data"]["unit_amount"] == 1900
    assert params["payment_intent_data"]["metadata"]["track"] == track.slug
    assert not TrackCredit.objects.exists()


def test_sound_effects_have_their_own_single_price(client, buyer, fake_stripe):
    track = TrackFactory(kind="sfx")
    client.force_login(buyer)
    assert "$4" in client.get(reverse("billing:buy-track", args=[track.slug])).content.decode()


def test_unpublished_tracks_cannot_be_bought(client, buyer):
    track = TrackFactory(is_published=False)
    client.force_login(buyer)
    assert client.get(reverse("billing:buy-track", args=[track.slug])).status_code == 404


# --- back from Stripe -------------------------------------------------------------------------


def _checkout(user, plan):
    return Checkout.objects.create(
        user=user,
        kind="membership",
        plan=plan,
        amount_cents=plan.price_cents,
        currency="usd",
        status="open",
        stripe_session_id=f"cs_{uuid.uuid4().hex[:8]}",
    )


def test_success_page_grants_nothing_by_itself(owner_client, owner, plans):
    checkout = _checkout(owner, plans["pro-monthly"])
    response = owner_client.get(reverse("billing:checkout-success") + f"?ref={checkout.attempt}")
    assert response.status_code == 200
    assert "confirming your payment" in response.content.decode()
    checkout.refresh_from_db()
    assert checkout.status == "open"
    assert not Subscription.objects.exists()


def test_success_page_says_confirmed_once_the_webhook_completed_it(owner_client, owner, plans):
    checkout = _checkout(owner, plans["pro-monthly"])
    Checkout.objects.filter(pk=checkout.pk).update(status="completed")
    response = owner_client.get(
        reverse("billing:checkout-success") + f"?ref={checkout.attempt}", headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "Payment confirmed" in html and "<html" not in html


def test_return_pages_of_another_account_are_404(other_client, owner, plans):
    checkout = _checkout(owner, plans["pro-monthly"])
    for name in ("billing:checkout-success", "billing:checkout-cancel"):
        assert other_client.get(reverse(name) + f"?ref={checkout.attempt}").status_code == 404
        assert other_client.get(reverse(name) + "?ref=not-a-uuid").status_code == 404


def test_cancel_page_says_nothing_was_charged(owner_client, owner, plans):
    checkout = _checkout(owner, plans["pro-monthly"])
    html = owner_client.get(reverse("billing:checkout-cancel") + f"?ref={checkout.attempt}").content.decode()
    assert "No payment was made" in html
