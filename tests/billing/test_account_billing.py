"""/account/billing/ for the three personas, the Customer Portal, and the past-due banner."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import BillingAccount, Invoice, MembershipUsage
from tests.factories import PlanFactory, SubscriptionFactory, TrackCreditFactory, TrackFactory

pytestmark = pytest.mark.django_db
URL = "/account/billing/"


@pytest.fixture
def owner_billing(owner, plans):
    BillingAccount.objects.create(user=owner, stripe_customer_id="cus_owner")
    sub = SubscriptionFactory(user=owner, plan=plans["personal-monthly"], stripe_customer_id="cus_owner")
    start, end = sub.usage_window()
    MembershipUsage.objects.create(subscription=sub, period_start=start, period_end=end, allowance=10, used=3)
    Invoice.objects.create(
        user=owner,
        subscription=sub,
        stripe_invoice_id="in_owner_1",
        number="AMT-0001",
        status="paid",
        amount_due=1299,
        amount_paid=1299,
        currency="usd",
        issued_at=timezone.now(),
        hosted_invoice_url="https://invoice.stripe.com/i/in_owner_1",
        invoice_pdf="https://pay.stripe.com/invoice/in_owner_1/pdf",
    )
    TrackCreditFactory(user=owner, track=TrackFactory(title="Owner's Bought Track"))
    return sub


def test_billing_page_url_is_the_one_in_the_account_menu():
    assert reverse("billing:account-billing") == URL


def test_owner_sees_plan_renewal_usage_credits_and_invoices(owner_client, owner_billing):
    response = owner_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Personal" in html and "Renews" in html
    assert owner_billing.current_period_end.strftime("%-d %B %Y") in html
    assert "<strong>3</strong> of 10 licences" in html
    assert "Owner&#x27;s Bought Track" in html and "Ready to use" in html
    assert "AMT-0001" in html and "$12.99" in html and "https://invoice.stripe.com/i/in_owner_1" in html
    assert reverse("billing:portal") in html


def test_another_customer_sees_only_their_own_billing(other_client, owner_billing):
    response = other_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "AMT-0001" not in html
    assert "Owner&#x27;s Bought Track" not in html
    assert "Free" in html and "No invoices yet" in html


def test_anonymous_visitors_are_sent_to_sign_in(anon_client, owner_billing):
    response = anon_client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_billing_page_query_count_does_not_grow_with_invoices_and_credits(owner_client, owner, owner_billing):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    owner_client.get(URL)
    with CaptureQueriesContext(connection) as few:
        owner_client.get(URL)
    for n in range(15):
        Invoice.objects.create(
            user=owner,
            stripe_invoice_id=f"in_more_{n}",
            number=f"AMT-1{n:03d}",
            status="paid",
            amount_due=1299,
            amount_paid=1299,
            issued_at=timezone.now(),
        )
        TrackCreditFactory(user=owner)
    with CaptureQueriesContext(connection) as many:
        owner_client.get(URL)
    assert len(many) == len(few)


def test_portal_button_opens_stripes_customer_portal(owner_client, owner_billing, fake_stripe):
    response = owner_client.post(reverse("billing:portal"))
    assert response.status_code == 303
    assert response["Location"] == "https://billing.stripe.com/p/session/cus_owner"
    name, key, params = fake_stripe.calls[-1]
    assert name == "create_portal_session" and key and params == {"customer": "cus_owner"}


def test_portal_needs_post(owner_client, owner_billing):
    assert owner_client.get(reverse("billing:portal")).status_code == 405


def test_portal_without_a_stripe_customer_explains(other_client, fake_stripe):
    response = other_client.post(reverse("billing:portal"), follow=True)
    assert "no paid membership" in response.content.decode()
    assert fake_stripe.calls == []


def test_portal_for_anonymous_visitors_asks_to_sign_in(anon_client):
    assert anon_client.post(reverse("billing:portal")).status_code == 302


def test_past_due_shows_a_banner_with_a_portal_link_on_every_page(owner_client, owner_billing):
    owner_billing.status = "past_due"
    owner_billing.save()
    html = owner_client.get("/pricing/").content.decode()
    assert "Your last payment for Personal failed" in html
    assert 'action="/account/billing/portal/"' in html
    assert "Update payment method" in owner_client.get(URL).content.decode()


def test_no_banner_while_payments_are_fine(owner_client, owner_billing, other_client):
    assert "payment for" not in owner_client.get("/pricing/").content.decode()
    assert "payment for" not in other_client.get("/pricing/").content.decode()


def test_cancelled_membership_shows_its_end_date(owner_client, owner_billing):
    owner_billing.cancel_at_period_end = True
    owner_billing.save()
    html = owner_client.get(URL).content.decode()
    assert "Ends" in html and "no further charges" in html


def test_complimentary_membership_is_labelled_as_such(client, other):
    now = timezone.now()
    from billing.models import Subscription

    Subscription.objects.create(
        user=other,
        plan=PlanFactory(name="Pro"),
        source="complimentary",
        status="active",
        started_at=now,
        current_period_start=now,
        current_period_end=now + datetime.timedelta(days=60),
    )
    client.force_login(other)
    html = client.get(URL).content.decode()
    assert "Complimentary" in html and reverse("billing:portal") not in html
