"""The sitemap robots.txt names: an index of sections, each listing public pages only."""

import re

import pytest
from django.test.utils import CaptureQueriesContext

from tests.factories import ArtistFactory, CollectionFactory, TrackFactory, TrackVersionFactory

pytestmark = pytest.mark.django_db


def locs(response):
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    return re.findall(r"<loc>([^<]+)</loc>", response.content.decode())


def test_robots_names_the_sitemap_and_its_index_lists_each_section(anon_client, settings):
    assert f"Sitemap: {settings.SITE_URL}/sitemap.xml" in anon_client.get("/robots.txt").content.decode()
    sections = locs(anon_client.get("/sitemap.xml"))
    assert [s.rsplit("/", 1)[1] for s in sections] == [
        "sitemap-pages.xml",
        "sitemap-browse.xml",
        "sitemap-collections.xml",
        "sitemap-artists.xml",
        "sitemap-tracks.xml",
        "sitemap-agreements.xml",
    ]


def test_the_sections_list_published_records_only(anon_client, settings):
    shown = TrackVersionFactory(track=TrackFactory(title="Shown Tune")).track
    hidden = TrackVersionFactory(track=TrackFactory(title="Draft Tune", is_published=False)).track
    lonely = ArtistFactory(name="No Published Tracks")
    TrackFactory(artist=lonely, is_published=False)
    collection, draft = CollectionFactory(), CollectionFactory(is_published=False)

    tracks = locs(anon_client.get("/sitemap-tracks.xml"))
    assert tracks == [settings.SITE_URL + shown.get_absolute_url()]
    assert settings.SITE_URL + hidden.get_absolute_url() not in tracks
    artists = locs(anon_client.get("/sitemap-artists.xml"))
    assert settings.SITE_URL + shown.artist.get_absolute_url() in artists
    assert settings.SITE_URL + lonely.get_absolute_url() not in artists
    collections = locs(anon_client.get("/sitemap-collections.xml"))
    assert settings.SITE_URL + collection.get_absolute_url() in collections
    assert settings.SITE_URL + draft.get_absolute_url() not in collections
    pages = locs(anon_client.get("/sitemap-pages.xml"))
    assert settings.SITE_URL + "/tracks/" in pages and settings.SITE_URL + "/pricing/" in pages


def test_odd_sitemap_addresses_are_not_found(anon_client):
    for path in ("/sitemap-nothing.xml", "/sitemap-tracks.xml?p=999", "/sitemap-tracks.xml?p=abc"):
        assert anon_client.get(path).status_code == 404, path


def test_the_index_does_not_read_every_track(anon_client):
    from django.db import connection

    for _ in range(5):
        TrackVersionFactory(track=TrackFactory())
    with CaptureQueriesContext(connection) as ctx:
        anon_client.get("/sitemap.xml")
    track_reads = [q["sql"].upper() for q in ctx.captured_queries if '"CATALOG_TRACK"' in q["sql"].upper()]
    # Counts for the pages and the newest change: aggregates, never the tracks themselves.
    assert any("MAX(" in sql for sql in track_reads)
    assert all("COUNT(" in sql or "MAX(" in sql for sql in track_reads)


def test_the_browse_section_lists_a_landing_page_per_genre_and_category(anon_client, settings):
    from tests.factories import GenreFactory

    lofi = GenreFactory(name="Lo-fi", slug="lo-fi")
    pages = locs(anon_client.get("/sitemap-browse.xml"))
    assert settings.SITE_URL + "/tracks/?genre=lo-fi" in pages
    assert anon_client.get(f"/tracks/?genre={lofi.slug}").status_code == 200
