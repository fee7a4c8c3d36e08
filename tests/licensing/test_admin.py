"""Staff: licences in admin, searchable; revoke with a reason; regenerate letters; every change audited."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from allmytracks.models import AuditLog
from licensing.models import License
from tests.licensing.conftest import grant


@pytest.fixture
def staff_admin(staff_client, settings):
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False
    return staff_client


@pytest.fixture
def lic(member, track):
    return grant(member, track, name="Olivia Owner", title="Launch video").license


def test_staff_find_licences_by_code_email_and_track(staff_admin, lic, other_member, second_track):
    theirs = grant(other_member, second_track, title="Other").license
    url = reverse("admin:licensing_license_changelist")
    for query in (lic.code, "owner@example.com", "Golden Hour"):
        html = staff_admin.get(url, {"q": query}).content.decode()
        assert lic.code in html and theirs.code not in html, query


def test_staff_revoke_with_a_reason_and_the_user_is_emailed(
    staff_admin, lic, mailoutbox, django_capture_on_commit_callbacks
):
    url = reverse("admin:licensing_license_changelist")
    confirm = staff_admin.post(url, {"action": "revoke", ACTION_CHECKBOX_NAME: [lic.pk]})
    assert confirm.status_code == 200 and "Revoking is permanent" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        staff_admin.post(
            url,
            {
                "action": "revoke",
                ACTION_CHECKBOX_NAME: [lic.pk],
                "apply": "1",
                "reason": "Used in a second project",
            },
        )
    lic.refresh_from_db()
    assert lic.is_revoked and lic.revoked_reason == "Used in a second project"
    entry = AuditLog.objects.for_object(lic).get(action="licensing.license_revoked")
    assert entry.reason == "Used in a second project" and entry.actor.is_staff
    assert mailoutbox[-1].to == ["owner@example.com"] and "Used in a second project" in mailoutbox[-1].body


def test_revoking_a_revoked_licence_again_is_reported_and_not_audited_twice(
    staff_admin, lic, django_capture_on_commit_callbacks
):
    url = reverse("admin:licensing_license_changelist")
    data = {"action": "revoke", ACTION_CHECKBOX_NAME: [lic.pk], "apply": "1", "reason": "Breach"}
    with django_capture_on_commit_callbacks(execute=True):
        staff_admin.post(url, data)
    again = staff_admin.post(url, {**data, "reason": "Again"}, follow=True).content.decode()
    assert "Nothing to do" in again and "already revoked" in again
    assert AuditLog.objects.for_object(lic).filter(action="licensing.license_revoked").count() == 1
    assert License.objects.get(pk=lic.pk).revoked_reason == "Breach"


def test_a_licence_page_shows_its_audit_entries_in_words(staff_admin, lic):
    html = staff_admin.get(reverse("admin:licensing_license_change", args=[lic.pk])).content.decode()
    assert "Licence granted" in html and ">licensing.license_granted<" not in html


def test_revoke_without_a_reason_changes_nothing(staff_admin, lic):
    url = reverse("admin:licensing_license_changelist")
    staff_admin.post(url, {"action": "revoke", ACTION_CHECKBOX_NAME: [lic.pk], "apply": "1", "reason": ""})
    assert License.objects.get(pk=lic.pk).is_active


def test_licences_cannot_be_deleted_or_added_in_admin(staff_admin, lic):
    assert staff_admin.get(reverse("admin:licensing_license_delete", args=[lic.pk])).status_code == 403
    assert staff_admin.get(reverse("admin:licensing_license_add")).status_code == 403
    assert staff_admin.get(reverse("admin:licensing_license_change", args=[lic.pk])).status_code == 200


def test_staff_regenerate_a_letter(staff_admin, lic, member, django_capture_on_commit_callbacks):
    from licensing import services

    with django_capture_on_commit_callbacks(execute=True):
        letter = services.request_letter(user=member, licenses=[lic])
    with django_capture_on_commit_callbacks(execute=True):
        staff_admin.post(
            reverse("admin:licensing_letter_changelist"),
            {"action": "regenerate", ACTION_CHECKBOX_NAME: [letter.pk]},
        )
    letter.refresh_from_db()
    assert letter.revision == 2 and letter.status == "ready"
    assert AuditLog.objects.for_object(letter).filter(action="licensing.letter_regenerated").exists()


def test_regenerating_a_letter_that_cannot_be_made_says_so_and_claims_no_success(
    staff_admin, lic, member, staff, django_capture_on_commit_callbacks
):
    from licensing import services

    with django_capture_on_commit_callbacks(execute=True):
        letter = services.request_letter(user=member, licenses=[lic])
    services.revoke_license(license=lic, actor=staff, reason="Breach")
    response = staff_admin.post(
        reverse("admin:licensing_letter_changelist"),
        {"action": "regenerate", ACTION_CHECKBOX_NAME: [letter.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "lists a revoked licence" in page and "being made again" not in page
    letter.refresh_from_db()
    assert letter.revision == 1
