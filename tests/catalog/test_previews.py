import time

import pytest

from catalog.previews import parse_range, preview_url
from tests.factories import TrackFactory, TrackVersionFactory

pytestmark = pytest.mark.django_db

PREVIEW = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def version():
    from django.core.files.base import ContentFile

    v = TrackVersionFactory()
    v.preview.save("p.mp3", ContentFile(PREVIEW))
    return v


def body(response):
    return b"".join(response.streaming_content)


def test_a_signed_link_streams_the_whole_preview_with_range_support(anon_client, version):
    response = anon_client.get(preview_url(version.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mpeg" and response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(PREVIEW))
    assert body(response) == PREVIEW


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, 10239),
        ("bytes=-240", 10000, 10239),
        ("bytes=10200-99999", 10200, 10239),
    ],
)
def test_range_requests_get_206_with_the_asked_bytes(anon_client, version, header, start, end):
    response = anon_client.get(preview_url(version.pk), headers={"Range": header})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(PREVIEW)}"
    assert body(response) == PREVIEW[start : end + 1]


def test_an_unsatisfiable_range_gets_416(anon_client, version):
    response = anon_client.get(preview_url(version.pk), headers={"Range": "bytes=99999-"})
    assert response.status_code == 416 and response["Content-Range"] == f"bytes */{len(PREVIEW)}"


def test_parse_range_ignores_malformed_headers():
    assert parse_range("items=0-5", 100) is None
    assert parse_range("bytes=5-2", 100) is False
    assert parse_range("bytes=0-1,5-6", 100) is None
    # Digits int() refuses, or too many of them, make the header malformed too: the whole file.
    assert parse_range("bytes=²-", 100) is None
    assert parse_range("bytes=" + "9" * 5000 + "-", 100) is None
    assert parse_range("bytes=-" + "9" * 5000, 100) is None


def test_a_tampered_or_expired_link_is_refused(anon_client, version):
    url = preview_url(version.pk)
    other = TrackVersionFactory()
    assert anon_client.get(url.replace(f"/{version.pk}/", f"/{other.pk}/")).status_code == 403
    past = int(time.time()) - 10
    assert anon_client.get(preview_url(version.pk, expires=past)).status_code == 403


def test_the_preview_never_serves_the_master(anon_client, version):
    data = body(anon_client.get(preview_url(version.pk)))
    with version.master.open("rb") as fh:
        assert fh.read() not in data


def test_previews_of_unpublished_tracks_are_404_for_customers(anon_client, staff_client):
    v = TrackVersionFactory(track=TrackFactory(is_published=False))
    assert anon_client.get(preview_url(v.pk)).status_code == 404
    assert staff_client.get(preview_url(v.pk)).status_code == 200


def test_previews_are_rate_limited_per_ip(anon_client, version, settings):
    from allmytracks.ratelimit import parse_rate

    limit, _ = parse_rate(settings.CATALOG_PREVIEW_RATE)
    url = preview_url(version.pk)
    for _ in range(limit):
        assert anon_client.get(url, headers={"Range": "bytes=0-1"}).status_code == 206
    response = anon_client.get(url)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_a_play_is_counted_once_not_per_range_request(anon_client, version):
    url = preview_url(version.pk)
    body(anon_client.get(url, headers={"Range": "bytes=0-"}))
    body(anon_client.get(url, headers={"Range": "bytes=500-"}))
    version.track.refresh_from_db()
    assert version.track.play_count == 1


def test_a_visitor_replaying_a_preview_counts_one_play_a_day(anon_client, version, owner):
    """Plays make popularity: a script replaying a preview must not rank a track."""
    from django.test import Client

    url = preview_url(version.pk)
    for _ in range(5):
        body(anon_client.get(url))
    body(Client(REMOTE_ADDR="203.0.113.9").get(url))  # another address
    signed_in = Client(REMOTE_ADDR="203.0.113.9")
    signed_in.force_login(owner)
    body(signed_in.get(url))  # an account counts on its own, wherever it plays from
    body(signed_in.get(url))
    version.track.refresh_from_db()
    assert version.track.play_count == 3

    from django.core.cache import cache

    cache.clear()  # a day later
    body(anon_client.get(url))
    version.track.refresh_from_db()
    assert version.track.play_count == 4


def test_previews_are_never_gzipped_whole_or_in_part(anon_client, version):
    gzip_ok = {"Accept-Encoding": "gzip"}
    whole = anon_client.get(preview_url(version.pk), headers=gzip_ok)
    part = anon_client.get(preview_url(version.pk), headers={**gzip_ok, "Range": "bytes=0-99"})

    assert "Content-Encoding" not in whole and body(whole) == PREVIEW
    assert "Content-Encoding" not in part and body(part) == PREVIEW[:100]


def test_a_link_signed_before_the_secret_key_changed_is_refused_and_a_new_one_works(
    anon_client, version, settings
):
    old = preview_url(version.pk)
    assert preview_url(version.pk) == old  # the same link for the hour (signed once, remembered)
    settings.SECRET_KEY = "a-rotated-secret-key-that-is-long-enough-for-the-checks-1234567890"

    new = preview_url(version.pk)

    assert new != old
    assert anon_client.get(old).status_code == 403
    assert anon_client.get(new).status_code == 200
