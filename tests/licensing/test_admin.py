"""Staff: licences in admin, searchable; revoke with a reason; regenerate letters; every change audited."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from allmytracks.models import AuditLog
from licensing.models import Letter, License
from tests.licensing.conftest import grant, make_ready


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
    assert mailoutbox[-1].body.startswith(f"Hello {lic.account.display_name},\n")  # greeted by name


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


def test_staff_regenerate_a_letter_after_its_confirmation_page(
    staff_admin, lic, member, django_capture_on_commit_callbacks
):
    from licensing import services

    with django_capture_on_commit_callbacks(execute=True):
        letter = services.request_letter(user=member, licenses=[lic])
    url = reverse("admin:licensing_letter_changelist")
    selected = {"action": "regenerate", ACTION_CHECKBOX_NAME: [letter.pk]}
    question = staff_admin.post(url, selected)
    assert question.status_code == 200 and "the new PDF replaces the old one" in question.content.decode()
    assert Letter.objects.get(pk=letter.pk).revision == 1
    with django_capture_on_commit_callbacks(execute=True):
        staff_admin.post(url, {**selected, "apply": "1"})
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


# --- finding licences and what surrounds them ---------------------------------------------------


@pytest.mark.parametrize("typed", ["amt {a} {b}", "AMT{a}{b}", " amt-{a}-{b} "])
def test_a_licence_code_is_found_however_it_was_typed_or_read_out(
    staff_admin, lic, other_member, second_track, typed
):
    theirs = grant(other_member, second_track, title="Other").license
    _, a, b = lic.code.split("-")
    for url in (
        reverse("admin:licensing_license_changelist"),
        reverse("admin:licensing_download_changelist"),
    ):
        response = staff_admin.get(url, {"q": typed.format(a=a.lower(), b=b.lower())})
        listed = {
            getattr(row, "code", None) or row.license.code for row in response.context["cl"].result_list
        }
        assert listed == {lic.code} and theirs.code not in listed, url


def test_part_of_a_licence_code_finds_it_in_the_staff_lists(staff_admin, lic, other_member, second_track):
    theirs = grant(other_member, second_track, title="Other").license
    part = lic.code.split("-")[1]
    for url in (
        reverse("admin:licensing_license_changelist"),
        reverse("admin:licensing_download_changelist"),
    ):
        response = staff_admin.get(url, {"q": part.lower()})
        listed = {
            getattr(row, "code", None) or row.license.code for row in response.context["cl"].result_list
        }
        assert lic.code in listed and (theirs.code not in listed or part in theirs.code), url


@pytest.mark.parametrize("list_name", ["license", "letter", "download", "enduser", "project"])
@pytest.mark.parametrize("query", ["%", "'", '"', "\\", "_", "x" * 3000, "AMT-"])
def test_licensing_lists_answer_odd_searches(staff_admin, lic, list_name, query):
    response = staff_admin.get(reverse(f"admin:licensing_{list_name}_changelist"), {"q": query})
    assert response.status_code == 200


def test_a_licence_page_links_what_paid_for_it_its_downloads_letters_and_public_check(
    staff_admin, lic, member, django_capture_on_commit_callbacks
):
    from licensing import services

    with django_capture_on_commit_callbacks(execute=True):
        letter = services.request_letter(user=member, licenses=[lic])
    html = staff_admin.get(reverse("admin:licensing_license_change", args=[lic.pk])).content.decode()
    membership = reverse("admin:billing_subscription_change", args=[lic.source_id])
    assert f'Membership: <a href="{membership}">' in html
    downloads = reverse("admin:licensing_download_changelist") + f"?license__id__exact={lic.pk}"
    assert f'<a href="{downloads}">Every download of this licence (1)</a>' in html
    assert reverse("admin:licensing_letter_change", args=[letter.pk]) in html
    assert lic.get_verify_url() in html and 'name="_save"' not in html
    assert ">Music Licence Agreement v1<" in html


def test_the_licences_one_membership_paid_for_are_listed_from_its_page(
    staff_admin, lic, other_member, second_track
):
    theirs = grant(other_member, second_track, title="Other").license
    url = reverse("admin:licensing_license_changelist")
    response = staff_admin.get(url, {"paid_with": f"membership:{lic.source_id}"})
    assert list(response.context["cl"].result_list) == [lic] and theirs.code not in response.content.decode()
    for odd in ("membership:abc", "nothing", "credit:", "membership:99999"):
        response = staff_admin.get(url, {"paid_with": odd})
        assert response.status_code == 200 and response.context["cl"].result_count == 0, odd


def test_a_licence_page_offers_revoke_which_asks_why_and_comes_back_to_the_licence(
    staff_admin, lic, django_capture_on_commit_callbacks
):
    page = staff_admin.get(reverse("admin:licensing_license_change", args=[lic.pk])).content.decode()
    assert 'name="action" value="revoke"' in page and 'name="_return_to" value="change"' in page
    url = reverse("admin:licensing_license_changelist")
    selected = {"action": "revoke", ACTION_CHECKBOX_NAME: [lic.pk], "_return_to": "change"}
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_admin.post(url, {**selected, "apply": "1", "reason": "Breach"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:licensing_license_change", args=[lic.pk])
    page = staff_admin.get(response["Location"]).content.decode()
    assert 'value="revoke"' not in page and "Breach" in page


def test_a_letter_page_lists_its_licences_and_hands_out_the_pdf_by_a_signed_link(
    staff_admin, staff, lic, member, django_capture_on_commit_callbacks
):
    from licensing import services

    make_ready(staff)  # the staff member's own agreements are accepted, as on the live site

    with django_capture_on_commit_callbacks(execute=True):
        letter = services.request_letter(user=member, licenses=[lic])
    letter.refresh_from_db()
    html = staff_admin.get(reverse("admin:licensing_letter_change", args=[letter.pk])).content.decode()
    assert reverse("admin:licensing_license_change", args=[lic.pk]) in html and lic.code in html
    assert letter.file.name not in html and "Currently:" not in html  # no file widget, no storage path
    link = re.search(r'<a href="(/files/[^"]+)">Download ', html)
    assert link, html
    pdf = staff_admin.get(link.group(1).replace("&amp;", "&"))
    content = b"".join(pdf.streaming_content)
    pdf.close()
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and content.startswith(b"%PDF")


def test_projects_are_named_by_members_in_the_download_step_not_added_by_staff(staff_admin, member):
    url = reverse("admin:licensing_project_add")
    assert staff_admin.get(url).status_code == 403
    assert staff_admin.post(url, {"title": "x", "platform": "youtube"}).status_code == 403


def test_a_project_page_links_its_licences_and_letters(staff_admin, lic):
    html = staff_admin.get(reverse("admin:licensing_project_change", args=[lic.project_id])).content.decode()
    licences = reverse("admin:licensing_license_changelist") + f"?project__id__exact={lic.project_id}"
    assert f'<a href="{licences}">Licences in this project (1)</a>' in html
    listed = staff_admin.get(licences)
    assert list(listed.context["cl"].result_list) == [lic] and "Launch video" in listed.content.decode()


def test_a_download_whose_file_was_removed_still_has_a_page_that_says_so(staff_admin, lic):
    from licensing.models import Download

    download = Download.objects.get(license=lic)
    Download.objects.filter(pk=download.pk).update(version=None)
    page = staff_admin.get(reverse("admin:licensing_download_change", args=[download.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "A file since removed from the catalogue" in html
    assert 'name="_save"' not in html and f"Download of {lic.code}" in html


@pytest.mark.parametrize("list_name", ["license", "letter", "download", "enduser", "project"])
def test_licensing_lists_run_the_same_queries_for_one_row_or_many(
    staff_admin, member, track, second_track, list_name, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from licensing import services

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert staff_admin.get(reverse(f"admin:licensing_{list_name}_changelist")).status_code == 200
        return len(captured)

    with django_capture_on_commit_callbacks(execute=True):
        services.request_letter(
            user=member, licenses=[grant(member, track, name="Olivia", title="A").license]
        )
    queries()  # the first page of a session also loads what the session caches
    one = queries()
    with django_capture_on_commit_callbacks(execute=True):
        for n, each in enumerate([second_track, track, second_track]):
            services.request_letter(user=member, licenses=[grant(member, each, title=f"Project {n}").license])
    assert queries() == one


def test_a_project_correction_is_audited_with_what_it_was_and_became(staff_admin, lic):
    url = reverse("admin:licensing_project_change", args=[lic.project_id])
    data = {"title": "Launch video (final cut)", "platform": "film", "url": "", "client_name": ""}
    assert staff_admin.post(url, data).status_code == 302
    entry = AuditLog.objects.for_object(lic.project).get(action="licensing.project_corrected")
    assert entry.actor.is_staff and entry.data["fields"] == ["platform", "title"]
    assert entry.data["old"]["title"] == "Launch video"
    assert entry.data["new"]["title"] == "Launch video (final cut)"
    assert entry.data["new"]["platform"] == "Film / TV"  # the choice's label, as staff read it
    page = staff_admin.get(url).content.decode()
    assert "Project corrected by staff" in page  # the project's own audit table
    shown = staff_admin.get(reverse("admin:allmytracks_auditlog_change", args=[entry.pk])).content.decode()
    assert "Title: Launch video (final cut)" in shown and "Title: Launch video;" in shown
    # Saving without a change writes nothing.
    staff_admin.post(url, {**data})
    assert AuditLog.objects.for_object(lic.project).filter(action="licensing.project_corrected").count() == 1


def test_a_project_correction_meets_the_address_rule_members_meet(staff_admin, lic):
    url = reverse("admin:licensing_project_change", args=[lic.project_id])
    data = {"title": "Launch video", "platform": "youtube", "client_name": ""}
    response = staff_admin.post(url, {**data, "url": "javascript:alert(1)"})
    assert response.status_code == 200
    assert "Enter a full web address (https://…) or a channel handle" in response.content.decode()
    lic.project.refresh_from_db()
    assert not lic.project.url.startswith("javascript")
    assert staff_admin.post(url, {**data, "url": "youtube.com/@olivia"}).status_code == 302
    lic.project.refresh_from_db()
    assert lic.project.url == "https://youtube.com/@olivia"


def test_an_end_user_correction_is_audited(staff_admin, lic):
    url = reverse("admin:licensing_enduser_change", args=[lic.end_user_id])
    response = staff_admin.post(url, {"role": "Owner, Acme Films", "email": "olivia@example.com"})
    assert response.status_code == 302
    entry = AuditLog.objects.for_object(lic.end_user).get(action="licensing.end_user_corrected")
    assert entry.data["fields"] == ["email", "role"]
    assert entry.data["old"] == {"role": "", "email": ""}
    assert entry.data["new"] == {"role": "Owner, Acme Films", "email": "olivia@example.com"}
