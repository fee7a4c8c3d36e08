"""The billing pages of the staff site: money in words and currency, records linked to each other,
state changes asked for on a confirmation page, odd searches answered."""

import datetime

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import BillingAccount, Invoice, StaffTask, StripeEvent
from tests.factories import SubscriptionFactory, TrackCreditFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _staff_without_second_factor(settings):
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False


@pytest.fixture
def comp(staff, owner, plans):
    return services.grant_complimentary_membership(
        user=owner,
        plan=plans["pro-monthly"],
        ends_at=timezone.now() + datetime.timedelta(days=30),
        actor=staff,
        reason="Launch partner",
    )


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
