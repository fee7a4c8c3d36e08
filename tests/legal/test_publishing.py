import datetime
import hashlib

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from allmytracks.models import AuditLog
from legal import services
from legal.models import Announcement, Message, Notice, NoticeDelivery, Version
from tests.factories import AgreementVersionFactory, UserFactory, publish_agreement

pytestmark = pytest.mark.django_db


def draft(kind="user-agreement", number=1, **kwargs):

    return AgreementVersionFactory(document=services.ensure_documents()[kind], number=number, **kwargs)


def test_the_four_agreement_documents_exist_from_the_first_migration():
    from legal.models import Document

    assert set(Document.objects.values_list("kind", flat=True)) == {
        "user-agreement",
        "privacy-policy",
        "premium-membership",
        "music-licence",
    }


def test_publishing_freezes_the_version_and_records_who_and_the_text_hash(staff):
    version = draft(body="Hello **terms**")
    result = services.publish_version(version=version, actor=staff, notify=False)
    version.refresh_from_db()
    assert version.is_published and version.published_by == staff
    assert version.body_sha256 == hashlib.sha256(b"Hello **terms**").hexdigest()
    assert services.current_version("user-agreement") == version
    assert result.notes == []
    assert AuditLog.objects.filter(action="legal.publish", target_id=str(version.pk)).exists()


def test_a_published_version_cannot_be_edited_or_deleted(staff):
    version = publish_agreement()
    version.body = "Quietly changed"
    with pytest.raises(ValidationError, match="cannot be changed"):
        version.save()
    version.refresh_from_db()
    with pytest.raises(ValidationError):
        version.delete()
    assert Version.objects.filter(pk=version.pk).exists()


def test_an_effective_date_in_the_past_is_treated_as_now_and_said(staff):
    past = timezone.now() - datetime.timedelta(days=3)
    version = draft(effective_at=past)
    with time_machine.travel(timezone.now(), tick=False):
        result = services.publish_version(version=version, actor=staff, notify=False)
        assert version.effective_at == timezone.now()
    assert "was in the past" in result.notes[0]


def test_a_future_effective_date_keeps_the_old_version_in_force_until_then(staff):
    v1 = publish_agreement()
    later = timezone.now() + datetime.timedelta(days=14)
    v2 = draft(number=2, effective_at=later)
    services.publish_version(version=v2, actor=staff, notify=False)
    assert services.current_version("user-agreement") == v1
    assert services.upcoming_version("user-agreement") == v2
    with time_machine.travel(later + datetime.timedelta(seconds=1)):
        assert services.current_version("user-agreement") == v2


def test_the_second_of_two_staff_publishing_the_same_draft_is_told_and_nothing_changes(staff):
    other_staff = UserFactory(is_staff=True)
    version = draft()
    stale_copy = Version.objects.get(pk=version.pk)  # loaded by the second staff member's admin page
    services.publish_version(version=version, actor=staff)
    with pytest.raises(services.LegalError, match="already published by"):
        services.publish_version(version=stale_copy, actor=other_staff)
    assert Notice.objects.count() == 1
    assert Announcement.objects.count() == 1
    version.refresh_from_db()
    assert version.published_by == staff


def test_a_version_number_that_already_exists_is_refused_by_the_database():
    publish_agreement()
    with pytest.raises(IntegrityError), transaction.atomic():
        draft(number=1)


def test_publishing_a_lower_numbered_draft_after_a_higher_one_is_refused(staff):
    low = draft(number=3)
    high = draft(number=4)
    services.publish_version(version=high, actor=staff, notify=False)
    with pytest.raises(services.LegalError, match="number this draft above it"):
        services.publish_version(version=low, actor=staff, notify=False)


def test_publishing_announces_messages_and_emails_every_active_user(
    staff, owner, other, django_capture_on_commit_callbacks
):
    UserFactory(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        version = publish_agreement(notify=True, summary="We explain refunds more clearly.")
    announcement = Announcement.objects.get(version=version)
    assert announcement.link_url == version.get_changes_url()
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted([owner.email, other.email, staff.email])
    assert Message.objects.filter(recipient=owner, notice__version=version).count() == 1
    assert NoticeDelivery.objects.filter(user=owner, channel="email", status="sent").count() == 1
    assert "refunds more clearly" in mail.outbox[0].body
    assert "support@" in mail.outbox[0].body  # the support contact is in every email
    assert Notice.objects.get(version=version).status == Notice.Status.DONE


def test_a_premium_membership_change_is_sent_only_to_members(
    owner, other, django_capture_on_commit_callbacks
):
    first = publish_agreement("premium-membership")
    services.record_acceptance(user=owner, version=first, method="checkout")
    with django_capture_on_commit_callbacks(execute=True):
        publish_agreement("premium-membership", notify=True)
    assert [m.to[0] for m in mail.outbox] == [owner.email]


def test_new_draft_from_a_published_version_copies_the_text_with_the_next_number(staff):
    v1 = publish_agreement(body="Original text")
    new = services.new_draft_from(version=v1, actor=staff)
    assert new.number == 2 and new.body == "Original text" and not new.is_published
