"""Catalogue search: matching, filters, facets, ranking, typo correction, bad input, pages, queries.

Tests marked ``postgres`` need PostgreSQL (ranking, the trigger-maintained index, the trigram
word dictionary); on SQLite they are skipped with the reason shown, and CI runs them.
"""

import re
from io import StringIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.forms import SearchForm
from catalog.models import Favourite, Genre, SoundCategory, Theme, Track
from catalog.search import (
    COUNT_CAP,
    MAX_COMPLETIONS,
    MAX_QUERY_LENGTH,
    SearchParams,
    _tsquery,
    search_tracks,
)
from catalog.search_index import rebuild_search_words
from tests.factories import (
    ArtistFactory,
    GenreFactory,
    InstrumentFactory,
    MoodFactory,
    TrackFactory,
    TrackVersionFactory,
)

pytestmark = pytest.mark.django_db

TRACKS_URL = "/tracks/"


def params(**kwargs):
    kwargs.setdefault("kind", "music")
    kwargs.setdefault("sort", "relevance" if kwargs.get("q") else "popular")
    return SearchParams(**kwargs)


def titles(result):
    return [t.title for t in result.tracks]


@pytest.fixture
def catalogue(db):
    """A small catalogue with two genres, two moods and distinct tempos."""
    ambient = GenreFactory(name="Ambient", slug="ambient")
    rock = GenreFactory(name="Rock", slug="rock")
    calm = MoodFactory(name="Calm", slug="calm")
    dark = MoodFactory(name="Dark", slug="dark")
    piano = InstrumentFactory(name="Piano", slug="piano")
    tracks = {
        "Summer Breeze": TrackFactory(
            title="Summer Breeze", bpm=90, popularity=50, genres=[ambient], moods=[calm]
        ),
        "Night Drive": TrackFactory(title="Night Drive", bpm=120, popularity=80, genres=[rock], moods=[dark]),
        "Quiet Hours": TrackFactory(
            title="Quiet Hours", bpm=70, popularity=10, genres=[ambient], moods=[dark]
        ),
        "Stadium": TrackFactory(
            title="Stadium", bpm=140, popularity=99, genres=[rock], moods=[calm], explicit=True
        ),
    }
    tracks["Quiet Hours"].instruments.set([piano])
    TrackFactory(title="Summer Secret", is_published=False)  # never shown to customers
    TrackFactory(title="Summer Rain", kind="sfx", bpm=None)  # a sound effect, not music
    if connection.vendor == "postgresql":
        rebuild_search_words()
    return tracks


# --- matching and filters (both databases) ---------------------------------------------------


def test_text_search_finds_published_music_only(catalogue):
    result = search_tracks(params(q="summer"))
    assert titles(result) == ["Summer Breeze"]
    assert result.total == 1 and not result.total_capped


def test_artist_and_tag_names_are_searched(catalogue):
    artist = ArtistFactory(name="Ola Nordmann")
    TrackFactory(title="Fjord", artist=artist)
    assert titles(search_tracks(params(q="nordmann"))) == ["Fjord"]
    assert set(titles(search_tracks(params(q="ambient")))) == {"Summer Breeze", "Quiet Hours"}


def test_filters_combine_across_dimensions_and_any_within_one(catalogue):
    result = search_tracks(params(genre=("ambient", "rock"), mood=("dark",)))
    assert set(titles(result)) == {"Night Drive", "Quiet Hours"}
    result = search_tracks(params(genre=("ambient",), bpm_min=80, bpm_max=100))
    assert titles(result) == ["Summer Breeze"]
    assert titles(search_tracks(params(explicit="no", genre=("rock",)))) == ["Night Drive"]
    assert titles(search_tracks(params(instrument=("piano",)))) == ["Quiet Hours"]


def test_facet_counts_reflect_the_other_active_filters(catalogue):
    result = search_tracks(params(genre=("ambient",)))
    genre = {v.value: v.count for v in result.facets["genre"]}
    mood = {v.value: v.count for v in result.facets["mood"]}
    # The genre facet ignores the genre filter itself (so "Rock" can still be added) …
    assert genre == {"ambient": 2, "rock": 2}
    # … while other facets count only ambient tracks.
    assert mood == {"calm": 1, "dark": 1}
    assert [v.value for v in result.facets["genre"] if v.selected] == ["ambient"]
    both = search_tracks(params(genre=("ambient",), mood=("dark",)))
    assert {v.value: v.count for v in both.facets["genre"]} == {"ambient": 1, "rock": 1}
    assert {v.value: v.count for v in both.facets["mood"]} == {"calm": 1, "dark": 1}


def test_sorts_order_by_popularity_tempo_and_length(catalogue):
    assert titles(search_tracks(params(sort="popular")))[:2] == ["Stadium", "Night Drive"]
    assert titles(search_tracks(params(sort="bpm"))) == [
        "Quiet Hours",
        "Summer Breeze",
        "Night Drive",
        "Stadium",
    ]
    assert titles(search_tracks(params(sort="-bpm")))[0] == "Stadium"


@pytest.mark.parametrize(
    "dense",
    [False, pytest.param(True, marks=pytest.mark.postgres)],
    ids=["within-the-candidates", "walking-the-index"],
)
def test_newest_goes_by_first_publication_not_upload(catalogue, staff, monkeypatch, dense):
    """A track uploaded before the others but published after them is the newest; publishing it
    again after a withdrawal does not make it new a second time."""
    import datetime

    from catalog import search
    from catalog.services import set_published

    if dense:  # the base is full: the page walks the newest index of the search table
        monkeypatch.setattr(search, "CANDIDATES", 2)
    held = TrackFactory(title="Held Back", is_published=False)
    Track.objects.filter(pk=held.pk).update(created_at=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC))
    set_published(Track.objects.filter(pk=held.pk), True, actor=staff)
    assert titles(search_tracks(params(sort="newest")))[0] == "Held Back"

    later = TrackFactory(title="Later Still")
    set_published(Track.objects.filter(pk=held.pk), False, actor=staff)
    set_published(Track.objects.filter(pk=held.pk), True, actor=staff)
    assert titles(search_tracks(params(sort="newest")))[:2] == [later.title, "Held Back"]


@pytest.mark.postgres
def test_a_published_track_always_has_its_first_publication_date(catalogue):
    from django.db import IntegrityError, transaction

    draft = TrackFactory(title="Draft", is_published=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Track.objects.filter(pk=draft.pk).update(is_published=True)
    Track.objects.filter(pk=draft.pk).update(is_published=True, published_at=draft.created_at)


def test_page_past_the_end_shows_the_last_page(catalogue):
    result = search_tracks(params(per_page=12, page=500))
    assert result.page == 1 and result.num_pages == 1 and len(result.tracks) == 4


def test_counts_are_capped_and_say_so():
    TrackFactory.create_batch(3, title="Loop")
    result = search_tracks(params(q="loop"))
    assert result.total == 3 and not result.total_capped
    assert COUNT_CAP == 1001


def test_sound_category_filter_takes_the_whole_subtree(db):
    foley = SoundCategory.objects.create(name="Foley", slug="foley")
    steps = SoundCategory.objects.create(name="Footsteps", slug="footsteps", parent=foley)
    nature = SoundCategory.objects.create(name="Nature", slug="nature")
    TrackFactory(title="Gravel steps", kind="sfx", sound_category=steps)
    TrackFactory(title="Birdsong", kind="sfx", sound_category=nature)
    result = search_tracks(params(kind="sfx", category="foley"))
    assert titles(result) == ["Gravel steps"]
    counts = {v.value: v.count for v in result.facets["category"]}
    assert counts == {"foley": 1, "footsteps": 1, "nature": 1}
    assert [v.depth for v in result.facets["category"]] == [0, 1, 0]


# --- PostgreSQL: ranking, index upkeep, typo tolerance, prefixes ---------------------------------


@pytest.mark.postgres
def test_title_match_ranks_above_a_description_match(db):
    TrackFactory(title="Open Road", description="A lantern glows at the end", popularity=100)
    TrackFactory(title="Lantern", description="Warm and slow", popularity=1)
    TrackFactory(title="Harbour", description="", popularity=50).themes.set(
        [Theme.objects.create(name="Lantern festival", slug="lantern-festival")]
    )
    result = search_tracks(params(q="lantern"))
    # Title (A) beats tag (C) beats description (D), whatever the popularity.
    assert titles(result) == ["Lantern", "Harbour", "Open Road"]


@pytest.mark.postgres
def test_a_merged_artists_tracks_are_found_under_the_kept_name(db, staff):
    from catalog.services import merge_artist
    from tests.factories import ArtistFactory

    keep, typo = ArtistFactory(name="Quillon Marsh"), ArtistFactory(name="Quilon Marsh")
    TrackFactory(title="Night Ferry", artist=typo)
    before = search_tracks(params(q="quillon"))
    assert before.corrected_from == "quillon"  # found only as a misspelling of the other name
    merge_artist(typo, into=keep, actor=staff)
    after = search_tracks(params(q="quillon"))
    assert titles(after) == ["Night Ferry"] and not after.corrected_from


@pytest.mark.postgres
def test_index_follows_tag_changes_and_renames(db):
    track = TrackFactory(title="Plain")
    genre = GenreFactory(name="Chillwave", slug="chillwave")
    assert titles(search_tracks(params(q="chillwave"))) == []
    track.genres.add(genre)  # M2M trigger
    assert titles(search_tracks(params(q="chillwave"))) == ["Plain"]
    assert titles(search_tracks(params(genre=("chillwave",)))) == ["Plain"]
    genre.name = "Vaporwave"
    genre.save()  # rename trigger
    assert titles(search_tracks(params(q="vaporwave"))) == ["Plain"]
    track.artist.name = "Zephyrine"
    track.artist.save()
    assert titles(search_tracks(params(q="zephyrine"))) == ["Plain"]
    track.genres.clear()
    assert titles(search_tracks(params(q="vaporwave"))) == []


def test_a_misspelled_word_is_corrected_before_searching(catalogue):
    result = search_tracks(params(q="sumer breze"))
    assert titles(result) == ["Summer Breeze"]
    assert result.corrected_from == "sumer breze"
    assert result.query == "summer breeze"


@pytest.mark.postgres
def test_the_last_word_matches_as_a_prefix_while_typing(catalogue):
    assert titles(search_tracks(params(q="summ"))) == ["Summer Breeze"]
    assert titles(search_tracks(params(q="night dri"))) == ["Night Drive"]
    assert search_tracks(params(q="summ")).corrected_from == ""


def test_the_last_word_becomes_the_catalogue_words_it_begins_or_a_prefix_past_the_limit():
    assert _tsquery(["night", "dri"], ["drive", "drift"]) == "night & (drive | drift)"
    assert _tsquery(["summ"], ["summer"]) == "summer"
    many = [f"dri{i}" for i in range(MAX_COMPLETIONS + 1)]
    assert _tsquery(["night", "dri"], many) == "night & dri:*"
    assert _tsquery(["night", "dri"], None) == "night & dri:*"
    assert _tsquery(["a"], ["about", "above"]) == "a"  # one letter is a word, not a beginning


@pytest.mark.postgres
def test_a_beginning_shared_by_many_words_still_matches_them_all(catalogue, monkeypatch, settings):
    from catalog import search

    settings.CATALOG_SEARCH_CACHE_SECONDS = 0  # each search runs its statement

    TrackFactory(title="Summit Line", popularity=5)
    rebuild_search_words()
    both = {"Summer Breeze", "Summit Line"}
    assert set(titles(search_tracks(params(q="summ")))) == both  # (summer | summit)
    monkeypatch.setattr(search, "MAX_COMPLETIONS", 1)
    assert set(titles(search_tracks(params(q="summ")))) == both  # summ:*


@pytest.mark.postgres
def test_the_word_check_says_how_many_tracks_the_text_can_match(catalogue, monkeypatch):
    from catalog import search

    TrackFactory(title="Summit Line")
    TrackFactory(title="Summit Peak")
    rebuild_search_words()
    docs = dict(connection.cursor().execute("SELECT word, ndoc FROM catalog_searchword").fetchall())
    assert search.correct_words(["summit"])[2] == docs["summit"] == 2
    assert search.correct_words(["summit", "line"])[2] == docs["line"] == 1  # the rarest word
    # The last word as typed: the words it begins, together.
    assert search.correct_words(["summ"])[2] == docs["summer"] + docs["summit"]
    assert search.correct_words(["sumit"])[0:3:2] == (["summit"], 2)  # corrected: the correction's
    monkeypatch.setattr(search, "MAX_COMPLETIONS", 1)
    assert search.correct_words(["summ"])[2] is None  # summ:* — no count


@pytest.mark.postgres
def test_new_words_reach_the_dictionary_when_a_track_is_published(db):
    TrackFactory(title="Xylograph")
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM catalog_searchword WHERE word = 'xylograph'")
        assert cur.fetchone()[0] == 1
    assert titles(search_tracks(params(q="xylograf"))) == ["Xylograph"]


def test_no_match_and_nothing_similar_gives_an_empty_result(catalogue):
    result = search_tracks(params(q="qqqzzzxxx"))
    assert result.tracks == [] and result.total == 0 and not result.corrected_from


def test_a_corrected_search_that_still_finds_nothing_offers_the_correction(catalogue):
    result = search_tracks(params(q="sumer", genre=("rock",)))  # no rock track says summer
    assert result.total == 0 and result.suggestion == "summer"


def test_the_results_page_says_what_it_searched_instead(anon_client, catalogue):
    page = anon_client.get(TRACKS_URL, {"q": "quiet hoors"}).content.decode()
    assert "Quiet Hours" in page
    assert "No tracks match “quiet hoors”. Showing results for <strong>“quiet hours”</strong>" in page


# --- bad input never errors -----------------------------------------------------------------------


BAD_QUERIES = [
    "summer & | ! :* ( ) ' \\",
    "'; DROP TABLE catalog_track; --",
    "a:* & !b | (c <-> d)",
    "%_%",
    "\x00summer",
    "🎵🎶",
    "   ",
    "x" * 5000,
]


@pytest.mark.parametrize("q", BAD_QUERIES)
def test_syntax_characters_and_odd_text_never_error(anon_client, catalogue, q):
    response = anon_client.get(TRACKS_URL, {"q": q})
    assert response.status_code == 200


def test_sql_and_tsquery_syntax_is_searched_as_plain_words(catalogue):
    assert titles(search_tracks(params(q="summer & | ! :* ( ) '"))) == ["Summer Breeze"]


def test_a_very_long_query_is_cut(db):
    form = SearchForm({"q": "summer " * 500})
    assert len(form.params().q) <= MAX_QUERY_LENGTH


def test_unknown_filter_values_are_ignored(catalogue):
    p = SearchForm(
        {
            "genre": ["ambient", "nope", "<script>"],
            "vocals": "robot",
            "key": "H",
            "energy": "9",
            "sort": "random",
        }
    ).params()
    assert p.genre == ("ambient",)
    assert (p.vocals, p.key, p.energy) == ((), (), ())
    assert p.sort == "popular"


def test_negative_reversed_and_non_numeric_ranges_are_normalised(db):
    p = SearchForm({"bpm_min": "140", "bpm_max": "90", "duration_min": "-5", "duration_max": "abc"}).params()
    assert (p.bpm_min, p.bpm_max) == (90, 140)
    assert (p.duration_min, p.duration_max) == (None, None)
    p = SearchForm({"bpm_min": "fast", "bpm_max": "1e9", "page": "-3", "per_page": "100000"}).params()
    assert (p.bpm_min, p.bpm_max, p.page, p.per_page) == (None, None, 1, 24)


def test_a_page_number_past_the_end_shows_the_last_page(anon_client, catalogue):
    TrackFactory.create_batch(20, title="Filler")
    response = anon_client.get(TRACKS_URL, {"page": "999", "per_page": "12"})
    assert response.status_code == 200
    assert response.context["result"].page == 2
    assert len(response.context["tracks"]) == 12


def test_non_numeric_page_and_filters_in_the_url_still_answer(anon_client, catalogue):
    response = anon_client.get(
        TRACKS_URL, {"page": "two", "bpm_min": "slow", "genre": "unknown", "sort": "??"}
    )
    assert response.status_code == 200
    assert len(response.context["tracks"]) == 4
    # Digits str.isdigit() accepts and int() refuses: ignored like any other word.
    for odd in ("²", "①", "٤٢", "9" * 5000):
        response = anon_client.get(TRACKS_URL, {"page": odd, "bpm_min": odd, "per_page": odd})
        assert response.status_code == 200 and len(response.context["tracks"]) == 4


# --- the pages --------------------------------------------------------------------------------------


def test_search_page_renders_results_facets_and_state(anon_client, catalogue):
    response = anon_client.get(TRACKS_URL, {"q": "summer", "genre": "ambient"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Summer Breeze" in html and "Night Drive" not in html
    assert 'id="f-genre-ambient" checked' in html
    assert 'value="summer"' in html
    assert "Summer Secret" not in html and "Summer Rain" not in html
    assert reverse("catalog:track-list") == TRACKS_URL
    assert "{#" not in html and "{%" not in html and "#}" not in html  # no template text leaks out


def test_sort_size_and_page_controls_keep_the_search_in_every_link(anon_client, db):
    genre = GenreFactory(name="Lo-fi", slug="lo-fi")
    for i in range(30):
        TrackFactory(title=f"Tape {i}", genres=[genre], popularity=i)
    html = anon_client.get(TRACKS_URL, {"genre": "lo-fi", "per_page": "12", "page": "2", "sort": "bpm"}).text

    assert '<option value="bpm" selected>' in html
    assert '<option value="12" selected>12 per page</option>' in html
    assert '<span class="btn btn-sm current" aria-current="page">2</span>' in html
    page3 = "?genre=lo-fi&amp;sort=bpm&amp;per_page=12&amp;page=3"
    assert f'href="{page3}" hx-get="{TRACKS_URL}{page3}"' in html and 'aria-label="Page 3"' in html
    assert 'href="?genre=lo-fi&amp;sort=bpm&amp;per_page=12" hx-get=' in html  # page 1 has no page=
    assert html.count('<li class="track-list-item">') == 12


def test_long_facet_lists_fold_past_the_eighth_option_but_never_a_selected_one(anon_client, db):
    import re

    for i in range(12):
        genre = GenreFactory(name=f"Genre {i:02d}", slug=f"genre-{i:02d}")
        TrackFactory(genres=[genre], popularity=100 - i, key="C", mode="major")
    html = anon_client.get(TRACKS_URL, {"genre": "genre-10"}).text

    fold = re.search(r'<details class="facet-more" data-facet="genre">(.*?)</details>', html, re.S).group(1)
    folded = re.findall(r'id="f-genre-([\w-]+)"', fold)
    assert "Show 4 more" in fold and "Show fewer" in fold and "genre options" in fold
    assert folded == ["genre-07", "genre-08", "genre-09", "genre-11"]  # the selected one is listed first
    assert 'id="f-genre-genre-10" checked' in html
    assert 'data-facet="key"' not in html  # keys stay one compact grid


def test_htmx_request_gets_the_results_partial_alone(anon_client, catalogue):
    response = anon_client.get(TRACKS_URL, {"q": "night"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="results-heading"' in html and "Night Drive" in html
    assert "HX-Request" in response["Vary"]


def test_history_restore_gets_the_full_page(anon_client, catalogue):
    response = anon_client.get(
        TRACKS_URL, {"q": "night"}, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.content.decode()


def test_an_empty_search_suggests_words_of_its_own_kind(anon_client, db):
    TrackFactory(title="Harbour", kind="sfx", bpm=None)
    sounds = anon_client.get("/sounds/", {"q": "zzzqqq"}).text
    music = anon_client.get(TRACKS_URL, {"q": "zzzqqq"}).text
    assert "No sound effects found" in sounds and "whoosh" in sounds and "uplifting" not in sounds
    assert "No tracks found" in music and "uplifting" in music and "whoosh" not in music


def test_words_that_find_only_sounds_point_from_music_to_them_and_back(anon_client, db):
    """The header and home search boxes search music: “whoosh” finds nothing there, so the empty
    page offers the sound effects it does find (and a filtered search does not look elsewhere)."""
    TrackFactory(title="Fast Whoosh", kind="sfx", bpm=None)
    TrackFactory(title="Slow Whoosh", kind="sfx", bpm=None)
    TrackFactory(title="Night Drive", kind="music")
    music = anon_client.get(TRACKS_URL, {"q": "whoosh"}).text
    assert "No tracks found" in music
    assert 'href="/sounds/?q=whoosh">See 2 sound effects for “whoosh”</a>' in music
    sounds = anon_client.get("/sounds/", {"q": "night drive"}).text
    assert 'href="/tracks/?q=night+drive">See 1 track for “night drive”</a>' in sounds
    assert "See 2 sound" not in anon_client.get(TRACKS_URL, {"q": "whoosh", "energy": "3"}).text
    assert "sound effects for" not in anon_client.get(TRACKS_URL, {"q": "zzzqqq"}).text


@pytest.mark.postgres
def test_the_sounds_an_empty_music_search_points_to_open_without_searching_again(anon_client, db, settings):
    settings.CATALOG_SEARCH_CACHE_SECONDS = 60
    TrackFactory(title="Fast Whoosh", kind="sfx", bpm=None)
    assert "See 1 sound effect for" in anon_client.get(TRACKS_URL, {"q": "whoosh"}).text
    with CaptureQueriesContext(connection) as queries:
        sounds = anon_client.get("/sounds/", {"q": "whoosh"}).text
    assert "Fast Whoosh" in sounds
    assert not [q for q in queries.captured_queries if "catalog_tracksearch" in q["sql"]]


def test_sounds_page_lists_sound_effects_with_the_category_tree(anon_client, db):
    rain = SoundCategory.objects.create(name="Rain", slug="rain")
    TrackFactory(title="Drizzle on tin", kind="sfx", sound_category=rain)
    TrackFactory(title="A song", kind="music")
    response = anon_client.get(reverse("catalog:sound-list"))
    html = response.content.decode()
    assert "Drizzle on tin" in html and "A song" not in html
    assert 'id="f-category-rain"' in html
    # Sound effects have no tempo to sort by; music has.
    assert "Slowest BPM" not in html and "Fastest BPM" not in html
    assert "Slowest BPM" in anon_client.get(reverse("catalog:track-list")).content.decode()


def test_autocomplete_suggests_tracks_tags_and_artists(anon_client, catalogue):
    response = anon_client.get(reverse("catalog:autocomplete"), {"q": "ni"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Night Drive" in html and 'role="listbox"' in html
    assert reverse("catalog:autocomplete") == "/tracks/autocomplete/"
    assert anon_client.get(reverse("catalog:autocomplete"), {"q": "&|!"}).content.strip() == b""


def test_autocomplete_names_only_artists_with_published_music(catalogue):
    from catalog.search import autocomplete

    heard = ArtistFactory(name="Nova Lane")
    TrackFactory(title="Harbour", artist=heard)
    upcoming = ArtistFactory(name="Nova Secret")  # set up ahead of a release
    TrackFactory(title="Unreleased", artist=upcoming, is_published=False)
    assert [a.name for a in autocomplete("nov").artists] == ["Nova Lane"]


def test_favourites_are_marked_for_their_owner_only(client, owner, other, catalogue):
    track = catalogue["Night Drive"]
    Favourite.objects.create(user=owner, track=track)
    client.force_login(owner)
    response = client.get(TRACKS_URL)
    assert response.context["favourite_ids"] == {track.pk}
    assert response.content.decode().count('aria-pressed="true"') == 1
    client.force_login(other)
    response = client.get(TRACKS_URL)
    assert response.context["favourite_ids"] == set()
    assert 'aria-pressed="true"' not in response.content.decode()
    client.logout()
    assert client.get(TRACKS_URL).context["favourite_ids"] == set()


def test_search_is_rate_limited_per_ip(anon_client, catalogue, settings):
    settings.CATALOG_SEARCH_RATE = "3/m"
    for _ in range(3):
        assert anon_client.get(TRACKS_URL).status_code == 200
    response = anon_client.get(TRACKS_URL)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


# --- constant query count -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"q": "summer"},
        {"q": "summ", "genre": "ambient", "bpm_min": "60"},
        pytest.param({"q": "sumer", "mood": "calm"}, marks=pytest.mark.postgres),
    ],
)
def test_query_count_does_not_grow_with_page_size(client, owner, query, django_assert_max_num_queries):
    genre = GenreFactory(name="Ambient", slug="ambient")
    mood = MoodFactory(name="Calm", slug="calm")
    for i in range(60):
        TrackFactory(title=f"Summer {i}", genres=[genre], moods=[mood], bpm=60 + i)
    Favourite.objects.create(user=owner, track=TrackFactory(title="Summer fav"))
    if connection.vendor == "postgresql":
        rebuild_search_words()
    client.get(TRACKS_URL)  # the taxonomy cache, as on any later page
    # Anonymous: the whole page, middleware and context processors included.
    for size in (12, 48):
        with django_assert_max_num_queries(10):
            response = client.get(TRACKS_URL, {**query, "per_page": size})
        assert len(response.context["tracks"]) == size
    # Signed in (the favourites are marked): the same count for 12 and 48 rows.
    client.force_login(owner)
    client.get(TRACKS_URL)
    counts = {}
    for size in (12, 48):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(TRACKS_URL, {**query, "per_page": size})
        assert len(response.context["tracks"]) == size
        counts[size] = len([q for q in ctx.captured_queries if "catalog_" in q["sql"]])
    assert counts[12] == counts[48] <= 8


def test_rebuild_search_command_refills_the_dictionary_and_the_search_table(catalogue):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("rebuild_search", stdout=out)
    if connection.vendor != "postgresql":
        assert "PostgreSQL only" in out.getvalue()
        return
    assert "5 tracks in the search table" in out.getvalue()  # 4 songs and a sound effect; not the draft
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM catalog_searchword WHERE word = 'secret'")
        assert cur.fetchone()[0] == 0  # only in an unpublished track's title
    assert titles(search_tracks(params(q="breeze"))) == ["Summer Breeze"]


@pytest.mark.postgres
def test_a_repeated_search_is_remembered_until_the_catalogue_changes(
    catalogue, staff, settings, django_capture_on_commit_callbacks
):
    from catalog.services import set_published

    settings.CATALOG_SEARCH_CACHE_SECONDS = 60

    def statements(**kwargs):
        with CaptureQueriesContext(connection) as ctx:
            result = search_tracks(params(**kwargs))
        return result, len(ctx.captured_queries)

    first, cold = statements(q="summer")
    again, warm = statements(q="summer")
    assert titles(again) == titles(first) == ["Summer Breeze"]
    assert warm == 0 < cold  # the page, its counts and its rows all come from the cache

    draft = TrackFactory(title="Summer Dawn", is_published=False)
    with django_capture_on_commit_callbacks(execute=True):
        set_published(Track.objects.filter(pk=draft.pk), True, actor=staff)  # a bulk update: no signals
    assert set(titles(search_tracks(params(q="summer")))) == {"Summer Breeze", "Summer Dawn"}

    with django_capture_on_commit_callbacks(execute=True):
        catalogue["Night Drive"].genres.add(Genre.objects.get(slug="ambient"))  # links only
    assert "Night Drive" in titles(search_tracks(params(genre=("ambient",))))

    (row,) = search_tracks(params(q="breeze")).tracks
    assert row.card_version_id is None
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        TrackVersionFactory(track=catalogue["Summer Breeze"], duration_seconds=61.5)  # now it can play
        # Not before the commit: a search in between would remember the old row under the new generation.
        (row,) = search_tracks(params(q="breeze")).tracks
        assert row.card_version_id is None
    assert callbacks
    (row,) = search_tracks(params(q="breeze")).tracks
    assert row.card_version_duration == 61.5

    artist = catalogue["Summer Breeze"].artist
    artist.name = "Ola Renamed"
    with django_capture_on_commit_callbacks(execute=True):
        artist.save()  # a row shows its artist's name
    (row,) = search_tracks(params(q="breeze")).tracks
    assert row.artist.name == "Ola Renamed"


@pytest.mark.postgres
def test_reordering_the_search_table_keeps_its_rows_indexes_and_statistics(catalogue):
    from catalog.search_index import reorder_track_search

    def shape():
        with connection.cursor() as cur:
            cur.execute(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisprimary, i.indisclustered"
                " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " WHERE i.indrelid = 'catalog_tracksearch'::regclass ORDER BY 1"
            )
            indexes = cur.fetchall()
            cur.execute(
                "SELECT stxname, pg_get_statisticsobjdef(oid) FROM pg_statistic_ext"
                " WHERE stxrelid = 'catalog_tracksearch'::regclass ORDER BY 1"
            )
            statistics = cur.fetchall()
            cur.execute(
                "SELECT conname, contype FROM pg_constraint WHERE conrelid = 'catalog_tracksearch'::regclass"
            )
            constraints = cur.fetchall()
            cur.execute("SELECT * FROM catalog_tracksearch ORDER BY id")
            return indexes, statistics, constraints, cur.fetchall()

    before = shape()
    assert reorder_track_search() == len(before[3]) == 5
    assert reorder_track_search() == 5  # again, in the same transaction
    assert shape() == before
    assert titles(search_tracks(params(q="summer"))) == ["Summer Breeze"]
    TrackFactory(title="Summer Dawn")  # the triggers write into the new table
    assert set(titles(search_tracks(params(q="summer")))) == {"Summer Breeze", "Summer Dawn"}


def test_the_weekly_search_tidy_runs_from_celery_beat(catalogue):
    from django.conf import settings

    from allmytracks.celery import app
    from catalog.tasks import tidy_search

    entry = settings.CELERY_BEAT_SCHEDULE["catalog-tidy-search"]
    app.loader.import_default_modules()
    assert entry["task"] == tidy_search.name and entry["task"] in app.tasks
    tidy_search.delay()  # eager here: runs in-process, on either database
    assert titles(search_tracks(params(q="summer"))) == ["Summer Breeze"]


def _other_connection():
    """A second PostgreSQL session on the test database (outside the test's transaction)."""
    import psycopg

    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"] or None, port=db["PORT"] or None, autocommit=True
    )


@pytest.mark.postgres
def test_a_new_track_that_matches_well_reaches_best_match_before_it_is_popular(db, monkeypatch):
    """Relevance ranks the most popular matches; when they are many (a walk) the newest join them,
    or a new upload could never rank for a common word until it had been played."""
    from catalog import search

    monkeypatch.setattr(search, "CANDIDATES", 3)
    monkeypatch.setattr(search, "FRESH_CANDIDATES", 1)
    for n in range(5):
        TrackFactory(title=f"Song {n}", description="a summer afternoon", popularity=50 - n)
    new = TrackFactory(title="Summer", popularity=0)  # the newest, the best match, never played

    result = search_tracks(params(q="summer"))
    assert titles(result)[0] == "Summer"
    assert len(result.tracks) == 4  # the three most popular, and the newest
    monkeypatch.setattr(search, "FRESH_CANDIDATES", 0)
    assert new.pk not in [t.pk for t in search_tracks(params(q="summer")).tracks]


@pytest.mark.parametrize(
    "candidates",
    [
        pytest.param(1200, id="within the bounded set"),
        pytest.param(2, id="by its own index", marks=pytest.mark.postgres),
    ],
)
def test_trending_orders_this_weeks_use_then_popularity(db, monkeypatch, candidates):
    """“Trending” pages within the bounded set when it holds every match, and by the search table's
    trending index when matches are many (PostgreSQL); tracks with no use this week follow in
    popularity order."""
    from catalog import search

    monkeypatch.setattr(search, "CANDIDATES", candidates)
    for n, trending in enumerate([0, 30, 0, 5]):
        TrackFactory(title=f"Song {n}", popularity=10 * n, trending=trending)
    assert titles(search_tracks(params(sort="trending"))) == ["Song 1", "Song 3", "Song 2", "Song 0"]
    assert titles(search_tracks(params(q="song", sort="trending", per_page=12, page=1)))[:2] == [
        "Song 1",
        "Song 3",
    ]


@pytest.mark.postgres
def test_a_rare_word_with_a_filter_counts_its_facets_among_all_its_matches(db, monkeypatch):
    """Filtered facets look at the most popular tracks: a rare word's matches are seldom among them,
    so its facets are counted among the word's own matches instead (sampled past a bound)."""
    from catalog import search

    monkeypatch.setattr(search, "FACET_SAMPLE", 5)
    ambient = GenreFactory(name="Ambient", slug="ambient")
    rock = GenreFactory(name="Rock", slug="rock")
    for n in range(6):  # the most popular tracks: the word is in none of them
        TrackFactory(title=f"Hit {n}", popularity=100 - n, genres=[ambient])
    for n, genre in enumerate([ambient, ambient, rock, rock, rock]):
        TrackFactory(title=f"Zephyrine {n}", popularity=n, genres=[genre])
    rebuild_search_words()

    result = search_tracks(params(q="zephyrine", genre=("ambient",)))
    assert result.total == 2
    # "Rock" can be added to the search, and says what it would add; "Ambient" its own matches.
    assert {v.value: v.count for v in result.facets["genre"]} == {"ambient": 2, "rock": 3}
    assert not result.facets_sampled

    monkeypatch.setattr(search, "FACET_TEXT_ROWS", 3)  # more matches than the bound: a sample
    result = search_tracks(params(q="zephyrine", genre=("ambient",)))
    assert sum(v.count for v in result.facets["genre"]) == 3
    assert result.facets_sampled
    # A common word (more matches than FACET_SAMPLE) keeps the sample of the most popular tracks.
    result = search_tracks(params(q="hit", genre=("rock",)))
    assert result.total == 0
    assert {v.value: v.count for v in result.facets["genre"]} == {"ambient": 5, "rock": 0}


@pytest.mark.postgres
def test_a_preview_play_or_an_unchanged_save_leaves_the_search_row_alone(catalogue):
    """The search row is rewritten only when something the search reads changes: a play (one more on
    ``play_count``) used to move the most played tracks to the end of the popularity-ordered table."""
    from catalog.services import record_play

    track = catalogue["Summer Breeze"]
    version = TrackVersionFactory(track=track)

    def row_version():
        with connection.cursor() as cur:
            cur.execute("SELECT xmin::text, ctid::text FROM catalog_tracksearch WHERE id = %s", [track.pk])
            return cur.fetchone()

    before = row_version()
    record_play(version.pk)
    record_play(version.pk)
    Track.objects.get(pk=track.pk).save()  # names every column, changes nothing searched
    assert row_version() == before
    assert Track.objects.get(pk=track.pk).play_count == 2

    Track.objects.filter(pk=track.pk).update(popularity=99)
    assert row_version() != before
    # A column only the vector is computed from (changed by the BEFORE trigger, not by the statement).
    Track.objects.filter(pk=track.pk).update(title="Winter Breeze")
    assert titles(search_tracks(params(q="winter"))) == ["Winter Breeze"]
    assert titles(search_tracks(params(q="summer"))) == []
    Track.objects.filter(pk=track.pk).update(is_published=False)
    assert row_version() is None


@pytest.mark.postgres
def test_an_update_of_any_one_searched_column_reaches_the_search_row(catalogue):
    """The copy trigger fires only for updates naming a column the search row is made of (see
    migration 0005): each such column, updated alone, shows in the row."""
    import datetime

    track = catalogue["Summer Breeze"]
    changes = {
        "popularity": 77,
        "trending": 12,
        "bpm": 133,
        "duration_seconds": 201.5,
        "key": "F#",
        "vocals": "female",
        "energy": 5,
        "explicit": True,
        "published_at": datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC),
        "kind": "sfx",
    }
    for column, value in changes.items():
        Track.objects.filter(pk=track.pk).update(**{column: value})
        with connection.cursor() as cur:
            cur.execute(f"SELECT {column} FROM catalog_tracksearch WHERE id = %s", [track.pk])  # noqa: S608
            assert cur.fetchone() == (value,), column
    Track.objects.filter(pk=track.pk).update(description="glockenspiel")
    assert titles(search_tracks(params(q="glockenspiel", kind="sfx"))) == ["Summer Breeze"]
    Track.objects.filter(pk=track.pk).update(ingest_status="failed")
    assert not titles(search_tracks(params(q="glockenspiel", kind="sfx")))


@pytest.mark.postgres
def test_only_one_rewrite_of_the_search_table_runs_at_a_time(catalogue):
    from catalog.search_index import _REORDER_LOCK, SearchTableBusy, reorder_track_search

    with _other_connection() as other:
        other.execute("SELECT pg_advisory_lock(%s)", [_REORDER_LOCK])
        with pytest.raises(SearchTableBusy):
            reorder_track_search()
        other.execute("SELECT pg_advisory_unlock(%s)", [_REORDER_LOCK])  # the other one is done
        assert reorder_track_search() == 5


@pytest.mark.postgres
def test_a_busy_search_table_delays_the_swap_and_a_failed_one_leaves_no_copy(catalogue, monkeypatch):
    import threading

    from catalog import search_index as search

    def table_exists(name):
        with connection.cursor() as cur:
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            return cur.fetchone()[0]

    with _other_connection() as other:
        other.autocommit = False
        other.execute("SELECT count(*) FROM catalog_tracksearch")  # an open transaction holds its read lock
        monkeypatch.setattr(search, "SWAP_ATTEMPTS", 2)
        with pytest.raises(search.SearchTableBusy):
            search.reorder_track_search()
        assert not table_exists("catalog_tracksearch_next")

        monkeypatch.setattr(search, "SWAP_ATTEMPTS", 40)
        threading.Timer(1.0, other.rollback).start()  # the reader finishes a second later
        assert search.reorder_track_search() == 5
    assert titles(search_tracks(params(q="summer"))) == ["Summer Breeze"]


def test_a_tag_newer_than_the_cached_names_still_shows(catalogue):
    from django.core.cache import cache

    from catalog.models import Track as TrackModel
    from catalog.search import _TAXONOMY_CACHE_KEY, taxonomy

    stale = taxonomy()
    vapor = GenreFactory(name="Vaporwave", slug="vaporwave")
    cache.set(_TAXONOMY_CACHE_KEY, stale, 300)  # as if a page cached the names before the commit
    catalogue["Quiet Hours"].genres.add(vapor)

    track = TrackModel.objects.with_tags().get(pk=catalogue["Quiet Hours"].pk)
    assert "Vaporwave" in [tag.name for tag in track.tags["genre"]]


def test_taxonomy_names_are_kept_a_moment_per_process_and_a_change_here_is_seen_at_once(
    catalogue, settings, monkeypatch
):
    """A page reads the names three times: the process keeps them briefly instead of asking the
    shared cache each time; its own changes forget them at once, others' within seconds."""
    from django.core.cache import cache

    from allmytracks import memo
    from catalog import search

    clock = [1000.0]
    monkeypatch.setattr(memo, "_now", lambda: clock[0])

    first = search.taxonomy()
    assert search.taxonomy() is first  # no trip to the shared cache
    newer = {**first, "genre": [*first["genre"], (987654, "vaporwave", "Vaporwave")]}
    cache.set(search._TAXONOMY_CACHE_KEY, newer, 300)  # another process read newer names
    assert search.taxonomy() is first  # within the moment, still this process's copy
    clock[0] += 2.5  # the moment is over
    assert search.taxonomy()["genre"] == newer["genre"]

    locmem = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "another"}
    settings.CACHES = {**settings.CACHES, "default": locmem}
    # Another shared cache (as between tests): read anew, so the other process's name is gone.
    assert 987654 not in [pk for pk, _slug, _name in search.taxonomy()["genre"]]

    genre = Genre.objects.get(slug=catalogue["Quiet Hours"].genres.first().slug)
    genre.name = "Renamed Here"
    genre.save()  # a change in this process: seen by its next page
    assert "Renamed Here" in [name for _pk, _slug, name in search.taxonomy()["genre"]]


@pytest.mark.postgres
def test_remembered_results_never_carry_one_customers_favourites_to_another(
    catalogue, owner, other, settings, client
):
    settings.CATALOG_SEARCH_CACHE_SECONDS = 60
    Favourite.objects.create(user=owner, track=catalogue["Summer Breeze"])
    client.force_login(owner)
    assert 'aria-pressed="true"' in client.get(TRACKS_URL, {"q": "summer"}).content.decode()

    client.force_login(other)  # the same search, now remembered
    html = client.get(TRACKS_URL, {"q": "summer"}).content.decode()
    assert "Summer Breeze" in html and 'aria-pressed="true"' not in html


@pytest.mark.postgres
def test_rebuild_search_says_so_when_another_rewrite_is_running(catalogue):
    from django.core.management import CommandError, call_command

    from catalog.search_index import _REORDER_LOCK

    with _other_connection() as other:
        other.execute("SELECT pg_advisory_lock(%s)", [_REORDER_LOCK])
        with pytest.raises(CommandError, match="Another rewrite of the search table is running"):
            call_command("rebuild_search", stdout=StringIO())


def test_the_result_count_reads_as_a_person_would_write_it():
    from catalog.search import SearchResult

    def label(total, capped=False):
        return SearchResult([], total, capped, 1, 24, 1).count_label

    assert [label(n) for n in (0, 1, 2, 12345)] == ["0 results", "1 result", "2 results", "12,345 results"]
    assert label(1001, capped=True) == "1,000+ results"


def test_a_page_of_one_genre_or_mood_has_its_own_title_and_htmx_updates_the_tab(anon_client, catalogue):
    def title(response):
        return re.search(r"<title>([^<]*)</title>", response.content.decode()).group(1)

    assert (
        title(anon_client.get(TRACKS_URL, {"genre": "ambient"}))
        == "Ambient music · Royalty-free music · AllMyTracks"
    )
    assert title(anon_client.get(TRACKS_URL, {"mood": "calm"})).startswith("Calm music · ")
    both = anon_client.get(TRACKS_URL, {"genre": "ambient", "mood": "calm"})
    assert title(both) == "Royalty-free music · AllMyTracks"  # two filters: no landing page
    words = anon_client.get(TRACKS_URL, {"genre": "ambient", "q": "night"})
    assert title(words) == "“night” · Royalty-free music · AllMyTracks"
    partial = anon_client.get(TRACKS_URL, {"mood": "calm"}, headers={"HX-Request": "true"})
    assert title(partial).startswith("Calm music · ") and "<html" not in partial.content.decode()
