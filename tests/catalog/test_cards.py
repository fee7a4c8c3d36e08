"""Result rows loaded without model instances (``catalog.cards``) show what ORM rows show."""

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection
from django.template import Context
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from catalog.cards import TrackCard, load_cards
from catalog.models import SoundCategory, Track
from catalog.services import card_queryset
from catalog.templatetags.catalog_tags import track_row, track_rows
from tests.factories import (
    ArtistFactory,
    GenreFactory,
    MoodFactory,
    TrackFactory,
    TrackVersionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(db):
    """Tracks covering every part of a row: key and mode, tags, artwork, a sound category, a track
    with only a loop ready (its version is the main one), and one with no playable version."""
    ambient, calm, dark = GenreFactory(name="Ambient"), MoodFactory(name="Calm"), MoodFactory(name="Dark")
    artist = ArtistFactory(name="Ana & the <Waves>")
    keyed = TrackFactory(
        title='Harbour "Lights"',
        artist=artist,
        bpm=92,
        key="F#",
        mode="minor",
        genres=[ambient],
        moods=[dark, calm],
    )
    TrackVersionFactory(track=keyed, duration_seconds=181.44)
    TrackVersionFactory(track=keyed, kind="stem", position=2)
    keyed.artwork_small.save("small.webp", ContentFile(b"RIFF0000WEBP"), save=True)
    sfx = TrackFactory(
        title="Door slam",
        kind="sfx",
        bpm=None,
        sound_category=SoundCategory.objects.create(name="Doors", slug="doors"),
    )
    TrackVersionFactory(track=sfx, duration_seconds=0.4)
    looped = TrackFactory(title="Loop only")
    TrackVersionFactory(track=looped, kind="loop", duration_seconds=8.0)
    TrackVersionFactory(track=looped, kind="full", ingest_status="failed")
    silent = TrackFactory(title="No preview yet")
    return [keyed, sfx, looped, silent]


def _context(user=None):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/tracks/?q=harbour")
    request.user = user or AnonymousUser()
    return Context({"request": request, "user": request.user, "csrf_token": "TOKEN"})


def _orm_rows(ids):
    by_id = {t.pk: t for t in card_queryset(Track.objects.filter(pk__in=ids))}
    return [by_id[i] for i in ids]


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_card_row_is_the_same_markup_as_the_model_row(rows, owner, signed_in):
    ids = [t.pk for t in rows]
    user = owner if signed_in else None
    for card, model in zip(load_cards(ids), _orm_rows(ids), strict=True):
        assert isinstance(card, TrackCard)
        for favourited in (False, True):
            for compact in (False, True):
                assert track_row(_context(user), card, favourited, compact) == track_row(
                    _context(user), model, favourited, compact
                )


def test_cards_keep_the_order_asked_for_and_leave_out_unknown_ids(rows):
    keyed, sfx, looped, silent = rows
    asked = [looped.pk, 999_999, keyed.pk, looped.pk, silent.pk, sfx.pk]
    assert [c.pk for c in load_cards(asked)] == [looped.pk, keyed.pk, silent.pk, sfx.pk]
    assert load_cards([]) == []


def test_cards_take_only_whole_numbers_as_ids(rows):
    """The ids are written into the statement as integers: anything else is refused before SQL."""
    for bad in ("1) OR (1=1", "1; DROP TABLE catalog_track", "", None, "1.5"):
        with pytest.raises((ValueError, TypeError)):
            load_cards([rows[0].pk, bad])
    assert [c.pk for c in load_cards([str(rows[0].pk)])] == [rows[0].pk]  # digits as text are fine


def test_a_card_carries_the_track_its_main_version_and_tags(rows):
    keyed, sfx, looped, silent = rows
    by_pk = {c.pk: c for c in load_cards([t.pk for t in rows])}
    card = by_pk[keyed.pk]
    assert (card.title, card.artist.name, card.key_label, card.bpm) == (
        'Harbour "Lights"',
        "Ana & the <Waves>",
        "F♯ minor",
        92,
    )
    assert card.card_version_id == keyed.versions.get(kind="full").pk
    assert card.card_version_duration == 181.44
    assert [t.name for t in card.tags["mood"]] == ["Calm", "Dark"]
    assert [t.name for t in card.tags["genre"]] == ["Ambient"]
    assert card.artwork_small and card.artwork_small.url.endswith(".webp")
    assert card.waveform == keyed.waveform and card.get_absolute_url() == keyed.get_absolute_url()
    assert by_pk[sfx.pk].is_sfx and by_pk[sfx.pk].sound_category.name == "Doors"
    # The failed full mix is not offered: the ready loop is the row's version.
    assert by_pk[looped.pk].card_version_id == looped.versions.get(kind="loop").pk
    assert by_pk[silent.pk].card_version_id is None and not by_pk[silent.pk].artwork_small


def test_cards_load_in_one_query_for_any_number_of_rows(rows):
    extra = [TrackFactory() for _ in range(20)]
    expected = 1 if connection.vendor == "postgresql" else 2  # elsewhere the tag links are one more
    load_cards([rows[0].pk])  # the tag names are read once and cached
    for ids in ([rows[0].pk], [t.pk for t in rows + extra]):
        with CaptureQueriesContext(connection) as ctx:
            load_cards(ids)
        assert len(ctx.captured_queries) == expected, ids


def test_cards_survive_being_remembered(rows):
    cards = load_cards([t.pk for t in rows])
    cache.set("cards", cards)  # remembered searches keep their rows in the cache (pickled)
    back = cache.get("cards")
    html = track_rows(_context(), cards)
    assert track_rows(_context(), back) == html
    assert back[0].tags == cards[0].tags and back[0].waveform == rows[0].waveform


def test_a_row_list_marks_only_the_favourites_given(rows, owner):
    cards = load_cards([t.pk for t in rows])
    html = track_rows(_context(owner), cards, {rows[1].pk})
    assert html.count("<li ") == 4 and html.count('aria-pressed="true"') == 1
    assert "Remove Door slam from favourites" in html
