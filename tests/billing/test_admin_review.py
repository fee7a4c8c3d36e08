"""What a staff reviewer found on the billing pages of the staff site: a grant on top of a membership
that crashed the page, seats that had no audited way in for accounts without a Stripe customer, and
messages that named a membership as it was before the action."""

import datetime

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import AccountType, EnterpriseApplication, User
from allmytracks.models import AuditLog
from billing import services
from billing.models import BillingAccount, Subscription
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db
GRANT = reverse("admin:billing_complimentarymembership_add")
ADD_SEATS = reverse("admin:billing_billingaccount_add")


@pytest.fixture(autouse=True)
def _staff_without_second_factor(settings):
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False


def notes(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def grant_form(plan, email, **changes):
    ends = timezone.now() + datetime.timedelta(days=30)
    return {
        "account_email": email,
        "plan": plan.pk,
        "quantity": 1,
        "ends_at_0": f"{ends:%Y-%m-%d}",
        "ends_at_1": "12:00:00",
        "reason": "Launch partner",
        **changes,
    }


# --- a grant on top of a membership -----------------------------------------------------------


def test_a_grant_to_an_account_with_a_membership_is_refused_on_the_form(staff_client, owner, plans):
    SubscriptionFactory(user=owner, plan=plans["personal-monthly"])
    response = staff_client.post(GRANT, grant_form(plans["pro-monthly"], "Owner@Example.com"))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors == {"account_email": ["owner@example.com already has a membership; end it first."]}
    assert 'value="Owner@Example.com"' in response.text  # the form is kept as typed
    assert Subscription.objects.filter(user=owner).count() == 1
    assert not AuditLog.objects.filter(action="billing.complimentary_granted").exists()


def test_a_grant_the_service_refuses_at_the_last_moment_saves_nothing_and_says_why(
    staff_client, owner, plans, monkeypatch
):
    def refuse(**kwargs):
        raise services.CheckoutError(f"{kwargs['user']} already has a membership; end it first.")

    monkeypatch.setattr(services, "grant_complimentary_membership", refuse)
    response = staff_client.post(GRANT, grant_form(plans["pro-monthly"], owner.email))
    assert response.status_code == 302 and response["Location"] == GRANT
    assert notes(response) == ["owner@example.com already has a membership; end it first."]
    assert not Subscription.objects.filter(user=owner).exists()


def test_a_grant_to_an_account_without_a_membership_still_saves(staff_client, staff, owner, plans):
    response = staff_client.post(GRANT, grant_form(plans["pro-monthly"], owner.email))
    assert response.status_code == 302
    sub = Subscription.objects.get(user=owner)
    assert sub.is_complimentary and sub.granted_by == staff


# --- extra seats for any account --------------------------------------------------------------


def test_staff_grant_extra_seats_to_an_account_without_billing_details(staff_client, staff, owner):
    User.objects.filter(pk=owner.pk).update(account_type=AccountType.ENTERPRISE)
    page = staff_client.get(ADD_SEATS, {"account_email": owner.email})
    assert page.status_code == 200 and 'value="owner@example.com"' in page.text
    refused = staff_client.post(ADD_SEATS, {"account_email": owner.email, "extra_seats": 4, "reason": ""})
    assert refused.status_code == 200 and "Say why the seats change." in refused.text
    response = staff_client.post(
        ADD_SEATS, {"account_email": owner.email, "extra_seats": 4, "reason": "Four client seats"}
    )
    account = BillingAccount.objects.get(user=owner)
    assert response.status_code == 302
    assert account.extra_seats == 4 and account.stripe_customer_id is None
    owner.refresh_from_db()
    assert owner.designated_seats == 5
    entry = AuditLog.objects.get(action="billing.extra_seats")
    assert entry.actor == staff and entry.reason == "Four client seats" and entry.data["new"] == 4


def test_billing_details_are_added_once_per_account(staff_client, owner):
    account = BillingAccount.objects.create(user=owner, stripe_customer_id="cus_1")
    response = staff_client.post(ADD_SEATS, {"account_email": owner.email, "extra_seats": 2, "reason": "x"})
    assert response.status_code == 200
    link = reverse("admin:billing_billingaccount_change", args=[account.pk])
    assert f'change its extra seats <a href="{link}">on them</a>' in response.text
    account.refresh_from_db()
    assert account.extra_seats == 0


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"account_email": "nobody@example.com", "extra_seats": 2}, "No account has this email."),
        ({"account_email": "owner@example.com", "extra_seats": 0}, "Grant at least one extra seat."),
    ],
)
def test_adding_billing_details_needs_an_account_and_a_seat(staff_client, owner, fields, error):
    response = staff_client.post(ADD_SEATS, {**fields, "reason": "x"})
    assert response.status_code == 200 and error in response.text
    assert not BillingAccount.objects.exists()


def test_seats_granted_to_an_approved_enterprise_survive_a_business_membership(
    staff_client, staff, owner, plans
):
    """The reviewer's steps: approve, add seats, then a complimentary Business plan."""
    application = EnterpriseApplication.objects.create(
        user=owner,
        company_name="Northwind Films Ltd",
        registration_number="1",
        address="London",
        contact_name="Nora",
        letter="enterprise-letters/letter.pdf",
        letter_content_type="application/pdf",
        letter_filename="letter.pdf",
    )
    accounts_services.decide_enterprise_application(application=application, approve=True, actor=staff)
    staff_client.post(ADD_SEATS, {"account_email": owner.email, "extra_seats": 4, "reason": "Agency"})
    owner.refresh_from_db()
    assert owner.designated_seats == 5
    response = staff_client.post(GRANT, grant_form(plans["business-monthly"], owner.email))
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.designated_seats == 5  # the plan's one seat plus the four granted


# --- messages name the record as the action left it ------------------------------------------------


def test_ending_a_membership_says_it_ended(staff_client, owner, comp):
    sub = comp
    response = staff_client.post(
        reverse("admin:billing_complimentarymembership_changelist"),
        {"action": "end_complimentary", ACTION_CHECKBOX_NAME: [sub.pk], "apply": "1", "reason": "Over"},
    )
    assert notes(response) == [f"Ended: {sub.plan} for {owner.email} (Ended)."]


def test_a_complimentary_membership_history_page_finds_its_audit_entries(staff_client, comp):
    sub = comp
    page = staff_client.get(reverse("admin:billing_complimentarymembership_history", args=[sub.pk])).text
    url = (
        reverse("admin:allmytracks_auditlog_changelist") + f"?about=billing.complimentarymembership:{sub.pk}"
    )
    assert f'<a href="{url}">audit log entries about this complimentary membership</a>' in page
    listed = staff_client.get(url).context["cl"].result_list
    assert [entry.action for entry in listed] == ["billing.complimentary_granted"]


def test_both_add_pages_find_the_account_by_its_email_in_any_case_and_refuse_an_unknown_one(
    staff_client, owner, plans
):
    unknown = staff_client.post(GRANT, grant_form(plans["pro-monthly"], "nobody@example.com"))
    assert unknown.context["adminform"].form.errors == {"account_email": ["No account has this email."]}
    granted = staff_client.post(GRANT, grant_form(plans["pro-monthly"], "OWNER@Example.COM"))
    assert granted.status_code == 302 and Subscription.objects.filter(user=owner).exists()
    seats = staff_client.post(
        ADD_SEATS, {"account_email": "OWNER@Example.COM", "extra_seats": 1, "reason": "x"}
    )
    assert seats.status_code == 302 and BillingAccount.objects.get(user=owner).extra_seats == 1
