"""What staff reviewers found on the agreement versions of the staff site: drafts started without a
question and over other drafts, and publications of the same agreement twice at once, of unchanged
text, or of a material change that did not say what changed; each said twice. A second pass: notices
about draft agreement versions (one reached every account), drafts numbered below the published
version that could never be published, and notice emails whose subject showed HTML entities."""

import datetime

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from allmytracks.models import AuditLog
from legal import services
from legal.models import Announcement, Notice, NoticeDelivery, Version
from tests.factories import AgreementVersionFactory, UserFactory, publish_agreement

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:legal_version_changelist")
NOTICE_ADD = reverse("admin:legal_notice_add")
VERSION_ADD = reverse("admin:legal_version_add")


@pytest.fixture(autouse=True)
def _no_staff_mfa(settings):
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False


def notes(response):
    """The messages the list shows after the action (the redirect followed)."""
    return [str(m) for m in response.context["messages"]]


def act(client, action, versions, *, apply=True):
    data = {"action": action, ACTION_CHECKBOX_NAME: [v.pk for v in versions]}
    return client.post(CHANGELIST, {**data, "apply": "1"} if apply else data, follow=True)


def draft(number, **fields):
    document = services.ensure_documents()["user-agreement"]
    return AgreementVersionFactory(document=document, number=number, **fields)


@pytest.fixture
def v1():
    return publish_agreement(body="## Terms\n\nThe first terms.\n")


# --- starting a draft -----------------------------------------------------------------------------


def test_starting_a_draft_asks_first(staff_client, v1):
    page = act(staff_client, "new_draft_from_selected", [v1], apply=False)
    assert page.status_code == 200 and "Start a draft from 1 agreement version" in page.text
    assert Version.objects.count() == 1


def test_a_draft_starts_from_a_version_with_one_message(staff_client, staff, v1):
    response = act(staff_client, "new_draft_from_selected", [v1])
    new = Version.objects.get(number=2)
    assert new.status == Version.Status.DRAFT and new.body == v1.body
    assert notes(response) == [f"Started the draft {new} from {v1}."]
    assert AuditLog.objects.filter(action="legal.draft", actor=staff).count() == 1


def test_no_second_draft_starts_while_the_agreement_has_one(staff_client, v1):
    act(staff_client, "new_draft_from_selected", [v1])
    again = act(staff_client, "new_draft_from_selected", [v1])
    assert notes(again) == [
        "No draft was started. The User Agreement already has a draft, v2: edit it, or delete it to "
        "start again."
    ]
    from_the_draft = act(staff_client, "new_draft_from_selected", [Version.objects.get(number=2)])
    assert "already has a draft, v2" in notes(from_the_draft)[0]
    assert list(Version.objects.order_by("number").values_list("number", flat=True)) == [1, 2]


def test_one_draft_at_a_time_from_two_versions_of_an_agreement(staff_client, v1):
    v2 = publish_agreement(body="## Terms\n\nThe second terms.\n")
    response = act(staff_client, "new_draft_from_selected", [v1, v2])
    assert "v1 and v2 of the User Agreement are selected together" in notes(response)[0]
    assert Version.objects.count() == 2


# --- publishing ---------------------------------------------------------------------------------


def test_two_versions_of_an_agreement_are_not_published_at_once(staff_client, v1):
    v2 = draft(2, body="Second.\n")
    v4 = draft(4, body="Fourth.\n")
    for ask in (False, True):
        response = act(staff_client, "publish_selected", [v2, v4], apply=ask)
        assert response.redirect_chain == [(CHANGELIST, 302)]
        assert notes(response) == [
            "Nothing was published. v2 and v4 of the User Agreement are selected together: publish one "
            "version of an agreement at a time."
        ]
    assert Version.objects.published().count() == 1
    assert not Notice.objects.exists() and not Announcement.objects.exists()


def test_a_version_with_the_text_in_force_is_not_published(staff_client, v1):
    same = draft(2, body=v1.body, summary="Nothing really.")
    response = act(staff_client, "publish_selected", [same])
    assert notes(response) == [
        "Nothing was published. User Agreement v2 has the same text as v1, the version in force: "
        "there is no change to publish."
    ]
    same.refresh_from_db()
    assert not same.is_published and not Notice.objects.exists()


def test_a_material_change_without_a_summary_is_not_published(staff_client, v1):
    silent = draft(2, body="New terms.\n", summary="  ", material=True)
    response = act(staff_client, "publish_selected", [silent])
    assert "User Agreement v2 is a material change without a summary of changes" in notes(response)[0]
    silent.refresh_from_db()
    assert not silent.is_published


def test_a_first_version_or_a_minor_change_needs_no_summary(staff_client, django_capture_on_commit_callbacks):
    first = draft(1, summary="")
    with django_capture_on_commit_callbacks(execute=True):
        act(staff_client, "publish_selected", [first])
    minor = draft(2, body="Typo fixed.\n", summary="", material=False)
    with django_capture_on_commit_callbacks(execute=True):
        act(staff_client, "publish_selected", [minor])
    assert Version.objects.published().count() == 2


def test_publishing_says_so_once(staff_client, v1, django_capture_on_commit_callbacks):
    v2 = draft(2, body="New terms.\n", summary="Clause 3 changes.")
    with django_capture_on_commit_callbacks(execute=True):
        response = act(staff_client, "publish_selected", [v2])
    said = notes(response)
    assert len(said) == 1 and said[0].startswith("Published User Agreement v2, in force from ")
    assert "Users are being notified" in said[0]
    v2.refresh_from_db()
    assert v2.is_published and Notice.objects.filter(version=v2).count() == 1


# --- the same rules outside the list actions -----------------------------------------------------

ADD = reverse("admin:legal_version_add")


def add_form(document, number, **fields):
    return {
        "document": document.pk,
        "number": number,
        "title": f"{document.title} v{number}",
        "material": "on",
        "summary": "Clause 3 changes.",
        "body": f"## Terms\n\nThe terms, version {number}.\n",
        **fields,
    }


def test_the_add_page_refuses_a_second_draft_of_an_agreement(staff_client, staff, v1):
    started = services.new_draft_from(version=v1, actor=staff)
    response = staff_client.post(ADD, add_form(v1.document, 3))
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "The User Agreement already has a draft, v2: edit it, or delete it to start again."
    ]
    assert list(Version.objects.order_by("number").values_list("number", flat=True)) == [1, 2]
    # The draft itself can still be edited from its own page.
    change = reverse("admin:legal_version_change", args=[started.pk])
    edited = staff_client.post(change, add_form(v1.document, 2, summary="Clause 4 too."))
    assert edited.status_code == 302
    started.refresh_from_db()
    assert started.summary == "Clause 4 too."


def test_the_add_page_saves_the_only_draft_through_the_service(staff_client, staff, v1):
    response = staff_client.post(ADD, add_form(v1.document, 2))
    assert response.status_code == 302
    new = Version.objects.get(number=2)
    assert new.status == Version.Status.DRAFT
    assert AuditLog.objects.filter(action="legal.draft", actor=staff, target_id=str(new.pk)).exists()


def test_a_draft_saved_between_the_check_and_the_save_is_refused_and_the_form_says_why(
    staff_client, v1, monkeypatch
):
    draft(2, body=v1.body)  # another staff member's "Start a new draft", committed after the form's check
    checked, calls = services.draft_refusal, []

    def not_there_yet_when_the_form_checks(document, **kwargs):
        calls.append(document)
        return "" if len(calls) == 1 else checked(document, **kwargs)

    monkeypatch.setattr(services, "draft_refusal", not_there_yet_when_the_form_checks)
    response = staff_client.post(ADD, add_form(v1.document, 3))
    assert response.status_code == 200
    assert "already has a draft, v2" in str(response.context["adminform"].form.non_field_errors())
    assert 'value="User Agreement v3"' in response.text  # what was typed is kept
    assert len(calls) == 3  # the form's check, the locked check when saving, the form shown again
    assert list(Version.objects.order_by("number").values_list("number", flat=True)) == [1, 2]


def test_the_service_refuses_a_second_draft(staff, v1):
    services.new_draft_from(version=v1, actor=staff)
    with pytest.raises(services.LegalError, match="already has a draft, v2: edit it"):
        services.new_draft_from(version=v1, actor=staff)
    with pytest.raises(services.LegalError, match="already has a draft, v2"):
        services.save_draft(
            version=Version(document=v1.document, number=3, title="v3", body="x"), actor=staff
        )
    assert Version.objects.count() == 2


@pytest.mark.parametrize("effective_in_days", [None, 7])
def test_the_service_refuses_to_publish_text_already_published(staff, v1, effective_in_days):
    if effective_in_days:
        effective = timezone.now() + datetime.timedelta(days=effective_in_days)
        scheduled = draft(2, body="Later terms.\n", effective_at=effective)
        services.publish_version(version=scheduled, actor=staff, notify=False)
        same, which = draft(3, body=scheduled.body), "v2, already published to take effect later"
    else:
        same, which = draft(2, body=v1.body), "v1, the version in force"
    with pytest.raises(services.LegalError) as refused:
        services.publish_version(version=same, actor=staff, notify=False)
    assert str(refused.value) == f"{same} has the same text as {which}: there is no change to publish."
    same.refresh_from_db()
    assert not same.is_published and not Notice.objects.exists()


def test_the_service_refuses_to_publish_a_material_change_without_a_summary(staff, v1):
    silent = draft(2, body="New terms.\n", summary=" ", material=True)
    with pytest.raises(services.LegalError, match="v2 is a material change without a summary of changes"):
        services.publish_version(version=silent, actor=staff, notify=False)
    silent.refresh_from_db()
    assert not silent.is_published


# --- a second staff QA pass ----------------------------------------------------------------------


def notice_form(**fields):
    return {
        "kind": "agreement",
        "audience": "all",
        "recipient": "",
        "version": "",
        "send_message": "on",
        "send_email": "on",
        "subject": "Our terms change",
        "body": "Read the new terms.",
        **fields,
    }


# --- notices name published versions only ----------------------------------------------------------


def test_the_notice_add_page_offers_only_published_versions(staff_client, v1):
    draft = AgreementVersionFactory(document=v1.document, number=2)
    page = staff_client.get(NOTICE_ADD)
    offered = list(page.context["adminform"].form.fields["version"].queryset)
    assert offered == [v1]
    assert f'<option value="{v1.pk}">' in page.text and f'<option value="{draft.pk}">' not in page.text


def test_a_notice_about_a_draft_version_is_refused_and_reaches_no_one(staff_client, v1):
    UserFactory.create_batch(3)
    draft = AgreementVersionFactory(document=v1.document, number=2)
    response = staff_client.post(NOTICE_ADD, notice_form(version=draft.pk))
    assert response.status_code == 200
    assert "version" in response.context["adminform"].form.errors
    assert not Notice.objects.exists()
    accepted = staff_client.post(NOTICE_ADD, notice_form(version=v1.pk))
    assert accepted.status_code == 302
    assert Notice.objects.get().version == v1


def test_a_draft_notice_naming_a_draft_version_cannot_be_sent(staff, v1):
    UserFactory.create_batch(3)
    draft = AgreementVersionFactory(document=v1.document, number=2)
    notice = Notice.objects.create(subject="About v2", body="x", audience="all", version=draft)
    message = "Choose a published version: User Agreement v2 is a draft, which members cannot read."
    with pytest.raises(ValidationError) as refused:
        services.start_notice(notice=notice, actor=staff)
    assert refused.value.message_dict == {"version": [message]}
    notice.refresh_from_db()
    assert notice.status == Notice.Status.DRAFT and not NoticeDelivery.objects.exists()


# --- a draft numbered at or below the published version is refused when saved -------------------


def version_form(document, number, **fields):
    past = timezone.now() - datetime.timedelta(days=3)
    return {
        "document": document.pk,
        "number": number,
        "title": f"{document.title} v{number}",
        "effective_at_0": f"{past:%Y-%m-%d}",
        "effective_at_1": "12:00:00",
        "material": "on",
        "summary": "Clause 3 changes.",
        "body": f"## Terms\n\nThe terms, version {number}.\n",
        **fields,
    }


def test_a_draft_numbered_at_or_below_the_published_version_is_refused_when_saved(staff_client, v1):
    publish_agreement()  # v2
    message = "Version 2 of the User Agreement is already published; number this draft above it."
    response = staff_client.post(VERSION_ADD, version_form(v1.document, 0))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"number": [message]}
    assert not Version.objects.filter(status=Version.Status.DRAFT).exists()
    assert staff_client.post(VERSION_ADD, version_form(v1.document, 3)).status_code == 302


def test_a_draft_renumbered_below_the_published_version_is_refused(staff_client, v1):
    draft = AgreementVersionFactory(document=v1.document, number=2)
    change = reverse("admin:legal_version_change", args=[draft.pk])
    response = staff_client.post(change, version_form(v1.document, 0))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "number": ["Version 1 of the User Agreement is already published; number this draft above it."]
    }
    draft.refresh_from_db()
    assert draft.number == 2


def test_the_draft_service_refuses_a_number_at_or_below_the_published_version(staff, v1):
    low = Version(document=v1.document, number=0, title="v0", body="x", effective_at=timezone.now())
    with pytest.raises(
        services.LegalError, match="^Version 1 of the User Agreement is already published; number"
    ):
        services.save_draft(version=low, actor=staff)
    assert low.pk is None and not AuditLog.objects.filter(action="legal.draft").exists()
    services.save_draft(version=Version(document=v1.document, number=2, title="v2", body="x"), actor=staff)


def test_a_document_s_first_version_is_numbered_from_1(staff):
    from legal.services import ensure_documents

    document = ensure_documents()["privacy-policy"]
    zero = Version(document=document, number=0, title="v0", body="x", effective_at=timezone.now())
    with pytest.raises(services.LegalError, match="^Number versions from 1.$"):
        services.save_draft(version=zero, actor=staff)
    assert zero.pk is None


# --- notice emails are plain text ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["service", "promotional"])
def test_a_notice_email_keeps_ampersands_plain_in_text_and_escaped_in_html(
    staff, owner, kind, django_capture_on_commit_callbacks
):
    services.set_marketing_consent(user=owner, opted_in=True, source="signup")
    notice = Notice.objects.create(
        kind=kind,
        subject="Music & Sound Effects prices",
        body="Terms & prices change.",
        audience="one",
        recipient=owner,
        send_message=kind != "promotional",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.start_notice(notice=notice, actor=staff)
    [message] = mail.outbox
    assert "Music & Sound Effects prices" in message.subject
    assert "Terms & prices change." in message.body
    assert "&amp;" not in message.subject + message.body
    [(html, _mimetype)] = message.alternatives
    assert "Music &amp; Sound Effects prices" in html and "&amp;amp;" not in html


def test_publishing_a_draft_left_numbered_below_the_published_version_is_refused_before_asking(
    staff_client, v1
):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    low = AgreementVersionFactory(document=v1.document, number=0)  # saved before drafts were checked
    response = staff_client.post(
        reverse("admin:legal_version_changelist"),
        {"action": "publish_selected", ACTION_CHECKBOX_NAME: [low.pk]},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "Nothing was published. Version 1 of the User Agreement is already published; number this draft "
        "above it."
    ]
    low.refresh_from_db()
    assert not low.is_published
