"""The members' pages of the staff site: the list of accounts, an account's page with its
moderation buttons and links, and the confirmation page of each moderation action."""

import datetime
import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import AccountType, Moderation, User
from allmytracks.models import AuditLog
from tests.accounts.conftest import give_totp
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/accounts/user/"


def change_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


def post_action(client, action, users, **fields):
    data = {"action": action, ACTION_CHECKBOX_NAME: [u.pk for u in users], **fields}
    return client.post(CHANGELIST, data)


def in_a_week():
    return (timezone.now() + datetime.timedelta(days=7)).replace(second=0, microsecond=0)


# --- the list of accounts ---------------------------------------------------------------------


def test_the_list_shows_each_status_in_words(mfa_staff_client, members, staff):
    owner, other, _ = members
    until = in_a_week()
    services.suspend_user(user=owner, actor=staff, reason="Spam", until=until)
    response = mfa_staff_client.get(CHANGELIST)
    statuses = {
        row.email: response.context["cl"].model_admin.status_label(row)
        for row in response.context["cl"].result_list
    }
    assert statuses[owner.email] == f"Suspended until {until:%-d %b %Y}"
    assert statuses[other.email] == "Active"
    assert ">suspended<" not in response.text and ">active<" not in response.text


def test_the_list_has_one_set_of_filters_without_duplicates(mfa_staff_client, members):
    response = mfa_staff_client.get(CHANGELIST)
    titles = [str(spec.title) for spec in response.context["cl"].filter_specs]
    assert titles == ["status", "account type", "role"]
    assert "Account (email and name)" in response.text
    assert "Email address (account ID)" not in response.text


def test_the_role_filter_tells_members_from_staff(mfa_staff_client, members, staff):
    owner = members[0]
    members_only = mfa_staff_client.get(CHANGELIST, {"role": "member"}).context["cl"].result_list
    staff_only = mfa_staff_client.get(CHANGELIST, {"role": "staff"}).context["cl"].result_list
    assert owner in members_only and staff not in members_only
    assert staff in staff_only and owner not in staff_only


def test_a_suspension_that_has_ended_counts_as_active(mfa_staff_client, members, staff):
    owner = members[0]
    User.objects.filter(pk=owner.pk).update(
        moderation=Moderation.SUSPENDED, suspended_until=timezone.now() - datetime.timedelta(days=1)
    )
    assert owner in mfa_staff_client.get(CHANGELIST, {"status": "active"}).context["cl"].result_list
    assert owner not in mfa_staff_client.get(CHANGELIST, {"status": "suspended"}).context["cl"].result_list


# --- an account's page -------------------------------------------------------------------------


def test_an_individual_account_explains_its_end_user_instead_of_designated_seats(mfa_staff_client, members):
    owner = members[0]
    response = mfa_staff_client.get(change_url(owner))
    assert "Designated seats" not in response.text
    assert "exactly one end user" in response.text


def test_an_enterprise_account_shows_its_designated_seats(mfa_staff_client, members):
    owner = members[0]
    User.objects.filter(pk=owner.pk).update(account_type=AccountType.ENTERPRISE, designated_seats=4)
    response = mfa_staff_client.get(change_url(owner))
    assert "Designated seats" in response.text and 'name="designated_seats"' not in response.text
    assert re.search(r"Designated seats.*?\b4\b", response.text, re.S)


def test_an_account_page_links_to_its_records_elsewhere(mfa_staff_client, members, staff):
    owner, other, _ = members
    services.suspend_user(user=owner, actor=staff, reason="Spam")
    services.suspend_user(user=other, actor=staff, reason="Spam too")
    html = mfa_staff_client.get(change_url(owner)).text
    found = re.findall(r'<li><a href="([^"]+)">([^<]+)</a> \((\d+)\)</li>', html)
    links = {text: (href, int(count)) for href, text, count in found}
    assert links["Memberships"][0] == f"/admin/billing/subscription/?user__id__exact={owner.pk}"
    assert links["Licences"][0] == f"/admin/licensing/license/?account__id__exact={owner.pk}"
    assert links["Audit log entries about this account"] == (
        f"/admin/allmytracks/auditlog/?about=accounts.user:{owner.pk}",
        1,
    )
    assert links["Agreement acceptances"][1] == 2
    for text, (href, count) in links.items():
        listed = mfa_staff_client.get(href)
        assert listed.context["cl"].result_count == count, text
        # The list says whose records it shows, and offers them all.
        assert "Clear all filters" in listed.text, text


def test_an_account_page_shows_its_audit_entries_in_words(mfa_staff_client, members, staff):
    owner = members[0]
    services.suspend_user(user=owner, actor=staff, reason="Visible reason")
    html = mfa_staff_client.get(change_url(owner)).text
    assert "Account suspended" in html and "Visible reason" in html
    assert ">accounts.suspended<" not in html


def test_an_account_page_has_moderation_buttons_that_post_the_action(mfa_staff_client, members):
    owner = members[0]
    html = mfa_staff_client.get(change_url(owner)).text
    forms = re.findall(r'<form method="post" action="/admin/accounts/user/">(.*?)</form>', html, re.S)
    actions = [re.search(r'name="action" value="([a-z_]+)"', f).group(1) for f in forms]
    assert actions == ["suspend", "ban", "force_rename", "refuse_registration_data"]
    for form in forms:
        assert 'name="csrfmiddlewaretoken"' in form
        assert f'name="{ACTION_CHECKBOX_NAME}" value="{owner.pk}"' in form
        assert 'name="_return_to" value="change"' in form


def test_a_suspended_account_offers_reinstate_instead(mfa_staff_client, members, staff):
    owner = members[0]
    services.suspend_user(user=owner, actor=staff, reason="Spam")
    html = mfa_staff_client.get(change_url(owner)).text
    assert ">Reinstate</button>" in html and ">Ban</button>" in html


def test_staff_who_may_only_view_accounts_get_no_moderation_buttons_and_cannot_act(members):
    from django.test import Client

    owner = members[0]
    viewer = StaffFactory(is_superuser=False)
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    give_totp(viewer)
    client = Client()
    client.force_login(viewer)
    page = client.get(change_url(owner))
    assert page.status_code == 200 and "staff-tool" not in page.text
    post_action(client, "ban", [owner], apply="1", reason="Not allowed")
    owner.refresh_from_db()
    assert owner.moderation == Moderation.ACTIVE
    assert not AuditLog.objects.filter(action="accounts.banned").exists()


def test_a_button_leads_to_the_confirmation_page_and_back_to_the_account(mfa_staff_client, members):
    owner = members[0]
    page = post_action(mfa_staff_client, "ban", [owner], _return_to="change")
    assert page.status_code == 200
    assert f'<a href="{change_url(owner)}" class="button cancel-link">Cancel</a>' in page.text
    assert 'name="_return_to" value="change"' in page.text
    done = post_action(mfa_staff_client, "ban", [owner], _return_to="change", apply="1", reason="Fraud")
    assert done.status_code == 302 and done.url == change_url(owner)
    owner.refresh_from_db()
    assert owner.is_banned


# --- the confirmation page ----------------------------------------------------------------------


def test_the_confirmation_page_lists_who_is_affected_and_what_happens(mfa_staff_client, members):
    owner, other, _ = members
    page = post_action(mfa_staff_client, "suspend", [owner, other])
    html = page.text
    assert page.status_code == 200
    assert f'<a href="{change_url(owner)}">{owner.email}</a>' in html
    assert f'<a href="{change_url(other)}">{other.email}</a>' in html
    assert "signed out at their next request" in html and "Licences they already hold stay valid" in html
    assert 'value="Suspend 2 accounts"' in html
    assert '<ol class="breadcrumbs">' in html and '<a href="/admin/accounts/">Members</a>' in html


def test_the_suspension_end_is_picked_with_the_admin_date_and_time_widgets(mfa_staff_client, members):
    html = post_action(mfa_staff_client, "suspend", [members[0]]).text
    assert 'class="vDateField"' in html and 'class="vTimeField"' in html
    assert "admin/js/admin/DateTimeShortcuts.js" in html and reverse("admin:jsi18n") in html


def test_suspending_with_an_end_date_from_the_two_widgets(mfa_staff_client, members):
    owner = members[0]
    until = in_a_week()
    post_action(
        mfa_staff_client,
        "suspend",
        [owner],
        apply="1",
        reason="Cooling off",
        until_0=f"{until:%Y-%m-%d}",
        until_1=f"{until:%H:%M:%S}",
    )
    owner.refresh_from_db()
    assert owner.suspended_until == until


def test_a_suspension_end_in_the_past_is_refused_on_the_page(mfa_staff_client, members):
    owner = members[0]
    page = post_action(
        mfa_staff_client, "suspend", [owner], apply="1", reason="x", until_0="2020-01-01", until_1="10:00"
    )
    assert page.status_code == 200 and "must be in the future" in page.text
    owner.refresh_from_db()
    assert owner.moderation == Moderation.ACTIVE


def test_suspending_an_account_already_suspended_until_then_is_skipped_and_not_audited(
    mfa_staff_client, members, staff, django_capture_on_commit_callbacks
):
    owner, other, _ = members
    until = in_a_week()
    services.suspend_user(user=owner, actor=staff, reason="First", until=until)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(
            mfa_staff_client,
            "suspend",
            [owner, other],
            apply="1",
            reason="Again",
            until_0=f"{until:%Y-%m-%d}",
            until_1=f"{until:%H:%M}",
        )
    assert response.status_code == 302
    assert AuditLog.objects.for_object(owner).filter(action="accounts.suspended").count() == 1
    assert AuditLog.objects.for_object(other).filter(action="accounts.suspended").count() == 1
    assert [m.to for m in mail.outbox] == [[other.email]]
    notes = [str(m) for m in mfa_staff_client.get(CHANGELIST).context["messages"]]
    assert f"Suspended: {other.email}." in notes
    assert any(n.startswith("Nothing to do") and owner.email in n and "already suspended" in n for n in notes)


def test_a_new_end_date_changes_a_suspension(mfa_staff_client, members, staff):
    owner = members[0]
    services.suspend_user(user=owner, actor=staff, reason="First", until=in_a_week())
    later = in_a_week() + datetime.timedelta(days=7)
    post_action(
        mfa_staff_client,
        "suspend",
        [owner],
        apply="1",
        reason="Extended",
        until_0=f"{later:%Y-%m-%d}",
        until_1=f"{later:%H:%M}",
    )
    owner.refresh_from_db()
    assert owner.suspended_until == later
    assert AuditLog.objects.for_object(owner).filter(action="accounts.suspended").count() == 2


def test_banning_a_banned_account_or_reinstating_an_active_one_does_nothing(mfa_staff_client, members, staff):
    owner, other, _ = members
    services.ban_user(user=owner, actor=staff, reason="Fraud")
    page = post_action(mfa_staff_client, "ban", [owner, other])
    assert "Left as it is: already banned" in page.text and 'value="Ban 1 account"' in page.text
    post_action(mfa_staff_client, "ban", [owner], apply="1", reason="Again")
    post_action(mfa_staff_client, "reinstate", [other], apply="1", reason="Nothing to lift")
    assert AuditLog.objects.for_object(owner).filter(action="accounts.banned").count() == 1
    assert not AuditLog.objects.filter(action="accounts.reinstated").exists()


def test_the_page_says_when_there_is_nothing_to_do(mfa_staff_client, members):
    page = post_action(mfa_staff_client, "reinstate", [members[0]])
    assert "Nothing to change" in page.text and 'class="default"' not in page.text


def test_asking_twice_for_a_new_name_is_skipped(mfa_staff_client, members, staff):
    owner = members[0]
    post_action(mfa_staff_client, "force_rename", [owner], apply="1", reason="Impersonates an artist.")
    post_action(mfa_staff_client, "force_rename", [owner], apply="1", reason="Impersonates an artist.")
    assert AuditLog.objects.for_object(owner).filter(action="accounts.rename_forced").count() == 1


def test_a_cancelled_account_is_not_moderated(mfa_staff_client, members):
    owner = members[0]
    User.objects.filter(pk=owner.pk).update(cancelled_at=timezone.now())
    page = post_action(mfa_staff_client, "ban", [owner])
    assert "the account is cancelled" in page.text
    assert "staff-tool" not in mfa_staff_client.get(change_url(owner)).text
