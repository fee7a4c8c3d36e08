"""Playlists: a member's own lists of tracks — made, filled from a track's page, renamed, emptied and
deleted by their owner only; another member's playlist is not found; a stranger is sent to sign in."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import services
from catalog.models import Playlist, PlaylistItem
from tests.factories import TrackFactory, TrackVersionFactory, UserFactory

pytestmark = pytest.mark.django_db


def playable(**kwargs):
    return TrackVersionFactory(track=TrackFactory(**kwargs)).track


def pick_url(track):
    return reverse("catalog:track-playlists", args=[track.slug])


def titles_in(playlist):
    return sorted(PlaylistItem.objects.filter(playlist=playlist).values_list("track__title", flat=True))


# --- the owner ---------------------------------------------------------------------------------


def test_a_member_starts_a_playlist_from_a_track_and_finds_it_in_their_playlists(owner_client, owner):
    track = playable(title="Golden Hour")
    page = owner_client.get(track.get_absolute_url()).content.decode()
    assert f'href="{pick_url(track)}"' in page and "Add to playlist" in page

    form = owner_client.get(pick_url(track)).content.decode()
    assert "Name your first playlist" in form
    response = owner_client.post(pick_url(track), {"new_title": "  Launch   video ", "next": "/tracks/"})
    assert response.status_code == 302 and response["Location"] == "/tracks/"
    playlist = Playlist.objects.get(user=owner)
    assert playlist.title == "Launch video" and titles_in(playlist) == ["Golden Hour"]

    listing = owner_client.get(reverse("catalog:playlists")).content.decode()
    assert "Launch video" in listing and "1 track" in listing
    detail = owner_client.get(playlist.get_absolute_url())
    assert detail.status_code == 200 and "Golden Hour" in detail.content.decode()


def test_the_track_form_ticks_the_playlists_that_hold_it_and_unticking_takes_it_off(owner_client, owner):
    track = playable(title="Golden Hour")
    a = services.create_playlist(user=owner, title="Client A")
    b = services.create_playlist(user=owner, title="Client B")
    owner_client.post(pick_url(track), {"playlists": [a.pk, b.pk]})
    assert titles_in(a) == titles_in(b) == ["Golden Hour"]
    form = owner_client.get(pick_url(track)).content.decode()
    assert form.count("checked") == 2

    response = owner_client.post(pick_url(track), {"playlists": [b.pk], "shown": [a.pk, b.pk]}, follow=True)
    assert titles_in(a) == [] and titles_in(b) == ["Golden Hour"]
    assert "Took “Golden Hour” off “Client A”." in response.content.decode()

    forged = owner_client.post(pick_url(track), {"playlists": ["9" * 23], "shown": [a.pk, b.pk]})
    assert forged.status_code == 200 and "Select a valid choice" in forged.content.decode()
    assert titles_in(b) == ["Golden Hour"]


def test_a_form_shown_again_after_an_error_lists_playlists_as_they_are_now(owner_client, owner):
    """Sent with an error from a page made before another tab added a playlist: the page shown again
    keeps the member's ticks, shows the new playlist as it is (holding the track), and counts it as
    shown — so sending it as it stands keeps the track on every playlist it is ticked on."""
    track = playable(title="Golden Hour")
    reel = services.create_playlist(user=owner, title="Reel")
    shown = [str(pk) for pk in owner_client.get(pick_url(track)).context["form"]["shown"].value()]
    picks, _ = services.save_as_playlist(user=owner, title="Client picks", tracks=[track])  # another tab

    again = owner_client.post(
        pick_url(track), {"playlists": [reel.pk], "shown": shown, "new_title": "x" * 81}
    )
    assert again.status_code == 200
    form = again.context["form"]
    assert sorted(int(v) for v in form["shown"].value()) == sorted([reel.pk, picks.pk])
    assert sorted(int(v) for v in form["playlists"].value()) == sorted([reel.pk, picks.pk])
    html = again.content.decode()
    assert f'<input type="hidden" name="shown" value="{picks.pk}"' in html

    owner_client.post(
        pick_url(track), {"playlists": form["playlists"].value(), "shown": form["shown"].value()}
    )
    assert titles_in(reel) == titles_in(picks) == ["Golden Hour"]


def test_a_form_from_before_another_playlist_was_made_leaves_that_playlist_alone(owner_client, owner):
    """Unticked boxes take the track off the playlists the page showed, not off one made since in
    another tab (the page never listed it, so its box could not be ticked)."""
    track = playable(title="Golden Hour")
    reel = services.create_playlist(user=owner, title="Reel")
    page = owner_client.get(pick_url(track))
    shown = [str(pk) for pk in page.context["form"]["shown"].value()]
    assert f'<input type="hidden" name="shown" value="{reel.pk}"' in page.content.decode()
    picks, _ = services.save_as_playlist(user=owner, title="Client picks", tracks=[track])  # another tab

    owner_client.post(pick_url(track), {"playlists": [reel.pk], "shown": shown})
    assert titles_in(reel) == titles_in(picks) == ["Golden Hour"]
    # Forged or stale ids among the shown ones (another member's, a deleted one, not a number) are ignored.
    theirs = services.create_playlist(user=UserFactory(), title="Theirs")
    owner_client.post(pick_url(track), {"shown": [theirs.pk, 10**30, "x", picks.pk]})
    assert titles_in(reel) == ["Golden Hour"] and titles_in(picks) == []


def test_the_form_sent_twice_makes_one_playlist_and_one_entry(owner_client, owner):
    track = playable()
    for _ in range(2):
        owner_client.post(pick_url(track), {"new_title": "Podcast intro"})
    owner_client.post(pick_url(track), {"new_title": "PODCAST INTRO", "playlists": []})  # any case
    (playlist,) = Playlist.objects.filter(user=owner)
    assert PlaylistItem.objects.filter(playlist=playlist).count() == 1


def test_rename_remove_and_delete(owner_client, owner):
    one, two = playable(title="One"), playable(title="Two")
    playlist = services.create_playlist(user=owner, title="Draft")
    services.create_playlist(user=owner, title="Final")
    services.set_track_playlists(user=owner, track=one, playlists=[playlist])
    services.set_track_playlists(user=owner, track=two, playlists=[playlist])

    owner_client.post(reverse("catalog:playlist-rename", args=[playlist.pk]), {"title": "Final cut"})
    playlist.refresh_from_db()
    assert playlist.title == "Final cut"
    taken = owner_client.post(
        reverse("catalog:playlist-rename", args=[playlist.pk]), {"title": "final"}, follow=True
    )
    assert "You already have a playlist called “final”." in taken.content.decode()
    playlist.refresh_from_db()
    assert playlist.title == "Final cut"

    blank = owner_client.post(
        reverse("catalog:playlist-rename", args=[playlist.pk]), {"title": "   "}, follow=True
    )
    assert "This field is required." in blank.content.decode()

    owner_client.post(reverse("catalog:playlist-remove", args=[playlist.pk, one.pk]))
    assert titles_in(playlist) == ["Two"]

    confirm = owner_client.get(reverse("catalog:playlist-delete", args=[playlist.pk])).content.decode()
    assert "Delete “Final cut”?" in confirm and "1 track" in confirm
    assert Playlist.objects.filter(pk=playlist.pk).exists()  # asking deletes nothing
    response = owner_client.post(reverse("catalog:playlist-delete", args=[playlist.pk]))
    assert response["Location"] == reverse("catalog:playlists")
    assert not Playlist.objects.filter(pk=playlist.pk).exists() and two.pk  # the track stays
    assert list(Playlist.objects.filter(user=owner).values_list("title", flat=True)) == ["Final"]


def test_a_playlist_lists_published_tracks_only_and_an_unpublished_track_cannot_be_added(owner_client, owner):
    shown, hidden = playable(title="Shown"), playable(title="Hidden")
    playlist = services.create_playlist(user=owner, title="Board")
    services.set_track_playlists(user=owner, track=shown, playlists=[playlist])
    services.set_track_playlists(user=owner, track=hidden, playlists=[playlist])
    hidden.is_published = False
    hidden.save()
    page = owner_client.get(playlist.get_absolute_url()).content.decode()
    assert "Shown" in page and "Hidden" not in page and "1 track" in page
    assert owner_client.get(pick_url(hidden)).status_code == 404
    assert owner_client.post(pick_url(hidden), {"playlists": [playlist.pk]}).status_code == 404


def test_limits_are_said_plainly_and_change_nothing(owner_client, owner, monkeypatch):
    monkeypatch.setattr(services, "TRACKS_PER_PLAYLIST", 1)
    monkeypatch.setattr(services, "PLAYLISTS_PER_ACCOUNT", 1)
    first, second = playable(title="First"), playable(title="Second")
    playlist = services.create_playlist(user=owner, title="Short list")
    services.set_track_playlists(user=owner, track=first, playlists=[playlist])

    full = owner_client.post(pick_url(second), {"playlists": [playlist.pk]}).content.decode()
    assert "“Short list” holds 1 tracks, the most a playlist can." in full
    more = owner_client.post(reverse("catalog:playlists"), {"title": "Another"}).content.decode()
    assert "You have 1 playlists, the most an account can keep." in more
    assert titles_in(playlist) == ["First"] and Playlist.objects.filter(user=owner).count() == 1


def test_a_playlist_page_runs_the_same_queries_for_one_track_or_many(owner_client, owner):
    playlist = services.create_playlist(user=owner, title="Board")
    services.set_track_playlists(user=owner, track=playable(), playlists=[playlist])
    owner_client.get(playlist.get_absolute_url())  # the session's first request records the session
    with CaptureQueriesContext(connection) as one:
        owner_client.get(playlist.get_absolute_url())
    for _ in range(5):
        services.set_track_playlists(user=owner, track=playable(), playlists=[playlist])
    with CaptureQueriesContext(connection) as many:
        assert owner_client.get(playlist.get_absolute_url()).content.decode().count('class="tr-title"') == 6
    assert len(many.captured_queries) == len(one.captured_queries)


def test_a_return_address_elsewhere_goes_back_to_the_track(owner_client):
    track = playable()
    response = owner_client.post(pick_url(track), {"new_title": "X", "next": "/\\evil.example/"})
    assert response["Location"] == track.get_absolute_url()


# --- another member -------------------------------------------------------------------------------


def test_an_id_too_long_for_the_database_is_no_page(owner, owner_client):
    """A 30-digit id in an address is not found, never a server error (the ``id`` converter)."""
    playlist = services.create_playlist(user=owner, title="Reel")
    huge = "9" * 30
    for path, method in [
        (f"/account/playlists/{huge}/", "get"),
        (f"/account/playlists/{playlist.pk}/remove/{huge}/", "post"),
        (f"/account/playlists/{playlist.pk}/move/{huge}/", "post"),
        (f"/account/inbox/{huge}/", "get"),
    ]:
        assert getattr(owner_client, method)(path, {"move": "up", "at": "0"}).status_code == 404, path
    assert owner_client.get(f"/account/playlists/{'9' * 18}/").status_code == 404  # fits: looked up


def test_another_member_cannot_see_or_change_the_owners_playlist(owner, other_client):
    track = playable(title="Golden Hour")
    playlist = services.create_playlist(user=owner, title="Private board")
    services.set_track_playlists(user=owner, track=track, playlists=[playlist])
    for name, args, method in [
        ("catalog:playlist-detail", [playlist.pk], "get"),
        ("catalog:playlist-delete", [playlist.pk], "get"),
        ("catalog:playlist-delete", [playlist.pk], "post"),
        ("catalog:playlist-rename", [playlist.pk], "post"),
        ("catalog:playlist-remove", [playlist.pk, track.pk], "post"),
        ("catalog:playlist-move", [playlist.pk, track.pk], "post"),
    ]:
        data = {"title": "Mine now", "move": "top", "at": "-1"}
        response = getattr(other_client, method)(reverse(name, args=args), data)
        assert response.status_code == 404, name
    assert "Private board" not in other_client.get(reverse("catalog:playlists")).content.decode()

    # The owner's playlist id forged into the track form: refused, nothing changes.
    forged = other_client.post(pick_url(track), {"playlists": [playlist.pk]})
    assert forged.status_code == 200 and "Select a valid choice" in forged.content.decode()
    playlist.refresh_from_db()
    assert playlist.title == "Private board" and titles_in(playlist) == ["Golden Hour"]
    other_client.post(
        pick_url(track), {"playlists": []}
    )  # their own (empty) choice touches nothing of the owner's
    assert titles_in(playlist) == ["Golden Hour"]


# --- a stranger ------------------------------------------------------------------------------------


def test_a_stranger_is_sent_to_sign_in_for_every_playlist_page(anon_client, owner):
    track = playable()
    playlist = services.create_playlist(user=owner, title="Board")
    for url in (
        reverse("catalog:playlists"),
        playlist.get_absolute_url(),
        reverse("catalog:playlist-delete", args=[playlist.pk]),
        pick_url(track),
    ):
        response = anon_client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    response = anon_client.post(reverse("catalog:playlist-rename", args=[playlist.pk]), {"title": "X"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Playlist.objects.get(pk=playlist.pk).title == "Board"
    services.set_track_playlists(user=owner, track=track, playlists=[playlist])
    move = reverse("catalog:playlist-move", args=[playlist.pk, track.pk])
    response = anon_client.post(move, {"move": "down", "at": "-1"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- at the same moment (PostgreSQL: row locks and constraints do the work) ---------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_requests_at_the_same_moment_keep_the_limits_and_make_one_playlist(owner, monkeypatch):
    from tests.licensing.test_concurrency import run_in_threads

    monkeypatch.setattr(services, "TRACKS_PER_PLAYLIST", 3)
    playlist = services.create_playlist(user=owner, title="Nearly full")
    for _ in range(2):
        services.set_track_playlists(user=owner, track=playable(), playlists=[playlist])
    tracks = [playable() for _ in range(8)]

    added, errors = run_in_threads(
        8, lambda i: services.set_track_playlists(user=owner, track=tracks[i], playlists=[playlist])
    )
    assert len(added) == 1 and len(errors) == 7
    assert all(isinstance(e, services.CatalogError) for e in errors)
    assert PlaylistItem.objects.filter(playlist=playlist).count() == 3

    made, errors = run_in_threads(8, lambda i: services.create_playlist(user=owner, title="Same name"))
    assert not errors and len({p.pk for p in made}) == 1
    assert Playlist.objects.filter(user=owner, title="Same name").count() == 1


# --- sharing by link ---------------------------------------------------------------------------------


def test_a_shared_playlist_is_heard_by_anyone_with_its_link_until_sharing_stops(
    owner_client, owner, anon_client
):
    shown, hidden = playable(title="Golden Hour"), playable(title="Draft Mix")
    playlist = services.create_playlist(user=owner, title="For the client")
    for track in (shown, hidden):
        services.set_track_playlists(user=owner, track=track, playlists=[playlist])
    hidden.is_published = False
    hidden.save()
    share = reverse("catalog:playlist-share", args=[playlist.pk])
    assert "Share by link" in owner_client.get(playlist.get_absolute_url()).content.decode()

    owner_client.post(share, {"shared": "1"})
    playlist.refresh_from_db()
    link = playlist.get_shared_url()
    assert playlist.share_token and len(playlist.share_token) >= 24
    assert link in owner_client.get(playlist.get_absolute_url()).content.decode()

    response = anon_client.get(link)
    page = response.content.decode()
    assert response.status_code == 200 and response["X-Robots-Tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in page
    assert "For the client" in page and "Golden Hour" in page and "Draft Mix" not in page
    assert owner.email not in page and owner.display_name not in page
    assert "Remove" not in page and "Rename" not in page  # listening only

    owner_client.post(share, {"shared": "0"})
    assert anon_client.get(link).status_code == 404
    owner_client.post(share, {"shared": "1"})
    playlist.refresh_from_db()
    assert playlist.get_shared_url() != link and anon_client.get(link).status_code == 404
    assert anon_client.get(playlist.get_shared_url()).status_code == 200
    assert anon_client.get(reverse("catalog:shared-playlist", args=["not-a-real-token"])).status_code == 404


def test_only_the_owner_shares_a_playlist(owner, other_client, anon_client):
    playlist = services.create_playlist(user=owner, title="Private board")
    share = reverse("catalog:playlist-share", args=[playlist.pk])
    assert other_client.post(share, {"shared": "1"}).status_code == 404
    response = anon_client.post(share, {"shared": "1"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    playlist.refresh_from_db()
    assert playlist.share_token is None


def test_a_signed_in_members_result_rows_link_to_the_playlists_form_and_back(owner_client, anon_client):
    track = playable(title="Golden Hour")
    html = owner_client.get("/tracks/?q=golden&sort=newest").content.decode()
    link = f"{pick_url(track)}?next=/tracks/%3Fq%3Dgolden%26sort%3Dnewest"
    assert f'href="{link.replace("&", "&amp;")}"' in html and "Add Golden Hour to a playlist" in html
    response = owner_client.post(link, {"new_title": "Warm"})
    assert response["Location"] == "/tracks/?q=golden&sort=newest"
    assert "to a playlist" not in anon_client.get("/tracks/?q=golden").content.decode()


def test_a_shared_link_stops_while_its_owner_is_suspended_banned_or_gone(owner, anon_client):
    import datetime

    from django.utils import timezone

    from accounts.models import User

    playlist = services.share_playlist(
        playlist=services.create_playlist(user=owner, title="For the client"), shared=True
    )
    link = playlist.get_shared_url()
    assert anon_client.get(link).status_code == 200
    later = timezone.now() + datetime.timedelta(days=3)
    for standing in (
        {"moderation": "suspended", "suspended_until": later},
        {"moderation": "banned"},
        {"locked_at": timezone.now()},
        {"is_active": False, "cancelled_at": timezone.now()},
    ):
        User.objects.filter(pk=owner.pk).update(**standing)
        assert anon_client.get(link).status_code == 404, standing
        User.objects.filter(pk=owner.pk).update(
            moderation="active", suspended_until=None, locked_at=None, is_active=True, cancelled_at=None
        )
        assert anon_client.get(link).status_code == 200


def test_playlist_changes_are_rate_limited(owner_client, owner):
    url = reverse("catalog:playlists")
    statuses = [owner_client.post(url, {"title": f"List {n % 3}"}).status_code for n in range(61)]
    assert statuses[:60] == [302] * 60 and statuses[60] == 429
    assert Playlist.objects.filter(user=owner).count() == 3  # sent again, the same three names


# --- a collection kept as a playlist -------------------------------------------------------------------


def test_a_member_keeps_a_collection_as_a_playlist_in_its_order(owner_client, owner, anon_client):
    from catalog.models import CollectionItem
    from tests.factories import CollectionFactory

    collection = CollectionFactory(title="Calm and ambient", slug="calm-and-ambient")
    first, second, draft = playable(title="First"), playable(title="Second"), playable(title="Draft")
    draft.is_published = False
    draft.save()
    for position, track in enumerate([first, second, draft]):
        CollectionItem.objects.create(collection=collection, track=track, position=position)
    save = reverse("catalog:collection-save", args=[collection.slug])
    assert f'action="{save}"' in owner_client.get(collection.get_absolute_url()).content.decode()

    response = owner_client.post(save, follow=True)
    playlist = Playlist.objects.get(user=owner)
    assert playlist.title == "Calm and ambient" and titles_in(playlist) == ["First", "Second"]
    page = response.content.decode()
    assert "Saved 2 tracks to your playlist “Calm and ambient”." in page
    assert page.index(">First<") < page.index(">Second<")  # the collection's order

    again = owner_client.post(save, follow=True).content.decode()
    assert "already holds every track" in again and titles_in(playlist) == ["First", "Second"]
    response = anon_client.post(save)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    collection.is_published = False
    collection.save()
    assert owner_client.post(save).status_code == 404


def test_a_collection_too_big_for_a_playlist_adds_nothing_and_a_long_title_is_cut(
    owner_client, owner, monkeypatch
):
    from catalog.models import CollectionItem
    from tests.factories import CollectionFactory

    monkeypatch.setattr(services, "TRACKS_PER_PLAYLIST", 1)
    collection = CollectionFactory(title="Evening " * 15, slug="long-evening")  # 120 characters
    for position in range(2):
        CollectionItem.objects.create(collection=collection, track=playable(), position=position)
    save = reverse("catalog:collection-save", args=[collection.slug])
    page = owner_client.post(save, follow=True).content.decode()
    assert "would hold more than 1 tracks" in page and not PlaylistItem.objects.exists()

    monkeypatch.setattr(services, "TRACKS_PER_PLAYLIST", 500)
    owner_client.post(save)
    playlist = Playlist.objects.get(user=owner)
    assert len(playlist.title) <= 80 and playlist.title.startswith("Evening Evening")
    assert PlaylistItem.objects.filter(playlist=playlist).count() == 2


# --- the order of a playlist -------------------------------------------------------------------------


def listed(playlist):
    """The titles in the playlist's order (as its page lists them)."""
    return [i.track.title for i in playlist.items.select_related("track")]


def move(client, playlist, track, where, **extra):
    at = PlaylistItem.objects.get(playlist=playlist, track=track).position
    data = {"move": where, "at": str(at), **extra}
    return client.post(reverse("catalog:playlist-move", args=[playlist.pk, track.pk]), data)


def test_new_tracks_go_on_top_and_the_owner_moves_them_up_down_to_the_top_and_bottom(owner_client, owner):
    playlist = services.create_playlist(user=owner, title="Trailer")
    a, b, c = playable(title="Alpha"), playable(title="Bravo"), playable(title="Charlie")
    for track in (a, b, c):
        services.set_track_playlists(user=owner, track=track, playlists=[playlist])
    assert listed(playlist) == ["Charlie", "Bravo", "Alpha"]

    response = move(owner_client, playlist, a, "up")
    assert response.status_code == 302
    assert response["Location"] == f"{playlist.get_absolute_url()}#track-{a.pk}"
    assert listed(playlist) == ["Charlie", "Alpha", "Bravo"]
    move(owner_client, playlist, c, "down")
    assert listed(playlist) == ["Alpha", "Charlie", "Bravo"]
    move(owner_client, playlist, b, "top")
    assert listed(playlist) == ["Bravo", "Alpha", "Charlie"]
    move(owner_client, playlist, b, "bottom")
    assert listed(playlist) == ["Alpha", "Charlie", "Bravo"]
    move(owner_client, playlist, a, "up")  # already first: nothing moves
    move(owner_client, playlist, b, "down")  # already last
    assert listed(playlist) == ["Alpha", "Charlie", "Bravo"]

    page = owner_client.get(playlist.get_absolute_url()).content.decode()
    assert page.index(">Alpha<") < page.index(">Charlie<") < page.index(">Bravo<")
    assert f'id="track-{a.pk}"' in page
    first_form = page[page.index('aria-label="Move “Alpha”"') :]
    first_form = first_form[: first_form.index("</form>")]
    assert first_form.count(" disabled") == 2  # top and up, for the first track
    last_form = page[page.index('aria-label="Move “Bravo”"') :]
    last_form = last_form[: last_form.index("</form>")]
    assert last_form.count(" disabled") == 2  # down and bottom, for the last

    # A track added now goes on top of the owner's order.
    services.set_track_playlists(user=owner, track=playable(title="Delta"), playlists=[playlist])
    assert listed(playlist) == ["Delta", "Alpha", "Charlie", "Bravo"]

    # The shared page and the data export follow the owner's order.
    from accounts.data_export import collect

    services.share_playlist(playlist=playlist, shared=True)
    shared = owner_client.get(playlist.get_shared_url()).content.decode()
    assert (
        shared.index(">Delta<")
        < shared.index(">Alpha<")
        < shared.index(">Charlie<")
        < shared.index(">Bravo<")
    )
    (exported,) = collect(owner)["catalogue"]["playlists"]
    assert [t["track"] for t in exported["tracks"]] == ["Delta", "Alpha", "Charlie", "Bravo"]


def test_a_move_sent_twice_moves_once_and_bad_moves_change_nothing(owner_client, owner):
    playlist = services.create_playlist(user=owner, title="Trailer")
    a, b, c = playable(title="Alpha"), playable(title="Bravo"), playable(title="Charlie")
    for track in (a, b, c):
        services.set_track_playlists(user=owner, track=track, playlists=[playlist])
    at = PlaylistItem.objects.get(playlist=playlist, track=a).position
    url = reverse("catalog:playlist-move", args=[playlist.pk, a.pk])
    owner_client.post(url, {"move": "up", "at": str(at)})
    again = owner_client.post(url, {"move": "up", "at": str(at)}, follow=True)  # a double click
    assert listed(playlist) == ["Charlie", "Alpha", "Bravo"]
    assert "“Alpha” stayed where it is" in again.content.decode()

    not_from_the_page = "That move did not come from the playlist&#x27;s page; nothing moved."
    for data, said in (
        ({"move": "sideways", "at": str(at)}, "Choose up, down, top or bottom."),
        ({"at": str(at)}, "Choose up, down, top or bottom."),
        ({"move": "up", "at": "first"}, not_from_the_page),
        ({"move": "up"}, not_from_the_page),
    ):
        response = owner_client.post(url, data, follow=True)
        assert response.status_code == 200 and said in response.content.decode(), data
    assert listed(playlist) == ["Charlie", "Alpha", "Bravo"]

    elsewhere = playable(title="Elsewhere")  # a track this playlist does not hold
    response = owner_client.post(
        reverse("catalog:playlist-move", args=[playlist.pk, elsewhere.pk]), {"move": "up", "at": "0"}
    )
    assert response.status_code == 404
    assert owner_client.get(url).status_code == 405


def test_moves_step_over_tracks_the_page_does_not_list(owner_client, owner):
    playlist = services.create_playlist(user=owner, title="Trailer")
    a, hidden, b = playable(title="Alpha"), playable(title="Hidden"), playable(title="Bravo")
    for track in (a, hidden, b):
        services.set_track_playlists(user=owner, track=track, playlists=[playlist])
    hidden.is_published = False
    hidden.save()
    move(owner_client, playlist, a, "up")  # Bravo, Hidden, Alpha → Alpha above Bravo in one step
    assert listed(playlist)[0] == "Alpha"
    assert listed(playlist).index("Hidden") == 1  # kept its place


def test_a_move_across_pages_lands_on_the_page_the_track_is_on_now(owner_client, owner):
    from catalog.views import PAGE_SIZE

    playlist = services.create_playlist(user=owner, title="Long")
    tracks = [playable(title=f"Track {i:02d}") for i in range(PAGE_SIZE + 1)]
    for track in tracks:
        services.set_track_playlists(user=owner, track=track, playlists=[playlist])
    first_of_page_two = tracks[0]  # the oldest addition: last overall, alone on page 2
    response = move(owner_client, playlist, first_of_page_two, "up")
    assert response["Location"] == f"{playlist.get_absolute_url()}#track-{first_of_page_two.pk}"
    response = move(owner_client, playlist, tracks[2], "bottom")
    assert response["Location"] == f"{playlist.get_absolute_url()}?page=2#track-{tracks[2].pk}"
    page_two = owner_client.get(playlist.get_absolute_url() + "?page=2").content.decode()
    assert "Track 02" in page_two and page_two.count('class="tr-title"') == 1


def test_the_upgrade_numbers_every_playlist_in_the_order_it_was_shown(owner):
    """The migration that brought the order (0013) numbers existing items newest first."""
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    playlist = services.create_playlist(user=owner, title="Before")
    a, b = playable(title="Alpha"), playable(title="Bravo")
    for track in (a, b):
        services.set_track_playlists(user=owner, track=track, playlists=[playlist])
    PlaylistItem.objects.update(position=0)  # as every item was before the order existed
    PlaylistItem.objects.filter(track=b).update(added_at=PlaylistItem.objects.get(track=a).added_at)
    editor = SimpleNamespace(connection=connection)
    importlib.import_module("catalog.migrations.0013_playlist_order").number_items(apps, editor)
    assert list(playlist.items.values_list("track__title", "position")) == [("Bravo", 0), ("Alpha", 1)]
