import uuid

import pytest
from django.db import IntegrityError, transaction

from licensing import services
from licensing.models import CODE_ALPHABET, EndUser, License, Project, new_code
from licensing.services import LicensingError
from tests.licensing.conftest import full_version, give_membership, grant, make_ready


def usage(user):
    from billing.models import MembershipUsage

    return sum(MembershipUsage.objects.filter(subscription__user=user).values_list("used", flat=True))


def test_codes_are_readable_and_avoid_ambiguous_characters():
    for _ in range(200):
        code = new_code()
        assert len(code) == 13 and code.startswith("AMT-") and code[8] == "-"
        assert all(ch in CODE_ALPHABET for ch in code[4:8] + code[9:])
    assert not set("01ILOUV") & set(CODE_ALPHABET)


def test_first_download_issues_a_licence_consumes_one_unit_and_stamps_the_agreement(
    member, track, agreements
):
    result = grant(member, track, name="Olivia Owner")
    lic = result.license
    assert result.created
    assert lic.account == member and lic.track == track and lic.is_active
    assert lic.agreement_version == agreements["music-licence"].number
    assert lic.source_type == "membership"
    assert lic.end_user.name == "Olivia Owner" and lic.end_user.kind == "sole"
    assert lic.project.title == "Launch video"
    assert usage(member) == 1


def test_signed_url_names_the_file_after_artist_title_and_code(member, track):
    from allmytracks.storage import read_private_token

    result = grant(member, track)
    token = result.url.rstrip("/").rsplit("/", 1)[-1]
    name, filename, content_type = read_private_token(token)
    assert name == full_version(track).master.name
    assert filename == f"Mira Vale - Golden Hour ({result.license.code}).wav"
    assert content_type == "audio/wav"


def test_same_form_posted_twice_gives_one_licence(member, track):
    token = uuid.uuid4()
    first = grant(member, track, submission=token)
    second = grant(member, track, submission=token, title="Another title")
    assert first.license.pk == second.license.pk and not second.created
    assert License.objects.count() == 1
    assert usage(member) == 1


def test_submission_token_is_unique_in_the_database(member, track, second_track):
    lic = grant(member, track).license
    with pytest.raises(IntegrityError), transaction.atomic():
        License.objects.create(
            code=new_code(), account=member, end_user=lic.end_user, project=lic.project, track=second_track,
            agreement_version=1, source_type="membership", source_id=1, submission=lic.submission,
        )  # fmt: skip


def test_same_track_same_project_is_a_free_redownload(member, track):
    first = grant(member, track).license
    again = grant(member, track, project=first.project, version=track.versions.get(kind="instrumental"))
    assert not again.created and again.license == first and again.reason == "same-project"
    assert usage(member) == 1
    assert "Instrumental" in services.download_filename(first, track.versions.get(kind="instrumental"))


def test_same_track_for_a_different_project_is_a_new_licence(member, track):
    first = grant(member, track, title="Video one").license
    second = grant(member, track, title="Video two").license
    assert first.pk != second.pk and first.code != second.code
    assert usage(member) == 2


def test_redownload_of_any_version_never_consumes(member, track):
    lic = grant(member, track).license
    stem = track.versions.get(kind="stem")
    url = services.redownload(user=member, license=lic, version=stem, request=None)
    assert url
    assert usage(member) == 1
    lic.refresh_from_db()
    assert lic.download_count == 2
    assert services.download_filename(lic, stem).endswith(f"Drums stem ({lic.code}).flac")


def test_redownload_of_a_version_of_another_track_is_refused(member, track, second_track):
    lic = grant(member, track).license
    with pytest.raises(LicensingError):
        services.redownload(user=member, license=lic, version=full_version(second_track))


# --- the one end user of an individual account ------------------------------------------


def test_individual_end_user_is_fixed_by_the_first_download(member, track, second_track):
    grant(member, track, name="Olivia Owner")
    with pytest.raises(LicensingError, match="fixed by your first download"):
        grant(member, second_track, name="Somebody Else")
    assert EndUser.objects.filter(account=member).count() == 1
    assert usage(member) == 1


def test_second_sole_end_user_is_refused_by_the_database(member):
    EndUser.objects.create(account=member, kind="sole", name="Olivia Owner")
    with pytest.raises(IntegrityError), transaction.atomic():
        EndUser.objects.create(account=member, kind="sole", name="Another")


def test_individual_cannot_designate_end_users(member):
    with pytest.raises(LicensingError, match="Only enterprise"):
        services.designate_end_user(user=member, name="Friend")


def test_another_accounts_end_user_or_project_cannot_be_used(member, other_member, track):
    theirs = grant(other_member, track).license
    with pytest.raises(LicensingError):
        grant(member, track, end_user=theirs.end_user)
    with pytest.raises(LicensingError):
        grant(member, track, project=theirs.project, end_user=None)
    assert not License.objects.filter(account=member).exists()


# --- enterprise designations ------------------------------------------------------------


def test_enterprise_designates_up_to_its_seats(enterprise, agreements):
    a = services.designate_end_user(
        user=enterprise, name="Ana Díaz", role="Producer", email="ana@example.com"
    )
    b = services.designate_end_user(user=enterprise, name="Ben Ito", role="Editor")
    assert a.kind == b.kind == "designated"
    assert a.agreement_version == agreements["music-licence"].number
    with pytest.raises(LicensingError, match="all seats are taken"):
        services.designate_end_user(user=enterprise, name="Cy Three")
    assert EndUser.objects.filter(account=enterprise).count() == 2


def test_designation_is_written_to_the_audit_log_and_emails_the_end_user(
    enterprise, mailoutbox, django_capture_on_commit_callbacks
):
    from allmytracks.models import AuditLog

    with django_capture_on_commit_callbacks(execute=True):
        end_user = services.designate_end_user(user=enterprise, name="Ana Díaz", email="ana@example.com")
    assert AuditLog.objects.for_object(end_user).filter(action="licensing.end_user_designated").exists()
    assert [m.to for m in mailoutbox] == [["ana@example.com"]]
    assert "designated end user" in mailoutbox[0].body
    assert "studio@example.com" not in mailoutbox[0].body


def test_enterprise_download_can_designate_inline_within_seats(enterprise, track, second_track, agreements):
    lic = services.grant_license(
        user=enterprise, track=track, version=full_version(track), submission=uuid.uuid4(),
        new_end_user={"name": "Client Co", "role": "Brand"},
        new_project={"title": "Spring ad", "platform": "advert", "client_name": "Client Co"},
    ).license  # fmt: skip
    assert lic.end_user.kind == "designated" and lic.project.client_name == "Client Co"
    services.designate_end_user(user=enterprise, name="Second")
    with pytest.raises(LicensingError, match="seats"):
        services.grant_license(
            user=enterprise, track=second_track, version=full_version(second_track), submission=uuid.uuid4(),
            new_end_user={"name": "Third"}, new_project={"title": "x", "platform": "other"},
        )  # fmt: skip
    assert not Project.objects.filter(title="x").exists()


# --- gates ------------------------------------------------------------------------------


def test_no_entitlement_left_is_refused_with_the_billing_reason(agreements, owner, track, second_track):
    make_ready(owner)
    give_membership(owner, quota=1)
    grant(owner, track)
    with pytest.raises(LicensingError) as exc:
        grant(owner, second_track)
    assert "licences of this period" in str(exc.value) and exc.value.url
    assert License.objects.count() == 1
    assert Project.objects.count() == 1  # the refused project was rolled back


def test_past_due_membership_stops_new_licences_but_not_redownloads(member, track, second_track):
    lic = grant(member, track).license
    member.subscriptions.update(status="past_due")
    with pytest.raises(LicensingError, match="payment failed"):
        grant(member, second_track)
    assert services.redownload(user=member, license=lic, version=full_version(track))
    lic.refresh_from_db()
    assert lic.is_active


def test_suspended_account_cannot_download(member, track):
    member.moderation = "suspended"
    member.moderation_reason = "Chargebacks"
    member.save(update_fields=["moderation", "moderation_reason"])
    with pytest.raises(LicensingError, match="suspended"):
        grant(member, track)
    assert not License.objects.exists()


def test_unaccepted_material_change_sends_the_user_to_accept(member, track):
    from tests.factories import publish_agreement

    publish_agreement("user-agreement", material=True)
    with pytest.raises(LicensingError) as exc:
        grant(member, track)
    assert exc.value.url == "/legal/accept/"


def test_material_change_of_the_music_licence_needs_acceptance_again(member, track):
    from legal import services as legal
    from tests.factories import publish_agreement

    services.accept_music_licence(member, legal.current_version("music-licence"))
    publish_agreement("music-licence", material=True)
    with pytest.raises(LicensingError) as exc:
        grant(member, track)
    assert exc.value.url == "/legal/accept/"


def test_licence_stamps_the_music_licence_version_in_force(member, track):
    from tests.factories import publish_agreement

    newer = publish_agreement("music-licence", material=False)
    assert grant(member, track).license.agreement_version == newer.number


def test_credit_is_used_when_no_membership(agreements, owner, track):
    from tests.factories import TrackCreditFactory

    make_ready(owner)
    credit = TrackCreditFactory(user=owner, track=track)
    lic = grant(owner, track).license
    assert (lic.source_type, lic.source_id) == ("credit", credit.pk)
    credit.refresh_from_db()
    assert credit.status == "used"


def test_revoked_licence_cannot_be_redownloaded(member, track, staff):
    lic = grant(member, track).license
    services.revoke_license(license=lic, actor=staff, reason="Used in a second project")
    lic.refresh_from_db()
    with pytest.raises(LicensingError, match="revoked"):
        services.redownload(user=member, license=lic, version=full_version(track))
    with pytest.raises(LicensingError, match="revoked"):
        grant(member, track, project=lic.project)


def test_code_collision_is_retried(member, track, second_track, monkeypatch):
    taken = grant(member, track).license.code
    codes = iter([taken, taken, "AMT-2345-6789"])
    monkeypatch.setattr(services, "new_code", lambda: next(codes))
    assert grant(member, second_track).license.code == "AMT-2345-6789"


def test_membership_ending_leaves_issued_licences_valid(member, track):
    lic = grant(member, track).license
    member.subscriptions.update(status="canceled")
    lic.refresh_from_db()
    assert lic.is_active
    assert services.redownload(user=member, license=lic, version=full_version(track))
