import json
import re

import pytest
from django.db import connection
from django.urls import reverse

from catalog.models import CollectionItem, Favourite, Track
from catalog.services import similar_tracks
from tests.factories import (
    ArtistFactory,
    CollectionFactory,
    GenreFactory,
    MoodFactory,
    TrackFactory,
    TrackVersionFactory,
)

pytestmark = pytest.mark.django_db


def playable(**kwargs):
    return TrackVersionFactory(track=TrackFactory(**kwargs)).track


# --- the track page ---------------------------------------------------------------------------


def test_track_page_shows_metadata_versions_player_and_a_sign_in_prompt(anon_client):
    track = playable(
        title="Harbour Lights", bpm=92, key="F#", mode="minor", genres=[GenreFactory(name="Ambient")]
    )
    TrackVersionFactory(track=track, kind="stem", name="Drums stem")

    response = anon_client.get(track.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert "Harbour Lights" in html and "92 BPM" in html and "F♯ minor" in html
    assert "Drums stem" in html and "Versions and stems" in html
    assert html.count("data-play") >= 2 and "/previews/" in html
    assert '<audio class="native-audio" controls' in html  # works without JavaScript
    assert "Sign in to download" in html
    assert "Included in paid memberships, or <strong>$19</strong> on its own." in html
    assert "masters/" not in html


def test_unpublished_track_is_hidden_from_customers_but_shown_to_staff(
    anon_client, owner_client, staff_client
):
    track = playable(is_published=False)
    assert anon_client.get(track.get_absolute_url()).status_code == 404
    assert owner_client.get(track.get_absolute_url()).status_code == 404
    response = staff_client.get(track.get_absolute_url())
    assert response.status_code == 200 and "Not published" in response.content.decode()


def test_unknown_track_slug_is_404(anon_client):
    assert anon_client.get("/tracks/no-such-track/").status_code == 404


def test_track_page_runs_a_bounded_number_of_queries(anon_client):
    genre = GenreFactory(name="Pop")
    track = playable(genres=[genre])
    for _ in range(12):
        playable(genres=[genre])
    collection = CollectionFactory()
    CollectionItem.objects.create(collection=collection, track=track)
    catalog, total = catalog_queries(anon_client, track.get_absolute_url())
    # The track with its tags, its versions, collections, similar (candidates, rows); off
    # PostgreSQL the tags of the track and of the rows cost one query each.
    assert catalog <= (5 if connection.vendor == "postgresql" else 7)
    assert total <= 10
    assert collection.title in anon_client.get(track.get_absolute_url()).content.decode()


def test_similar_tracks_rank_shared_tags_tempo_and_key_and_leave_out_the_track_itself():
    genre, mood = GenreFactory(name="Cinematic"), MoodFactory(name="Epic")
    track = TrackFactory(genres=[genre], moods=[mood], bpm=100, key="A", mode="minor")
    close = TrackFactory(genres=[genre], moods=[mood], bpm=102, key="C", mode="major")  # relative major
    same_genre_far = TrackFactory(genres=[genre], bpm=170, key="F#", mode="major")
    TrackFactory(genres=[GenreFactory(name="Jazz")], bpm=100)  # nothing shared
    TrackFactory(genres=[genre], is_published=False)  # not published

    assert [t.pk for t in similar_tracks(track)] == [close.pk, same_genre_far.pk]


# --- lists: artist, collections, favourites, home ------------------------------------------------


def catalog_queries(client, url):
    """(catalogue queries, all queries) for one GET; other apps' context processors vary on their own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm the session and per-user caches of other apps
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return sum("catalog_" in q["sql"] for q in ctx.captured_queries), len(ctx.captured_queries)


def test_list_pages_run_a_constant_number_of_queries(owner_client, owner):
    artist = ArtistFactory()
    collection = CollectionFactory()
    genre, mood = GenreFactory(name="Lo-fi"), MoodFactory(name="Calm")

    def add(n):
        for _ in range(n):
            track = playable(artist=artist, genres=[genre], moods=[mood])
            CollectionItem.objects.create(collection=collection, track=track, position=track.pk)
            Favourite.objects.create(user=owner, track=track)

    urls = [
        artist.get_absolute_url(),
        reverse("catalog:collection-list"),
        collection.get_absolute_url(),
        reverse("catalog:favourites"),
        reverse("home"),
    ]
    add(3)
    few = {url: catalog_queries(owner_client, url) for url in urls}
    add(17)
    many = {url: catalog_queries(owner_client, url) for url in urls}
    for url in urls:
        assert many[url] <= few[url], url  # does not grow with the number of rows
        assert many[url][0] <= 8, url


def test_collection_lists_tracks_in_staff_order_and_hides_unpublished_collections(anon_client):
    collection = CollectionFactory()
    first, second = playable(title="Zebra Song"), playable(title="Apple Song")
    CollectionItem.objects.create(collection=collection, track=first, position=0)
    CollectionItem.objects.create(collection=collection, track=second, position=1)
    html = anon_client.get(collection.get_absolute_url()).content.decode()
    assert html.index("Zebra Song") < html.index("Apple Song")
    hidden = CollectionFactory(is_published=False)
    assert anon_client.get(hidden.get_absolute_url()).status_code == 404
    assert hidden.title not in anon_client.get(reverse("catalog:collection-list")).content.decode()


def test_artist_page_lists_only_published_tracks(anon_client):
    artist = ArtistFactory(name="Mara Voss")
    playable(artist=artist, title="Shown Track")
    playable(artist=artist, title="Draft Track", is_published=False)
    html = anon_client.get(artist.get_absolute_url()).content.decode()
    assert "Shown Track" in html and "Draft Track" not in html


def test_an_artist_set_up_ahead_of_a_release_is_no_public_page_until_their_music_is_out(
    anon_client, owner_client, staff_client, staff
):
    from catalog.services import set_published

    artist = ArtistFactory(name="Nova Secret")
    draft = playable(artist=artist, title="Unreleased", is_published=False)
    url = artist.get_absolute_url()
    follow = reverse("catalog:artist-follow", args=[artist.slug])
    assert anon_client.get(url).status_code == owner_client.get(url).status_code == 404
    assert owner_client.post(follow).status_code == 404
    assert staff_client.get(url).status_code == 200  # staff prepare the page

    set_published(Track.objects.filter(pk=draft.pk), True, actor=staff)
    assert anon_client.get(url).status_code == 200
    set_published(Track.objects.filter(pk=draft.pk), False, actor=staff)  # withdrawn: followers keep it
    assert anon_client.get(url).status_code == 200


def test_home_page_shows_new_this_week(anon_client):
    playable(title="Brand New Tune")
    html = anon_client.get("/").content.decode()
    assert "New this week" in html and "Brand New Tune" in html


def test_home_page_counts_new_music_from_its_first_publication(anon_client, staff):
    """Music uploaded weeks ago and published today is new this week, ahead of older releases."""
    from datetime import timedelta

    from django.utils import timezone

    from catalog.services import set_published

    weeks_ago = timezone.now() - timedelta(days=21)
    held = playable(title="Held Back Tune", is_published=False)
    released = playable(title="Old Release")
    Track.objects.filter(pk=held.pk).update(created_at=weeks_ago - timedelta(days=1))
    Track.objects.filter(pk=released.pk).update(created_at=weeks_ago, published_at=weeks_ago)
    set_published(Track.objects.filter(pk=held.pk), True, actor=staff)
    html = anon_client.get("/").content.decode()
    shelf = html[html.index("New this week") :]
    assert shelf.index("Held Back Tune") < shelf.index("Old Release")


def test_home_page_shows_what_is_trending_only_when_music_is_in_use_this_week(anon_client):
    playable(title="Quiet Tune")
    assert "Trending this week" not in anon_client.get("/").content.decode()
    hot, warm = playable(title="Hot Tune"), playable(title="Warm Tune", popularity=900)
    Track.objects.filter(pk=hot.pk).update(trending=40)
    Track.objects.filter(pk=warm.pk).update(trending=3)
    html = anon_client.get("/").content.decode()
    shelf = html[html.index("Trending this week") : html.index("New this week")]
    assert shelf.index("Hot Tune") < shelf.index("Warm Tune") and "Quiet Tune" not in shelf
    assert f'href="{reverse("catalog:track-list")}?sort=trending"' in shelf
    assert "Quiet Tune" in html[html.index("New this week") :]  # new, not in use


def test_home_page_offers_the_moods_and_genres_most_music_carries(anon_client):
    calm, tense = MoodFactory(name="Calm"), MoodFactory(name="Tense")
    lofi = GenreFactory(name="Lo-fi")
    MoodFactory(name="Unused")
    for _ in range(2):
        playable(moods=[calm], genres=[lofi])
    playable(moods=[tense])
    html = anon_client.get("/").content.decode()
    tracks = reverse("catalog:track-list")
    assert html.index(f'href="{tracks}?mood={calm.slug}"') < html.index(f'href="{tracks}?mood={tense.slug}"')
    assert f'href="{tracks}?genre={lofi.slug}"' in html and "Unused" not in html
    listed = anon_client.get(f"{tracks}?mood={calm.slug}")
    assert listed.context["result"].total == 2


# --- favourites: the three personas ---------------------------------------------------------


def test_favourites_page_needs_sign_in(anon_client):
    response = anon_client.get(reverse("catalog:favourites"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_owner_sees_own_favourites_and_another_customer_does_not(owner, owner_client, other_client):
    track = playable(title="Owner Pick")
    Favourite.objects.create(user=owner, track=track)
    assert "Owner Pick" in owner_client.get(reverse("catalog:favourites")).content.decode()
    other_html = other_client.get(reverse("catalog:favourites")).content.decode()
    assert "Owner Pick" not in other_html and "No favourites yet" in other_html


def test_favourite_toggle_adds_and_removes_with_htmx(owner, owner_client):
    track = playable()
    url = reverse("catalog:favourite-toggle", args=[track.slug])

    response = owner_client.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'aria-pressed="true"' in response.content.decode()
    assert Favourite.objects.filter(user=owner, track=track).exists()

    response = owner_client.post(url, headers={"HX-Request": "true"})
    assert 'aria-pressed="false"' in response.content.decode()
    assert not Favourite.objects.exists()


def test_a_double_clicked_heart_asks_for_the_same_state_twice_and_keeps_it(owner, owner_client):
    """The heart posts the state it asks for: a double click or a resent form does not undo it."""
    track = playable(title="Keep Me")
    url = reverse("catalog:favourite-toggle", args=[track.slug])
    page = owner_client.get(reverse("catalog:track-list")).content.decode()
    row = page[page.index(f'action="{url}"') :]
    assert '<input type="hidden" name="on" value="1">' in row[: row.index("</form>")]

    for _ in range(2):
        response = owner_client.post(url, {"on": "1"}, headers={"HX-Request": "true"})
        assert 'aria-pressed="true"' in response.content.decode()
        assert '<input type="hidden" name="on" value="0">' in response.content.decode()
    assert Favourite.objects.filter(user=owner, track=track).count() == 1

    for _ in range(2):
        owner_client.post(url, {"on": "0"})
    assert not Favourite.objects.exists()


def test_favourite_toggle_without_htmx_redirects_back(owner_client):
    track = playable()
    response = owner_client.post(
        reverse("catalog:favourite-toggle", args=[track.slug]), {"next": "/collections/"}
    )
    assert response.status_code == 302 and response["Location"] == "/collections/"
    # Addresses a browser would take to another site: refused, back to the track.
    for elsewhere in ("//evil.example/", "/\\evil.example/", "https://evil.example/", "/\t/evil.example"):
        response = owner_client.post(
            reverse("catalog:favourite-toggle", args=[track.slug]), {"next": elsewhere}
        )
        assert response["Location"] == track.get_absolute_url(), elsewhere


def test_another_customer_toggling_a_track_never_touches_the_owners_favourite(owner, other, other_client):
    track = playable()
    Favourite.objects.create(user=owner, track=track)
    other_client.post(reverse("catalog:favourite-toggle", args=[track.slug]))
    other_client.post(reverse("catalog:favourite-toggle", args=[track.slug]))
    assert Favourite.objects.filter(user=owner, track=track).exists()
    assert not Favourite.objects.filter(user=other).exists()


def test_favourite_toggle_refuses_anonymous_get_unpublished_and_missing_csrf(
    anon_client, owner, owner_client
):
    track = playable()
    url = reverse("catalog:favourite-toggle", args=[track.slug])
    response = anon_client.post(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert owner_client.get(url).status_code == 405
    draft = playable(is_published=False)
    assert owner_client.post(reverse("catalog:favourite-toggle", args=[draft.slug])).status_code == 404

    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert strict.post(url).status_code == 403
    assert not Favourite.objects.exists()


def test_favourite_state_shows_on_rows(owner, owner_client):
    artist = ArtistFactory()
    liked, other_track = playable(artist=artist), playable(artist=artist)
    Favourite.objects.create(user=owner, track=liked)
    html = owner_client.get(artist.get_absolute_url()).content.decode()
    assert html.count('aria-pressed="true"') == 1
    assert (
        f"Remove {liked.title} from favourites" in html and f"Add {other_track.title} to favourites" in html
    )


def test_a_rows_favourite_form_posts_with_its_csrf_token_and_returns_to_the_page(owner):
    import re

    from django.test import Client

    genre = GenreFactory(name="Lo-fi", slug="lo-fi")
    tracks = [playable(genres=[genre]) for _ in range(13)]  # two pages of 12
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    page = f"{reverse('catalog:track-list')}?genre=lo-fi&per_page=12"
    html = client.get(page).content.decode()
    form = re.search(r'<form class="fav-form" method="post" action="([^"]+)".*?</form>', html, re.S)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(0)).group(1)
    next_url = re.search(r'name="next" value="([^"]+)"', form.group(0)).group(1)
    assert next_url.replace("&amp;", "&") == page  # this page, not the pagination's next one

    response = client.post(form.group(1), {"csrfmiddlewaretoken": token, "next": page})

    assert response.status_code == 302 and response["Location"] == page
    assert Favourite.objects.filter(user=owner, track__in=tracks).count() == 1


def test_every_rows_waveform_is_its_own_drawing_across_included_rows(anon_client):
    import re

    artist = ArtistFactory()
    for shape in ([10] * 100, [50] * 100, [90] * 100):
        playable(artist=artist, waveform=shape)
    html = anon_client.get(artist.get_absolute_url()).content.decode()

    rows = re.findall(r'<article class="track-row.*?</article>', html, re.S)
    assert len(rows) == 3
    ids = [re.search(r'<path id="([^"]+)" d="([^"]+)"', row).groups() for row in rows]
    assert len({i for i, _d in ids}) == 3 and len({d for _i, d in ids}) == 3  # unique ids, own shapes
    for row, (wave_id, _d) in zip(rows, ids, strict=True):
        assert re.findall(r'<use href="#([^"]+)"', row) == [wave_id, wave_id]  # whole wave + played part


def test_record_pages_say_how_they_look_when_shared(anon_client, settings):
    from django.core.files.base import ContentFile

    track = playable(title='The "Night" <Ferry>', description="A slow ferry crossing at night.")
    track.artwork.save("cover.jpg", ContentFile(b"\xff\xd8\xff\xe0 not really a jpeg"), save=True)
    html = anon_client.get(track.get_absolute_url()).content.decode()
    page_url = settings.SITE_URL + track.get_absolute_url()
    assert f'<link rel="canonical" href="{page_url}">' in html
    assert '<meta property="og:type" content="music.song">' in html
    title = f"The &quot;Night&quot; &lt;Ferry&gt; by {track.artist.name}"
    assert f'<meta property="og:title" content="{title}">' in html
    assert '<meta property="og:description" content="A slow ferry crossing at night.">' in html
    image = re.search(r'<meta property="og:image" content="([^"]+)">', html).group(1)
    assert image.startswith(settings.SITE_URL + "/") and image.endswith(".jpg")
    data = json.loads(re.search(r'<script type="application/ld\+json">(.+?)</script>', html).group(1))
    assert data["@type"] == "MusicRecording" and data["name"] == 'The "Night" <Ferry>'
    assert data["byArtist"]["name"] == track.artist.name and data["url"] == page_url
    assert "<Ferry>" not in html.split("application/ld+json", 1)[1].split("</script>", 1)[0]  # escaped
    artist_html = anon_client.get(track.artist.get_absolute_url()).content.decode()
    assert '<meta name="twitter:card" content="summary">' in artist_html  # no picture: a small card
    assert "og:image" not in artist_html


def test_the_header_menu_marks_the_section_a_page_belongs_to(anon_client):
    sound = playable(title="Door Slam", kind="sfx", bpm=None)
    song = playable(title="Golden Hour")

    def current(url):
        html = anon_client.get(url).content.decode()
        nav = html[html.index('<nav id="main-nav"') :]
        nav = nav[: nav.index("</nav>")]
        return re.findall(r'aria-current="page">([^<]+)<', nav)

    assert current("/") == []
    assert current("/tracks/") == current(song.get_absolute_url()) == ["Music"]
    assert current("/sounds/") == current(sound.get_absolute_url()) == ["Sound effects"]
    assert current("/collections/") == ["Collections"]
    assert current("/pricing/") == ["Pricing"]
    assert current(song.artist.get_absolute_url()) == []  # in no section of the menu
