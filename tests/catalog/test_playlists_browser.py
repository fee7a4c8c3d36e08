"""In Chromium: a member adds a track to a new playlist from its page, finds it in the playlist and
plays it there; the pages pass an accessibility scan."""

from urllib.parse import urlparse

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.browser.fixtures import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def track(golden_hour):
    return golden_hour


def test_a_track_goes_into_a_new_playlist_and_plays_from_it(page, live_server, owner, track):
    from catalog.models import Playlist

    sign_in(page, owner, live_server)
    page.goto(track.get_absolute_url())
    page.get_by_role("link", name="Add to playlist").click()
    expect(page.get_by_role("heading", name="Add to playlist")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Name your first playlist").fill("Launch video")
    page.get_by_role("button", name="Save").click()

    expect(page.locator(".messages")).to_contain_text("Added “Golden Hour” to “Launch video”.")
    assert page.url.endswith(track.get_absolute_url())
    playlist = Playlist.objects.get(user=owner)

    page.goto("/account/playlists/")
    assert_accessible(page)
    page.get_by_role("link", name="Launch video").click()
    expect(page.get_by_role("heading", name="Launch video", level=1)).to_be_visible()
    row = page.locator(".playlist-track").first
    expect(row).to_contain_text("Golden Hour")
    assert_accessible(page)
    row.get_by_role("button", name="Play Golden Hour by Mira Vale").click()
    bar = page.get_by_role("region", name="Player")
    expect(bar.locator(".pb-title")).to_have_text("Golden Hour")
    expect(bar.locator(".pb-now")).not_to_have_text("0:00", timeout=5000)

    # Shared by link: a visitor with no account listens to it.
    page.get_by_role("button", name="Share by link").click()
    link = page.get_by_label("Shared by link.").input_value()
    assert link.startswith(settings.SITE_URL)  # the address to pass on; here the test server's
    visitor = page.context.browser.new_page()
    visitor.goto(live_server.url + urlparse(link).path)
    expect(visitor.get_by_role("heading", name="Launch video", level=1)).to_be_visible()
    expect(visitor.locator(".track-row")).to_contain_text("Golden Hour")
    assert_accessible(visitor)
    visitor.close()

    # The form shows the playlist ticked; unticking takes the track off.
    page.goto(f"{track.get_absolute_url()}playlists/")
    box = page.get_by_label("Launch video")
    expect(box).to_be_checked()
    box.uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Took “Golden Hour” off “Launch video”.")
    assert not playlist.items.exists()


def test_a_collection_is_kept_as_a_playlist_and_the_page_says_so(page, live_server, owner, track):
    from catalog.models import CollectionItem
    from tests.factories import CollectionFactory

    collection = CollectionFactory(title="Warm mornings", slug="warm-mornings")
    CollectionItem.objects.create(collection=collection, track=track, position=0)
    sign_in(page, owner, live_server)
    page.goto(collection.get_absolute_url())
    page.get_by_role("button", name="Save as a playlist").click()
    expect(page.locator(".messages")).to_contain_text("Saved 1 track to your playlist “Warm mornings”.")
    expect(page.get_by_role("heading", name="Warm mornings", level=1)).to_be_visible()
    expect(page.locator(".playlist-track")).to_contain_text("Golden Hour")


def test_the_owner_moves_a_track_down_and_the_page_comes_back_to_it(page, live_server, owner, track):
    from catalog import services
    from tests.factories import TrackFactory, TrackVersionFactory

    playlist = services.create_playlist(user=owner, title="Trailer")
    services.set_track_playlists(user=owner, track=track, playlists=[playlist])
    later = TrackVersionFactory(track=TrackFactory(title="Night Drive")).track
    services.set_track_playlists(user=owner, track=later, playlists=[playlist])  # on top
    sign_in(page, owner, live_server)
    page.goto(playlist.get_absolute_url())
    titles = page.locator(".playlist-track .tr-title")
    expect(titles).to_have_text(["Night Drive", "Golden Hour"])
    expect(page.get_by_role("button", name="Move “Night Drive” up")).to_be_disabled()
    assert_accessible(page)

    page.get_by_role("button", name="Move “Night Drive” down").click()
    expect(titles).to_have_text(["Golden Hour", "Night Drive"])
    assert page.url.endswith(f"#track-{later.pk}")
    expect(page.get_by_role("button", name="Move “Night Drive” down")).to_be_disabled()
