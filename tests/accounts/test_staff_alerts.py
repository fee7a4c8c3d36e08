"""The staff inbox hears when something starts waiting for a person, with a link to it."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import CancellationRequest, CompromiseReport, EnterpriseApplication
from tests.accounts.test_enterprise import PDF, apply

pytestmark = pytest.mark.django_db
STAFF_INBOX = ["ops@allmytracks.example", "owner-desk@allmytracks.example"]


def staff_mail():
    return [m for m in mail.outbox if m.to == STAFF_INBOX]


@pytest.fixture
def staff_inbox(settings):
    settings.STAFF_ALERT_EMAILS = STAFF_INBOX


def test_an_enterprise_application_tells_staff_with_a_link_to_it(
    owner_client, members, staff_inbox, django_capture_on_commit_callbacks, settings
):
    apply(
        owner_client,
        SimpleUploadedFile("letter.pdf", PDF, "application/pdf"),
        django_capture_on_commit_callbacks,
    )
    application = EnterpriseApplication.objects.get()
    [alert] = staff_mail()
    assert "Northwind Films Ltd" in alert.subject
    link = settings.SITE_URL + reverse("admin:accounts_enterpriseapplication_change", args=[application.pk])
    assert link in alert.body and members[0].email in alert.body


def test_cancellations_and_compromise_reports_tell_staff(
    owner_client, anon_client, members, staff_inbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            reverse("accounts:cancel"), {"confirm_email": members[0].email, "reason": "Moving on"}
        )
    assert CancellationRequest.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        anon_client.post(reverse("accounts:report-compromise"), {"email": members[1].email, "details": "Odd"})
    assert CompromiseReport.objects.filter(user=members[1]).exists()
    subjects = [m.subject for m in staff_mail()]
    assert any(f"Cancellation requested by {members[0].email}" in s for s in subjects)
    assert any(f"Account {members[1].email} locked" in s for s in subjects)


def test_a_billing_task_tells_staff_once(members, staff_inbox, django_capture_on_commit_callbacks):
    from billing import services
    from billing.models import TaskKind

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):  # the same Stripe object twice: one task, one email
            services.open_task(
                kind=TaskKind.DISPUTE, user=members[0], stripe_object_id="dp_1", details="Disputed charge"
            )
    [alert] = staff_mail()
    assert "Dispute on a purchase" in alert.subject and "Disputed charge" in alert.body


def test_without_a_staff_inbox_nothing_is_sent(
    owner_client, members, settings, django_capture_on_commit_callbacks
):
    settings.STAFF_ALERT_EMAILS = []
    apply(
        owner_client,
        SimpleUploadedFile("letter.pdf", PDF, "application/pdf"),
        django_capture_on_commit_callbacks,
    )
    assert EnterpriseApplication.objects.exists()
    assert all("[Staff]" not in m.subject for m in mail.outbox)
