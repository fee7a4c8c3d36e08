"""Compromise reports: lock at once, end sessions, revoke trusted browsers, recover by email."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import CompromiseReport, User
from allmytracks.models import AuditLog

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Brand-New-Secret-42"


def report(client, email, capture, **extra):
    with capture(execute=True):
        return client.post(
            reverse("accounts:report-compromise"), {"email": email, "details": "Odd purchases", **extra}
        )


def recovery_path():
    return re.search(r"(/account/recover/[^/\s]+/)", mail.outbox[-1].body).group(1)


def test_report_while_signed_out_locks_the_account_and_ends_its_sessions(
    anon_client, members, password, django_capture_on_commit_callbacks
):
    owner = members[0]
    victim_browser = Client()
    victim_browser.post(reverse("account_login"), {"login": owner.email, "password": password})
    assert victim_browser.get(reverse("accounts:account")).status_code == 200

    response = report(anon_client, "Owner@Example.com", django_capture_on_commit_callbacks)
    assert response.status_code == 200 and "Report received" in response.text
    owner.refresh_from_db()
    assert owner.is_locked and not owner.has_usable_password()
    assert victim_browser.get(reverse("accounts:account")).status_code == 302
    assert CompromiseReport.objects.get().user == owner
    assert mail.outbox[-1].to == [owner.email] and "/account/recover/" in mail.outbox[-1].body
    assert AuditLog.objects.for_object(owner).filter(action="accounts.compromise_locked").exists()


def test_locked_account_cannot_sign_in_even_with_the_old_password(
    anon_client, members, password, django_capture_on_commit_callbacks
):
    report(anon_client, "owner@example.com", django_capture_on_commit_callbacks)
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": "owner@example.com", "password": password}, follow=True
    )
    assert "_auth_user_id" not in client.session
    # The old password no longer works at all; only the emailed link unlocks. A stranger
    # typing the address learns nothing about the lock (no account enumeration).
    assert "locked" not in response.text


def test_report_for_an_unknown_address_answers_the_same(
    anon_client, members, django_capture_on_commit_callbacks
):
    response = report(anon_client, "nobody@example.com", django_capture_on_commit_callbacks)
    assert response.status_code == 200 and "Report received" in response.text
    assert not mail.outbox
    assert CompromiseReport.objects.get().user is None


def test_signed_in_report_of_ones_own_account_signs_out_here_too(
    owner_client, members, django_capture_on_commit_callbacks
):
    report(owner_client, "owner@example.com", django_capture_on_commit_callbacks)
    assert owner_client.get(reverse("accounts:account")).status_code == 302
    assert CompromiseReport.objects.get().reported_while_signed_in


def test_report_revokes_every_mfa_trusted_browser(members, django_capture_on_commit_callbacks, anon_client):
    from allauth.mfa.internal.flows.trust import create_config_fingerprint

    owner = members[0]
    before = create_config_fingerprint(owner)
    report(anon_client, owner.email, django_capture_on_commit_callbacks)
    assert create_config_fingerprint(User.objects.get(pk=owner.pk)) != before


def test_owner_recovers_by_email_proof_and_the_lock_lifts(
    anon_client, members, django_capture_on_commit_callbacks
):
    report(anon_client, "owner@example.com", django_capture_on_commit_callbacks)
    path = recovery_path()
    page = anon_client.get(path)
    assert page.status_code == 200 and "owner@example.com" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        response = anon_client.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    owner = User.objects.get(pk=members[0].pk)
    assert not owner.is_locked and owner.check_password(NEW_PASSWORD)
    assert CompromiseReport.objects.get().recovered_at is not None
    client = Client()
    client.post(reverse("account_login"), {"login": "owner@example.com", "password": NEW_PASSWORD})
    assert "_auth_user_id" in client.session
    # The link works once.
    assert anon_client.get(path).status_code == 400


def test_a_stranger_cannot_lock_a_just_recovered_account_again_but_the_owner_can(
    anon_client, members, django_capture_on_commit_callbacks, settings
):
    """Reports from anyone but the signed-in owner, within a day of a recovery, go to staff instead
    of locking the owner out again (one alert per interval); after the day, a report locks."""
    settings.STAFF_ALERT_EMAILS = ["staff@example.com"]
    report(anon_client, "owner@example.com", django_capture_on_commit_callbacks)
    path = recovery_path()
    with django_capture_on_commit_callbacks(execute=True):
        anon_client.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    mail.outbox.clear()

    for _ in range(3):
        response = report(Client(), "owner@example.com", django_capture_on_commit_callbacks)
        assert response.status_code == 200 and "Report received" in response.text  # says the same
    owner = User.objects.get(pk=members[0].pk)
    assert not owner.is_locked and owner.check_password(NEW_PASSWORD)
    assert CompromiseReport.objects.filter(user=owner).count() == 4
    assert AuditLog.objects.for_object(owner).filter(action="accounts.compromise_report_held").count() == 3
    assert [m.to for m in mail.outbox] == [["staff@example.com"]]  # staff, once; nothing to the owner
    assert "not locked" in mail.outbox[0].subject + mail.outbox[0].body

    owner_client = Client()
    owner_client.force_login(owner)
    report(owner_client, "owner@example.com", django_capture_on_commit_callbacks)  # the owner's own
    assert User.objects.get(pk=owner.pk).is_locked

    with django_capture_on_commit_callbacks(execute=True):
        anon_client.post(recovery_path(), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    with time_machine.travel(timezone.now() + datetime.timedelta(days=1, minutes=1)):
        report(Client(), "owner@example.com", django_capture_on_commit_callbacks)
        assert User.objects.get(pk=owner.pk).is_locked


def test_recovery_link_expires(anon_client, members, django_capture_on_commit_callbacks):
    report(anon_client, "owner@example.com", django_capture_on_commit_callbacks)
    path = recovery_path()
    with time_machine.travel(timezone.now() + datetime.timedelta(days=2)):
        response = anon_client.get(path)
    assert response.status_code == 400 and "expired" in response.text


def test_recovery_rejects_weak_passwords(anon_client, members, django_capture_on_commit_callbacks):
    report(anon_client, "owner@example.com", django_capture_on_commit_callbacks)
    response = anon_client.post(recovery_path(), {"password1": "12345678", "password2": "12345678"})
    assert response.status_code == 200
    assert User.objects.get(pk=members[0].pk).is_locked


def test_reports_are_a_staff_task_in_admin_and_resolving_is_audited(
    anon_client, mfa_staff_client, members, staff, django_capture_on_commit_callbacks
):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    report(anon_client, "owner@example.com", django_capture_on_commit_callbacks)
    url = reverse("admin:accounts_compromisereport_changelist")
    page = mfa_staff_client.get(url, {"state": "open"})
    assert "owner@example.com" in page.text
    item = CompromiseReport.objects.get()
    mfa_staff_client.post(
        url, {"action": "resolve", ACTION_CHECKBOX_NAME: [item.pk], "apply": "1", "reason": "Checked"}
    )
    item.refresh_from_db()
    assert item.resolved_by == staff
    assert (
        AuditLog.objects.for_object(item).filter(action="accounts.compromise_resolved", actor=staff).exists()
    )


def test_reports_are_rate_limited(anon_client, members, django_capture_on_commit_callbacks):
    for _ in range(5):
        report(anon_client, "nobody@example.com", django_capture_on_commit_callbacks)
    response = report(anon_client, "nobody@example.com", django_capture_on_commit_callbacks)
    assert response.status_code == 429 and response["Retry-After"]


def test_reports_from_other_addresses_cannot_void_the_owners_link_or_flood_their_inbox(
    members, django_capture_on_commit_callbacks
):
    report(Client(REMOTE_ADDR="198.51.100.1"), "owner@example.com", django_capture_on_commit_callbacks)
    first_link = recovery_path()
    sent = len(mail.outbox)
    for n in range(2, 6):  # four more reports, each from another address
        client = Client(REMOTE_ADDR=f"198.51.100.{n}")
        assert report(client, "owner@example.com", django_capture_on_commit_callbacks).status_code == 200
    assert len(mail.outbox) == sent  # no new email within the interval
    assert CompromiseReport.objects.filter(user=members[0]).count() == 5  # every report kept for staff
    assert AuditLog.objects.filter(action="accounts.compromise_reported_again").count() == 4

    anon = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = anon.post(first_link, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302  # the first link still works
    assert User.objects.get(pk=members[0].pk).check_password(NEW_PASSWORD)
    assert not CompromiseReport.objects.filter(user=members[0], recovered_at__isnull=True).exists()


def test_a_report_on_a_locked_account_after_the_interval_sends_the_link_again(
    members, django_capture_on_commit_callbacks, settings
):
    report(Client(REMOTE_ADDR="198.51.100.1"), "owner@example.com", django_capture_on_commit_callbacks)
    sent = len(mail.outbox)
    later = timezone.now() + datetime.timedelta(seconds=settings.ACCOUNTS_RECOVERY_RESEND_SECONDS + 1)
    with time_machine.travel(later):
        report(Client(REMOTE_ADDR="198.51.100.2"), "owner@example.com", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == sent + 1
    again = recovery_path()
    anon = Client()
    assert anon.get(again).status_code == 200 and User.objects.get(pk=members[0].pk).is_locked
