"""Staff grants in admin, seeding plans, reconciliation, account cancellation and task safety."""

import datetime
import io

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from allmytracks.models import AuditLog
from billing import services, webhooks
from billing.models import BillingAccount, Plan, StaffTask, StripeEvent, Subscription, TrackCredit
from tests.billing.helpers import event, subscription_obj, ts
from tests.factories import SubscriptionFactory, TrackCreditFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _staff_without_second_factor(settings):
    # The staff site's MFA gate has its own tests in accounts; here staff act in admin directly.
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False


# --- plans -----------------------------------------------------------------------------------


def test_seed_plans_is_idempotent_and_keeps_staff_edits(settings):
    settings.BILLING_STRIPE_PRICE_IDS = {"pro-monthly": "price_from_env"}
    call_command("seed_plans", stdout=io.StringIO())
    assert set(Plan.objects.values_list("slug", flat=True)) >= {
        "free",
        "personal-monthly",
        "personal-yearly",
        "pro-monthly",
        "pro-yearly",
        "business-monthly",
        "business-yearly",
    }
    assert Plan.objects.get(slug="pro-monthly").stripe_price_id == "price_from_env"
    Plan.objects.filter(slug="personal-monthly").update(price_cents=999)
    count = Plan.objects.count()
    call_command("seed_plans", stdout=io.StringIO())
    assert Plan.objects.count() == count
    assert Plan.objects.get(slug="personal-monthly").price_cents == 999


def test_reconciliation_runs_from_celery_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["billing-reconcile-subscriptions"]
    assert entry["task"] == "billing.tasks.reconcile_subscriptions"
    from allmytracks.celery import app

    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


# --- staff grants ------------------------------------------------------------------------------


def test_staff_grant_a_complimentary_membership_in_admin_and_it_is_audited(
    staff_client, staff, owner, plans, django_capture_on_commit_callbacks
):
    ends = timezone.now() + datetime.timedelta(days=90)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/billing/complimentarymembership/add/",
            {
                "account_email": owner.email,
                "plan": plans["pro-monthly"].pk,
                "quantity": 1,
                "ends_at_0": f"{ends:%Y-%m-%d}",
                "ends_at_1": f"{ends:%H:%M:%S}",
                "reason": "Launch partner",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    sub = Subscription.objects.get(user=owner)
    assert (sub.source, sub.status, sub.granted_by) == ("complimentary", "active", staff)
    log = AuditLog.objects.get(action="billing.complimentary_granted")
    assert log.actor == staff and log.reason == "Launch partner"
    assert any("is active" in m.subject for m in mail.outbox)

    from billing import entitlements
    from tests.factories import TrackFactory

    assert entitlements.consume(owner, track=TrackFactory()).source_type == "membership"


def test_the_complimentary_form_picks_the_end_with_the_admin_widgets_and_offers_paid_plans_only(
    staff_client, plans
):
    response = staff_client.get("/admin/billing/complimentarymembership/add/")
    html = response.content.decode()
    assert 'name="ends_at_0" class="vDateField"' in html and 'name="ends_at_1" class="vTimeField"' in html
    offered = set(response.context["adminform"].form.fields["plan"].queryset)
    assert plans["free"] not in offered and plans["pro-monthly"] in offered


def test_a_granted_complimentary_membership_has_a_page_to_view(staff_client, staff, owner, plans):
    sub = services.grant_complimentary_membership(
        user=owner,
        plan=plans["pro-monthly"],
        ends_at=timezone.now() + datetime.timedelta(days=30),
        actor=staff,
        reason="Pilot",
    )
    response = staff_client.get(f"/admin/billing/complimentarymembership/{sub.pk}/change/")
    html = response.content.decode()
    assert response.status_code == 200 and "Pilot" in html and owner.email in html
    assert 'name="_save"' not in html


def test_a_complimentary_free_plan_is_refused_by_the_server(staff_client, owner, plans):
    ends = timezone.now() + datetime.timedelta(days=30)
    response = staff_client.post(
        "/admin/billing/complimentarymembership/add/",
        {
            "account_email": owner.email,
            "plan": plans["free"].pk,
            "quantity": 1,
            "ends_at_0": f"{ends:%Y-%m-%d}",
            "ends_at_1": f"{ends:%H:%M:%S}",
            "reason": "Free for free",
        },
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Subscription.objects.filter(user=owner).exists()


def test_ending_complimentary_memberships_asks_why_and_leaves_paid_and_ended_ones_alone(
    staff_client, staff, owner, other, plans
):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    comp = services.grant_complimentary_membership(
        user=owner,
        plan=plans["pro-monthly"],
        ends_at=timezone.now() + datetime.timedelta(days=30),
        actor=staff,
        reason="Pilot",
    )
    paid = SubscriptionFactory(user=other, plan=plans["personal-monthly"])
    url = "/admin/billing/subscription/"
    selected = {"action": "end_complimentary", ACTION_CHECKBOX_NAME: [comp.pk, paid.pk]}
    page = staff_client.post(url, selected).content.decode()
    assert "Left as it is: paid: it ends in Stripe" in page and 'value="End 1 membership"' in page
    staff_client.post(url, {**selected, "apply": "1", "reason": "Pilot over"})
    staff_client.post(url, {**selected, "apply": "1", "reason": "Twice"})
    comp.refresh_from_db()
    paid.refresh_from_db()
    assert comp.status == "canceled" and paid.status == "active"
    ended = AuditLog.objects.filter(action="billing.complimentary_ended")
    assert [(e.target_id, e.reason) for e in ended] == [(str(comp.pk), "Pilot over")]


def test_the_plan_list_fits_narrow_columns_with_plain_headers(staff_client, plans):
    html = staff_client.get("/admin/billing/plan/").content.decode()
    assert "Pro (monthly)" in html and "Sold online" in html
    assert "price_pro_monthly" not in html and "Price display" not in html


def test_complimentary_business_membership_makes_the_account_enterprise(staff, owner, plans):
    services.grant_complimentary_membership(
        user=owner,
        plan=plans["business-yearly"],
        ends_at=timezone.now() + datetime.timedelta(days=365),
        quantity=3,
        actor=staff,
        reason="Agency pilot",
    )
    owner.refresh_from_db()
    assert owner.is_enterprise and owner.designated_seats == 3


def test_a_second_membership_cannot_be_granted_on_top_of_a_live_one(staff, owner, plans):
    SubscriptionFactory(user=owner, plan=plans["personal-monthly"])
    with pytest.raises(services.CheckoutError):
        services.grant_complimentary_membership(
            user=owner,
            plan=plans["pro-monthly"],
            ends_at=timezone.now() + datetime.timedelta(days=30),
            actor=staff,
            reason="x",
        )


def test_staff_add_extra_seats_in_admin_with_a_reason(staff_client, staff, owner, plans):
    SubscriptionFactory(user=owner, plan=plans["business-monthly"], quantity=2)
    account = BillingAccount.objects.create(user=owner)
    url = f"/admin/billing/billingaccount/{account.pk}/change/"
    refused = staff_client.post(url, {"extra_seats": 3, "reason": ""})
    assert refused.status_code == 200 and "Say why" in refused.content.decode()
    response = staff_client.post(url, {"extra_seats": 3, "reason": "Three more clients"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.designated_seats == 5
    assert AuditLog.objects.filter(action="billing.extra_seats", actor=staff).exists()


def test_staff_tasks_are_resolved_in_admin_after_a_confirmation_page(staff_client, staff, owner):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    credit = TrackCreditFactory(user=owner, status="used")
    task = StaffTask.objects.create(kind="refund-used", user=owner, credit=credit, stripe_object_id="ch_9")
    selected = {"action": "resolve", ACTION_CHECKBOX_NAME: [task.pk], "_return_to": "change"}
    question = staff_client.post("/admin/billing/stafftask/", selected)
    assert question.status_code == 200 and "leaves the open tasks" in question.content.decode()
    refused = staff_client.post("/admin/billing/stafftask/", {**selected, "apply": "1", "resolution": ""})
    assert refused.status_code == 200
    response = staff_client.post(
        "/admin/billing/stafftask/", {**selected, "apply": "1", "resolution": "Licence kept"}
    )
    assert (
        response.status_code == 302 and response["Location"] == f"/admin/billing/stafftask/{task.pk}/change/"
    )
    task.refresh_from_db()
    assert task.resolved_by == staff and task.resolved_at is not None and task.resolution == "Licence kept"
    entry = AuditLog.objects.get(action="billing.task_resolved")
    assert entry.reason == "Licence kept" and entry.actor == staff


def test_a_billing_staff_task_page_is_view_only(staff_client, owner):
    task = StaffTask.objects.create(kind="dispute", user=owner, stripe_object_id="dp_1")
    url = f"/admin/billing/stafftask/{task.pk}/change/"
    page = staff_client.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert "Mark resolved" in page.content.decode()
    assert staff_client.post(url, {"resolution": "Sneaky"}).status_code == 403
    task.refresh_from_db()
    assert task.resolution == "" and task.resolved_at is None


def test_billing_admin_pages_load(staff_client, owner, plans):
    SubscriptionFactory(user=owner, plan=plans["pro-monthly"])
    for model in (
        "plan",
        "subscription",
        "complimentarymembership",
        "billingaccount",
        "trackcredit",
        "invoice",
        "checkout",
        "stripeevent",
        "stafftask",
    ):
        assert staff_client.get(f"/admin/billing/{model}/").status_code == 200, model
    assert staff_client.get("/admin/billing/complimentarymembership/add/").status_code == 200


# --- reconciliation ------------------------------------------------------------------------------


def test_reconciliation_corrects_a_missed_change_and_records_it(owner, plans, fake_stripe):
    sub = SubscriptionFactory(
        user=owner,
        plan=plans["pro-monthly"],
        stripe_subscription_id="sub_rec",
        stripe_updated_at=timezone.now() - datetime.timedelta(days=1),
    )
    fake_stripe.subscriptions["sub_rec"] = subscription_obj(
        "sub_rec", customer=sub.stripe_customer_id, price="price_pro_monthly", status="past_due"
    )
    from billing.tasks import reconcile_subscriptions

    assert reconcile_subscriptions() == 1
    sub.refresh_from_db()
    assert sub.status == "past_due"
    log = AuditLog.objects.get(action="billing.reconciled")
    assert log.data["changes"]["status"] == ["active", "past_due"]
    assert reconcile_subscriptions() == 0  # nothing left to correct


def test_reconciliation_ends_expired_complimentary_memberships(owner, plans, settings):
    settings.STRIPE_SECRET_KEY = ""
    now = timezone.now()
    sub = Subscription.objects.create(
        user=owner,
        plan=plans["pro-monthly"],
        source="complimentary",
        status="active",
        started_at=now,
        current_period_start=now - datetime.timedelta(days=30),
        current_period_end=now - datetime.timedelta(hours=1),
    )
    changed = services.reconcile()
    sub.refresh_from_db()
    assert sub.status == "canceled" and changed


# --- account cancellation ------------------------------------------------------------------------


def test_account_cancellation_ends_memberships_at_stripe_and_unused_credits(
    owner, plans, fake_stripe, django_capture_on_commit_callbacks
):
    from accounts.signals import account_cancelled

    sub = SubscriptionFactory(user=owner, plan=plans["pro-monthly"], stripe_subscription_id="sub_gone")
    fake_stripe.subscriptions["sub_gone"] = subscription_obj(
        "sub_gone", customer=sub.stripe_customer_id, price="price_pro_monthly"
    )
    unused = TrackCreditFactory(user=owner)
    used = TrackCreditFactory(user=owner, status="used")
    with django_capture_on_commit_callbacks(execute=True):
        account_cancelled.send(sender=type(owner), user=owner)
    sub.refresh_from_db()
    unused.refresh_from_db()
    used.refresh_from_db()
    assert sub.status == "canceled"
    assert ("cancel_subscription", "amt-cancel-sub_gone", "sub_gone") in fake_stripe.calls
    assert unused.status == "revoked" and used.status == "used"


# --- task safety ------------------------------------------------------------------------------------


def test_processing_an_event_twice_does_nothing_the_second_time(owner, plans):
    BillingAccount.objects.create(user=owner, stripe_customer_id="cus_twice")
    data = subscription_obj("sub_twice", customer="cus_twice", price="price_pro_monthly")
    stored, created = webhooks.receive(event("customer.subscription.created", data, created=ts()))
    assert created
    assert webhooks.process(stored.pk).startswith("subscription")
    assert webhooks.process(stored.pk) == "already processed"
    assert Subscription.objects.count() == 1
    assert StripeEvent.objects.get().attempts == 1


def test_a_failing_event_keeps_its_error_and_stays_pending_for_a_retry(
    owner, plans, fake_stripe, monkeypatch
):
    from billing import stripe_client
    from billing.models import Checkout

    checkout = Checkout.objects.create(
        user=owner,
        kind="membership",
        plan=plans["pro-monthly"],
        amount_cents=2999,
        currency="usd",
        status="open",
        stripe_session_id="cs_fail",
    )

    def down(subscription_id):
        raise stripe_client.StripeError("Stripe is unreachable")

    monkeypatch.setattr(stripe_client, "retrieve_subscription", down)
    session = {
        "id": "cs_fail",
        "object": "checkout.session",
        "mode": "subscription",
        "payment_status": "paid",
        "client_reference_id": str(checkout.pk),
        "metadata": {},
        "subscription": "sub_later",
        "customer": "cus_x",
        "payment_intent": None,
    }
    stored, _ = webhooks.receive(event("checkout.session.completed", session))
    with pytest.raises(stripe_client.StripeError):
        webhooks.process(stored.pk)
    stored.refresh_from_db()
    assert stored.processed_at is None and "unreachable" in stored.error and stored.attempts == 1
    checkout.refresh_from_db()
    assert checkout.status == "open"  # rolled back with the failure


def test_refund_revocation_cannot_race_a_consumption(owner):
    """The revocation is a conditional update: a credit consumed meanwhile is flagged, not revoked."""
    credit = TrackCreditFactory(user=owner, purchase_ref="pi_race")
    TrackCredit.objects.filter(pk=credit.pk).update(status="used")
    outcome = services.revoke_or_flag_credits(
        payment_intent_id="pi_race", kind="refund", stripe_object_id="ch_r", details=""
    )
    assert [what for what, _ in outcome] == ["flagged"]
    credit.refresh_from_db()
    assert credit.status == "used"
