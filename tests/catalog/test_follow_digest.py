"""The weekly email of new tracks from followed artists: only to members who may get promotional
email and have not turned it off, with one-click unsubscribe, logged like every notice, at most one
a week whatever runs twice, never losing a track to a publication still being committed; sent in
chained batches from the email queue; the following page turns it off and on; ``Track.published_at``
is what it reports by."""

import importlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from catalog import services
from catalog.models import FollowDigest, Track
from legal.models import NoticeDelivery
from legal.services import set_marketing_consent
from tests.factories import ArtistFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # a run of the weekly job
SPAN_END = MONDAY - services.DIGEST_SETTLE  # what that run reports up to


@pytest.fixture(autouse=True)
def at_monday():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def member(email, *, opted_in=True, follows=(), **fields):
    user = UserFactory(email=email, display_name=email.split("@")[0].title(), **fields)
    if opted_in:
        set_marketing_consent(user=user, opted_in=True, source="test")
    for artist in follows:
        services.set_follow(user=user, artist=artist)
    return user


def published(artist, title, *, hours_ago, **fields):
    track = TrackFactory(artist=artist, title=title, is_published=True, **fields)
    Track.objects.filter(pk=track.pk).update(published_at=MONDAY - timedelta(hours=hours_ago))
    return track


@pytest.fixture
def artists():
    return ArtistFactory(name="Kite & Keel"), ArtistFactory(name="Neon Atlas")


def test_a_follower_who_allows_promotional_email_gets_the_weeks_new_tracks(artists):
    followed, other = artists
    olivia = member("olivia@example.com", follows=[followed])
    fresh = published(followed, "Blue Steps", hours_ago=50)
    published(followed, "Old Song", hours_ago=8 * 24)  # before the week
    draft = TrackFactory(artist=followed, title="Draft Song", is_published=False)
    published(other, "Not Followed", hours_ago=20)

    assert services.send_follow_digests() == 1
    (email,) = mail.outbox
    assert email.to == ["olivia@example.com"]
    assert email.subject == "New from Kite & Keel, an artist you follow"  # not "&amp;"
    assert "Hello Olivia," in email.body
    assert "A new track since 23 November from artists you follow" in email.body  # the span's start
    assert "“Blue Steps” by Kite & Keel" in email.body
    assert settings.SITE_URL + fresh.get_absolute_url() in email.body  # an address that works from a mailbox
    for absent in ("Old Song", draft.title, "Not Followed"):
        assert absent not in email.body
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = email.extra_headers["List-Unsubscribe"].strip("<>")
    html = email.alternatives[0][0]
    assert unsubscribe in email.body and unsubscribe in html
    assert "Blue Steps" in html and "Kite &amp; Keel" in html
    log = NoticeDelivery.objects.get(user=olivia)
    assert (log.kind, log.status, log.subject) == ("follow_digest", "sent", email.subject)


def test_at_most_one_email_a_week_and_every_track_in_one_of_them(artists, at_monday):
    followed, _ = artists
    member("olivia@example.com", follows=[followed])
    published(followed, "Blue Steps", hours_ago=30)
    assert services.send_follow_digests() == 1

    # Run again later the same day (by hand, a second scheduler): a track published meanwhile waits.
    at_monday.move_to(MONDAY + timedelta(hours=3))
    published(followed, "Late Monday", hours_ago=-1)
    assert services.send_follow_digests() == 0

    # A track published just before a run (its transaction may still be open) waits for the next one.
    at_monday.move_to(MONDAY + timedelta(days=7))
    published(followed, "Just Before", hours_ago=-7 * 24 + 0.5)
    assert services.send_follow_digests() == 1
    body = mail.outbox[1].body
    assert "Late Monday" in body and "Just Before" not in body and "Blue Steps" not in body
    at_monday.move_to(MONDAY + timedelta(days=14))
    assert services.send_follow_digests() == 1 and "Just Before" in mail.outbox[2].body


def test_nobody_else_gets_it(artists):
    followed, _ = artists
    published(followed, "Blue Steps", hours_ago=20)
    member("no-consent@example.com", opted_in=False, follows=[followed])
    off = member("off@example.com", follows=[followed])
    services.set_follow_digest(user=off, wanted=False)
    member("banned@example.com", follows=[followed], moderation="banned")
    member("suspended@example.com", follows=[followed], moderation="suspended")
    member("locked@example.com", follows=[followed], locked_at=MONDAY)
    member("cancelled@example.com", follows=[followed], cancelled_at=MONDAY)
    member("follows-nobody@example.com")
    quiet = member("quiet@example.com", follows=[ArtistFactory()])  # follows an artist with nothing new

    assert services.send_follow_digests() == 0
    assert mail.outbox == []
    assert FollowDigest.objects.get(user=quiet).covered_until == SPAN_END  # looked at, nothing to say


def test_the_one_click_unsubscribe_stops_it(client, artists):
    from legal.emails import unsubscribe_token

    followed, _ = artists
    olivia = member("olivia@example.com", follows=[followed])
    client.post(reverse("legal:unsubscribe", args=[unsubscribe_token(olivia)]))
    published(followed, "Blue Steps", hours_ago=20)
    assert services.send_follow_digests() == 0 and mail.outbox == []


def test_a_busy_week_lists_ten_tracks_and_counts_the_rest(artists):
    followed, other = artists
    member("olivia@example.com", follows=[followed, other])
    for n in range(11):
        published(followed, f"Kite Track {n:02d}", hours_ago=24 + n)
    published(other, "Atlas Track", hours_ago=72)
    services.send_follow_digests()
    (email,) = mail.outbox
    assert email.subject == "New from Kite & Keel and 1 more artist you follow"
    assert "12 new tracks since 23 November" in email.body
    assert email.body.count("“Kite Track") == 10 and "Atlas Track" not in email.body
    assert "…and 2 more: " in email.body and reverse("catalog:following") in email.body


@pytest.fixture
def counting_mailer(settings):
    from tests.mail_backends import CountingBackend

    settings.MAILERS = {"default": {"BACKEND": "tests.mail_backends.CountingBackend"}}
    CountingBackend.opened = 0
    return CountingBackend


def test_a_batch_sends_over_one_connection(artists, counting_mailer):
    followed, _ = artists
    for n in range(3):
        member(f"m{n}@example.com", follows=[followed])
    published(followed, "Blue Steps", hours_ago=20)
    assert services.send_follow_digests() == 3
    assert len(mail.outbox) == 3 and counting_mailer.opened == 1


def test_a_refused_address_is_logged_and_the_others_still_get_theirs(artists, counting_mailer):
    followed, _ = artists
    first = member("refused@example.com", follows=[followed])
    member("second@example.com", follows=[followed])
    published(followed, "Blue Steps", hours_ago=20)
    assert services.send_follow_digests() == 1
    assert [m.to for m in mail.outbox] == [["second@example.com"]]
    failed = NoticeDelivery.objects.get(user=first)
    assert failed.status == "failed" and "mailbox unavailable" in failed.error
    assert counting_mailer.opened == 1  # a refused address is not the connection's fault


def test_the_task_sends_in_batches_from_the_email_queue(
    artists, monkeypatch, django_capture_on_commit_callbacks
):
    from allmytracks.celery import app
    from catalog import tasks

    followed, _ = artists
    for n in range(5):
        member(f"m{n}@example.com", follows=[followed])
    published(followed, "Blue Steps", hours_ago=20)
    monkeypatch.setattr(services, "DIGEST_BATCH", 2)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        tasks.send_follow_digests.apply()  # eager: each batch queues the next with the same span
    assert len(queued) == 2  # batches of 2, 2 and 1
    assert sorted(m.to[0] for m in mail.outbox) == [f"m{n}@example.com" for n in range(5)]
    assert set(FollowDigest.objects.values_list("covered_until", flat=True)) == {SPAN_END}

    assert app.amqp.router.route({}, "catalog.tasks.send_follow_digests")["queue"].name == "email"
    beat = settings.CELERY_BEAT_SCHEDULE["catalog-follow-digests"]
    assert beat["task"] == "catalog.tasks.send_follow_digests"
    assert beat["schedule"].day_of_week == {1} and beat["schedule"].hour == set(range(8, 21))


def test_a_batch_stops_taking_members_when_its_time_is_up(
    artists, monkeypatch, django_capture_on_commit_callbacks
):
    from catalog import tasks

    followed, _ = artists
    for n in range(3):
        member(f"m{n}@example.com", follows=[followed])
    published(followed, "Blue Steps", hours_ago=20)
    monkeypatch.setattr(services, "DIGEST_BATCH_SECONDS", -1)  # out of time after every member
    with django_capture_on_commit_callbacks(execute=True) as queued:
        tasks.send_follow_digests.apply()
    assert len(queued) == 3 and len(mail.outbox) == 3  # one member a run; the last run finds nobody left


def test_a_later_run_goes_on_from_the_members_a_stopped_run_did_not_reach(artists, at_monday):
    from catalog import tasks

    followed, _ = artists
    for n in range(5):
        member(f"m{n}@example.com", follows=[followed])
    published(followed, "Blue Steps", hours_ago=20)
    assert services.send_follow_digest_batch(until=SPAN_END, size=2)[0] == 2  # then the chain broke
    at_monday.move_to(MONDAY + timedelta(hours=1))  # the next hourly run
    tasks.send_follow_digests.apply()
    assert sorted(m.to[0] for m in mail.outbox) == [f"m{n}@example.com" for n in range(5)]
    assert list(services.digest_recipients(SPAN_END)) == []


def test_a_member_handled_late_is_not_a_week_behind(artists, at_monday):
    followed, _ = artists
    member("olivia@example.com", follows=[followed])
    published(followed, "Sunday Track", hours_ago=20)
    at_monday.move_to(MONDAY + timedelta(days=1))  # the run reached this member on Tuesday
    assert services.send_follow_digests() == 1 and "Sunday Track" in mail.outbox[0].body
    published(followed, "Tuesday Track", hours_ago=-30)
    at_monday.move_to(MONDAY + timedelta(days=7))
    assert services.send_follow_digests() == 1 and "Tuesday Track" in mail.outbox[1].body


def test_an_email_claimed_but_never_sent_goes_out_once_with_the_next_run(artists):
    followed, _ = artists
    olivia = member("olivia@example.com", follows=[followed])
    published(followed, "Blue Steps", hours_ago=20)
    assert services.prepare_follow_digest(olivia, until=SPAN_END)  # the worker died after this
    assert mail.outbox == [] and NoticeDelivery.objects.get(user=olivia).status == "pending"
    assert services.send_follow_digests() == 1 and "Blue Steps" in mail.outbox[0].body
    assert services.send_follow_digests() == 0
    assert list(NoticeDelivery.objects.filter(user=olivia).values_list("status", flat=True)) == ["sent"]


def test_an_email_claimed_for_an_account_that_then_unsubscribed_is_skipped(artists):
    from legal.services import deliver_promotional

    followed, _ = artists
    olivia = member("olivia@example.com", follows=[followed])
    published(followed, "Blue Steps", hours_ago=20)
    delivery, context = services.prepare_follow_digest(olivia, until=SPAN_END)
    set_marketing_consent(user=olivia, opted_in=False, source="test")
    assert not deliver_promotional(delivery, template="catalog_follow_digest", context=context)
    assert mail.outbox == [] and NoticeDelivery.objects.get(user=olivia).status == "skipped"


def test_the_weeks_span_ends_an_hour_before_the_scheduled_run():
    assert services.digest_until(MONDAY) == SPAN_END
    assert services.digest_until(MONDAY + timedelta(days=6)) == SPAN_END  # Sunday: this week's
    assert services.digest_until(MONDAY - timedelta(minutes=1)) == SPAN_END - timedelta(days=7)


def test_a_span_typed_by_hand_without_a_zone_is_read_as_utc(artists):
    from catalog import tasks

    followed, _ = artists
    member("olivia@example.com", follows=[followed])
    published(followed, "Blue Steps", hours_ago=20)
    tasks.send_follow_digests.apply(args=["2026-11-30T07:00:00"])
    assert len(mail.outbox) == 1


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
    published(followed, "Blue Steps", hours_ago=20)
    assert services.send_follow_digests() == 0

    client.post(toggle, {"wanted": "1"})
    assert services.follow_digest_wanted(olivia)
    assert client.get(toggle).status_code == 405
    response = client.post(toggle, {"wanted": "maybe"}, follow=True)
    assert "Choose whether you want the email." in response.content.decode()
    assert services.follow_digest_wanted(olivia)

    set_marketing_consent(user=olivia, opted_in=False, source="test")
    page = client.get(url).content.decode()
    assert reverse("legal:email-preferences") in page and "Stop this email" not in page
    prefs = client.get(reverse("legal:email-preferences")).content.decode()
    assert "Monday email of the new tracks from artists you follow" in prefs and url in prefs


def test_a_stranger_is_sent_to_sign_in(client):
    response = client.post(reverse("catalog:follow-digest"), {"wanted": "0"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_following_page_shows_what_was_first_published_lately(client, artists):
    followed, _ = artists
    olivia = member("olivia@example.com", follows=[followed])
    published(followed, "Fresh", hours_ago=24)
    old_but_new = TrackFactory(artist=followed, title="Added Long Ago", is_published=False)
    Track.objects.filter(pk=old_but_new.pk).update(created_at=MONDAY - timedelta(days=90))
    old_but_new.refresh_from_db()
    old_but_new.is_published = True
    old_but_new.save()  # published now: new to followers, as the email says
    client.force_login(olivia)
    page = client.get(reverse("catalog:following")).content.decode()
    assert "Fresh" in page and "Added Long Ago" in page


def test_published_at_is_the_first_publication(artists):
    from tests.factories import StaffFactory

    followed, _ = artists
    staff = StaffFactory()
    draft = TrackFactory(artist=followed, is_published=False)
    assert draft.published_at is None
    services.set_published(Track.objects.filter(pk=draft.pk), True, actor=staff)
    draft.refresh_from_db()
    first = draft.published_at
    assert first == MONDAY
    services.set_published(Track.objects.filter(pk=draft.pk), False, actor=staff)
    with time_machine.travel(MONDAY + timedelta(days=2)):
        services.set_published(Track.objects.filter(pk=draft.pk), True, actor=staff)
    draft.refresh_from_db()
    assert draft.published_at == first  # published again, not new again

    saved = TrackFactory(artist=followed, is_published=False)
    saved.is_published = True
    saved.save(update_fields=["is_published"])
    saved.refresh_from_db()
    assert saved.published_at == MONDAY


@pytest.mark.postgres
def test_the_upgrade_dates_tracks_published_before_in_batches(artists, monkeypatch):
    from django.apps import apps
    from django.db import connection

    backfill = importlib.import_module("catalog.migrations.0015_published_at_backfill")
    followed, _ = artists
    tracks = [TrackFactory(artist=followed, is_published=True) for _ in range(5)]
    draft = TrackFactory(artist=followed, is_published=False)
    with connection.cursor() as cur:  # the schema before 0017 (rolled back with the test's transaction)
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("ALTER TABLE catalog_track DROP CONSTRAINT track_published_has_date")
        cur.execute("ALTER TABLE catalog_track DISABLE TRIGGER catalog_tracksearch_sync")
    Track.objects.update(published_at=None, created_at=MONDAY - timedelta(days=3))
    monkeypatch.setattr(backfill, "BATCH", 2)
    backfill.published_when_added(apps, None)
    assert set(
        Track.objects.filter(pk__in=[t.pk for t in tracks]).values_list("published_at", flat=True)
    ) == {MONDAY - timedelta(days=3)}
    assert Track.objects.get(pk=draft.pk).published_at is None


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


@pytest.mark.django_db(transaction=True)
def test_the_email_goes_out_after_the_claim_is_committed(artists, monkeypatch):
    from django.db import connection

    from legal import emails

    followed, _ = artists
    olivia = member("olivia@example.com", follows=[followed])
    published(followed, "Blue Steps", hours_ago=20)
    real, seen = emails.send_promotional, []

    def spy(name, *, user, context, **kwargs):
        seen.append((connection.in_atomic_block, FollowDigest.objects.get(user=user).covered_until))
        return real(name, user=user, context=context, **kwargs)

    monkeypatch.setattr(emails, "send_promotional", spy)
    assert services.send_follow_digests() == 1
    assert seen == [(False, SPAN_END)]  # no transaction open, the week already claimed
    assert FollowDigest.objects.get(user=olivia).sent_at == MONDAY


def test_an_email_left_unsent_all_week_goes_out_with_the_next_weeks_tracks(artists, at_monday):
    followed, _ = artists
    olivia = member("olivia@example.com", follows=[followed])
    published(followed, "Week One", hours_ago=20)
    services.prepare_follow_digest(olivia, until=SPAN_END)  # claimed; no run sent it that Monday
    at_monday.move_to(MONDAY + timedelta(days=7))
    published(followed, "Week Two", hours_ago=-3 * 24)
    assert services.send_follow_digests() == 1
    body = mail.outbox[0].body
    assert "Week One" in body and "Week Two" in body
    assert list(NoticeDelivery.objects.filter(user=olivia).values_list("status", flat=True)) == ["sent"]


@pytest.mark.parametrize("drop_out", ["turned off", "unfollowed", "unsubscribed", "nothing left"])
def test_an_unsent_email_the_member_no_longer_gets_is_marked_skipped(artists, at_monday, drop_out):
    followed, _ = artists
    olivia = member("olivia@example.com", follows=[followed])
    track = published(followed, "Blue Steps", hours_ago=20)
    services.prepare_follow_digest(olivia, until=SPAN_END)  # the worker died before sending
    if drop_out == "turned off":
        services.set_follow_digest(user=olivia, wanted=False)
    elif drop_out == "unfollowed":
        services.set_follow(user=olivia, artist=followed)
    elif drop_out == "unsubscribed":
        set_marketing_consent(user=olivia, opted_in=False, source="test")
    else:
        Track.objects.filter(pk=track.pk).update(is_published=False)
    at_monday.move_to(MONDAY + timedelta(hours=2))  # the next hourly run
    assert services.send_follow_digests() == 0 and mail.outbox == []
    assert NoticeDelivery.objects.get(user=olivia).status == "skipped"
    assert olivia not in services.digest_recipients(SPAN_END)


def test_staff_find_the_email_in_the_notice_log(artists, staff_client, settings):
    settings.ACCOUNTS_STAFF_REQUIRE_MFA = False
    followed, _ = artists
    olivia = member("olivia@example.com", follows=[followed])
    published(followed, "Blue Steps", hours_ago=20)
    services.send_follow_digests()
    delivery = NoticeDelivery.objects.get(user=olivia)
    listing = staff_client.get(reverse("admin:legal_noticedelivery_changelist"), {"q": "olivia@example.com"})
    assert listing.status_code == 200 and "New from Kite &amp; Keel" in listing.content.decode()
    page = staff_client.get(reverse("admin:legal_noticedelivery_change", args=[delivery.pk]))
    assert (
        page.status_code == 200
        and "Weekly email of new tracks from followed artists" in page.content.decode()
    )
