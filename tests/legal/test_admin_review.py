"""What a staff reviewer found on the agreement versions of the staff site: drafts started without a
question and over other drafts, and publications of the same agreement twice at once, of unchanged
text, or of a material change that did not say what changed; each said twice."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from allmytracks.models import AuditLog
from legal import services
from legal.models import Announcement, Notice, Version
from tests.factories import AgreementVersionFactory, publish_agreement

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:legal_version_changelist")


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
