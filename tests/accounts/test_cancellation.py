"""Cancellation: typed confirmation, staff approval in admin, a Celery task that anonymises."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts import services, tasks
from accounts.models import CancellationRequest, User
from accounts.services import TOMBSTONE_DOMAIN, email_fingerprint
from accounts.signals import account_cancelled
from allmytracks.models import AuditLog
from tests.accounts.conftest import STRONG_PASSWORD, give_totp

pytestmark = pytest.mark.django_db


def request_cancel(client, email, capture=None, **extra):
    data = {"confirm_email": email, "reason": "Moving on", **extra}
    if capture is None:
        return client.post(reverse("accounts:cancel"), data)
    with capture(execute=True):
        return client.post(reverse("accounts:cancel"), data)


def approve(client, cancellation, capture):
    with capture(execute=True):
        return client.post(
            reverse("admin:accounts_cancellationrequest_changelist"),
            {"action": "approve", ACTION_CHECKBOX_NAME: [cancellation.pk], "apply": "1", "reason": ""},
        )


def test_cancel_page_explains_what_is_lost_and_kept(owner_client, members):
    page = owner_client.get(reverse("accounts:cancel")).text
    assert "What you lose" in page and "What we keep" in page
    assert "Licences you were granted stay valid" in page


def test_typing_another_email_does_not_create_a_request(owner_client, members):
    response = request_cancel(owner_client, "other@example.com")
    assert response.status_code == 200
    assert "not the email address of this account" in response.text
    assert not CancellationRequest.objects.exists()


def test_typed_email_creates_a_pending_request_and_a_receipt(
    owner_client, members, django_capture_on_commit_callbacks
):
    response = request_cancel(owner_client, "OWNER@example.com", django_capture_on_commit_callbacks)
    assert response.status_code == 302
    cancellation = CancellationRequest.objects.get(user=members[0])
    assert cancellation.status == "pending"
    assert mail.outbox[-1].to == ["owner@example.com"]
    assert AuditLog.objects.for_object(cancellation).filter(action="accounts.cancellation_requested").exists()


def test_second_request_while_one_is_pending_is_refused(owner_client, members):
    request_cancel(owner_client, "owner@example.com")
    response = request_cancel(owner_client, "owner@example.com")
    assert response.status_code == 302
    assert CancellationRequest.objects.count() == 1
    with pytest.raises(services.AccountRestricted):
        services.request_cancellation(user=members[0])


def test_member_can_withdraw_a_pending_request(owner_client, members):
    request_cancel(owner_client, "owner@example.com")
    cancellation = CancellationRequest.objects.get()
    owner_client.post(reverse("accounts:cancel-withdraw", args=[cancellation.pk]))
    cancellation.refresh_from_db()
    assert cancellation.status == "rejected"
    request_cancel(owner_client, "owner@example.com")
    assert CancellationRequest.objects.filter(status="pending").count() == 1


def test_asking_and_withdrawing_in_a_loop_is_stopped_at_five_askings_an_hour(owner_client, members):
    """Each request emails the member and alerts staff: asking is limited, and withdrawing needs a
    request to withdraw, so the loop stops at the limit."""
    statuses = []
    for _ in range(6):
        statuses.append(request_cancel(owner_client, "owner@example.com").status_code)
        pending = CancellationRequest.objects.filter(status="pending").first()
        if pending:
            url = reverse("accounts:cancel-withdraw", args=[pending.pk])
            statuses.append(owner_client.post(url).status_code)
    assert statuses == [302] * 10 + [429]
    assert CancellationRequest.objects.count() == 5


def test_mistyped_confirmations_do_not_use_up_the_limit_and_withdrawing_is_never_limited(
    owner_client, members
):
    for _ in range(6):
        mistyped = request_cancel(owner_client, "owner@exmaple.com")
        assert "not the email address of this account" in mistyped.text
    assert request_cancel(owner_client, "owner@example.com").status_code == 302
    for _ in range(4):  # the member's limit used up by asking and withdrawing
        pending = CancellationRequest.objects.get(status="pending")
        assert owner_client.post(reverse("accounts:cancel-withdraw", args=[pending.pk])).status_code == 302
        assert request_cancel(owner_client, "owner@example.com").status_code == 302
    pending = CancellationRequest.objects.get(status="pending")
    assert request_cancel(owner_client, "owner@example.com").status_code == 302  # already pending: said so
    withdrawn = owner_client.post(reverse("accounts:cancel-withdraw", args=[pending.pk]))
    assert withdrawn.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "rejected"
    assert request_cancel(owner_client, "owner@example.com").status_code == 429


def test_another_member_on_the_same_address_does_not_use_up_the_members_limit(
    owner_client, other_client, members
):
    for _ in range(5):
        request_cancel(other_client, "other@example.com")
        pending = CancellationRequest.objects.filter(user=members[1], status="pending").first()
        if pending:
            other_client.post(reverse("accounts:cancel-withdraw", args=[pending.pk]))
    assert request_cancel(owner_client, "owner@example.com").status_code == 302


def test_staff_approval_cancels_and_anonymises_the_account_for_good(
    owner_client, mfa_staff_client, members, staff, django_capture_on_commit_callbacks
):
    from legal.models import Acceptance

    owner = members[0]
    give_totp(owner)
    acceptances = Acceptance.objects.filter(user=owner).count()
    request_cancel(owner_client, owner.email)
    cancellation = CancellationRequest.objects.get()
    received = []

    def on_cancel(sender, user, **kwargs):
        received.append(user.pk)

    account_cancelled.connect(on_cancel)
    try:
        approve(mfa_staff_client, cancellation, django_capture_on_commit_callbacks)
    finally:
        account_cancelled.disconnect(on_cancel)

    cancellation.refresh_from_db()
    assert cancellation.status == "completed" and cancellation.decided_by == staff
    user = User.objects.get(pk=owner.pk)  # the row stays: other apps' records point at it
    assert user.email.endswith("@" + TOMBSTONE_DOMAIN) and "owner" not in user.email
    assert user.is_cancelled and not user.is_active and not user.has_usable_password()
    assert user.display_name == "Cancelled account" and user.date_of_birth is None
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not user.authenticator_set.exists()
    assert received == [owner.pk]
    assert Acceptance.objects.filter(user=user).count() == acceptances
    final = mail.outbox[-1]
    assert final.to == ["owner@example.com"] and "cancelled" in final.subject
    row = AuditLog.objects.for_object(user).get(action="accounts.cancelled")
    assert row.data["email_sha256"] == email_fingerprint("owner@example.com")
    # Sessions ended: the member's browser is signed out.
    assert owner_client.get(reverse("accounts:account")).status_code == 302


def test_cancelled_account_can_never_sign_in_again(
    owner_client, mfa_staff_client, members, password, django_capture_on_commit_callbacks
):
    request_cancel(owner_client, "owner@example.com")
    approve(mfa_staff_client, CancellationRequest.objects.get(), django_capture_on_commit_callbacks)
    client = Client()
    client.post(reverse("account_login"), {"login": "owner@example.com", "password": password})
    assert "_auth_user_id" not in client.session


def test_the_address_registers_a_new_account_never_the_old_one(
    owner_client, mfa_staff_client, members, django_capture_on_commit_callbacks
):
    old_pk = members[0].pk
    request_cancel(owner_client, "owner@example.com")
    approve(mfa_staff_client, CancellationRequest.objects.get(), django_capture_on_commit_callbacks)
    client = Client()
    client.post(
        reverse("account_signup"),
        {
            "email": "owner@example.com",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
            "display_name": "New Member",
            "date_of_birth": "1990-01-01",
            "agree": "on",
        },
    )
    fresh = User.objects.get(email="owner@example.com")
    assert fresh.pk != old_pk
    assert User.objects.get(pk=old_pk).is_cancelled


def test_rejection_needs_a_reason_and_keeps_the_account(
    owner_client, mfa_staff_client, members, django_capture_on_commit_callbacks
):
    request_cancel(owner_client, "owner@example.com")
    cancellation = CancellationRequest.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        mfa_staff_client.post(
            reverse("admin:accounts_cancellationrequest_changelist"),
            {
                "action": "reject",
                ACTION_CHECKBOX_NAME: [cancellation.pk],
                "apply": "1",
                "reason": "Open dispute",
            },
        )
    cancellation.refresh_from_db()
    assert cancellation.status == "rejected"
    assert "Open dispute" in mail.outbox[-1].body
    assert not User.objects.get(pk=members[0].pk).is_cancelled


def test_the_task_is_safe_to_run_twice(members, staff, django_capture_on_commit_callbacks):
    cancellation = services.request_cancellation(user=members[0])
    with django_capture_on_commit_callbacks(execute=True):
        services.decide_cancellation(cancellation=cancellation, approve=True, actor=staff)
    email = User.objects.get(pk=members[0].pk).email
    tasks.carry_out_cancellation(cancellation.pk)  # a second delivery
    assert User.objects.get(pk=members[0].pk).email == email
    assert AuditLog.objects.filter(action="accounts.cancelled").count() == 1


def test_a_decided_request_cannot_be_decided_again(members, staff, django_capture_on_commit_callbacks):
    cancellation = services.request_cancellation(user=members[0])
    with django_capture_on_commit_callbacks(execute=True):
        services.decide_cancellation(cancellation=cancellation, approve=True, actor=staff)
    with pytest.raises(services.AccountRestricted):
        services.decide_cancellation(cancellation=cancellation, approve=False, actor=staff, reason="late")


def test_a_cancelled_account_keeps_no_favourites_or_playlists_and_its_shared_link_stops(
    members, staff, anon_client, django_capture_on_commit_callbacks
):
    from catalog import services as catalog
    from catalog.models import ArtistFollow, Favourite, Playlist
    from tests.factories import TrackFactory

    member, other = members[0], members[1]
    track = TrackFactory()
    Favourite.objects.create(user=member, track=track)
    Favourite.objects.create(user=other, track=track)
    ArtistFollow.objects.create(user=member, artist=track.artist)
    catalog.set_track_playlists(user=member, track=track, playlists=[], new_title="Client board")
    catalog.set_track_playlists(user=other, track=track, playlists=[], new_title="Theirs")
    shared = catalog.share_playlist(playlist=Playlist.objects.get(user=member), shared=True)
    link = shared.get_shared_url()
    assert anon_client.get(link).status_code == 200

    cancellation = services.request_cancellation(user=member)
    with django_capture_on_commit_callbacks(execute=True):
        services.decide_cancellation(cancellation=cancellation, approve=True, actor=staff)

    assert (
        not Favourite.objects.filter(user=member).exists()
        and not Playlist.objects.filter(user=member).exists()
    )
    assert anon_client.get(link).status_code == 404
    assert (
        Favourite.objects.filter(user=other).count() == 1 and Playlist.objects.filter(user=other).count() == 1
    )
