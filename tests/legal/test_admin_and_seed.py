import io
import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from allmytracks.models import AuditLog
from legal import services
from legal.models import Acceptance, Notice, Version
from tests.factories import AgreementVersionFactory, UserFactory, publish_agreement

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_staff_mfa(settings):
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False


def test_staff_preview_a_draft_with_its_diff_before_publishing(staff_client):
    publish_agreement(body="Old clause.\n")
    draft = AgreementVersionFactory(
        document=services.ensure_documents()["user-agreement"], number=2, body="New clause.\n"
    )
    response = staff_client.get(reverse("admin:legal_version_preview", args=[draft.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "New clause." in html and "<del>" in html and "<ins>" in html


def test_the_preview_has_the_staff_site_breadcrumb_through_legal_and_versions(staff_client):
    draft = AgreementVersionFactory(document=services.ensure_documents()["user-agreement"], number=1)
    html = staff_client.get(reverse("admin:legal_version_preview", args=[draft.pk])).content.decode()
    crumbs = html[html.index('<ol class="breadcrumbs">') : html.index("</ol>")]
    assert '<a href="/admin/">Home</a>' in crumbs
    assert '<a href="/admin/legal/">Legal</a>' in crumbs
    assert f'<a href="{reverse("admin:legal_version_changelist")}">Agreement versions</a>' in crumbs
    assert f'<a href="{reverse("admin:legal_version_change", args=[draft.pk])}">' in crumbs
    assert '<li aria-current="page">Preview</li>' in crumbs


def test_the_previews_publish_button_publishes_without_asking_again(
    staff_client, django_capture_on_commit_callbacks
):
    draft = AgreementVersionFactory(document=services.ensure_documents()["privacy-policy"], number=1)
    html = staff_client.get(reverse("admin:legal_version_preview", args=[draft.pk])).content.decode()
    form = html[html.index('class="legal-admin-publish"') :]
    fields = dict(re.findall(r'name="(action|_selected_action|apply)" value="([^"]*)"', form))
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("admin:legal_version_changelist"), fields)
    draft.refresh_from_db()
    assert fields["apply"] == "1" and draft.is_published


def test_customers_cannot_open_the_draft_preview(owner_client):
    draft = AgreementVersionFactory(document=services.ensure_documents()["user-agreement"], number=1)
    response = owner_client.get(reverse("admin:legal_version_preview", args=[draft.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_publish_action_asks_first_then_publishes_and_notifies(
    staff_client, owner, django_capture_on_commit_callbacks
):
    draft = AgreementVersionFactory(document=services.ensure_documents()["privacy-policy"], number=1)
    url = reverse("admin:legal_version_changelist")
    question = staff_client.post(url, {"action": "publish_selected", "_selected_action": [draft.pk]})
    page = question.content.decode()
    assert (
        question.status_code == 200
        and "Publish 1 agreement version" in page
        and "banner, private message" in page
    )
    draft.refresh_from_db()
    assert not draft.is_published and not mail.outbox
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            url, {"action": "publish_selected", "_selected_action": [draft.pk], "apply": "1"}, follow=True
        )
    assert "Published Privacy Policy v1" in response.content.decode()
    draft.refresh_from_db()
    assert draft.is_published
    assert owner.email in [m.to[0] for m in mail.outbox]


def test_publishing_an_already_published_version_from_admin_tells_the_staff_member(staff_client):
    version = publish_agreement()
    response = staff_client.post(
        reverse("admin:legal_version_changelist"),
        {"action": "publish_selected", "_selected_action": [version.pk], "apply": "1"},
        follow=True,
    )
    assert "already published" in response.content.decode()
    assert AuditLog.objects.for_object(version).filter(action="legal.publish").count() == 1


def test_a_published_version_is_read_only_in_admin(staff_client):
    version = publish_agreement(body="Fixed text")
    response = staff_client.post(
        reverse("admin:legal_version_change", args=[version.pk]),
        {"body": "Sneaky edit", "number": version.number, "title": "x", "document": version.document_id},
    )
    assert response.status_code in (200, 302, 403)
    version.refresh_from_db()
    assert version.body == "Fixed text"


def test_a_duplicate_version_number_gets_a_clear_form_error(staff_client):
    publish_agreement()
    response = staff_client.post(
        reverse("admin:legal_version_add"),
        {
            "document": services.ensure_documents()["user-agreement"].pk,
            "number": 1,
            "title": "Again",
            "body": "Text",
            "material": "on",
        },
    )
    assert response.status_code == 200
    assert "Version 1 of the User Agreement already exists" in response.content.decode()


def test_acceptance_records_cannot_be_changed_or_deleted_in_admin(staff_client, owner):
    version = publish_agreement()
    row = services.record_acceptance(user=owner, version=version, method="signup")
    assert staff_client.get(reverse("admin:legal_acceptance_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:legal_acceptance_delete", args=[row.pk])).status_code == 403
    staff_client.post(reverse("admin:legal_acceptance_change", args=[row.pk]), {"method": "checkout"})
    row.refresh_from_db()
    assert row.method == "signup" and Acceptance.objects.count() == 1


def test_staff_write_a_private_message_to_one_user(staff_client, staff, owner):
    response = staff_client.post(
        reverse("admin:legal_message_add"),
        {"recipient": owner.pk, "subject": "About your account", "body": "Hi"},
    )
    assert response.status_code == 302
    message = owner.legal_messages.get()
    assert message.sender == staff and message.subject == "About your account"


def test_staff_send_a_notice_to_a_group_from_admin_after_seeing_whom_it_reaches(
    staff_client, django_capture_on_commit_callbacks
):
    member = UserFactory(account_type="enterprise")
    notice = Notice.objects.create(subject="Seat changes", body="Details.", audience="enterprise")
    selected = {"action": "send_selected", "_selected_action": [notice.pk]}
    question = staff_client.post(reverse("admin:legal_notice_changelist"), selected)
    page = question.content.decode()
    assert "Draft: enterprise accounts, 1 account now, by private message and email" in page
    assert "cannot be stopped or taken back" in page and not mail.outbox
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("admin:legal_notice_changelist"), {**selected, "apply": "1"})
    assert [m.to[0] for m in mail.outbox] == [member.email]
    notice.refresh_from_db()
    assert notice.status == Notice.Status.DONE


def test_admin_lists_load_for_staff(staff_client):
    publish_agreement(notify=True)
    for model in ("document", "version", "announcement", "notice", "message", "noticedelivery", "acceptance"):
        assert staff_client.get(reverse(f"admin:legal_{model}_changelist")).status_code == 200, model


def test_seed_legal_publishes_one_clearly_sample_version_of_each_agreement_and_is_idempotent():
    call_command("seed_legal", stdout=io.StringIO())
    call_command("seed_legal", stdout=io.StringIO())
    assert Version.objects.published().count() == 4
    for kind in ("user-agreement", "privacy-policy", "premium-membership", "music-licence"):
        version = services.current_version(kind)
        assert version.number == 1 and version.title.startswith("Sample")
        assert "Sample text for development" in version.body
    assert Notice.objects.count() == 0  # seeding does not mail anyone


def test_a_confirmation_that_asks_for_nothing_shows_no_empty_details_box(staff_client):
    draft = AgreementVersionFactory(document=services.ensure_documents()["privacy-policy"], number=1)
    page = staff_client.post(
        reverse("admin:legal_version_changelist"),
        {"action": "publish_selected", "_selected_action": [draft.pk]},
    ).content.decode()
    assert "Publish 1" in page and "Details</h2>" not in page
