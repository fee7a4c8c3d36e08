"""Popularity is worked out from use: preview plays, favourites and licences, plus the editorial boost
(``catalog.services.refresh_popularity``, nightly from Celery beat). It orders "Most popular" and picks
the candidates relevance ranks, so it must follow what customers do."""

import pytest

from catalog.models import Favourite, Track
from catalog.search import SearchParams, search_tracks
from catalog.services import POPULARITY_WEIGHTS, record_play, refresh_popularity
from licensing.models import License
from tests.factories import TrackFactory
from tests.licensing.conftest import full_version, grant

pytestmark = pytest.mark.django_db


def test_popularity_comes_from_plays_favourites_licences_and_the_boost(
    member, other_member, track, second_track
):
    Track.objects.filter(pk=track.pk).update(popularity=500)  # a figure from before is replaced
    for _ in range(3):
        record_play(full_version(track).pk)
    Favourite.objects.create(user=member, track=track)
    Favourite.objects.create(user=other_member, track=track)
    grant(member, track, title="Launch video")
    revoked = grant(other_member, track, title="Teaser").license
    License.objects.filter(pk=revoked.pk).update(status=License.Status.REVOKED)  # a revoked licence: no use
    Track.objects.filter(pk=second_track.pk).update(popularity_boost=80)

    assert refresh_popularity() == 2
    track.refresh_from_db()
    second_track.refresh_from_db()
    w = POPULARITY_WEIGHTS
    assert track.popularity == 3 * w["play"] + 2 * w["favourite"] + w["licence"] == 48
    assert second_track.popularity == 80

    result = search_tracks(SearchParams(kind="music", sort="popular"))
    assert [t.pk for t in result.tracks] == [second_track.pk, track.pk]

    assert refresh_popularity() == 0  # nothing changed, nothing written
    Track.objects.filter(pk=second_track.pk).update(popularity_boost=-5)  # held back by staff
    assert refresh_popularity() == 1
    assert [t.pk for t in search_tracks(SearchParams(kind="music", sort="popular")).tracks] == [
        track.pk,
        second_track.pk,
    ]


def test_popularity_is_refreshed_a_batch_of_ids_at_a_time(monkeypatch, track, second_track):
    from catalog import services

    monkeypatch.setattr(services, "POPULARITY_BATCH", 1)
    far = TrackFactory(title="Far", slug="far")
    Track.objects.filter(pk=far.pk).update(id=far.pk + 10_000)  # ids need not be dense
    Track.objects.update(play_count=4)
    assert refresh_popularity() == 3
    assert set(Track.objects.values_list("popularity", flat=True)) == {4 * POPULARITY_WEIGHTS["play"]}


def test_the_nightly_popularity_refresh_runs_from_celery_beat(track):
    from django.conf import settings

    from allmytracks.celery import app
    from catalog.tasks import refresh_popularity as task

    entry = settings.CELERY_BEAT_SCHEDULE["catalog-refresh-popularity"]
    app.loader.import_default_modules()
    assert entry["task"] == task.name and entry["task"] in app.tasks
    Track.objects.filter(pk=track.pk).update(play_count=12)
    task.delay()  # eager here
    track.refresh_from_db()
    assert track.popularity == 12 * POPULARITY_WEIGHTS["play"]


@pytest.mark.django_db(transaction=True)
def test_popularity_set_by_hand_before_becomes_the_editorial_boost():
    """Migration catalog/0006: staff's hand-set figures are kept as their boost, so the first nightly
    refresh keeps the order they chose."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = (
        [("catalog", "0005_search_table_sync_only_on_search_changes")],
        [("catalog", "0006_track_popularity_boost")],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    artist = old_apps.get_model("catalog", "Artist").objects.create(name="Mira Vale", slug="mira-vale")
    Old = old_apps.get_model("catalog", "Track")
    hand_set = Old.objects.create(title="Golden Hour", slug="golden-hour", artist=artist, popularity=30)
    untouched = Old.objects.create(title="Night Drive", slug="night-drive", artist=artist)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    New = executor.loader.project_state(after).apps.get_model("catalog", "Track")  # the track of then
    assert New.objects.get(pk=hand_set.pk).popularity_boost == 30
    assert New.objects.get(pk=untouched.pk).popularity_boost == 0
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_staff_can_refresh_popularity_by_hand(track):
    from io import StringIO

    from django.core.management import call_command

    Track.objects.filter(pk=track.pk).update(play_count=3, popularity_boost=10)
    out = StringIO()
    call_command("refresh_popularity", stdout=out)
    assert "1 track changed popularity or trending" in out.getvalue()
    track.refresh_from_db()
    assert track.popularity == 3 * POPULARITY_WEIGHTS["play"] + 10


def test_trending_counts_only_the_last_seven_days_of_use(member, other_member, track, second_track):
    """“Trending” orders by this week's plays, favourites and licences: a track popular of old
    comes after one in use now, and a week without use takes a track off the list."""
    import datetime

    from django.utils import timezone

    from catalog.models import DailyPlays

    now, today = timezone.now(), timezone.localdate()
    days = datetime.timedelta(days=1)
    # Popular of old: plays, a favourite and a licence from before the window.
    Track.objects.filter(pk=second_track.pk).update(play_count=400)
    DailyPlays.objects.create(track=second_track, day=today - 7 * days, plays=400)
    Favourite.objects.filter(pk=Favourite.objects.create(user=member, track=second_track).pk).update(
        created_at=now - 20 * days
    )
    License.objects.filter(pk=grant(member, second_track).license.pk).update(issued_at=now - 20 * days)
    # In use this week: two visitors' plays today (one replays), plays six days ago, a favourite, a licence.
    for visitor in ("203.0.113.5", "203.0.113.6", "203.0.113.5"):
        record_play(full_version(track).pk, visitor=f"trending-{visitor}")
    DailyPlays.objects.create(track=track, day=today - 6 * days, plays=4)
    Favourite.objects.create(user=other_member, track=track)
    grant(other_member, track, title="Podcast intro")

    assert refresh_popularity() == 2
    track.refresh_from_db()
    second_track.refresh_from_db()
    w = POPULARITY_WEIGHTS
    assert track.trending == (2 + 4) * w["play"] + w["favourite"] + w["licence"] == 41
    assert second_track.trending == 0 and second_track.popularity > track.popularity
    assert not DailyPlays.objects.filter(track=second_track).exists()  # older than the window: gone

    def order(sort):
        return [t.pk for t in search_tracks(SearchParams(kind="music", sort=sort)).tracks]

    assert order("trending") == [track.pk, second_track.pk]
    assert order("popular") == [second_track.pk, track.pk]

    # Eight days on with no use: nothing trends, the order is popularity's again.
    assert refresh_popularity(now=now + 8 * days) == 1
    track.refresh_from_db()
    assert track.trending == 0 and not DailyPlays.objects.exists()
    assert order("trending") == [second_track.pk, track.pk]


def test_a_counted_play_adds_to_the_days_count_of_its_track(track):
    from django.utils import timezone

    from catalog.models import DailyPlays

    record_play(full_version(track).pk)
    record_play(track.versions.get(kind="instrumental").pk)  # another version of the same track
    assert record_play(full_version(track).pk, visitor="daily-203.0.113.9")
    assert not record_play(full_version(track).pk, visitor="daily-203.0.113.9")  # the same visitor again
    (row,) = DailyPlays.objects.all()
    assert (row.track_id, row.day, row.plays) == (track.pk, timezone.localdate(), 3)
    track.refresh_from_db()
    assert track.play_count == 3
