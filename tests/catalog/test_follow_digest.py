"""The weekly email of new tracks from followed artists: only to members who allow promotional email
and have not turned it off, with one-click unsubscribe, logged like every notice, never twice for
the same week; the following page turns it off and on; ``Track.published_at`` is what it reports by."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from catalog import services
from catalog.models import FollowDigest, Track
from legal.models import NoticeDelivery
from legal.services import set_marketing_consent
from tests.factories import ArtistFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def member(email, *, opted_in=True, follows=(), **fields):
    user = UserFactory(email=email, display_name=email.split("@")[0].title(), **fields)
    if opted_in:
        set_marketing_consent(user=user, opted_in=True, source="test")
    for artist in follows:
        services.toggle_follow(user=user, artist=artist)
    return user


def published(artist, title, *, days_ago, **fields):
    track = TrackFactory(artist=artist, title=title, is_published=True, **fields)
    Track.objects.filter(pk=track.pk).update(published_at=NOW - timedelta(days=days_ago))
    return track


@pytest.fixture
def artists():
    return ArtistFactory(name="Kite & Keel"), ArtistFactory(name="Neon Atlas")


def test_a_follower_who_allows_promotional_email_gets_the_weeks_new_tracks_once(artists):
    followed, other = artists
    olivia = member("olivia@example.com", follows=[followed])
    fresh = published(followed, "Blue Steps", days_ago=2)
    published(followed, "Old Song", days_ago=10)  # before the week
    draft = TrackFactory(artist=followed, title="Draft Song", is_published=False)
    published(other, "Not Followed", days_ago=1)

    assert services.send_follow_digests(now=NOW) == 1
    (email,) = mail.outbox
    assert email.to == ["olivia@example.com"]
    assert email.subject == "New from Kite & Keel, an artist you follow"
    assert "Hello Olivia," in email.body and "A new track this week" in email.body
    assert "“Blue Steps” by Kite & Keel" in email.body
    assert settings.SITE_URL + fresh.get_absolute_url() in email.body  # an address that works from a mailbox
    for absent in ("Old Song", draft.title, "Not Followed"):
        assert absent not in email.body
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = email.extra_headers["List-Unsubscribe"].strip("<>")
    html = email.alternatives[0][0]
    assert unsubscribe in email.body and unsubscribe.replace("&", "&amp;") in html
    assert "Blue Steps" in html and "Kite &amp; Keel" in html
    log = NoticeDelivery.objects.get(user=olivia)
    assert log.kind == "follow_digest" and log.status == "sent" and log.subject == email.subject

    assert services.send_follow_digests(now=NOW) == 0  # the same week again: nothing more
    assert services.send_follow_digests(now=NOW + timedelta(hours=1)) == 0  # nothing new since
    published(followed, "Next Week", days_ago=-3)
    assert services.send_follow_digests(now=NOW + timedelta(days=7)) == 1
    assert "Next Week" in mail.outbox[1].body and "Blue Steps" not in mail.outbox[1].body
    assert FollowDigest.objects.get(user=olivia).covered_until == NOW + timedelta(days=7)


def test_nobody_else_gets_it(artists):
    followed, _ = artists
    published(followed, "Blue Steps", days_ago=1)
    member("no-consent@example.com", opted_in=False, follows=[followed])
    off = member("off@example.com", follows=[followed])
    services.set_follow_digest(user=off, wanted=False)
    member("banned@example.com", follows=[followed], moderation="banned")
    member("suspended@example.com", follows=[followed], moderation="suspended")
    member("cancelled@example.com", follows=[followed], cancelled_at=NOW)
    member("follows-nobody@example.com")
    quiet = member("quiet@example.com", follows=[ArtistFactory()])  # follows an artist with nothing new

    assert services.send_follow_digests(now=NOW) == 0
    assert mail.outbox == []
    assert FollowDigest.objects.get(user=quiet).covered_until == NOW  # looked at, nothing to say


def test_the_one_click_unsubscribe_stops_it(client, artists):
    from legal.emails import unsubscribe_token

    followed, _ = artists
    olivia = member("olivia@example.com", follows=[followed])
    client.post(reverse("legal:unsubscribe", args=[unsubscribe_token(olivia)]))
    published(followed, "Blue Steps", days_ago=1)
    assert services.send_follow_digests(now=NOW) == 0 and mail.outbox == []


def test_a_busy_week_lists_ten_tracks_and_counts_the_rest(artists):
    followed, other = artists
    member("olivia@example.com", follows=[followed, other])
    for n in range(11):
        published(followed, f"Kite Track {n:02d}", days_ago=1 + n / 10)
    published(other, "Atlas Track", days_ago=3)
    services.send_follow_digests(now=NOW)
    (email,) = mail.outbox
    assert email.subject == "New from Kite & Keel and 1 more artist you follow"
    assert "12 new tracks this week" in email.body
    assert email.body.count("“Kite Track") == 10 and "Atlas Track" not in email.body
    assert "…and 2 more: " in email.body and reverse("catalog:following") in email.body


def test_one_failing_address_does_not_stop_the_others(artists, monkeypatch):
    from legal import emails

    followed, _ = artists
    first = member("first@example.com", follows=[followed])
    member("second@example.com", follows=[followed])
    published(followed, "Blue Steps", days_ago=1)
    real = emails.send_promotional

    def refuse_first(name, *, user, context):
        if user.pk == first.pk:
            raise OSError("mailbox unavailable")
        return real(name, user=user, context=context)

    monkeypatch.setattr(emails, "send_promotional", refuse_first)
    assert services.send_follow_digests(now=NOW) == 1
    assert [m.to for m in mail.outbox] == [["second@example.com"]]
    assert not FollowDigest.objects.filter(user=first, covered_until__isnull=False).exists()  # tried again


def test_the_following_page_turns_the_email_off_and_on(client, artists):
    followed, _ = artists
    olivia = member("olivia@example.com", follows=[followed])
    client.force_login(olivia)
    url, toggle = reverse("catalog:following"), reverse("catalog:follow-digest")
    assert "Each Monday we email you" in client.get(url).content.decode()

    response = client.post(toggle, {"wanted": "0"}, follow=True)
    page = response.content.decode()
    assert "You will get no more emails about the artists you follow." in page
    assert "The weekly email about these artists is off." in page
    assert not services.follow_digest_wanted(olivia)
    published(followed, "Blue Steps", days_ago=1)
    assert services.send_follow_digests(now=NOW) == 0

    client.post(toggle, {"wanted": "1"})
    assert services.follow_digest_wanted(olivia)
    assert client.get(toggle).status_code == 405

    set_marketing_consent(user=olivia, opted_in=False, source="test")
    page = client.get(url).content.decode()
    assert reverse("legal:email-preferences") in page and "Stop this email" not in page
    prefs = client.get(reverse("legal:email-preferences")).content.decode()
    assert "Monday email of the new tracks from artists you follow" in prefs and url in prefs


def test_a_stranger_is_sent_to_sign_in(client):
    response = client.post(reverse("catalog:follow-digest"), {"wanted": "0"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_published_at_is_the_first_publication(artists):
    from tests.factories import StaffFactory

    followed, _ = artists
    draft = TrackFactory(artist=followed, is_published=False)
    assert draft.published_at is None
    services.set_published(Track.objects.filter(pk=draft.pk), True, actor=StaffFactory())
    draft.refresh_from_db()
    first = draft.published_at
    assert first is not None
    services.set_published(Track.objects.filter(pk=draft.pk), False, actor=StaffFactory())
    services.set_published(Track.objects.filter(pk=draft.pk), True, actor=StaffFactory())
    draft.refresh_from_db()
    assert draft.published_at == first  # published again, not new again

    saved = TrackFactory(artist=followed, is_published=False)
    saved.is_published = True
    saved.save(update_fields=["is_published"])
    saved.refresh_from_db()
    assert saved.published_at is not None


def test_the_choice_is_in_the_data_export_and_goes_with_a_cancelled_account(artists):
    from accounts.data_export import collect
    from accounts.signals import account_cancelled

    followed, _ = artists
    olivia = member("olivia@example.com", follows=[followed])
    services.set_follow_digest(user=olivia, wanted=False)
    exported = collect(olivia)
    assert exported["catalogue"]["followed_artists_email"]["wanted"] is False
    account_cancelled.send(sender=get_user_model(), user=olivia)
    assert not FollowDigest.objects.filter(user=olivia).exists()
