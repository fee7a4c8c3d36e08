"""The billing pages of the staff site: money in words and currency, records linked to each other,
state changes asked for on a confirmation page, odd searches answered."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from allmytracks.models import AuditLog
from billing import services
from billing.models import BillingAccount, Invoice, Plan, StaffTask, StripeEvent
from tests.factories import SubscriptionFactory, TrackCreditFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _staff_without_second_factor(settings):
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False


def test_a_complimentary_membership_page_ends_it_with_a_reason_and_comes_back(staff_client, staff, comp):
    page_url = reverse("admin:billing_complimentarymembership_change", args=[comp.pk])
    page = staff_client.get(page_url).content.decode()
    assert 'name="action" value="end_complimentary"' in page and "End now" in page
    assert "Complimentary membership granted" in page  # the grant, from the audit log
    list_url = reverse("admin:billing_complimentarymembership_changelist")
    selected = {"action": "end_complimentary", ACTION_CHECKBOX_NAME: [comp.pk], "_return_to": "change"}
    question = staff_client.post(list_url, selected)
    assert question.status_code == 200 and "Licences already taken stay valid" in question.content.decode()
    response = staff_client.post(list_url, {**selected, "apply": "1", "reason": "Pilot over"})
    assert response.status_code == 302 and response["Location"] == page_url
    comp.refresh_from_db()
    assert comp.status == "canceled"
    assert 'value="end_complimentary"' not in staff_client.get(page_url).content.decode()


def test_a_paid_membership_page_offers_no_end_button_and_links_its_invoices(staff_client, owner, plans):
    sub = SubscriptionFactory(user=owner, plan=plans["personal-monthly"])
    Invoice.objects.create(user=owner, subscription=sub, stripe_invoice_id="in_1", amount_due=999)
    html = staff_client.get(reverse("admin:billing_subscription_change", args=[sub.pk])).content.decode()
    assert 'value="end_complimentary"' not in html and sub.stripe_subscription_id in html
    invoices = reverse("admin:billing_invoice_changelist") + f"?subscription__id__exact={sub.pk}"
    assert f'<a href="{invoices}">Invoices of this membership (1)</a>' in html
    licences = reverse("admin:licensing_license_changelist") + f"?paid_with=membership:{sub.pk}"
    assert f'<a href="{licences}">Licences taken with it (0)</a>' in html


def test_invoices_show_their_status_in_words_and_their_amounts_in_money(staff_client, owner):
    invoice = Invoice.objects.create(
        user=owner,
        stripe_invoice_id="in_open",
        status="open",
        amount_due=2999,
        amount_paid=0,
        currency="eur",
        attempt_count=2,
    )
    listing = staff_client.get(reverse("admin:billing_invoice_changelist")).content.decode()
    assert "Open (waiting for payment)" in listing and "2 payment attempts" in listing
    assert "no number yet" in listing and "Amount display" not in listing
    page = staff_client.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).content.decode()
    assert "€29.99" in page and ">2999<" not in page
    only_open = staff_client.get(reverse("admin:billing_invoice_changelist"), {"status": "open"})
    assert list(only_open.context["cl"].result_list) == [invoice]


def test_a_single_track_purchase_links_the_licence_it_paid_for_and_its_tasks(staff_client, owner):
    from licensing.models import EndUser, License, Project

    credit = TrackCreditFactory(user=owner, status="used", amount_cents=1900)
    end_user = EndUser.objects.create(account=owner, kind="sole", name="Olivia")
    project = Project.objects.create(account=owner, title="Vlog", platform="youtube")
    licence = License.objects.create(
        code="AMT-2345-6789",
        account=owner,
        end_user=end_user,
        project=project,
        track=credit.track,
        agreement_version=1,
        source_type="credit",
        source_id=credit.pk,
        submission="5f6c1a3e-1111-4111-8111-111111111111",
    )
    StaffTask.objects.create(kind="dispute-used", user=owner, credit=credit, stripe_object_id="dp_1")
    html = staff_client.get(reverse("admin:billing_trackcredit_change", args=[credit.pk])).content.decode()
    assert reverse("admin:licensing_license_change", args=[licence.pk]) in html and "$19" in html
    assert "Staff tasks about this purchase (1)" in html
    task = StaffTask.objects.get()
    task_page = staff_client.get(reverse("admin:billing_stafftask_change", args=[task.pk])).content.decode()
    assert reverse("admin:licensing_license_change", args=[licence.pk]) in task_page


def test_open_and_resolved_staff_tasks_are_filtered_in_words(staff_client, staff, owner):
    open_task = StaffTask.objects.create(kind="dispute", user=owner, stripe_object_id="dp_open")
    done = StaffTask.objects.create(kind="dispute", user=owner, stripe_object_id="dp_done")
    services.resolve_task(task=done, actor=staff, resolution="Refunded")
    url = reverse("admin:billing_stafftask_changelist")
    assert list(staff_client.get(url, {"state": "open"}).context["cl"].result_list) == [open_task]
    resolved = staff_client.get(url, {"state": "resolved"})
    assert list(resolved.context["cl"].result_list) == [done] and f"by {staff}" in resolved.content.decode()


def test_processing_stripe_events_again_asks_first_and_leaves_processed_ones_alone(
    staff_client, django_capture_on_commit_callbacks, monkeypatch
):
    from billing import tasks

    queued = []
    monkeypatch.setattr(tasks.process_stripe_event, "apply_async", lambda args, **kw: queued.append(args[0]))
    waiting = StripeEvent.objects.create(stripe_id="evt_wait", type="invoice.paid", payload={}, attempts=2)
    done = StripeEvent.objects.create(
        stripe_id="evt_done", type="invoice.paid", payload={}, processed_at=timezone.now()
    )
    url = reverse("admin:billing_stripeevent_changelist")
    selected = {"action": "process_again", ACTION_CHECKBOX_NAME: [waiting.pk, done.pk]}
    question = staff_client.post(url, selected).content.decode()
    assert "Not processed (2 failed attempts)" in question and "Left as it is: already processed" in question
    assert queued == []
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url, {**selected, "apply": "1"})
    assert queued == [waiting.pk]


@pytest.mark.parametrize(
    "list_name",
    [
        "subscription",
        "complimentarymembership",
        "invoice",
        "checkout",
        "trackcredit",
        "stripeevent",
        "stafftask",
    ],
)
@pytest.mark.parametrize("query", ["%", "'", '"', "\\", "_", "x" * 3000])
def test_billing_lists_answer_odd_searches(staff_client, comp, list_name, query):
    response = staff_client.get(reverse(f"admin:billing_{list_name}_changelist"), {"q": query})
    assert response.status_code == 200


def _billing_rows(n, plans):
    from tests.factories import UserFactory

    for _ in range(n):
        user = UserFactory()
        sub = SubscriptionFactory(user=user, plan=plans["personal-monthly"])
        Invoice.objects.create(user=user, subscription=sub, stripe_invoice_id=f"in_{user.pk}", amount_due=999)
        credit = TrackCreditFactory(user=user)
        StaffTask.objects.create(kind="dispute", user=user, credit=credit, stripe_object_id=f"dp_{user.pk}")
        BillingAccount.objects.create(user=user, stripe_customer_id=f"cus_{user.pk}")


@pytest.mark.parametrize(
    "list_name", ["subscription", "invoice", "trackcredit", "stafftask", "billingaccount"]
)
def test_billing_lists_run_the_same_queries_for_one_row_or_many(staff_client, plans, list_name):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(reverse(f"admin:billing_{list_name}_changelist")).status_code == 200
        return len(captured)

    _billing_rows(1, plans)
    queries()  # the first page of a session also loads what the session caches
    one = queries()
    _billing_rows(3, plans)
    assert queries() == one


# --- plans: what the pricing page shows is what Stripe charges ----------------------------------


def plan_form(plan, **changes):
    """The plan's page as staff post it back, with ``changes``."""
    import json

    from django.forms.models import model_to_dict

    data = {}
    for name, value in {**model_to_dict(plan), **changes}.items():
        if name in ("id", "created_at", "updated_at") or value is False:
            continue
        data[name] = json.dumps(value) if name == "features" else ("" if value is None else value)
    data["initial-features"] = json.dumps(plan.features)  # the page's hidden initial (a callable default)
    return data


def test_a_plan_price_that_stripe_does_not_charge_is_refused(staff_client, plans, fake_stripe):
    plan = plans["personal-monthly"]
    fake_stripe.add_price(plan.stripe_price_id, unit_amount=plan.price_cents)
    url = reverse("admin:billing_plan_change", args=[plan.pk])
    response = staff_client.post(url, plan_form(plan, price_cents=plan.price_cents + 500))
    assert response.status_code == 200
    assert "charges" in response.content.decode() and "the plan says" in response.content.decode()
    assert Plan.objects.get(pk=plan.pk).price_cents == plan.price_cents
    assert not AuditLog.objects.filter(action="billing.plan_changed").exists()


def test_a_new_stripe_price_with_the_new_amount_is_saved_and_audited(staff_client, plans, fake_stripe):
    plan = plans["personal-monthly"]
    fake_stripe.add_price("price_personal_2027", unit_amount=plan.price_cents + 500)
    url = reverse("admin:billing_plan_change", args=[plan.pk])
    data = plan_form(plan, price_cents=plan.price_cents + 500, stripe_price_id="price_personal_2027")
    assert staff_client.post(url, data).status_code == 302
    plan.refresh_from_db()
    assert plan.stripe_price_id == "price_personal_2027"
    entry = AuditLog.objects.get(action="billing.plan_changed")
    assert entry.data["fields"] == ["price_cents", "stripe_price_id"]
    assert entry.data["new"]["stripe_price_id"] == "price_personal_2027"


@pytest.mark.parametrize(
    ("price", "field", "words"),
    [
        ({"currency": "eur"}, "currency", "is in EUR, not USD"),
        ({"interval": "year"}, "interval", "renews every 1 year"),
        ({"active": False}, "stripe_price_id", "is archived"),
        ({"type": "one_time", "recurring": None}, "stripe_price_id", "one-off price"),
        ({"billing_scheme": "tiered", "unit_amount": None}, "stripe_price_id", "tiered or custom"),
    ],
)
def test_a_stripe_price_unlike_the_plan_is_refused_with_the_reason(
    staff_client, plans, fake_stripe, price, field, words
):
    plan = plans["personal-monthly"]
    fake_stripe.add_price("price_other", **{"unit_amount": plan.price_cents, **price})
    url = reverse("admin:billing_plan_change", args=[plan.pk])
    response = staff_client.post(url, plan_form(plan, stripe_price_id="price_other"))
    assert response.status_code == 200
    assert words in " ".join(response.context["adminform"].form.errors[field])


def test_a_stripe_price_id_that_is_not_one_is_refused_without_asking_stripe(staff_client, plans, fake_stripe):
    plan = plans["personal-monthly"]
    url = reverse("admin:billing_plan_change", args=[plan.pk])
    for forged in ("price_../../v1/customers", "prod_123", "price_ abc", "sk_live_secret"):
        response = staff_client.post(url, plan_form(plan, stripe_price_id=forged))
        assert "A Stripe price id looks like" in response.content.decode(), forged
    assert "retrieve_price" not in fake_stripe.names()
    assert Plan.objects.get(pk=plan.pk).stripe_price_id == plan.stripe_price_id


def test_an_unknown_or_unreachable_stripe_price_saves_nothing(staff_client, plans, fake_stripe):
    plan = plans["personal-monthly"]
    url = reverse("admin:billing_plan_change", args=[plan.pk])
    unknown = staff_client.post(url, plan_form(plan, stripe_price_id="price_typo"))
    assert "Stripe has no price price_typo" in unknown.content.decode()
    fake_stripe.add_price("price_new", unit_amount=plan.price_cents)
    fake_stripe.unreachable = True
    down = staff_client.post(url, plan_form(plan, stripe_price_id="price_new"))
    assert down.status_code == 200 and "Stripe could not be asked about this price" in down.content.decode()
    assert Plan.objects.get(pk=plan.pk).stripe_price_id == plan.stripe_price_id


def test_a_plan_edit_that_leaves_the_price_alone_does_not_ask_stripe(staff_client, plans, fake_stripe):
    plan = plans["personal-monthly"]
    url = reverse("admin:billing_plan_change", args=[plan.pk])
    assert staff_client.post(url, plan_form(plan, tagline="For creators")).status_code == 302
    assert "retrieve_price" not in fake_stripe.names()
    entry = AuditLog.objects.get(action="billing.plan_changed")
    assert entry.data["old"]["tagline"] != "For creators" and entry.data["new"]["tagline"] == "For creators"


def test_without_a_stripe_key_a_plan_saves_unchecked_and_says_so(staff_client, plans, settings):
    settings.STRIPE_SECRET_KEY = ""
    plan = plans["personal-monthly"]
    before = plan.price_cents
    url = reverse("admin:billing_plan_change", args=[plan.pk])
    response = staff_client.post(url, plan_form(plan, price_cents=before + 100), follow=True)
    assert "The price was not checked against Stripe" in response.content.decode()
    plan.refresh_from_db()
    assert plan.price_cents == before + 100


def test_an_event_that_could_not_be_placed_is_placed_once_its_plan_is_set(
    staff_client, owner, plans, webhook, django_capture_on_commit_callbacks
):
    from billing.models import Subscription
    from tests.billing.helpers import event, subscription_obj

    BillingAccount.objects.create(user=owner, stripe_customer_id="cus_owner")
    obj = subscription_obj("sub_new", customer="cus_owner", price="price_pro_2027", user_id=owner.pk)
    webhook.post(event("customer.subscription.created", obj))
    stored = StripeEvent.objects.get()
    assert "No plan has the Stripe price price_pro_2027" in stored.error and stored.processed_at
    assert not Subscription.objects.exists()

    page = staff_client.get(reverse("admin:billing_stripeevent_change", args=[stored.pk])).content.decode()
    assert 'name="action" value="process_again"' in page
    Plan.objects.filter(pk=plans["pro-monthly"].pk).update(stripe_price_id="price_pro_2027")
    url = reverse("admin:billing_stripeevent_changelist")
    selected = {"action": "process_again", ACTION_CHECKBOX_NAME: [stored.pk], "apply": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_client.post(url, selected).status_code == 302
    stored.refresh_from_db()
    assert stored.error == "" and stored.processed_at and stored.attempts == 2
    assert Subscription.objects.get().plan == plans["pro-monthly"]
    entry = AuditLog.objects.for_object(stored).get(action="billing.event_reopened")
    assert entry.actor.is_staff and "No plan has the Stripe price" in entry.data["why"]
    # Placed now: asking again applies nothing twice.
    again = staff_client.post(url, {**selected}, follow=True).content.decode()
    assert "already processed" in again
    assert AuditLog.objects.filter(action="billing.event_reopened").count() == 1
    page = staff_client.get(reverse("admin:billing_stripeevent_change", args=[stored.pk])).content.decode()
    assert 'name="action" value="process_again"' not in page


def _list_switch(staff_client, plan, on):
    """The plans list as staff post it back with ``plan``'s Active box set to ``on``."""
    url = reverse("admin:billing_plan_changelist")
    formset = staff_client.get(url).context["cl"].formset
    data = {
        "form-TOTAL_FORMS": str(formset.total_form_count()),
        "form-INITIAL_FORMS": str(formset.initial_form_count()),
        "_save": "Save",
    }
    for n, form in enumerate(formset.forms):
        data[f"form-{n}-id"] = str(form.instance.pk)
        active = on if form.instance.pk == plan.pk else form.instance.active
        if active:
            data[f"form-{n}-active"] = "on"
    return staff_client.post(url, data, follow=True)


def test_switching_a_plan_on_checks_its_stripe_price_on_the_list_too(staff_client, plans, fake_stripe):
    plan = plans["pro-monthly"]
    Plan.objects.filter(pk=plan.pk).update(active=False)
    fake_stripe.add_price(plan.stripe_price_id, unit_amount=plan.price_cents, active=False)  # archived
    page = _list_switch(staff_client, plan, on=True).content.decode()
    assert "is archived" in page
    assert not Plan.objects.get(pk=plan.pk).active

    fake_stripe.prices[plan.stripe_price_id]["active"] = True
    _list_switch(staff_client, plan, on=True)
    assert Plan.objects.get(pk=plan.pk).active
    entry = AuditLog.objects.get(action="billing.plan_changed")
    assert entry.data["fields"] == ["active"] and entry.data["new"] == {"active": True}
    # Switching off asks Stripe nothing.
    asked = fake_stripe.names().count("retrieve_price")
    _list_switch(staff_client, plan, on=False)
    assert not Plan.objects.get(pk=plan.pk).active and fake_stripe.names().count("retrieve_price") == asked
