"""Staff moderation in admin: suspend, ban, reinstate, force rename, refuse registration data.

Every action is audited; suspended and banned members are signed out at their next request
and told why on the sign-in page; they cannot buy or download.
"""

import datetime

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Moderation, User
from allmytracks.models import AuditLog
from tests.accounts.conftest import give_totp

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/accounts/user/"


def admin_action(client, action, users, **fields):
    data = {"action": action, ACTION_CHECKBOX_NAME: [u.pk for u in users], "apply": "1", **fields}
    return client.post(CHANGELIST, data)


def test_suspend_action_asks_for_a_reason_first(mfa_staff_client, members):
    owner = members[0]
    response = mfa_staff_client.post(CHANGELIST, {"action": "suspend", ACTION_CHECKBOX_NAME: [owner.pk]})
    assert response.status_code == 200
    assert "Suspend accounts" in response.text
    owner.refresh_from_db()
    assert owner.moderation == Moderation.ACTIVE


def test_staff_suspends_a_member_with_reason_and_end_date_and_it_is_audited(
    mfa_staff_client, members, staff, django_capture_on_commit_callbacks
):
    owner = members[0]
    until = timezone.now() + datetime.timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_action(
            mfa_staff_client,
            "suspend",
            [owner],
            reason="Spam in profile",
            until_0=f"{until:%Y-%m-%d}",
            until_1=f"{until:%H:%M}",
        )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.is_suspended and owner.moderation_reason == "Spam in profile"
    assert owner.suspended_until is not None
    row = AuditLog.objects.for_object(owner).get(action="accounts.suspended")
    assert row.actor == staff and row.reason == "Spam in profile"
    assert mail.outbox[-1].to == [owner.email] and "suspended" in mail.outbox[-1].subject


def test_staff_cannot_suspend_or_ban_their_own_account(mfa_staff_client, members, staff):
    for action in ("suspend", "ban"):
        response = admin_action(mfa_staff_client, action, [staff], reason="Oops", until_0="", until_1="")
        page = (
            mfa_staff_client.get(response["Location"]).text if response.status_code == 302 else response.text
        )
        assert f"You cannot {action} your own account" in page
    staff.refresh_from_db()
    assert staff.moderation == Moderation.ACTIVE
    assert not AuditLog.objects.for_object(staff).filter(action__in=["accounts.suspended", "accounts.banned"])


def test_suspended_member_is_signed_out_at_next_request_and_told_why(owner_client, members, staff):
    owner = members[0]
    services.suspend_user(user=owner, actor=staff, reason="Chargeback investigation")
    response = owner_client.get(reverse("accounts:account"))
    assert response.status_code == 302 and response.url == reverse("account_login")
    login_page = owner_client.get(reverse("account_login"))
    assert "Chargeback investigation" in login_page.text
    assert "suspended" in login_page.text and "You have been signed out." in login_page.text
    assert owner_client.get(reverse("accounts:account")).status_code == 302


def test_suspended_member_cannot_sign_in_and_sees_the_reason(client, members, staff, password):
    owner = members[0]
    services.suspend_user(user=owner, actor=staff, reason="Abusive uploads")
    response = client.post(
        reverse("account_login"), {"login": owner.email, "password": password}, follow=True
    )
    assert "_auth_user_id" not in client.session
    assert "Abusive uploads" in response.text
    # A sign-in attempt signed no one out: the notice says so as it is.
    assert "You cannot sign in." in response.text and "You have been signed out." not in response.text


def test_banned_member_cannot_sign_in(client, members, staff, password):
    owner = members[0]
    services.ban_user(user=owner, actor=staff, reason="Fraud")
    response = client.post(
        reverse("account_login"), {"login": owner.email, "password": password}, follow=True
    )
    assert "_auth_user_id" not in client.session
    assert "banned" in response.text and "Fraud" in response.text


def test_suspension_ends_by_itself_at_its_end_date(members, staff):
    import time_machine

    owner = members[0]
    services.suspend_user(
        user=owner, actor=staff, reason="Cooling off", until=timezone.now() + datetime.timedelta(days=1)
    )
    assert owner.is_suspended
    with time_machine.travel(timezone.now() + datetime.timedelta(days=2)):
        assert not owner.is_suspended
        services.check_can_transact(owner)


def test_suspended_and_banned_members_cannot_transact(members, staff):
    owner, other, _ = members
    services.suspend_user(user=owner, actor=staff, reason="x")
    services.ban_user(user=other, actor=staff, reason="y")
    for user in (owner, other):
        with pytest.raises(services.AccountRestricted):
            services.check_can_transact(user)


def test_reinstate_lifts_a_ban_and_is_audited(mfa_staff_client, members, staff, password, client):
    owner = members[0]
    services.ban_user(user=owner, actor=staff, reason="Mistake")
    admin_action(mfa_staff_client, "reinstate", [owner], reason="Appeal accepted")
    owner.refresh_from_db()
    assert owner.moderation == Moderation.ACTIVE
    assert AuditLog.objects.for_object(owner).filter(action="accounts.reinstated", actor=staff).exists()
    client.post(reverse("account_login"), {"login": owner.email, "password": password})
    assert "_auth_user_id" in client.session


def test_force_rename_keeps_the_member_on_the_profile_page_until_they_choose_a_new_name(
    mfa_staff_client, members, owner_client
):
    owner = members[0]
    admin_action(mfa_staff_client, "force_rename", [owner], reason="Your name impersonates an artist.")
    response = owner_client.get(reverse("accounts:account"))
    assert response.status_code == 302 and response.url == reverse("accounts:profile")
    page = owner_client.get(reverse("accounts:profile"))
    assert "Your name impersonates an artist." in page.text
    with pytest.raises(services.AccountRestricted):
        services.check_can_transact(User.objects.get(pk=owner.pk))


def test_refusing_registration_data_asks_for_resubmission_and_is_audited(mfa_staff_client, members, staff):
    owner = members[0]
    admin_action(mfa_staff_client, "refuse_registration_data", [owner], reason="Company name is not real.")
    owner.refresh_from_db()
    assert owner.profile_review == "resubmit"
    row = AuditLog.objects.for_object(owner).get(action="accounts.registration_refused")
    assert row.actor == staff and row.reason == "Company name is not real."


def test_member_list_in_admin_filters_by_status_and_searches_by_email(
    mfa_staff_client, members, staff, django_assert_max_num_queries
):
    owner, other, _ = members
    services.suspend_user(user=owner, actor=staff, reason="x")
    mfa_staff_client.get(CHANGELIST)  # the session's first request also records its activity
    with django_assert_max_num_queries(15):
        response = mfa_staff_client.get(CHANGELIST, {"status": "suspended"})
    assert owner.email in response.text and other.email not in response.text
    response = mfa_staff_client.get(CHANGELIST, {"q": "other@"})
    assert other.email in response.text and owner.email not in response.text


def test_audit_rows_show_on_the_members_admin_page(mfa_staff_client, members, staff):
    owner = members[0]
    services.suspend_user(user=owner, actor=staff, reason="Visible reason")
    page = mfa_staff_client.get(reverse("admin:accounts_user_change", args=[owner.pk]))
    assert "Account suspended" in page.text and "Visible reason" in page.text


def test_editing_a_member_in_admin_is_audited_and_the_email_stays_read_only(mfa_staff_client, members, staff):
    owner = members[0]
    User.objects.filter(pk=owner.pk).update(account_type="enterprise")  # seats are for enterprises
    url = reverse("admin:accounts_user_change", args=[owner.pk])
    page = mfa_staff_client.get(url)
    assert 'name="email"' not in page.text
    data = {
        "display_name": owner.display_name,
        "country": "",
        "company": "Northwind Studio",
        "bio": "",
        "designated_seats": 5,  # shown, not edited here: seats come from billing (forged: ignored)
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "email": "changed@example.com",
    }
    response = mfa_staff_client.post(url, data)
    assert response.status_code == 302, response.text[:3000]
    seats_before = owner.designated_seats
    owner.refresh_from_db()
    assert owner.designated_seats == seats_before and owner.company == "Northwind Studio"
    assert owner.email == "owner@example.com"
    row = AuditLog.objects.for_object(owner).get(action="accounts.admin_edited")
    assert "company" in row.data["fields"] and "designated_seats" not in row.data["fields"]
    assert row.data["new"]["company"] == "Northwind Studio" and row.data["old"]["company"] == ""


def test_staff_without_two_factor_is_sent_to_set_it_up_not_locked_out(staff_client, members):
    response = staff_client.get("/admin/")
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")
    # allauth asks for the password once more, then shows the authenticator set-up.
    page = staff_client.get(response.url, follow=True)
    assert page.status_code == 200
    assert page.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))


def test_staff_with_two_factor_reaches_the_admin(mfa_staff_client):
    assert mfa_staff_client.get("/admin/").status_code == 200


def test_members_cannot_reach_the_admin(owner_client, members):
    response = owner_client.get("/admin/")
    assert response.status_code in (302, 403)
    assert "/admin/" not in response.get("Location", "/admin/login") or "login" in response["Location"]


def test_admin_sign_in_goes_through_allauth(anon_client):
    response = anon_client.get("/admin/login/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_dev_setup_staff_account_is_guided_to_two_factor(db, client):
    import io

    from allauth.account.models import EmailAddress

    from allmytracks.management.commands.dev_setup import Command

    Command(stdout=io.StringIO()).ensure_staff()  # the step of `manage.py dev_setup` that makes staff
    staff = User.objects.get(email="staff@allmytracks.test")
    assert EmailAddress.objects.filter(user=staff, verified=True).exists()
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.url == reverse("mfa_activate_totp")
    give_totp(staff)
    assert client.get("/admin/").status_code == 200


def test_dev_setup_run_again_names_the_staff_account_and_how_to_reset_its_password(db):
    import io

    from allmytracks.management.commands.dev_setup import Command

    first, again = io.StringIO(), io.StringIO()
    Command(stdout=first).ensure_staff()
    Command(stdout=again).ensure_staff()
    assert "password:" in first.getvalue()
    assert "password:" not in again.getvalue() and User.objects.filter(is_staff=True).count() == 1
    assert "manage.py changepassword staff@allmytracks.test" in again.getvalue()
