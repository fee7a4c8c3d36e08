"""The legal pages of the staff site: proof records found by an address's fingerprint and shown in
words, records that went out shown and never edited, notices sent only after a confirmation."""

import pytest
from django.urls import reverse

from legal import services
from legal.models import Acceptance, Notice, NoticeDelivery
from tests.factories import UserFactory, publish_agreement

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_staff_mfa(settings):
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False


def test_an_erased_accounts_acceptance_is_found_by_its_email_address(staff_client):
    version = publish_agreement()
    gone = UserFactory(email="Gone.Member@example.com")
    row = services.record_acceptance(user=gone, version=version, method="signup")
    Acceptance.objects.filter(pk=row.pk).update(user=None)  # what anonymising an account leaves
    kept = services.record_acceptance(
        user=UserFactory(email="kept@example.com"), version=version, method="signup"
    )
    url = reverse("admin:legal_acceptance_changelist")
    found = staff_client.get(url, {"q": "gone.member@example.com"})
    assert list(found.context["cl"].result_list) == [row] and kept not in found.context["cl"].result_list
    page = staff_client.get(reverse("admin:legal_acceptance_change", args=[row.pk])).content.decode()
    assert "Erased account" in page and "The published text of this version" in page


def test_the_notice_log_names_what_was_served_in_words(staff_client, staff, owner):
    services.send_private_message(user=owner, subject="About your invoice", body="Hello", sender=staff)
    url = reverse("admin:legal_noticedelivery_changelist")
    html = staff_client.get(url).content.decode()
    assert "Private message from staff" in html and ">private_message<" not in html
    kinds = dict(staff_client.get(url).context["cl"].filter_specs[1].lookup_choices)
    assert kinds == {"private_message": "Private message from staff"}


def test_a_notice_that_went_out_is_shown_never_edited_and_links_its_deliveries(
    staff_client, owner, django_capture_on_commit_callbacks
):
    notice = Notice.objects.create(subject="Maintenance", body="Sunday.", audience="all")
    with django_capture_on_commit_callbacks(execute=True):
        services.start_notice(notice=notice, actor=None)
    url = reverse("admin:legal_notice_change", args=[notice.pk])
    page = staff_client.get(url).content.decode()
    assert 'name="_save"' not in page and 'value="send_selected"' not in page
    deliveries = reverse("admin:legal_noticedelivery_changelist") + f"?notice__id__exact={notice.pk}"
    count = NoticeDelivery.objects.filter(notice=notice).count()
    assert f'<a href="{deliveries}">Notice log entries ({count})</a>' in page
    assert staff_client.post(url, {"subject": "Changed", "body": "x", "kind": "service"}).status_code == 403
    notice.refresh_from_db()
    assert notice.subject == "Maintenance"


def test_a_notice_that_cannot_be_sent_says_why_on_the_confirmation_page(staff_client):
    notice = Notice.objects.create(subject="To nobody", body="x", audience="one")
    url = reverse("admin:legal_notice_changelist")
    page = staff_client.post(
        url, {"action": "send_selected", "_selected_action": [notice.pk]}
    ).content.decode()
    assert "Choose the account to write to." in page and "Nothing to change" in page
    staff_client.post(url, {"action": "send_selected", "_selected_action": [notice.pk], "apply": "1"})
    notice.refresh_from_db()
    assert notice.status == Notice.Status.DRAFT


def test_a_draft_notice_page_offers_send_now(staff_client):
    notice = Notice.objects.create(subject="Soon", body="x", audience="all")
    page = staff_client.get(reverse("admin:legal_notice_change", args=[notice.pk])).content.decode()
    assert 'name="action" value="send_selected"' in page and "Send now" in page


def test_a_published_version_page_shows_it_with_nothing_to_save_and_links_its_acceptances(
    staff_client, owner
):
    version = publish_agreement()
    services.record_acceptance(user=owner, version=version, method="signup")
    page = staff_client.get(reverse("admin:legal_version_change", args=[version.pk])).content.decode()
    acceptances = reverse("admin:legal_acceptance_changelist") + f"?version__id__exact={version.pk}"
    assert (
        'name="_save"' not in page and f'<a href="{acceptances}">Acceptances of this version (1)</a>' in page
    )


@pytest.mark.parametrize(
    "list_name", ["acceptance", "noticedelivery", "consentchange", "marketingconsent", "message", "notice"]
)
@pytest.mark.parametrize("query", ["%", "'", "\\", "@", "a@b c", "x" * 3000])
def test_legal_lists_answer_odd_searches(staff_client, list_name, query):
    response = staff_client.get(reverse(f"admin:legal_{list_name}_changelist"), {"q": query})
    assert response.status_code == 200


@pytest.mark.parametrize("list_name", ["acceptance", "noticedelivery", "message", "consentchange"])
def test_legal_lists_run_the_same_queries_for_one_row_or_many(staff_client, staff, list_name):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    version = publish_agreement()

    def rows(n):
        for _ in range(n):
            user = UserFactory()
            services.record_acceptance(user=user, version=version, method="signup")
            services.send_private_message(user=user, subject="Hello", body="x", sender=staff)
            services.set_marketing_consent(user=user, opted_in=True, source="profile")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(reverse(f"admin:legal_{list_name}_changelist")).status_code == 200
        return len(captured)

    rows(1)
    queries()  # the first page of a session also loads what the session caches
    one = queries()
    rows(3)
    assert queries() == one
