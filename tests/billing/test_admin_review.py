"""What staff reviewers found on the billing pages of the staff site: a grant on top of a membership
that crashed the page, seats that had no audited way in for accounts without a Stripe customer,
messages that named a membership as it was before the action; memberships granted to a cancelled
account and to the staff member's own, extra seats without a ceiling and for individual accounts, and
plain-text emails that showed HTML entities ("Music &amp; Sound Effects Business")."""

import datetime

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import AccountType, EnterpriseApplication, User
from allmytracks.models import AuditLog
from billing import emails, services
from billing.models import BillingAccount, Subscription
from tests.billing.helpers import grant_for_30_days
from tests.factories import SubscriptionFactory, TrackCreditFactory, TrackFactory

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
    User.objects.filter(pk=owner.pk).update(account_type=AccountType.ENTERPRISE)  # seats: enterprises only
    seats = staff_client.post(
        ADD_SEATS, {"account_email": "OWNER@Example.COM", "extra_seats": 1, "reason": "x"}
    )
    assert seats.status_code == 302 and BillingAccount.objects.get(user=owner).extra_seats == 1


# --- a second staff QA pass ----------------------------------------------------------------------


def cancel(user):
    """What approving a cancellation leaves: the account's email replaced by a tombstone address."""
    User.objects.filter(pk=user.pk).update(
        cancelled_at=timezone.now(), email=f"cancelled-{user.pk}-0a1b2c3d@cancelled.invalid", is_active=False
    )
    user.refresh_from_db()
    return user


def make_enterprise(user):
    User.objects.filter(pk=user.pk).update(account_type=AccountType.ENTERPRISE)
    user.refresh_from_db()
    return user


# --- complimentary memberships: not for a cancelled account, not for oneself ---------------------


def test_a_cancelled_account_cannot_be_granted_a_complimentary_membership(staff_client, staff, owner, plans):
    cancelled = cancel(owner)
    response = staff_client.post(GRANT, grant_form(plans["pro-monthly"], cancelled.email))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "account_email": ["This account is cancelled: it can no longer be given a membership."]
    }
    with pytest.raises(services.CheckoutError, match="This account is cancelled"):
        grant_for_30_days(cancelled, plans["pro-monthly"], staff, reason="x")
    assert not Subscription.objects.filter(user=cancelled).exists()
    assert not AuditLog.objects.filter(action="billing.complimentary_granted").exists()


def test_staff_cannot_grant_a_complimentary_membership_to_their_own_account(staff_client, staff, plans):
    response = staff_client.post(GRANT, grant_form(plans["pro-monthly"], staff.email.upper()))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "account_email": ["You cannot grant a membership to your own account; ask another staff member."]
    }
    with pytest.raises(services.CheckoutError, match="your own account"):
        grant_for_30_days(staff, plans["pro-monthly"], staff, reason="x")
    assert not Subscription.objects.filter(user=staff).exists()


def test_another_staff_member_may_grant_a_staff_account_a_membership(staff, plans):
    from tests.factories import StaffFactory

    colleague = StaffFactory(email="colleague@allmytracks.test")
    sub = grant_for_30_days(colleague, plans["pro-monthly"], staff, reason="Testing downloads")
    assert sub.user == colleague and sub.is_complimentary


# --- extra seats: a ceiling, and enterprise accounts only ------------------------------------------


@pytest.mark.parametrize("seats", [1001, 99999999999])
def test_extra_seats_above_the_ceiling_are_refused_on_both_seat_pages(staff_client, owner, seats):
    make_enterprise(owner)
    response = staff_client.post(
        ADD_SEATS, {"account_email": owner.email, "extra_seats": seats, "reason": "x"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"extra_seats": ["Grant at most 1,000 extra seats."]}
    assert not BillingAccount.objects.exists()

    account = BillingAccount.objects.create(user=owner, extra_seats=2)
    change = reverse("admin:billing_billingaccount_change", args=[account.pk])
    response = staff_client.post(change, {"extra_seats": seats, "reason": "x"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"extra_seats": ["Grant at most 1,000 extra seats."]}
    account.refresh_from_db()
    owner.refresh_from_db()
    assert account.extra_seats == 2 and owner.designated_seats == 1


def test_the_seat_service_refuses_more_than_the_ceiling(staff, owner):
    make_enterprise(owner)
    with pytest.raises(services.CheckoutError, match="at most 1,000 extra seats"):
        services.set_extra_seats(user=owner, extra_seats=1001, actor=staff, reason="x")
    services.set_extra_seats(user=owner, extra_seats=1000, actor=staff, reason="The ceiling itself")
    owner.refresh_from_db()
    assert owner.designated_seats == 1001


def test_extra_seats_for_an_individual_account_are_refused(staff_client, staff, owner):
    message = (
        "owner@example.com is not an enterprise account: an individual account has exactly one end user. "
        "Seats can be granted once it is an enterprise (an approved application or a business plan)."
    )
    response = staff_client.post(ADD_SEATS, {"account_email": owner.email, "extra_seats": 2, "reason": "x"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"extra_seats": [message]}
    assert not BillingAccount.objects.exists()

    account = BillingAccount.objects.create(user=owner, stripe_customer_id="cus_1")
    change = reverse("admin:billing_billingaccount_change", args=[account.pk])
    response = staff_client.post(change, {"extra_seats": 2, "reason": "x"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"extra_seats": [message]}
    with pytest.raises(services.CheckoutError, match="not an enterprise account"):
        services.set_extra_seats(user=owner, extra_seats=2, actor=staff, reason="x")
    account.refresh_from_db()
    owner.refresh_from_db()
    assert account.extra_seats == 0 and owner.designated_seats == 1
    assert not AuditLog.objects.filter(action__in=["billing.extra_seats", "billing.seats_set"]).exists()


def test_extra_seats_left_on_an_individual_account_can_still_be_taken_away(staff_client, owner, staff):
    account = BillingAccount.objects.create(user=owner, extra_seats=5)
    change = reverse("admin:billing_billingaccount_change", args=[account.pk])
    for fewer in (2, 0):  # some or all of them
        response = staff_client.post(change, {"extra_seats": fewer, "reason": "Granted by mistake"})
        assert response.status_code == 302
        account.refresh_from_db()
        assert account.extra_seats == fewer
    # More than the ceiling, left from before it: lowering is allowed, raising is not.
    BillingAccount.objects.filter(pk=account.pk).update(extra_seats=1500)
    services.set_extra_seats(user=owner, extra_seats=1200, actor=staff, reason="Fewer")
    with pytest.raises(services.CheckoutError):
        services.set_extra_seats(user=owner, extra_seats=1300, actor=staff, reason="More")


def test_staff_cannot_add_seats_to_their_own_account_nor_grant_a_thousand_and_one(staff, owner, plans):
    SubscriptionFactory(user=staff, plan=plans["business-monthly"], quantity=2)
    with pytest.raises(services.CheckoutError, match="your own account"):
        services.set_extra_seats(user=staff, extra_seats=3, actor=staff, reason="Mine")
    with pytest.raises(services.CheckoutError, match="at most 1,000 seats"):
        grant_for_30_days(owner, plans["business-monthly"], staff, reason="Agency", quantity=1001)
    # Seats belong to business plans: another plan's grant has one, whatever was asked.
    sub = grant_for_30_days(owner, plans["pro-monthly"], staff, reason="Partner", quantity=40)
    assert sub.quantity == 1


def test_an_account_with_a_business_membership_may_get_extra_seats(staff, owner, plans):
    SubscriptionFactory(user=owner, plan=plans["business-monthly"], quantity=2)
    services.set_extra_seats(user=owner, extra_seats=3, actor=staff, reason="Agency")
    owner.refresh_from_db()
    assert owner.is_enterprise and owner.designated_seats == 5


# --- plain-text emails are plain text -------------------------------------------------------------


def test_a_complimentary_business_grant_email_says_and_not_amp(
    staff_client, owner, plans, django_capture_on_commit_callbacks
):
    plan = plans["business-monthly"]
    assert plan.name == "Music & Sound Effects Business"
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(GRANT, grant_form(plan, owner.email))
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.subject.endswith("Your Music & Sound Effects Business membership is active")
    assert "Your Music & Sound Effects Business membership (monthly) is active" in message.body
    assert "&amp;" not in message.subject + message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "Music &amp; Sound Effects Business" in html
    assert "Music & Sound" not in html and "&amp;amp;" not in html


def _every_billing_email(owner, plans):
    """Each billing email, sent about a plan and a track whose names carry an ampersand."""
    plan = plans["business-monthly"]
    sub = SubscriptionFactory(
        user=owner, plan=plan, current_period_end=timezone.now() + datetime.timedelta(days=9)
    )
    credit = TrackCreditFactory(user=owner, track=TrackFactory(title="Salt & Pepper"))
    return {
        "membership_started": lambda: emails.membership_started(sub),
        "payment_failed": lambda: emails.payment_failed(sub),
        "payment_recovered": lambda: emails.payment_recovered(sub),
        "membership_ending": lambda: emails.membership_ending(sub),
        "membership_ended": lambda: emails.membership_ended(sub),
        "track_purchased": lambda: emails.track_purchased(credit),
        "credit_revoked": lambda: emails.credit_revoked(credit),
    }


@pytest.mark.parametrize(
    "name",
    [
        "membership_started",
        "payment_failed",
        "payment_recovered",
        "membership_ending",
        "membership_ended",
        "track_purchased",
        "credit_revoked",
    ],
)
def test_every_billing_email_keeps_ampersands_plain_in_text_and_escaped_in_html(
    name, owner, plans, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=owner.pk).update(display_name="Olivia & Co")
    owner.refresh_from_db()
    send = _every_billing_email(owner, plans)[name]
    with django_capture_on_commit_callbacks(execute=True):
        send()
    [message] = mail.outbox
    named = "Salt & Pepper" if name in {"track_purchased", "credit_revoked"} else "Music & Sound Effects"
    assert named in message.subject and named in message.body
    assert "Hello Olivia & Co," in message.body
    assert "&amp;" not in message.subject + message.body
    [(html, _mimetype)] = message.alternatives
    assert named.replace("&", "&amp;") in html and "&amp;amp;" not in html
