"""Pictures staff upload on a track's, an artist's or a collection's page are checked and re-encoded
as a file's embedded artwork is at ingest, and a track's smaller copies are made again with them."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from catalog import ingest
from catalog.models import Artist, Track
from tests.catalog.admin_pages import sent_as_shown
from tests.factories import ArtistFactory, CollectionFactory, TrackFactory, TrackVersionFactory

pytestmark = pytest.mark.django_db

ORIENTATION, MAKE, GPS = 0x0112, 0x010F, 0x8825


def phone_photo(width=2400, height=1600, *, colour=(200, 80, 60), name="cover.jpg"):
    """A camera JPEG lying on its side (its orientation tag says: turn it 90° clockwise), with the
    camera's make and where it was taken in its metadata."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[MAKE] = "PhoneMaker"
    exif[GPS] = {1: "N", 2: (51.0, 30.0, 0.0)}
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG", exif=exif.tobytes())
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def bitmap():
    out = io.BytesIO()
    Image.new("RGB", (40, 40), "navy").save(out, "BMP")
    return SimpleUploadedFile("cover.bmp", out.getvalue(), content_type="image/bmp")


def opened(field_file):
    with field_file.open("rb") as fh:
        image = Image.open(io.BytesIO(fh.read()))
        image.load()
    return image


def save_page(client, url, **changes):
    return client.post(url, sent_as_shown(client.get(url), **changes))


def test_artwork_uploaded_on_a_track_s_page_is_re_encoded_and_its_copies_made_again(
    admin_client, django_capture_on_commit_callbacks
):
    track = TrackFactory(title="Harbour Lights")
    TrackVersionFactory(track=track)
    old = ingest.process_artwork(phone_photo(300, 300, colour=(20, 40, 90)).read())
    ingest.store_artwork(track, old)  # as ingest stored the file's own
    track.save()
    before = [track.artwork.name, track.artwork_medium.name, track.artwork_small.name]
    url = reverse("admin:catalog_track_change", args=[track.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = save_page(admin_client, url, artwork=phone_photo())

    assert response.status_code == 302, response.content.decode()[:3000]
    track.refresh_from_db()
    artwork, medium, small = opened(track.artwork), opened(track.artwork_medium), opened(track.artwork_small)
    assert artwork.format == "JPEG" and artwork.size == (480, 720)  # turned upright, at most 720 px
    assert not artwork.getexif() and "exif" not in artwork.info
    assert (medium.format, max(medium.size)) == ("WEBP", 480)
    assert (small.format, max(small.size)) == ("WEBP", 160)
    assert track.artwork_color != old.color and track.artwork_color.startswith("#c")
    storage = track.artwork.storage
    assert not any(storage.exists(name) for name in before)  # the pictures it replaced are gone

    page = admin_client.get(url).content.decode()
    assert f'<img src="{track.artwork_small.url}"' in page  # “Current artwork”
    public = admin_client.get(track.get_absolute_url()).content.decode()
    assert track.artwork_medium.url in public and track.artwork.url in public


@pytest.mark.parametrize(
    ("upload", "reason"),
    [
        (
            SimpleUploadedFile(
                "cover.svg", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "image/svg+xml"
            ),
            "Upload a valid image",  # Django's own check of an image field refuses it first
        ),
        (SimpleUploadedFile("cover.jpg", b"not a picture at all", "image/jpeg"), "Upload a valid image"),
        (bitmap(), "This picture in BMP format is not accepted: use JPEG, PNG or WebP."),
        (phone_photo(400, 400), "This picture is too large to be safe to open: more than 90,000 pixels."),
    ],
)
def test_a_picture_that_is_no_image_or_too_large_to_open_is_refused(admin_client, settings, upload, reason):
    settings.CATALOG_MAX_IMAGE_PIXELS = 300 * 300
    track = TrackFactory()
    url = reverse("admin:catalog_track_change", args=[track.pk])

    response = save_page(admin_client, url, artwork=upload)

    assert response.status_code == 200
    assert reason in response.content.decode()
    track.refresh_from_db()
    assert not track.artwork and not track.artwork_small


def test_clearing_a_track_s_artwork_takes_its_copies_away(admin_client, django_capture_on_commit_callbacks):
    track = TrackFactory()
    ingest.store_artwork(track, ingest.process_artwork(phone_photo(300, 300).read()))
    track.save()
    small = track.artwork_small.name
    url = reverse("admin:catalog_track_change", args=[track.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = save_page(admin_client, url, **{"artwork-clear": "on"})

    assert response.status_code == 302, response.content.decode()[:3000]
    track = Track.objects.get(pk=track.pk)
    assert not (track.artwork or track.artwork_medium or track.artwork_small or track.artwork_color)
    assert not track.artwork_small.storage.exists(small)


@pytest.mark.parametrize("kind", ["artist", "collection"])
def test_an_artist_s_or_collection_s_picture_is_re_encoded_too(admin_client, kind):
    if kind == "artist":
        obj, field = ArtistFactory(), "image"
        url = reverse("admin:catalog_artist_change", args=[obj.pk])
    else:
        obj, field = CollectionFactory(), "cover"
        obj.items.create(track=TrackFactory(), position=0)  # a published collection has tracks
        url = reverse("admin:catalog_collection_change", args=[obj.pk])

    response = save_page(admin_client, url, **{field: phone_photo()})

    assert response.status_code == 302, response.content.decode()[:3000]
    obj.refresh_from_db()
    picture = opened(getattr(obj, field))
    assert picture.format == "JPEG" and picture.size == (480, 720)
    assert not picture.getexif()


def test_an_artist_s_page_refuses_a_picture_that_is_not_an_image(admin_client):
    artist = ArtistFactory()
    url = reverse("admin:catalog_artist_change", args=[artist.pk])
    response = save_page(admin_client, url, image=SimpleUploadedFile("me.jpg", b"<html>", "image/jpeg"))
    assert response.status_code == 200 and "Upload a valid image" in response.content.decode()
    assert not Artist.objects.get(pk=artist.pk).image
