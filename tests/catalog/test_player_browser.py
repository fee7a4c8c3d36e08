"""Browser journey in real Chromium: play a preview, seek on the waveform, open the track page
while it keeps playing, favourite it; and an accessibility scan of the track page."""

import re

import pytest
from playwright.sync_api import expect

from catalog.ingest import ingest_path
from catalog.models import Favourite
from tests.browser.fixtures import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def real_track(make_audio):
    path = make_audio("wav", name="journey.wav", seconds=20, freq=330)
    version = ingest_path(
        path,
        options={
            "title": "Journey Tone",
            "artist": "Mara Voss",
            "genres": "Ambient",
            "moods": "Calm",
            "publish": True,
        },
    ).version
    return version.track


def seconds(text):
    minutes, secs = text.split(":")
    return int(minutes) * 60 + int(secs)


def test_play_seek_open_the_track_page_while_playing_and_favourite_it(page, live_server, owner, real_track):
    sign_in(page, owner, live_server)
    page.goto(real_track.artist.get_absolute_url())

    row = page.locator(f'[data-track-row="{real_track.pk}"]')
    row.get_by_role("button", name="Play Journey Tone by Mara Voss").click()

    bar = page.get_by_role("region", name="Player")
    expect(bar).to_be_visible()
    expect(bar.locator(".pb-title")).to_have_text("Journey Tone")
    expect(bar.get_by_role("button", name="Pause")).to_be_visible()
    expect(bar.locator(".pb-now")).not_to_have_text("0:00", timeout=5000)

    # Seek: click at three quarters of the row's waveform.
    wave = row.get_by_role("slider", name="Seek in Journey Tone")
    box = wave.bounding_box()
    wave.click(position={"x": box["width"] * 0.75, "y": box["height"] / 2})
    expect(bar.locator(".pb-now")).to_have_text(re.compile(r"0:1[4-9]"), timeout=5000)
    assert int(wave.get_attribute("aria-valuenow")) >= 14

    # Open the track page: only <main> changes, the player keeps playing.
    page.get_by_role("button", name="Pause").click()
    wave.click(position={"x": 2, "y": box["height"] / 2})  # back to the start, playing again
    row.get_by_role("link", name="Journey Tone", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/tracks/{real_track.slug}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Journey Tone")
    expect(bar).to_be_visible()
    expect(bar.get_by_role("button", name="Pause")).to_be_visible()
    before = seconds(bar.locator(".pb-now").inner_text())
    page.wait_for_timeout(1500)
    assert seconds(bar.locator(".pb-now").inner_text()) > before

    # Keyboard: K pauses.
    page.locator("body").press("k")
    expect(bar.get_by_role("button", name="Play", exact=True)).to_be_visible()

    # Favourite it from the track page (htmx swaps the button in place).
    page.locator(".track-actions").get_by_role("button", name="Add Journey Tone to favourites").click()
    expect(
        page.locator(".track-actions").get_by_role("button", name="Remove Journey Tone from favourites")
    ).to_have_attribute("aria-pressed", "true")
    assert Favourite.objects.filter(user=owner, track=real_track).exists()


def test_track_page_passes_an_accessibility_scan(page, real_track):
    page.goto(real_track.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text("Journey Tone")
    expect(page.get_by_role("slider", name="Seek in Journey Tone").first).to_be_visible()
    assert_accessible(page)


def test_without_javascript_the_track_page_offers_a_plain_audio_player(_browser, live_server, real_track):
    context = _browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(real_track.get_absolute_url())
        audio = page.locator("audio.native-audio")
        expect(audio).to_be_visible()
        assert "/previews/" in audio.get_attribute("src")
    finally:
        context.close()
