import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from legal import services
from legal.models import Acceptance, NoticeDelivery, email_hash
from tests.factories import publish_agreement
from tests.legal.conftest import accept_all

pytestmark = pytest.mark.django_db


def test_acceptance_records_the_version_time_ip_user_agent_and_text_hash(rf, owner, agreements):
    request = rf.post("/", HTTP_USER_AGENT="TestBrowser/1.0", REMOTE_ADDR="203.0.113.9")
    version = agreements["user-agreement"]
    row = services.record_acceptance(user=owner, version=version, method="signup", request=request)
    assert row.user == owner and row.version == version and row.method == "signup"
    assert row.ip == "203.0.113.9" and row.user_agent == "TestBrowser/1.0"
    assert row.text_sha256 == version.body_sha256
    assert row.email_hash == email_hash("owner@example.com")


def test_acceptance_of_a_version_that_is_not_in_force_is_refused(owner, agreements):
    old = agreements["user-agreement"]
    publish_agreement("user-agreement")
    with pytest.raises(services.LegalError, match="not the one in force"):
        services.record_acceptance(user=owner, version=old, method="reaccept")
    assert not Acceptance.objects.filter(user=owner).exists()


def test_an_unknown_method_is_refused(owner, agreements):
    with pytest.raises(services.LegalError):
        services.record_acceptance(user=owner, version=agreements["user-agreement"], method="telepathy")


def test_everyone_must_accept_the_user_agreement_and_privacy_policy(owner, agreements):
    assert {v.document.kind for v in services.outstanding_versions(owner)} == {
        "user-agreement",
        "privacy-policy",
    }
    accept_all(owner, agreements)
    owner.refresh_from_db()
    assert services.outstanding_versions(owner) == []


def test_the_premium_and_licence_agreements_bind_only_users_who_accepted_them_before(accepted, owner, other):
    membership = publish_agreement("premium-membership")
    services.record_acceptance(user=owner, version=membership, method="checkout")
    publish_agreement("premium-membership", material=True)
    owner.refresh_from_db()
    other.refresh_from_db()
    assert [v.document.kind for v in services.outstanding_versions(owner)] == ["premium-membership"]
    assert services.outstanding_versions(other) == []


def test_a_material_change_must_be_accepted_before_a_download_or_purchase(accepted, owner):
    publish_agreement("user-agreement", material=True)
    with pytest.raises(services.AcceptanceRequired) as excinfo:
        services.ensure_current_agreements(owner)
    assert excinfo.value.url == reverse("legal:accept")
    assert isinstance(excinfo.value, services.LegalError)
    assert "User Agreement" in str(excinfo.value)


def test_a_non_material_change_is_accepted_by_continued_use(accepted, owner):
    new = publish_agreement("privacy-policy", material=False)
    services.ensure_current_agreements(owner)  # does not raise
    row = Acceptance.objects.get(user=owner, version=new)
    assert row.method == "continued_use"


def test_a_non_material_change_after_an_unaccepted_material_one_still_needs_acceptance(accepted, owner):
    publish_agreement("user-agreement", material=True)
    latest = publish_agreement("user-agreement", material=False)
    assert services.outstanding_versions(owner) == [latest]


def test_acceptance_records_and_the_notice_log_can_never_be_deleted(owner, accepted):
    services.send_private_message(user=owner, subject="Hello", body="Hi")
    with pytest.raises(ValidationError):
        Acceptance.objects.filter(user=owner).delete()
    with pytest.raises(ValidationError):
        Acceptance.objects.filter(user=owner).first().delete()
    with pytest.raises(ValidationError):
        NoticeDelivery.objects.all().delete()
    with pytest.raises(ValidationError):
        NoticeDelivery.objects.first().delete()
    assert Acceptance.objects.filter(user=owner).count() == 2
    assert NoticeDelivery.objects.count() == 1


def test_records_survive_the_account_being_removed_with_the_email_hash_kept(owner, accepted):
    services.send_private_message(user=owner, subject="Hello", body="Hi")
    get_user_model().objects.filter(pk=owner.pk).delete()
    rows = Acceptance.objects.filter(email_hash=email_hash("owner@example.com"))
    assert rows.count() == 2 and all(r.user_id is None for r in rows)
    assert NoticeDelivery.objects.filter(email_hash=email_hash("owner@example.com"), user=None).count() == 1


def test_marketing_consent_is_off_by_default_and_every_change_is_logged(rf, owner):
    from legal.models import ConsentChange

    assert services.marketing_opted_in(owner) is False
    services.set_marketing_consent(user=owner, opted_in=True, source="signup", request=rf.get("/"))
    assert services.marketing_opted_in(owner) is True
    services.set_marketing_consent(user=owner, opted_in=True, source="preferences")  # no change, no row
    services.set_marketing_consent(user=owner, opted_in=False, source="preferences")
    assert list(
        ConsentChange.objects.filter(user=owner).order_by("id").values_list("opted_in", flat=True)
    ) == [
        True,
        False,
    ]


def test_a_cancelled_account_keeps_its_proof_records_but_loses_its_inbox(owner, accepted):
    from accounts.signals import account_cancelled

    services.send_private_message(user=owner, subject="Personal", body="Details about you")
    account_cancelled.send(sender=type(owner), user=owner)
    assert not owner.legal_messages.exists()
    assert Acceptance.objects.filter(user=owner).count() == 2
    assert NoticeDelivery.objects.filter(user=owner).count() == 1


def test_the_same_user_object_sees_a_version_published_after_it_was_last_checked(accepted, owner):
    services.ensure_current_agreements(owner)  # nothing outstanding
    publish_agreement("user-agreement", material=True)
    with pytest.raises(services.AcceptanceRequired):
        services.ensure_current_agreements(owner)
