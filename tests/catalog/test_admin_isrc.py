"""A track's ISRC is checked and kept as one form, however staff type it."""

import pytest
from django.urls import reverse

from tests.catalog.admin_pages import sent_as_shown
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["not an isrc!!", "GB-AAA-24-0001", "GBAAA24000011", "G1-AAA-24-00001"])
def test_a_track_s_page_refuses_what_is_not_an_isrc(admin_client, typed):
    track = TrackFactory(isrc="")
    url = reverse("admin:catalog_track_change", args=[track.pk])

    response = admin_client.post(url, sent_as_shown(admin_client.get(url), isrc=typed))

    assert response.status_code == 200
    assert "Enter an ISRC: two letters for the country" in response.content.decode()
    track.refresh_from_db()
    assert track.isrc == ""


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("gb-aaa-24-00001", "GBAAA2400001"),
        ("GBAAA2400001", "GBAAA2400001"),
        (" GB-A1A-24-00001 ", "GBA1A2400001"),
    ],
)
def test_an_isrc_is_kept_upper_case_without_hyphens(admin_client, typed, kept):
    track = TrackFactory()
    url = reverse("admin:catalog_track_change", args=[track.pk])

    response = admin_client.post(url, sent_as_shown(admin_client.get(url), isrc=typed))

    assert response.status_code == 302, response.content.decode()[:3000]
    track.refresh_from_db()
    assert track.isrc == kept


def test_a_track_with_an_older_unchecked_isrc_can_still_be_saved_until_the_isrc_is_edited(admin_client):
    track = TrackFactory(isrc="ISRC 123", title="Old tags")
    url = reverse("admin:catalog_track_change", args=[track.pk])
    kept = admin_client.post(url, sent_as_shown(admin_client.get(url), title="Old tags, renamed"))
    assert kept.status_code == 302
    track.refresh_from_db()
    assert track.title == "Old tags, renamed" and track.isrc == "ISRC 123"
    edited = admin_client.post(url, sent_as_shown(admin_client.get(url), isrc="ISRC 124"))
    assert "Enter an ISRC: two letters for the country" in edited.content.decode()


def test_a_file_s_isrc_tag_that_is_no_isrc_is_not_kept(make_audio):
    from catalog.ingest import ingest_path

    good = ingest_path(make_audio("flac", name="good.flac", isrc="gb-aaa-24-00001")).track
    junk = ingest_path(make_audio("flac", name="junk.flac", freq=550, isrc="see the label")).track
    assert (good.isrc, junk.isrc) == ("GBAAA2400001", "")
