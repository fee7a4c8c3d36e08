"""The purchase journey in real Chromium: pricing → confirmation → Stripe (intercepted) →
signed webhook → success page → billing page, with an accessibility scan of each page."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Checkout, Subscription
from tests.billing.helpers import checkout_session_obj, event, sign, subscription_obj
from tests.browser.fixtures import assert_accessible, login

# On SQLite a live-server thread leaves one connection for the garbage collector, which
# pytest turns into an error at session end; CI runs this on PostgreSQL.
pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ready_buyer(owner):
    import datetime

    from legal import services as legal
    from tests.factories import publish_agreement

    for kind in ("user-agreement", "privacy-policy", "premium-membership"):
        publish_agreement(kind)
    owner.date_of_birth = datetime.date(1990, 5, 17)
    owner.save(update_fields=["date_of_birth"])
    for kind in ("user-agreement", "privacy-policy"):
        legal.record_acceptance(user=owner, version=legal.current_version(kind), method="signup")
    return owner


def test_a_member_buys_pro_and_gets_it_only_when_the_signed_webhook_arrives(
    page, live_server, ready_buyer, password, plans, fake_stripe, settings
):
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False
    page.route(
        "https://checkout.stripe.com/**", lambda route: route.fulfill(status=200, body="Stripe Checkout")
    )
    login(page, ready_buyer, password)

    page.goto("/pricing/")
    assert_accessible(page)
    page.get_by_role("link", name="Choose Pro").click()
    page.wait_for_url(re.compile(r"/billing/checkout/pro-monthly/"))
    assert page.get_by_text(ready_buyer.email).first.is_visible()
    assert_accessible(page)

    # Without the ticks nothing happens but a clear error.
    page.get_by_role("button", name="Continue to secure payment").click()
    assert page.get_by_text("Please accept the Premium Membership").is_visible()
    page.get_by_label("I have read and agree to the").check()
    page.get_by_label("mistake on my side is not refunded").check()
    page.get_by_role("button", name="Continue to secure payment").click()
    page.wait_for_url(re.compile(r"^https://checkout\.stripe\.com/"))
    assert not Subscription.objects.exists()

    # Stripe reports the payment: a signed event to the real webhook URL.
    checkout = Checkout.objects.get()
    fake_stripe.subscriptions["sub_browser"] = subscription_obj(
        "sub_browser", customer="cus_browser", price="price_pro_monthly", user_id=ready_buyer.pk
    )
    session = checkout_session_obj(
        checkout.stripe_session_id,
        checkout=checkout,
        mode="subscription",
        customer="cus_browser",
        subscription="sub_browser",
    )
    payload = json.dumps(event("checkout.session.completed", session))
    response = Client().post(
        reverse("billing:webhook"),
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload)},
    )
    assert response.status_code == 200

    page.goto(f"/billing/checkout/success/?ref={checkout.attempt}")
    assert page.get_by_role("heading", name="Payment confirmed").is_visible()
    assert_accessible(page)
    page.goto("/account/billing/")
    assert page.get_by_role("heading", name="Pro").is_visible()
    assert page.get_by_text("of 200 licences used this period").is_visible()
    assert_accessible(page)
